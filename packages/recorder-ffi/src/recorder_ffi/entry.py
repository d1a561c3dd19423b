"""The entry-point guard: the boundary crossed when the program calls the recorder's API.

Wrap every public function of the recorder (``start``, ``stop``, ``flush``,
``trace``...) with :func:`guard_entry_point`. The caller then only ever sees
a classified ``RecorderError`` (or its own ``KeyboardInterrupt``/``SystemExit``),
never a stray ``TypeError`` from deep inside the recorder.

Never wrap a function that runs the *program's* code (a runner, the call inside
a tracing decorator): the guard would reclassify the program's own exceptions
as recorder bugs, and the re-entrancy flag it sets would hide the program's
frames from the settrace backend.

Unexpected failures are counted process-wide (:func:`entry_point_failure_count`)
and, when a :class:`~recorder_ffi.BoundaryGuard` is active (see
:meth:`BoundaryGuard.activate`), also in that guard's counters, where the
session picks them up for the trace metadata.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import ParamSpec, Protocol, TypeVar

from recorder_errors import ErrorCode, RecorderError
from recorder_ffi import reentry
from recorder_ffi.classify import classify, describe

__all__ = [
    "GUARD_MARK",
    "active_guard",
    "entry_point_failure_count",
    "guard_entry_point",
    "is_guarded",
]

P = ParamSpec("P")
R = TypeVar("R")

#: Attribute set to ``True`` on every wrapper this package builds.
GUARD_MARK = "__recorder_guarded__"

#: Exceptions that belong to the program (or the interpreter), never converted.
PASS_THROUGH: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, GeneratorExit)

_log = logging.getLogger("recorder.ffi")


class FailureSink(Protocol):
    """What an active guard offers the entry-point guard."""

    def note_entry_point_failure(self, err: RecorderError) -> None: ...


class _Registry:
    """Process-wide state: the failure count and the active guard."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures = 0
        self.active: FailureSink | None = None


_registry = _Registry()


def entry_point_failure_count() -> int:
    """How many entry-point calls failed unexpectedly in this process so far."""
    return _registry.failures


def active_guard() -> FailureSink | None:
    """The guard currently registered with ``activate()``, if any."""
    return _registry.active


def set_active(sink: FailureSink | None, *, only_if: FailureSink | None = None) -> None:
    """Register ``sink`` as the active guard (internal; use ``BoundaryGuard.activate``).

    With ``only_if``, the change happens only when that guard is the active one,
    so a stale guard deactivating cannot unregister a newer session's guard.
    """
    with _registry.lock:
        if only_if is None or _registry.active is only_if:
            _registry.active = sink


def is_guarded(fn: object) -> bool:
    """True when ``fn`` (a function or a bound method) was built by this package's guards."""
    return getattr(fn, GUARD_MARK, False) is True


def guard_entry_point(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a public API function so that only classified errors leave it.

    - a ``RecorderError`` passes through with its classification;
    - ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` pass through;
    - anything else becomes ``InternalError`` ``ERR_UNKNOWN`` (an ``OSError``
      or ``MemoryError`` becomes an Environment error instead), with the
      original as ``__cause__`` and ``entry_point`` in its context; the
      traceback is logged once at DEBUG level and the failure is counted.

    While the function runs, the thread is marked as running recorder code
    (see :mod:`recorder_ffi.reentry`).
    """
    name = getattr(fn, "__qualname__", None) or repr(fn)
    enter = reentry.enter
    leave = reentry.leave

    @functools.wraps(fn)
    def entry_point(*args: P.args, **kwargs: P.kwargs) -> R:
        entered = enter()
        try:
            return fn(*args, **kwargs)
        except PASS_THROUGH:
            raise
        except RecorderError:
            raise
        except BaseException as exc:
            raise _entry_point_failed(name, exc) from exc
        finally:
            if entered:
                leave()

    setattr(entry_point, GUARD_MARK, True)
    return entry_point


def _entry_point_failed(name: str, exc: BaseException) -> RecorderError:
    """Classify, log and count one unexpected entry-point failure."""
    err = classify(exc, ErrorCode.UNKNOWN, entry_point=name)
    _log.debug(
        "recorder entry point %s failed: %s",
        name,
        describe(exc),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    with _registry.lock:
        _registry.failures += 1
        sink = _registry.active
    if sink is not None:
        sink.note_entry_point_failure(err)
    return err
