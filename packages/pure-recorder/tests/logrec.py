"""A fake EventRecorder that logs what a backend tells it (for unit tests)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any


def qualname(code: CodeType) -> str:
    return code.co_qualname if sys.version_info >= (3, 11) else code.co_name


_RECORDER_PARTS = ("recorder_ffi", "recorder_runtime", "pure_recorder", "recorder_errors", "logrec")


class Info:
    __slots__ = ("trace",)

    def __init__(self, trace: bool) -> None:
        self.trace = trace


class LogRecorder:
    """Records ``(event, function, detail, thread)`` for code in the traced files.

    ``files`` are the ``co_filename``s recorded; anything else is skipped (like
    the trace filter skipping the standard library). ``fail_on`` makes one event
    raise (a recorder bug), to exercise the guard.
    """

    def __init__(
        self,
        files: set[str] | None,
        *,
        activation: str | None = None,
        skip_names: frozenset[str] = frozenset(),
    ) -> None:
        self.files = files
        self.skip_names = skip_names
        self.activation_path = activation
        self.active = activation is None
        self.activated = self.active
        self.finished = False
        self.activation_code: CodeType | None = None
        self.on_finished: Callable[[], None] | None = None
        self._infos: dict[CodeType, Info] = {}
        self.log: list[tuple[str, str, object]] = []
        self.threads: dict[int, list[tuple[str, str, object]]] = {}
        self.fail_on: str | None = None
        self.stacks: dict[int, list[CodeType]] = {}

    # -- the EventRecorder interface the backends use
    def code_info(self, code: CodeType, frame: FrameType | None = None) -> Info:
        info = self._infos.get(code)
        if info is None:
            if self.files is None:
                trace = not code.co_filename.startswith("<") and not any(
                    part in code.co_filename for part in _RECORDER_PARTS
                )
            else:
                trace = code.co_filename in self.files
            trace = trace and code.co_name not in self.skip_names
            info = self._infos[code] = Info(trace)
        return info

    def is_activation(self, code: CodeType) -> bool:
        return not self.activated and code.co_filename == self.activation_path

    def _add(self, event: str, code: CodeType, detail: object = None) -> None:
        if self.fail_on == event:
            raise RuntimeError(f"recorder bug in {event}")
        entry = (event, qualname(code), detail)
        self.log.append(entry)
        self.threads.setdefault(threading.get_ident(), []).append(entry)

    def _push(self, code: CodeType) -> None:
        self.stacks.setdefault(threading.get_ident(), []).append(code)

    def _pop(self, code: CodeType) -> bool:
        """Like EventRecorder: only the innermost recorded frame of this thread can return."""
        stack = self.stacks.get(threading.get_ident())
        if stack and stack[-1] is code:
            stack.pop()
            return True
        return False

    def on_start(self, code: CodeType, frame: FrameType) -> None:
        if not self.active:
            if not self.is_activation(code):
                return
            self.active = self.activated = True
            self.activation_code = code
        self._add("start", code, _args(code, frame))
        self._push(code)

    def on_resume(self, code: CodeType, frame: FrameType) -> None:
        if self.active:
            self._add("resume", code)
            self._push(code)

    def on_throw(self, code: CodeType, frame: FrameType, exc: BaseException) -> None:
        if self.active:
            self._add("throw", code, repr(exc))
            self._push(code)

    def on_line(self, code: CodeType, frame: FrameType, line: int) -> None:
        if self.active:
            self._add("line", code, line - code.co_firstlineno)

    def on_return(self, code: CodeType, value: object) -> None:
        self._leave("return", code, _show(value))

    def on_yield(self, code: CodeType, value: object) -> None:
        self._leave("yield", code, _show(value))

    def on_unwind(self, code: CodeType, exc: BaseException) -> None:
        self._leave("unwind", code, repr(exc))

    def _leave(self, event: str, code: CodeType, detail: str) -> None:
        if not self._pop(code):
            return
        self._add(event, code, detail)
        if code is self.activation_code and not self.stacks.get(threading.get_ident()):
            self.active = False
            self.finished = True
            if self.on_finished is not None:
                self.on_finished()


def _show(value: object) -> str:
    """A deterministic rendering (no addresses, no counters) for comparisons."""
    if not isinstance(value, (int, str, float, bool, type(None), tuple, list, dict, BaseException)):
        return type(value).__name__
    try:
        text = repr(value)
    except Exception:
        return "<unrepr>"
    return text if " at 0x" not in text else type(value).__name__


def _args(code: CodeType, frame: FrameType) -> tuple[Any, ...]:
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    local_values = frame.f_locals
    return tuple((name, _show(local_values.get(name))) for name in names)


def record_call(
    backend: Any,
    fn: Callable[[], Any],
    recorder: LogRecorder,
    *,
    policy: str = "abort",
) -> Any:
    """Run ``fn`` with ``backend`` installed for ``recorder``; always uninstall."""
    from recorder_ffi import BoundaryGuard

    guard = BoundaryGuard(policy=policy)
    guard.set_detach(lambda err: backend.uninstall())
    backend.install(recorder, guard)
    try:
        return fn()
    finally:
        backend.uninstall()


def normalized(log: list[tuple[str, str, object]]) -> list[tuple[str, str, object]]:
    """The monitoring backend reports a yield through ``on_return`` (PY_YIELD == PY_RETURN)."""
    return [
        ("return", name, detail) if event == "yield" else (event, name, detail)
        for event, name, detail in log
    ]


def balanced(log: list[tuple[str, str, object]]) -> bool:
    """Every start/resume/throw is closed by a return/yield/unwind, innermost first."""
    stack: list[str] = []
    for event, name, _ in log:
        if event in ("start", "resume", "throw"):
            stack.append(name)
        elif event in ("return", "yield", "unwind") and (not stack or stack.pop() != name):
            return False
    return not stack
