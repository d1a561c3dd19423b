"""The ``sys.monitoring`` backend (PEP 669, CPython 3.12+).

Only three events are global: ``PY_START`` (to discover code objects),
``PY_UNWIND`` and ``PY_THROW`` (which cannot be set locally). ``LINE``,
``PY_RETURN``, ``PY_YIELD`` and ``PY_RESUME`` are enabled per code object, and
only on code objects the recorder records, so skipped code (the standard
library, the recorder itself, filtered files) costs one ``PY_START`` and then
nothing: its ``PY_START`` returns ``DISABLE``.

Every callback is wrapped by the boundary guard; a callback never returns
``DISABLE`` from ``PY_UNWIND``/``PY_THROW`` (that raises ``ValueError`` in the
program, fact M2). Detaching is explicit and complete: global events off, local
events off on every code object we touched, callbacks unregistered, tool id
freed (``free_tool_id`` alone stops nothing on 3.12/3.13, fact M6).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from recorder_errors import ErrorCode, enverr, usage

if TYPE_CHECKING:
    from recorder_ffi import BoundaryGuard

    from .recorder import CodeInfo, EventRecorder

TOOL_NAME = "codetracer-recorder"
# Never 0 (debuggers, breakpoint() on 3.14), 1 (coverage.py) or 2 (profilers) by default.
DEFAULT_TOOL_IDS = (4, 3, 5)
# The guard's wrapper sits between the interpreter and our callback: the
# instrumented frame is two frames above the callback body.
_FRAME_DEPTH = 2


class MonitoringBackend:
    """Drives an :class:`EventRecorder` from ``sys.monitoring`` events."""

    name = "monitoring"

    def __init__(self, tool_id: int | None = None) -> None:
        _require_monitoring()
        if tool_id is not None and not 0 <= tool_id <= 5:
            raise usage(
                ErrorCode.INVALID_ARGUMENT,
                f"invalid sys.monitoring tool id {tool_id} (must be between 0 and 5)",
            )
        self.requested_tool_id = tool_id
        self.tool_id: int | None = None
        self._touched: set[CodeType] = set()
        self._lock = threading.Lock()
        self.callbacks: dict[int, Callable[..., Any]] = {}
        self._follow: Callable[[FrameType], None] | None = None
        #: The C LINE callback of the accelerator (native.py), registered instead of the
        #: Python ``line`` closure when the session sets it before :meth:`install`.
        self.native_line: Callable[..., Any] | None = None

    # ------------------------------------------------------------- lifecycle

    def install(self, recorder: EventRecorder, guard: BoundaryGuard) -> None:
        """Claim a free tool id and register guarded callbacks."""
        if sys.version_info < (3, 12):  # pragma: no cover - checked in __init__
            return
        mon = sys.monitoring
        tool_id = self._claim_tool_id()
        events = mon.events
        raw = self._make_callbacks(recorder, mon.DISABLE)
        if self.native_line is not None:
            raw["line"] = self.native_line
        names = {
            events.PY_START: "py_start",
            events.PY_RESUME: "py_resume",
            events.PY_RETURN: "py_return",
            events.PY_YIELD: "py_yield",
            events.PY_UNWIND: "py_unwind",
            events.PY_THROW: "py_throw",
            events.LINE: "line",
        }
        for event, name in names.items():
            guarded = guard.guard_callback(name, raw[name])
            self.callbacks[event] = guarded
            mon.register_callback(tool_id, event, guarded)
        recorder.on_finished = self.pause
        mon.set_events(tool_id, events.PY_START | events.PY_UNWIND | events.PY_THROW)

    def follow_frame(self, frame: FrameType) -> None:
        """Record the rest of a frame that was already running (the API's caller).

        It had no ``PY_START``, so its code object never got local events: enable them now.
        Its following lines and its return are then recorded like any started frame's (other
        frames running the same code report their lines too: local events are per code).
        """
        if self._follow is not None and self.tool_id is not None:
            self._follow(frame)

    def pause(self) -> None:
        """Stop every event (recording finished) but keep the tool id until uninstall."""
        if sys.version_info < (3, 12) or self.tool_id is None:  # pragma: no cover
            return
        mon = sys.monitoring
        try:
            mon.set_events(self.tool_id, 0)
            with self._lock:
                touched = list(self._touched)
                self._touched.clear()
            for code in touched:
                mon.set_local_events(self.tool_id, code, 0)
        except ValueError:  # the program freed our tool id: nothing left to stop
            pass

    def uninstall(self) -> None:
        """Complete detach (idempotent): events, local events, callbacks, tool id."""
        if sys.version_info < (3, 12) or self.tool_id is None:
            return
        mon = sys.monitoring
        tool_id = self.tool_id
        self.pause()
        if mon.get_tool(tool_id) == TOOL_NAME:
            for event in self.callbacks:
                mon.register_callback(tool_id, event, None)
            mon.free_tool_id(tool_id)
        self.tool_id = None

    def detach_state(self) -> str:
        """``installed``, or ``replaced`` when the program freed or took over our tool id."""
        return "installed" if self.still_installed() else "replaced"

    def still_installed(self) -> bool:
        """False when the program freed or took over our tool id (a target detach)."""
        if sys.version_info < (3, 12) or self.tool_id is None:
            return False
        return sys.monitoring.get_tool(self.tool_id) == TOOL_NAME

    # --------------------------------------------------------------- helpers

    def _claim_tool_id(self) -> int:
        if sys.version_info < (3, 12):  # pragma: no cover
            return -1
        mon = sys.monitoring
        candidates = (
            (self.requested_tool_id,) if self.requested_tool_id is not None else DEFAULT_TOOL_IDS
        )
        for candidate in candidates:
            if mon.get_tool(candidate) is None:
                mon.use_tool_id(candidate, TOOL_NAME)
                self.tool_id = candidate
                return candidate
        taken = {i: mon.get_tool(i) for i in candidates}
        raise enverr(
            ErrorCode.TRACER_INSTALL_CONFLICT,
            "no free sys.monitoring tool id for the recorder",
            tried=",".join(str(i) for i in candidates),
            taken_by=", ".join(f"{i}={name}" for i, name in taken.items()),
        )

    def _make_callbacks(
        self, recorder: EventRecorder, disable: object
    ) -> dict[str, Callable[..., Any]]:
        """Build the raw callbacks as closures over the hot objects (no attribute lookups)."""
        if sys.version_info < (3, 12):  # pragma: no cover - checked in __init__
            return {}
        getframe = sys._getframe
        infos = recorder._infos
        code_info = recorder.code_info
        on_start = recorder.on_start
        on_resume = recorder.on_resume
        on_throw = recorder.on_throw
        on_line = recorder.on_line
        on_return = recorder.on_return
        on_unwind = recorder.on_unwind
        touched = self._touched
        lock = self._lock
        backend = self
        events = sys.monitoring.events
        local_events = events.LINE | events.PY_RETURN | events.PY_YIELD | events.PY_RESUME
        set_local_events = sys.monitoring.set_local_events

        def frame_of(code: CodeType) -> FrameType:
            """The instrumented frame: normally fixed depth, searched when a wrapper is added."""
            frame: FrameType | None = getframe(_FRAME_DEPTH + 1)
            while frame is not None and frame.f_code is not code:
                frame = frame.f_back
            return frame if frame is not None else getframe(_FRAME_DEPTH + 1)

        def watch(code: CodeType, info: CodeInfo) -> None:
            """First sight of a recorded code object: enable its local events."""
            if info.trace and backend.tool_id is not None:
                with lock:
                    touched.add(code)
                set_local_events(backend.tool_id, code, local_events)

        def follow(frame: FrameType) -> None:
            code = frame.f_code
            watch(code, code_info(code, frame))

        self._follow = follow

        def py_start(code: CodeType, offset: int) -> object:
            info = infos.get(code)
            frame = getframe(_FRAME_DEPTH)
            if frame.f_code is not code:
                frame = frame_of(code)
            if info is None:
                info = code_info(code, frame)
                watch(code, info)
            if not info.trace:
                return disable
            if recorder.finished:
                return disable
            on_start(code, frame)
            return None

        def py_resume(code: CodeType, offset: int) -> object:
            frame = getframe(_FRAME_DEPTH)
            on_resume(code, frame if frame.f_code is code else frame_of(code))
            return None

        def py_throw(code: CodeType, offset: int, exc: BaseException) -> None:
            frame = getframe(_FRAME_DEPTH)
            if frame.f_code is not code:
                frame = frame_of(code)
            info = infos.get(code)
            if info is None:  # thrown into a generator that never started: first sight
                info = code_info(code, frame)
                watch(code, info)
            if info.trace and not recorder.finished:
                on_throw(code, frame, exc)

        def line(code: CodeType, lineno: int) -> object:
            if recorder.finished:
                return disable
            frame = getframe(_FRAME_DEPTH)
            on_line(code, frame if frame.f_code is code else frame_of(code), lineno)
            return None

        def py_return(code: CodeType, offset: int, value: object) -> None:
            on_return(code, value)

        def py_unwind(code: CodeType, offset: int, exc: BaseException) -> None:
            on_unwind(code, exc)

        return {
            "py_start": py_start,
            "py_resume": py_resume,
            "py_throw": py_throw,
            "line": line,
            "py_return": py_return,
            "py_yield": py_return,
            "py_unwind": py_unwind,
        }


def _require_monitoring() -> None:
    """Refuse, classified, on interpreters without ``sys.monitoring``."""
    if not hasattr(sys, "monitoring"):
        raise enverr(
            ErrorCode.UNSUPPORTED_PYTHON,
            "the sys.monitoring backend needs Python 3.12 or newer",
            python=sys.version.split()[0],
            hint="install pure-recorder and use --backend settrace",
        )
