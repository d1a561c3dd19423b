"""The boundary guard: every interpreter callback of the recorder runs inside it.

A ``sys.monitoring`` callback (or the ``sys.settrace`` function) runs in the
middle of the program's own code: whatever it raises surfaces in the program
at the instrumented instruction (fact M1 of docs/shared reliability notes), and
the program's own ``except Exception`` may swallow it. So every callback is
wrapped by :meth:`BoundaryGuard.guard_callback`, which decides what a failure
means, following the session policy ``on_recorder_error``:

``disable``
    detach the tracer, log one structured warning, and return ``None``: the
    program continues exactly as it would have without the recorder.
``abort`` (default)
    detach the tracer and raise the classified ``RecorderError`` at the point
    of failure, so the program stops. The guard remembers the error
    (:attr:`BoundaryGuard.failure`), so the CLI exits with its code even if the
    program caught and ignored the exception.

``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` always pass
through unchanged: they belong to the program. A ``RecursionError`` means the
*program* is at its recursion limit (the callback only added a few frames), so
the event is dropped and counted instead (``dropped_events``), leaving the
program to hit the limit where it would have without the recorder.

The wrappers are built once, at registration time, and specialised by arity
(1 to 4 positional arguments, plus a ``*args`` fallback): the happy path is
one extra Python call and a ``try`` block, which is free in CPython 3.11+ until
something is raised. Failpoints and the re-entrancy check are chosen at wrap
time, so they cost nothing when unused.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from recorder_errors import ErrorCode, RecorderError, usage
from recorder_ffi import entry, reentry
from recorder_ffi.classify import classify, describe, location_of
from recorder_ffi.counters import GuardCounters
from recorder_ffi.entry import GUARD_MARK, PASS_THROUGH
from recorder_ffi.failpoints import Failpoints

__all__ = ["POLICIES", "BoundaryGuard"]

F = TypeVar("F", bound=Callable[..., Any])

#: The accepted values of the ``on_recorder_error`` policy.
POLICIES: tuple[str, ...] = ("abort", "disable")

_log = logging.getLogger("recorder.ffi")


class _OnFailure(Protocol):
    """The guard's failure handler as the wrappers see it."""

    def __call__(self, event: str, exc: BaseException, args: tuple[object, ...]) -> None: ...


