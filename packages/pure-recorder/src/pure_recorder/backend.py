"""The ``sys.settrace`` backend: the runtime's :class:`EventRecorder`, driven by trace events.

The monitoring backend gets seven distinct events from ``sys.monitoring``;
``sys.settrace`` delivers four (``call``, ``line``, ``return``,
``exception``) and leaves the rest to be inferred. This module maps them onto
the same recorder calls, so both backends write the same trace:

``'call'`` (the global trace function)
    first entry -> ``on_start``; a generator or coroutine continuing ->
    ``on_resume``; ``throw()``/``close()`` into it -> ``on_throw``. Which one
    is read from the instruction the frame stopped at (:mod:`.bytecode`);
    where that cannot tell a resume from a throw (3.10, 3.13), the decision
    waits for the thread's next event: a throw is always followed at once by
    an ``'exception'`` event in the same frame, which carries the exception.
    The global function returns the local trace function only for frames the
    recorder records; every other frame gets ``None`` and costs nothing more.
``'line'`` -> ``on_line``, except the events of a backward jump within one
    line (a one-line loop, every iteration of a PEP 709 inlined comprehension
    on 3.12+): ``sys.monitoring`` reports a line only when execution comes to
    it from another line. Which offsets can carry such an event is computed
    once per code object from its control flow (:func:`.bytecode.jump_line_offsets`).
``'return'`` -> ``on_yield`` at a suspension, ``on_unwind`` when an exception
    leaves the frame (settrace then passes ``None``; the exception is the one
    the frame's last ``'exception'`` event reported), ``on_return`` otherwise.
``'exception'`` -> remembered per frame until the frame handles it (a later
    line outside the handler) or leaves (the ``'return'`` that follows).

Per-frame state is keyed by ``id(frame)``, never by the frame itself: a
suspended generator must stay collectable, and an exception is only held
while the frame that raised it is running.

Threads: ``threading.settrace`` covers threads started later; on 3.12+
``threading.settrace_all_threads`` also covers threads already running, and
clears every thread at the end. Before 3.12 another thread cannot be untraced
from outside, so each trace function first checks a "stopped" flag and, when
it is set, removes itself from its own thread and returns ``None``.

The trace functions run inside ``BoundaryGuard.guard_callback(...,
exclusive=True)``: a failure never reaches the program, the policy decides,
and events that arrive while the thread already runs recorder code (a user
``__repr__`` called by the encoder is not traced by CPython anyway; the
recorder's own stdout proxy, an API call) are dropped. ``KeyboardInterrupt``
and ``SystemExit`` pass through the guard untouched; CPython then removes the
trace function, so the trace functions re-arm tracing on the way out (a
one-shot profile function, see ``keep_tracing_after``). A loss that cannot be
repaired is what :meth:`SettraceBackend.still_installed` reports.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from recorder_errors import ErrorCode, enverr, usage

from .bytecode import (
    GENERATOR_FLAGS,
    RESUME,
    RESUME_OR_THROW,
    START,
    START_OR_THROW,
    THROW,
    CodeLayout,
    jump_line_offsets,
)

if TYPE_CHECKING:
    from recorder_ffi import BoundaryGuard
    from recorder_runtime.recorder import EventRecorder

__all__ = ["SettraceBackend", "UnknownException"]

TraceFunction = Callable[[FrameType, str, Any], Any]


class UnknownException(Exception):
    """Stands for an exception settrace did not show us (see the README's residue list).

    Used when a frame unwinds or is thrown into and no ``'exception'`` event
    carried the exception object; recorded as ``Raw("<unknown exception>")``.
    """

    def __str__(self) -> str:
        return "<unknown exception>"


class _CodeFacts:
    """What the trace functions need to know about one recorded code object."""

    __slots__ = ("entries", "generator", "jumps", "returns", "yields")

    def __init__(self, code: CodeType) -> None:
        self.generator = bool(code.co_flags & GENERATOR_FLAGS)
        layout = CodeLayout(code.co_code, self.generator)
        self.entries = layout.entries
        self.yields = layout.yields
        self.returns = layout.returns
        self.jumps = jump_line_offsets(code)


class SettraceBackend:
    """Drives an :class:`EventRecorder` from ``sys.settrace`` (see the module docstring)."""

    name = "settrace"

    def __init__(self) -> None:
        self._global: TraceFunction | None = None
        self._install_thread = 0
        # _stopped[0] is read by every trace call on every thread: a list cell
        # is the cheapest shared flag a closure can test.
        self._stopped: list[bool] = [False]
        self._released = False
        self._codes: dict[CodeType, _CodeFacts | None] = {}
        self._last_lines: dict[int, int] = {}
        self._exceptions: dict[int, list[Any]] = {}
        self._pending: dict[int, tuple[FrameType, CodeType, int, int]] = {}
        self._local_ref: list[TraceFunction | None] = [None]
        self._rearm: list[TraceFunction | None] = [None]

    # ------------------------------------------------------------- lifecycle

    def install(self, recorder: EventRecorder, guard: BoundaryGuard) -> None:
        """Install the guarded trace function on this thread and on new threads.

        Refuses (``ERR_TRACER_INSTALL_CONFLICT``) when a trace function is
        already set, on this thread or for new threads: replacing a debugger's
        or coverage.py's tracer would silently break it (reliability B3).
        """
        if self._global is not None:
            raise usage(ErrorCode.ALREADY_TRACING, "the settrace backend is already installed")
        _refuse_if_traced()
        guarded_global = self._build(recorder, guard)
        self._global = guarded_global
        self._install_thread = threading.get_ident()
        self._released = False
        recorder.on_finished = self.pause
        if not _trace_every_thread(guarded_global):
            threading.settrace(guarded_global)
            sys.settrace(guarded_global)

    def follow_frame(self, frame: FrameType) -> None:
        """Record the rest of a frame that was already running (the API's caller).

        ``sys.settrace`` only reaches frames that start later: this one gets the local trace
        function directly (``f_trace``, with line events on), as ``pdb.set_trace`` does, so
        its following lines and its return are recorded like any started frame's.
        """
        local = self._local_ref[0]
        if local is None or self._stopped[0]:
            return
        code = frame.f_code
        if self._codes.get(code) is None:
            self._codes[code] = _CodeFacts(code)
        self._last_lines.pop(id(frame), None)
        frame.f_trace_lines = True
        frame.f_trace = local

    def pause(self) -> None:
        """Recording finished (the activation code returned): stop tracing every thread.

        The backend stays "installed" for :meth:`still_installed` (it let go on
        purpose); :meth:`uninstall` completes the detach.
        """
        self._stopped[0] = True
        self._release_hooks()

    def uninstall(self) -> None:
        """Remove the trace function from every thread we can reach; idempotent.

        This thread and new threads are cleared at once (every thread on
        3.12+); before 3.12 another thread drops the trace function at its
        next event, when it sees the stopped flag.
        """
        if self._global is None:
            return
        self._stopped[0] = True
        self._release_hooks()
        self._global = None
        self._local_ref[0] = None
        self._pending.clear()
        self._exceptions.clear()
        self._last_lines.clear()

    def still_installed(self) -> bool:
        """False when the program (or CPython, at the recursion limit) removed our tracer.

        Checked on the installing thread, where ``sys.gettrace()`` tells;
        another thread's tracer cannot be read, so from there the answer is
        True. A backend that stopped on purpose (:meth:`pause`) is still
        installed.
        """
        current = self._global
        if current is None:
            return False
        if self._released:
            return True
        if threading.get_ident() != self._install_thread:
            return True
        return sys.gettrace() is current

    def detach_state(self) -> str:
        """``installed``, ``removed`` (no trace function any more) or ``replaced`` (another one).

        ``removed`` is ambiguous on purpose: the program may have called
        ``sys.settrace(None)``, or CPython dropped the trace function after an
        exception inside it (a Ctrl-C landing there, the recursion limit). Only a
        different trace function is evidence that the program took over.
        """
        if self.still_installed():
            return "installed"
        return "removed" if sys.gettrace() is None else "replaced"

    # --------------------------------------------------------------- helpers

    def _release_hooks(self) -> None:
        """Clear our trace function from this thread, new threads and (3.12+) every thread.

        A tracer someone else installed after us is left alone.
        """
        self._released = True
        ours = self._global
        if ours is None:
            return
        rearm = self._rearm[0]
        if rearm is not None and sys.getprofile() is rearm:
            sys.setprofile(None)  # a re-arm that never ran (see keep_tracing_after)
        here = sys.gettrace()
        hook = threading.gettrace()
        if (
            (here is ours or here is None)
            and (hook is ours or hook is None)
            and _trace_every_thread(None)
        ):
            return
        if here is ours:
            sys.settrace(None)
        if hook is ours:
            threading.settrace(None)

    def _build(self, recorder: EventRecorder, guard: BoundaryGuard) -> TraceFunction:
        """Build the trace functions as closures over the hot objects; returns the global one.

        Every function handed to CPython (global, local, and the one-shot
        profile function that re-arms tracing after an interrupt) is guarded.
        """
        # Fresh state per installation: closures of an earlier installation,
        # still set on a thread that has not had an event since, keep their
        # own (stopped) flag.
        stopped: list[bool] = [False]
        local_ref: list[TraceFunction | None] = [None]
        codes: dict[CodeType, _CodeFacts | None] = {}
        last_lines: dict[int, int] = {}
        exceptions: dict[int, list[Any]] = {}
        pending: dict[int, tuple[FrameType, CodeType, int, int]] = {}
        self._stopped, self._local_ref, self._codes = stopped, local_ref, codes
        self._last_lines, self._exceptions, self._pending = last_lines, exceptions, pending
        # The guarded global function, kept for this installation even after
        # uninstall() forgot it: a thread that stops late compares with it.
        installed: list[TraceFunction | None] = [None]
        rearm_ref: list[TraceFunction | None] = [None]
        self._rearm = rearm_ref
        lost: list[tuple[FrameType, bool] | None] = [None]
        get_ident = threading.get_ident
        exc_info = sys.exc_info
        code_info = recorder.code_info
        is_activation = recorder.is_activation
        on_start = _recorder_call(recorder, guard, "on_start", "py_start")
        on_resume = _recorder_call(recorder, guard, "on_resume", "py_resume")
        on_throw = _recorder_call(recorder, guard, "on_throw", "py_throw")
        on_line = _recorder_call(recorder, guard, "on_line", "line")
        on_return = _recorder_call(recorder, guard, "on_return", "py_return")
        on_yield = _recorder_call(recorder, guard, "on_yield", "py_yield")
        on_unwind = _recorder_call(recorder, guard, "on_unwind", "py_unwind")
        unseen: Any = object()

        def release(frame: FrameType) -> None:
            """Stopped: drop this frame's local tracer and, if still ours, the thread's."""
            frame.f_trace = None
            ours = installed[0]
            if ours is not None and sys.gettrace() is ours:
                sys.settrace(None)

        def settle(frame: FrameType, event: str, arg: Any) -> None:
            """Decide a resume that waited for this thread's next event (see bytecode.py)."""
            entry = pending.pop(get_ident(), None)
            if entry is None:
                return
            waiting, code, kind, lasti = entry
            if event == "exception" and waiting is frame and frame.f_lasti == lasti:
                on_throw(code, waiting, arg[1])
            elif kind == START_OR_THROW:
                on_start(code, waiting)
            elif kind == THROW:
                on_throw(code, waiting, UnknownException())
            else:
                on_resume(code, waiting)

        def trace_call(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
            code = frame.f_code
            facts = codes.get(code, unseen)
            if facts is None and not pending and not stopped[0]:
                return None  # skipped code: the common case, decided first
            try:
                if stopped[0]:
                    release(frame)
                    return None
                if pending:
                    settle(frame, event, arg)
                if facts is unseen:
                    facts = _CodeFacts(code) if code_info(code, frame).trace else None
                    codes[code] = facts
                if facts is None:
                    return None
                if not recorder.active and (recorder.finished or not is_activation(code)):
                    return None
                kind = START
                if facts.generator:
                    kind = facts.entries.get(frame.f_lasti, RESUME_OR_THROW)
                if kind == RESUME:
                    on_resume(code, frame)
                    return local_ref[0]
                if facts.jumps and kind != RESUME_OR_THROW and kind != THROW:
                    last_lines.pop(id(frame), None)  # a new frame, maybe at a reused address
                if kind == START:
                    on_start(code, frame)
                else:
                    pending[get_ident()] = (frame, code, kind, frame.f_lasti)
                return local_ref[0]
            except (KeyboardInterrupt, SystemExit) as exc:
                keep_tracing_after(frame, exc, reported_exit=False)
                raise

        def trace_local(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
            if stopped[0]:
                release(frame)
                return None
            try:
                if pending:
                    settle(frame, event, arg)
                if event == "line":
                    code = frame.f_code
                    jumps = codes[code].jumps  # type: ignore[union-attr]
                    if jumps and is_jump_artefact(frame, jumps):
                        return local_ref[0]
                    if exceptions:
                        forget_handled(id(frame))
                    on_line(code, frame, frame.f_lineno)
                elif event == "return":
                    trace_return(frame, arg)
                elif event == "exception":
                    exceptions[id(frame)] = [arg[1], frame.f_lasti, True]
            except (KeyboardInterrupt, SystemExit) as exc:
                keep_tracing_after(frame, exc, reported_exit=event == "return")
                raise
            return local_ref[0]

        def keep_tracing_after(
            frame: FrameType, exc: BaseException, *, reported_exit: bool
        ) -> None:
            """An interrupt is leaving the trace function: have tracing come back after it.

            A ``KeyboardInterrupt`` (or a signal handler's ``SystemExit``) raised
            while the trace function runs belongs to the program and passes
            through; CPython then removes the trace function from the thread
            and clears ``frame.f_trace``. A one-shot profile function (a
            separate hook CPython leaves alone) puts both back at the thread's
            next call or return, and reports the frame's unwind if the
            interrupt ends it. Impossible when a profiler is already set: the
            trace then ends partial (``still_installed()`` is False).
            """
            rearm = rearm_ref[0]
            if rearm is None or stopped[0] or sys.getprofile() is not None:
                return
            exceptions[id(frame)] = [exc, frame.f_lasti, True]
            lost[0] = (frame, reported_exit)
            sys.setprofile(rearm)

        def rearm_tracing(frame: FrameType, event: str, arg: Any) -> None:
            """The one-shot profile function of :func:`keep_tracing_after`."""
            sys.setprofile(None)
            entry, lost[0] = lost[0], None
            ours = installed[0]
            if entry is None or ours is None or stopped[0] or sys.gettrace() is not None:
                return
            interrupted, reported_exit = entry
            if event == "return" and frame is interrupted:
                if not reported_exit:
                    trace_return(frame, arg)
            else:
                interrupted.f_trace = local_ref[0]
            sys.settrace(ours)

        def is_jump_artefact(frame: FrameType, jumps: dict[int, bool]) -> bool:
            """A 'line' that only a backward jump within one line produced (bytecode.py)."""
            frame_id = id(frame)
            line = frame.f_lineno
            starts_line = jumps.get(frame.f_lasti)
            if starts_line is not None and (not starts_line or last_lines.get(frame_id) == line):
                return True
            last_lines[frame_id] = line
            return False

        def forget_handled(frame_id: int) -> None:
            """Drop the frame's pending exception once a line runs outside its handler.

            The first line after the exception may be the handler's first line,
            reported before the handler makes the exception current, so it is
            kept; after that, an exception that is no longer the one being
            handled cannot be what unwinds the frame.
            """
            noted = exceptions.get(frame_id)
            if noted is None:
                return
            if noted[2]:
                noted[2] = False
            elif exc_info()[1] is not noted[0]:
                del exceptions[frame_id]

        def trace_return(frame: FrameType, arg: Any) -> None:
            """'return': a suspension, an exception leaving the frame, or a return."""
            code = frame.f_code
            facts: _CodeFacts = codes[code]  # type: ignore[assignment]
            lasti = frame.f_lasti
            noted = exceptions.pop(id(frame), None) if exceptions else None
            if arg is None:
                # settrace passes None both for `return None` and for an unwind.
                if noted is not None and noted[1] == lasti:
                    unwind(frame, facts, noted[0])
                    return
                if lasti not in facts.returns:
                    if lasti in facts.yields:
                        on_yield(code, None)
                    else:
                        exc = noted[0] if noted is not None else _current_exception(exc_info)
                        unwind(frame, facts, exc)
                    return
            elif lasti in facts.yields:
                on_yield(code, arg)
                return
            if facts.jumps:
                last_lines.pop(id(frame), None)
            on_return(code, arg)

        def unwind(frame: FrameType, facts: _CodeFacts, exc: BaseException) -> None:
            if facts.jumps:
                last_lines.pop(id(frame), None)
            on_unwind(frame.f_code, exc)

        local_ref[0] = guard.guard_callback("trace", trace_local, exclusive=True)
        rearm_ref[0] = guard.guard_callback("trace", rearm_tracing, exclusive=True)
        guarded_global: TraceFunction = guard.guard_callback("trace", trace_call, exclusive=True)
        installed[0] = guarded_global
        return guarded_global


def _recorder_call(
    recorder: EventRecorder, guard: BoundaryGuard, method: str, event: str
) -> Callable[..., Any]:
    """``recorder.<method>``, preceded by the failpoint ``callback.<event>`` if it is enabled.

    So fault injection written for the monitoring backend (``callback.line``...)
    fails at the same recorder call here; chosen once, free when disabled.
    """
    call: Callable[..., Any] = getattr(recorder, method)
    name = f"callback.{event}"
    failpoints = guard.failpoints
    if not failpoints.enabled(name):
        return call
    fire = failpoints.fire

    def fire_then_call(*args: Any) -> Any:
        fire(name)
        return call(*args)

    return fire_then_call


def _trace_every_thread(function: TraceFunction | None) -> bool:
    """Set ``function`` on every thread and for new threads (3.12+); False if impossible."""
    if sys.version_info >= (3, 12):
        threading.settrace_all_threads(function)
        return True
    return False


def _current_exception(exc_info: Callable[[], Any]) -> BaseException:
    """The exception a frame unwinds with when no 'exception' event named it."""
    current = exc_info()[1]
    return current if isinstance(current, BaseException) else UnknownException()


def _refuse_if_traced() -> None:
    """Raise ``ERR_TRACER_INSTALL_CONFLICT`` when a trace function is already set."""
    for where, tracer in (
        ("sys.settrace", sys.gettrace()),
        ("threading.settrace", threading.gettrace()),
    ):
        if tracer is not None:
            raise enverr(
                ErrorCode.TRACER_INSTALL_CONFLICT,
                f"a trace function is already installed ({where}); the settrace recorder "
                "will not replace it",
                installed_by=where,
                tracer=_describe(tracer),
                hint="stop the debugger or coverage tool, or use --backend monitoring "
                "on Python 3.12+",
            )


def _describe(tracer: object) -> str:
    """Name a foreign tracer without running its code (only its type's attributes)."""
    kind = type(tracer)
    module = type.__dict__["__module__"].__get__(kind)
    qualname = type.__dict__["__qualname__"].__get__(kind)
    return f"{module}.{qualname}"
