"""guard_entry_point: what a caller of the recorder's public API can see."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from recorder_errors import (
    EnvironmentError,
    ErrorCode,
    InternalError,
    UsageError,
    usage,
)
from recorder_ffi import (
    BoundaryGuard,
    active_guard,
    entry_point_failure_count,
    guard_entry_point,
    is_guarded,
    is_inside,
)


def raising(exc: BaseException) -> Callable[..., Any]:
    def start(*args: object, **kwargs: object) -> None:
        raise exc

    return start


@pytest.fixture
def guard() -> Iterator[BoundaryGuard]:
    guard = BoundaryGuard(policy="disable")
    guard.activate()
    yield guard
    guard.deactivate()


def test_result_and_arguments_pass_through() -> None:
    @guard_entry_point
    def flush(a: int, *, b: int) -> int:
        return a + b

    assert flush(1, b=2) == 3


def test_entry_point_is_marked_and_keeps_its_name() -> None:
    def stop() -> None:
        """Stop recording."""

    wrapped = guard_entry_point(stop)
    assert is_guarded(wrapped)
    assert wrapped.__name__ == "stop"
    assert wrapped.__doc__ == "Stop recording."
    assert wrapped.__wrapped__ is stop  # type: ignore[attr-defined]


def test_guarded_method_is_guarded_when_bound() -> None:
    class Session:
        @guard_entry_point
        def stop(self) -> str:
            return "stopped"

    session = Session()
    assert is_guarded(session.stop)
    assert session.stop() == "stopped"


def test_unexpected_exception_becomes_internal_unknown() -> None:
    original = ZeroDivisionError("oops")
    start = guard_entry_point(raising(original))
    with pytest.raises(InternalError) as caught:
        start()
    err = caught.value
    assert err.code is ErrorCode.UNKNOWN
    assert err.exit_code == 70
    assert err.__cause__ is original
    assert err.context["entry_point"].endswith("start")
    assert err.context["exception_type"] == "ZeroDivisionError"


def test_os_error_becomes_environment_error() -> None:
    start = guard_entry_point(raising(PermissionError(errno.EACCES, "denied", "/x")))
    with pytest.raises(EnvironmentError) as caught:
        start()
    assert caught.value.code is ErrorCode.PERMISSION_DENIED
    assert caught.value.context["filename"] == "/x"


def test_memory_error_becomes_environment_out_of_memory_exiting_10() -> None:
    start = guard_entry_point(raising(MemoryError()))
    with pytest.raises(EnvironmentError) as caught:
        start()
    assert caught.value.code is ErrorCode.OUT_OF_MEMORY
    assert caught.value.exit_code == 10
    assert caught.value.context["entry_point"].endswith("start")


def test_recorder_error_passes_through_with_its_classification() -> None:
    original = usage(ErrorCode.ALREADY_TRACING, "already")
    start = guard_entry_point(raising(original))
    before = entry_point_failure_count()
    with pytest.raises(UsageError) as caught:
        start()
    assert caught.value is original
    assert entry_point_failure_count() == before


@pytest.mark.parametrize(
    "exc", [KeyboardInterrupt(), SystemExit(0), GeneratorExit()], ids=lambda e: type(e).__name__
)
def test_interpreter_exceptions_pass_through(exc: BaseException) -> None:
    before = entry_point_failure_count()
    with pytest.raises(type(exc)) as caught:
        guard_entry_point(raising(exc))()
    assert caught.value is exc
    assert entry_point_failure_count() == before


def test_failures_are_counted_process_wide() -> None:
    before = entry_point_failure_count()
    for _ in range(2):
        with pytest.raises(InternalError):
            guard_entry_point(raising(ValueError()))()
    assert entry_point_failure_count() == before + 2


def test_failures_are_added_to_the_active_guard(guard: BoundaryGuard) -> None:
    assert active_guard() is guard
    with pytest.raises(InternalError) as caught:
        guard_entry_point(raising(ValueError()))()
    assert guard.counters.entry_point_failures == 1
    assert guard.failure is caught.value
    assert not guard.detached


def test_classified_errors_are_not_session_failures(guard: BoundaryGuard) -> None:
    with pytest.raises(UsageError):
        guard_entry_point(raising(usage(ErrorCode.NOT_TRACING, "no session")))()
    assert guard.failure is None
    assert guard.counters.entry_point_failures == 0


def test_inactive_guard_is_not_counted() -> None:
    guard = BoundaryGuard()
    guard.activate()
    guard.deactivate()
    assert active_guard() is None
    with pytest.raises(InternalError):
        guard_entry_point(raising(ValueError()))()
    assert guard.counters.entry_point_failures == 0


def test_stale_guard_cannot_deactivate_a_newer_one(guard: BoundaryGuard) -> None:
    older = BoundaryGuard()
    older.deactivate()
    assert active_guard() is guard


def test_nested_entry_points_convert_and_count_once() -> None:
    inner = guard_entry_point(raising(ValueError("inner")))

    @guard_entry_point
    def outer() -> None:
        inner()

    before = entry_point_failure_count()
    with pytest.raises(InternalError) as caught:
        outer()
    assert caught.value.context["entry_point"].endswith("start")
    assert entry_point_failure_count() == before + 1


def test_entry_point_marks_the_thread_as_recorder_code() -> None:
    seen: list[bool] = []

    @guard_entry_point
    def flush() -> None:
        seen.append(is_inside())

    flush()
    assert seen == [True]
    assert not is_inside()


def test_flag_is_restored_after_a_failure_and_when_nested() -> None:
    seen: list[bool] = []

    @guard_entry_point
    def inner() -> None:
        raise ValueError

    @guard_entry_point
    def outer() -> None:
        try:
            inner()
        except InternalError:
            seen.append(is_inside())

    outer()
    assert seen == [True]
    assert not is_inside()


def test_traceback_is_logged_once_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="recorder")
    inner = guard_entry_point(raising(ValueError("x")))
    outer = guard_entry_point(lambda: inner())
    with pytest.raises(InternalError):
        outer()
    logged = [r for r in caplog.records if r.name == "recorder.ffi"]
    assert len(logged) == 1
    assert logged[0].levelno == logging.DEBUG
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], ValueError)