class BoundaryGuard:
    """Owns the crossings from the interpreter into recorder callbacks for one session.

    The session creates one guard, hands it the function that detaches the
    tracer (:meth:`set_detach`), wraps every callback with
    :meth:`guard_callback`, and reads :attr:`failure`, :attr:`detached` and
    :attr:`counters` when it finishes.
    """

    def __init__(
        self,
        *,
        policy: str = "abort",
        failpoints: Failpoints | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.policy: str = _validate_policy(policy)
        self.failpoints: Failpoints = failpoints if failpoints is not None else Failpoints()
        self.counters = GuardCounters()
        self._log = logger if logger is not None else _log
        self._lock = threading.Lock()
        self._detach_fn: Callable[[RecorderError], None] | None = None
        self._detached = False
        self._failure: RecorderError | None = None
        self._warned = False

    # --- state --------------------------------------------------------------
    @property
    def failure(self) -> RecorderError | None:
        """The first recorder failure seen during the session (``None`` if none)."""
        return self._failure

    @property
    def detached(self) -> bool:
        """True once the guard has asked the session to detach the tracer."""
        return self._detached

    def set_detach(self, fn: Callable[[RecorderError], None]) -> None:
        """Set the function that detaches the tracer (idempotent; called at most once)."""
        self._detach_fn = fn

    def activate(self) -> None:
        """Make this the process's active guard: entry-point failures are counted here too."""
        entry.set_active(self)

    def deactivate(self) -> None:
        """Stop being the active guard (a no-op if another guard took over)."""
        entry.set_active(None, only_if=self)

    # --- wrapping -----------------------------------------------------------
    def guard_callback(self, event: str, fn: F, *, exclusive: bool = False) -> F:
        """Return ``fn`` wrapped for the interpreter event ``event`` (e.g. ``"line"``).

        The wrapper takes the same positional arguments and returns what ``fn``
        returns; on failure it applies the policy (module docstring). If the
        failpoint ``callback.<event>`` is enabled, the wrapper fires it before
        calling ``fn``.

        ``exclusive=True`` is for the settrace backend: the wrapper returns
        ``None`` without calling ``fn`` when the thread is running recorder
        code outside a callback (an entry point, or a block marked with
        :func:`recorder_ffi.inside`), or once the guard has detached (frames
        keep their local trace function after ``sys.settrace(None)``). It does
        not mark the thread while ``fn`` runs: the interpreter already
        delivers no events inside a trace function or a monitoring callback.
        ``sys.monitoring`` callbacks do not need the option (the runtime
        filters its own code objects once per code object instead).
        """
        target: Callable[..., Any] = fn
        failpoint = f"callback.{event}"
        if self.failpoints.enabled(failpoint):
            target = _firing(self.failpoints, failpoint, fn)
        arity = _positional_arity(fn)
        if exclusive:
            wrapper = _exclusive_wrapper(self, event, target, arity)
        else:
            wrapper = _plain_wrapper(self._callback_failed, event, target, arity)
        functools.update_wrapper(wrapper, fn)
        setattr(wrapper, GUARD_MARK, True)
        return cast(F, wrapper)

    # --- failures -----------------------------------------------------------
    def record_failure(self, err: RecorderError, *, reason: str) -> RecorderError:
        """Book a failure the runtime detected itself, outside a callback.

        Same bookkeeping as a failed callback (remember, detach with
        ``reason``, one warning under ``disable``) but never raises: the
        caller decides what happens next. Returns ``err``.
        """
        with reentry.inside():
            self._remember(err)
            self._detach(reason, err)
            if self.policy == "disable":
                self._warn_once(err, reason)
        return err

    def note_entry_point_failure(self, err: RecorderError) -> None:
        """Count and remember an unexpected failure of a public API call (entry-point guard)."""
        with self._lock:
            self.counters.entry_point_failures += 1
        self._remember(err)

    def _callback_failed(self, event: str, exc: BaseException, args: tuple[object, ...]) -> None:
        """Apply the policy to a callback failure: return (disable, dropped) or raise (abort).

        The bookkeeping runs with the thread marked as running recorder code,
        so that the warning a log handler writes to stderr is not captured as
        the program's own output, nor traced by the settrace backend.
        """
        with reentry.inside():
            err = self._book_callback_failure(event, exc, args)
        if err is None or self.policy == "disable":
            return
        if err is exc:
            raise err
        raise err from exc

    def _book_callback_failure(
        self, event: str, exc: BaseException, args: tuple[object, ...]
    ) -> RecorderError | None:
        """Classify, log, count, remember, detach; None when the event is merely dropped."""
        if isinstance(exc, RecursionError):
            self._drop_event(event, exc)
            return None
        location = location_of(event, args)
        context: dict[str, object] = {"event": event}
        if location is not None:
            context["location"] = location
        err = classify(exc, ErrorCode.CALLBACK_FAILED, **context)
        self._log.debug(
            "recorder %s callback failed at %s: %s",
            event,
            location or "<unknown location>",
            describe(exc),
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        with self._lock:
            self.counters.callbacks_failed += 1
        self._remember(err)
        self._detach("callback_failed", err)
        if self.policy == "disable":
            self._warn_once(err, f"{event} callback")
        return err

    def _drop_event(self, event: str, exc: RecursionError) -> None:
        with self._lock:
            self.counters.dropped_events += 1
            first = self.counters.dropped_events == 1
        if first:
            self._log.debug(
                "recorder dropped a %s event: the program is at its recursion limit",
                event,
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    def _remember(self, err: RecorderError) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = err

    def _detach(self, reason: str, err: RecorderError) -> None:
        """Call the detach function once per guard (again only if it raised)."""
        with self._lock:
            if self._detached:
                return
            self._detached = True
            self.counters.detaches[reason] = self.counters.detaches.get(reason, 0) + 1
            detach = self._detach_fn
        if detach is None:
            self._log.debug("recorder guard has no detach function; nothing to detach")
            return
        try:
            detach(err)
        except PASS_THROUGH:
            raise
        except Exception as detach_exc:
            self._log.debug(
                "recorder detach failed: %s",
                describe(detach_exc),
                exc_info=(type(detach_exc), detach_exc, detach_exc.__traceback__),
            )

    def _warn_once(self, err: RecorderError, where: str) -> None:
        """One structured line per guard: the recorder stopped, the program goes on."""
        with self._lock:
            if self._warned:
                return
            self._warned = True
        message = " ".join(str(err.message).split())
        self._log.warning(
            "recorder disabled after %s (%s) in %s: %s; the program continues untraced",
            err.code.value,
            err.kind.label,
            where,
            message,
            extra={
                "error_code": err.code.value,
                "error_kind": err.kind.label,
                "exit_code": err.exit_code,
                "recorder_where": where,
                "recorder_policy": self.policy,
            },
        )


def _validate_policy(policy: str) -> str:
    for accepted in POLICIES:
        if policy == accepted:
            return accepted
    raise usage(
        ErrorCode.INVALID_POLICY_VALUE,
        f"invalid on_recorder_error policy {policy!r}; accepted: {', '.join(POLICIES)}",
        value=str(policy),
        accepted=list(POLICIES),
    )


def _positional_arity(fn: Callable[..., Any]) -> int | None:
    """The fixed number of positional arguments ``fn`` takes (1-4), or ``None`` for "use *args"."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    count = 0
    for param in signature.parameters.values():
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            if param.default is not param.empty:
                return None
            count += 1
        elif param.kind is param.VAR_KEYWORD or (
            param.kind is param.KEYWORD_ONLY and param.default is not param.empty
        ):
            continue
        else:
            return None
    return count if 1 <= count <= 4 else None


def _firing(failpoints: Failpoints, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` preceded by the failpoint ``name`` (built only when the point is enabled)."""
    fire = failpoints.fire

    def fire_then_call(*args: object) -> Any:
        fire(name)
        return fn(*args)

    return fire_then_call


# --- wrappers ---------------------------------------------------------------
# One function per arity on purpose: a ``*args`` wrapper packs and unpacks a
# tuple on every event, which is measurable on the LINE hot path (see
# bench/guard_overhead.py). The bodies are identical otherwise.


def _plain_wrapper(
    on_failure: _OnFailure, event: str, fn: Callable[..., Any], arity: int | None
) -> Callable[..., Any]:
    if arity == 1:

        def guarded1(a: object) -> Any:
            try:
                return fn(a)
            except PASS_THROUGH:
                raise
            except BaseException as exc:
                on_failure(event, exc, (a,))
                return None

        return guarded1
    if arity == 2:

        def guarded2(a: object, b: object) -> Any:
            try:
                return fn(a, b)
            except PASS_THROUGH:
                raise
            except BaseException as exc:
                on_failure(event, exc, (a, b))
                return None

        return guarded2
    if arity == 3:

        def guarded3(a: object, b: object, c: object) -> Any:
            try:
                return fn(a, b, c)
            except PASS_THROUGH:
                raise
            except BaseException as exc:
                on_failure(event, exc, (a, b, c))
                return None

        return guarded3
    if arity == 4:

        def guarded4(a: object, b: object, c: object, d: object) -> Any:
            try:
                return fn(a, b, c, d)
            except PASS_THROUGH:
                raise
            except BaseException as exc:
                on_failure(event, exc, (a, b, c, d))
                return None

        return guarded4

    def guarded(*args: object) -> Any:
        try:
            return fn(*args)
        except PASS_THROUGH:
            raise
        except BaseException as exc:
            on_failure(event, exc, args)
            return None

    return guarded


def _exclusive_wrapper(
    guard: BoundaryGuard, event: str, fn: Callable[..., Any], arity: int | None
) -> Callable[..., Any]:
    busy = reentry.busy
    get_ident = reentry.get_ident
    on_failure = guard._callback_failed
    if arity == 3:
        # The settrace function: (frame, event, arg).

        def exclusive3(a: object, b: object, c: object) -> Any:
            if (busy and get_ident() in busy) or guard._detached:
                return None
            try:
                return fn(a, b, c)
            except PASS_THROUGH:
                raise
            except BaseException as exc:
                on_failure(event, exc, (a, b, c))
                return None

        return exclusive3

    def exclusive(*args: object) -> Any:
        if (busy and get_ident() in busy) or guard._detached:
            return None
        try:
            return fn(*args)
        except PASS_THROUGH:
            raise
        except BaseException as exc:
            on_failure(event, exc, args)
            return None

    return exclusive
