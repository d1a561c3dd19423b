"""The Python API: ``start``, ``stop``, ``flush``, ``is_tracing`` and ``trace``.

One session at a time per process. Every function is an entry point guarded by
``recorder_ffi.guard_entry_point``: a recorder failure reaches the caller as a
classified :class:`recorder_errors.RecorderError`, never as a stray builtin
exception. Stopping or flushing when no session is active is
``ERR_NOT_TRACING`` (an explicit error rather than a silent no-op, so a
misplaced ``stop()`` is noticed).
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, TypeVar

import recorder_ffi
from recorder_errors import ErrorCode, RecorderError, from_exception, usage
from recorder_ffi import guard_entry_point

from .policy import resolve_policy
from .session import FinishReport, SessionConfig, TraceSession

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_current: TraceSession | None = None
# Frames in these directories are the recorder's own (the entry-point guard, this module).
_OWN_DIRS = tuple(
    os.path.dirname(os.path.abspath(module.__file__ or "")) + os.sep
    for module in (sys.modules[__name__.rpartition(".")[0]], recorder_ffi)
)


@guard_entry_point
def start(
    trace_dir: str,
    *,
    format: str = "json",
    activation_path: str | None = None,
    **policy: Any,
) -> TraceSession:
    """Start recording into ``trace_dir``; policy fields override the environment.

    The rest of the calling function is recorded too (its following lines, its return),
    not only the calls made from it: the recording starts where ``start()`` is called.
    """
    return _start(trace_dir, format, activation_path, policy, _calling_frame())


def _start(
    trace_dir: str,
    format: str,
    activation_path: str | None,
    policy: dict[str, Any],
    caller: FrameType | None,
) -> TraceSession:
    """``start()`` proper; ``caller`` is the frame whose remaining lines are recorded too."""
    try:
        return _start_locked(trace_dir, format, activation_path, dict(policy), caller)
    except Exception as exc:
        _json_error_line(exc, _wants_json_errors(policy), None)
        raise


def _start_locked(
    trace_dir: str,
    format: str,
    activation_path: str | None,
    policy: dict[str, Any],
    caller: FrameType | None,
) -> TraceSession:
    """Create and start the one session of the process (``policy`` is consumed)."""
    global _current
    with _lock:
        if _current is not None and _current.is_recording:
            raise usage(ErrorCode.ALREADY_TRACING, "a recording session is already active")
        tool_id = policy.pop("tool_id", None)
        effective = resolve_policy(policy)
        session = TraceSession(
            SessionConfig(
                trace_dir=trace_dir,
                policy=effective,
                format=format,
                activation_path=activation_path,
                backend=effective.backend,
                tool_id=tool_id,
            )
        )
        session.start(caller=caller)
        _current = session
    return session


def _calling_frame() -> FrameType | None:
    """The innermost frame outside the recorder's own packages (the user's ``start()`` call)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_OWN_DIRS):
        frame = frame.f_back  # type: ignore[assignment]
    return frame


@guard_entry_point
def stop(*, exit_code: int | None = None) -> FinishReport:
    """Finish the active session; raises its failure when the policy makes it fatal."""
    global _current
    with _lock:
        session = _current
        if session is None or not session.is_recording:
            raise usage(ErrorCode.NOT_TRACING, "no recording session is active")
        _current = None
    report = session.finish(
        exit_code=exit_code, exit_label=None if exit_code is not None else "<exit>"
    )
    if report.error is not None:
        _json_error_line(report.error, session.policy.json_errors, session)
        if report.fatal:
            raise report.error
    return report


def _wants_json_errors(policy: dict[str, Any]) -> bool:
    """``json_errors`` for a start() that may have failed before its policy was resolved."""
    if "json_errors" in policy:
        return policy["json_errors"] is True
    try:
        return resolve_policy({}).json_errors  # configure_policy, the environment
    except Exception:  # the policy itself is broken: no JSON asked for that we can know of
        return False


def _json_error_line(exc: BaseException, wanted: bool, session: TraceSession | None) -> None:
    """The policy's ``json_errors``: one JSON line on stderr per failure, as the CLI writes.

    The API raises the error as well; the line is for tools that watch stderr (the
    reference writes it for API sessions too).
    """
    if not wanted:
        return
    from .cli import _json_trailer  # the one trailer format; imported only when needed

    error = exc if isinstance(exc, RecorderError) else from_exception(exc)
    try:
        sys.stderr.write(_json_trailer(error, session) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # no usable stderr: the raise still reports
        pass


@guard_entry_point
def flush() -> None:
    """Write buffered events to the (still private) staging file."""
    session = _current
    if session is None or not session.is_recording:
        raise usage(ErrorCode.NOT_TRACING, "no recording session is active")
    session.flush()


@guard_entry_point
def is_tracing() -> bool:
    """True while a session is recording."""
    session = _current
    return session is not None and session.is_recording


class trace:  # lower-case on purpose: it reads as a function, ``with trace(dir):``
    """Record a block (``with trace(dir):``) or every call of a function (``@trace(dir)``)."""

    def __init__(self, trace_dir: str, **options: Any) -> None:
        self.trace_dir = trace_dir
        self.options = options
        self.session: TraceSession | None = None
        self._record_caller = True  # False for the decorator: the function is the block

    @guard_entry_point
    def __enter__(self) -> TraceSession:
        policy = dict(self.options)
        fmt = policy.pop("format", "json")
        activation_path = policy.pop("activation_path", None)
        caller = _calling_frame() if self._record_caller else None
        self.session = _start(self.trace_dir, fmt, activation_path, policy, caller)
        return self.session

    @guard_entry_point
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if is_tracing() and _current is self.session:
            stop(exit_code=0 if exc_type is None else None)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def traced(*args: Any, **kwargs: Any) -> Any:
            block = trace(self.trace_dir, **self.options)
            block._record_caller = False
            with block:
                return fn(*args, **kwargs)

        return traced  # type: ignore[return-value]


def _finish_at_exit() -> None:
    """A session still open at interpreter exit is finished, so its trace lands."""
    session = _current
    if session is not None and session.is_recording:
        session.finish(exit_code=None, exit_label="<exit>")


def adopt(session: TraceSession) -> None:
    """Make an already started session the current one (auto-start builds its own).

    From then on ``is_tracing()`` is true and ``start()`` reports ``ERR_ALREADY_TRACING``,
    exactly as if the program had called ``start()`` itself.
    """
    global _current
    with _lock:
        _current = session


def release(session: TraceSession) -> None:
    """Forget ``session`` if it is the current one (its owner finishes it itself)."""
    global _current
    with _lock:
        if _current is session:
            _current = None


def _forget_after_fork() -> None:
    """A forked child drops its parent's session without finishing it.

    Finishing it would move the parent's staging files into the parent's trace
    directory (or delete them) from the wrong process; the child records nothing
    unless it starts a session of its own (auto-start does, see ``autostart``).
    """
    global _current
    _lock_after_fork()
    session, _current = _current, None
    if session is not None and session.is_recording:
        session.abandon_after_fork()


def _lock_after_fork() -> None:
    # The lock may have been held by another thread at fork time: the child gets a fresh one.
    global _lock
    _lock = threading.Lock()


atexit.register(_finish_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
