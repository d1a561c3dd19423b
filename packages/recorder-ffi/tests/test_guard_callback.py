"""BoundaryGuard.guard_callback: conversion, pass-through, policies, counters, failpoints."""

from __future__ import annotations

import errno
import logging
import threading
import types
from collections.abc import Callable
from typing import Any

import pytest

from recorder_errors import (
    EnvironmentError,
    ErrorCode,
    ErrorKind,
    InternalError,
    TargetError,
    UsageError,
    target,
)
from recorder_ffi import BoundaryGuard, Failpoints, InjectedFailure, inside, is_guarded, is_inside

MakeGuard = Callable[..., BoundaryGuard]


def qualname_of(code: types.CodeType) -> str:
    """What the guard reports as the function name (co_qualname is 3.11+)."""
    return getattr(code, "co_qualname", code.co_name)


def sample_code() -> types.CodeType:
    def traced_function() -> None:
        pass

    return traced_function.__code__


def failing(exc: BaseException) -> Callable[..., Any]:
    def callback(*args: object) -> None:
        raise exc

    return callback


def failing_line_callback(code: types.CodeType, line: int) -> None:
    raise ValueError("boom")


# --- construction -----------------------------------------------------------


def test_default_policy_is_abort() -> None:
    assert BoundaryGuard().policy == "abort"


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_valid_policies_are_accepted(policy: str) -> None:
    assert BoundaryGuard(policy=policy).policy == policy


@pytest.mark.parametrize("policy", ["Abort", "ignore", ""])
def test_invalid_policy_is_a_usage_error(policy: str) -> None:
    with pytest.raises(UsageError) as caught:
        BoundaryGuard(policy=policy)
    assert caught.value.code is ErrorCode.INVALID_POLICY_VALUE
    assert "abort" in caught.value.message and "disable" in caught.value.message


def test_new_guard_has_no_failure_and_zero_counters() -> None:
    guard = BoundaryGuard()
    assert guard.failure is None
    assert not guard.detached
    assert guard.counters.as_dict() == {
        "callbacks_failed": 0,
        "entry_point_failures": 0,
        "detaches": {},
        "dropped_events": 0,
    }


# --- the happy path ---------------------------------------------------------


@pytest.mark.parametrize("arity", [1, 2, 3, 4, 5])
def test_wrapper_passes_arguments_and_result_through(make_guard: MakeGuard, arity: int) -> None:
    names = [f"a{i}" for i in range(arity)]
    namespace: dict[str, Any] = {}
    exec(f"def callback({', '.join(names)}): return ({', '.join(names)},)", namespace)
    wrapper = make_guard().guard_callback("line", namespace["callback"])
    args = tuple(range(arity))
    assert wrapper(*args) == args


def test_wrapper_of_varargs_callback_passes_arguments_through(make_guard: MakeGuard) -> None:
    def callback(*args: object) -> tuple[object, ...]:
        return args

    wrapper = make_guard().guard_callback("py_start", callback)
    assert wrapper(1, 2) == (1, 2)


def test_wrapper_of_bound_method_passes_arguments_through(make_guard: MakeGuard) -> None:
    class Handler:
        def on_line(self, code: object, line: int) -> int:
            return line * 2

    wrapper = make_guard().guard_callback("line", Handler().on_line)
    assert wrapper(None, 21) == 42


def test_wrapper_returns_the_callbacks_value_such_as_disable(make_guard: MakeGuard) -> None:
    sentinel = object()
    wrapper = make_guard().guard_callback("line", lambda code, line: sentinel)
    assert wrapper(None, 1) is sentinel


def test_wrapper_is_marked_and_keeps_the_original(make_guard: MakeGuard) -> None:
    wrapper = make_guard().guard_callback("line", failing_line_callback)
    assert is_guarded(wrapper)
    assert wrapper.__wrapped__ is failing_line_callback  # type: ignore[attr-defined]
    assert wrapper.__name__ == "failing_line_callback"
    assert not is_guarded(failing_line_callback)


# --- conversion -------------------------------------------------------------


def test_unexpected_exception_becomes_internal_callback_failed(make_guard: MakeGuard) -> None:
    wrapper = make_guard().guard_callback("line", failing_line_callback)
    code = sample_code()
    with pytest.raises(InternalError) as caught:
        wrapper(code, 7)
    err = caught.value
    assert err.code is ErrorCode.CALLBACK_FAILED
    assert err.kind is ErrorKind.INTERNAL
    assert err.exit_code == 70
    assert isinstance(err.__cause__, ValueError)
    assert str(err.__cause__) == "boom"
    assert err.context["event"] == "line"
    assert err.context["exception_type"] == "ValueError"
    assert err.context["location"] == f"{code.co_filename}:7 {qualname_of(code)}"


def test_location_uses_first_line_for_non_line_events(make_guard: MakeGuard) -> None:
    wrapper = make_guard().guard_callback("py_start", failing(KeyError("k")))
    code = sample_code()
    with pytest.raises(InternalError) as caught:
        wrapper(code, 0)
    assert caught.value.context["location"] == (
        f"{code.co_filename}:{code.co_firstlineno} {qualname_of(code)}"
    )


def test_location_of_a_frame_argument_uses_its_current_line(make_guard: MakeGuard) -> None:
    import sys

    frame = sys._getframe()
    wrapper = make_guard().guard_callback("trace", failing(TypeError("t")))
    with pytest.raises(InternalError) as caught:
        wrapper(frame, "line", None)
    location = caught.value.context["location"]
    assert location.startswith(f"{frame.f_code.co_filename}:")
    assert location.endswith(qualname_of(frame.f_code))


def test_no_location_when_first_argument_is_not_code(make_guard: MakeGuard) -> None:
    wrapper = make_guard().guard_callback("line", failing(TypeError("t")))
    with pytest.raises(InternalError) as caught:
        wrapper("not code", 1)
    assert "location" not in caught.value.context


def test_recorder_error_keeps_its_classification(make_guard: MakeGuard) -> None:
    original = target(ErrorCode.VALUE_CAPTURE_FAILED, "repr broke", variable="x")
    wrapper = make_guard().guard_callback("py_return", failing(original))
    with pytest.raises(TargetError) as caught:
        wrapper(sample_code(), 0, None)
    assert caught.value is original
    assert caught.value.code is ErrorCode.VALUE_CAPTURE_FAILED
    assert caught.value.context["variable"] == "x"
    assert caught.value.context["event"] == "py_return"


def test_recorder_error_context_is_not_overwritten(make_guard: MakeGuard) -> None:
    original = target(ErrorCode.VALUE_CAPTURE_FAILED, "repr broke", event="mine")
    wrapper = make_guard().guard_callback("line", failing(original))
    with pytest.raises(TargetError):
        wrapper(None, 1)
    assert original.context["event"] == "mine"


def test_os_error_is_classified_as_environment(make_guard: MakeGuard) -> None:
    exc = OSError(errno.ENOSPC, "No space left on device")
    wrapper = make_guard().guard_callback("line", failing(exc))
    with pytest.raises(EnvironmentError) as caught:
        wrapper(None, 1)
    assert caught.value.code is ErrorCode.NO_SPACE
    assert caught.value.exit_code == 10
    assert caught.value.__cause__ is exc
    assert caught.value.context["event"] == "line"


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_memory_error_is_an_environment_out_of_memory_failure_exiting_10(
    make_guard: MakeGuard, policy: str
) -> None:
    exc = MemoryError("cannot allocate")
    guard = make_guard(policy=policy)
    wrapper = guard.guard_callback("line", failing(exc))
    if policy == "abort":
        with pytest.raises(EnvironmentError):
            wrapper(sample_code(), 1)
    else:
        assert wrapper(sample_code(), 1) is None
    failure = guard.failure
    assert failure is not None
    assert failure.code is ErrorCode.OUT_OF_MEMORY
    assert failure.kind is ErrorKind.ENVIRONMENT
    assert failure.exit_code == 10
    assert failure.__cause__ is exc
    assert failure.context["event"] == "line"


def test_unprintable_exception_is_still_converted(make_guard: MakeGuard) -> None:
    class Hostile(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str for you")

    wrapper = make_guard(policy="disable").guard_callback("line", failing(Hostile()))
    wrapper(None, 1)


# --- pass-through -----------------------------------------------------------


@pytest.mark.parametrize("policy", ["abort", "disable"])
@pytest.mark.parametrize(
    "exc", [KeyboardInterrupt(), SystemExit(3), GeneratorExit()], ids=lambda e: type(e).__name__
)
def test_interpreter_exceptions_pass_through_unchanged(
    make_guard: MakeGuard, detach: Any, policy: str, exc: BaseException
) -> None:
    guard = make_guard(policy=policy)
    wrapper = guard.guard_callback("line", failing(exc))
    with pytest.raises(type(exc)) as caught:
        wrapper(None, 1)
    assert caught.value is exc
    assert guard.failure is None
    assert guard.counters.callbacks_failed == 0
    assert detach.calls == []


# --- recursion limit --------------------------------------------------------


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_recursion_error_drops_the_event_without_detaching(
    make_guard: MakeGuard, detach: Any, policy: str
) -> None:
    guard = make_guard(policy=policy)
    wrapper = guard.guard_callback("line", failing(RecursionError("deep")))
    assert wrapper(None, 1) is None
    assert wrapper(None, 2) is None
    assert guard.counters.dropped_events == 2
    assert guard.counters.callbacks_failed == 0
    assert guard.failure is None
    assert detach.calls == []


# --- policy: disable ----------------------------------------------------------


def test_disable_returns_none_and_detaches_once(make_guard: MakeGuard, detach: Any) -> None:
    guard = make_guard(policy="disable")
    wrapper = guard.guard_callback("line", failing_line_callback)
    assert wrapper(None, 1) is None
    assert wrapper(None, 2) is None
    assert len(detach.calls) == 1
    assert detach.calls[0] is guard.failure
    assert guard.detached


def test_disable_logs_one_structured_warning(
    make_guard: MakeGuard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="recorder")
    guard = make_guard(policy="disable")
    wrapper = guard.guard_callback("line", failing_line_callback)
    wrapper(None, 1)
    wrapper(None, 2)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    record = warnings[0]
    assert record.name == "recorder.ffi"
    assert record.error_code == "ERR_CALLBACK_FAILED"  # type: ignore[attr-defined]
    assert record.error_kind == "Internal"  # type: ignore[attr-defined]
    assert "\n" not in record.getMessage()
    assert "ERR_CALLBACK_FAILED" in record.getMessage()


def test_each_failure_logs_its_traceback_once_at_debug(
    make_guard: MakeGuard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="recorder")
    wrapper = make_guard(policy="disable").guard_callback("line", failing_line_callback)
    wrapper(None, 1)
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
    assert len(debug) == 1
    assert debug[0].exc_info is not None
    assert isinstance(debug[0].exc_info[1], ValueError)


def test_disable_remembers_the_first_failure(make_guard: MakeGuard) -> None:
    guard = make_guard(policy="disable")
    guard.guard_callback("line", failing(ValueError("first")))(None, 1)
    guard.guard_callback("line", failing(ValueError("second")))(None, 1)
    assert guard.failure is not None
    assert isinstance(guard.failure.__cause__, ValueError)
    assert str(guard.failure.__cause__) == "first"
    assert guard.counters.callbacks_failed == 2
    assert guard.counters.detaches == {"callback_failed": 1}


# --- policy: abort ------------------------------------------------------------


def test_abort_raises_detaches_and_remembers(make_guard: MakeGuard, detach: Any) -> None:
    guard = make_guard(policy="abort")
    wrapper = guard.guard_callback("line", failing_line_callback)
    with pytest.raises(InternalError) as caught:
        wrapper(None, 1)
    assert guard.failure is caught.value
    assert detach.calls == [caught.value]
    assert guard.detached


def test_abort_failure_is_remembered_even_if_the_caller_swallows_it(
    make_guard: MakeGuard,
) -> None:
    guard = make_guard(policy="abort")
    wrapper = guard.guard_callback("line", failing_line_callback)

    def program() -> str:
        try:
            wrapper(None, 1)
        except Exception:
            return "swallowed"
        return "not raised"

    assert program() == "swallowed"
    assert guard.failure is not None
    assert guard.failure.exit_code == 70


def test_abort_logs_no_warning(make_guard: MakeGuard, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="recorder")
    wrapper = make_guard(policy="abort").guard_callback("line", failing_line_callback)
    with pytest.raises(InternalError):
        wrapper(None, 1)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# --- detach -------------------------------------------------------------------


def test_failure_without_detach_function_still_counts_and_detaches() -> None:
    guard = BoundaryGuard(policy="disable")
    guard.guard_callback("line", failing_line_callback)(None, 1)
    assert guard.detached
    assert guard.counters.detaches == {"callback_failed": 1}


def test_a_failing_detach_does_not_escape(make_guard: MakeGuard) -> None:
    guard = make_guard(policy="disable")

    def broken_detach(err: object) -> None:
        raise RuntimeError("detach broke")

    guard.set_detach(broken_detach)
    assert guard.guard_callback("line", failing_line_callback)(None, 1) is None
    assert guard.detached


def test_a_keyboard_interrupt_in_detach_reaches_the_program(make_guard: MakeGuard) -> None:
    guard = make_guard(policy="disable")

    def interrupted_detach(err: object) -> None:
        raise KeyboardInterrupt

    guard.set_detach(interrupted_detach)
    with pytest.raises(KeyboardInterrupt):
        guard.guard_callback("line", failing_line_callback)(None, 1)


def test_concurrent_failures_detach_once(make_guard: MakeGuard, detach: Any) -> None:
    guard = make_guard(policy="disable")
    wrapper = guard.guard_callback("line", failing_line_callback)
    threads = [threading.Thread(target=wrapper, args=(None, i)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(detach.calls) == 1
    assert guard.counters.callbacks_failed == 8


# --- record_failure -----------------------------------------------------------


def test_record_failure_detaches_remembers_and_does_not_raise(
    make_guard: MakeGuard, detach: Any
) -> None:
    guard = make_guard(policy="abort")
    err = EnvironmentError(ErrorCode.IO, "flush failed")
    assert guard.record_failure(err, reason="writer_error") is err
    assert guard.failure is err
    assert detach.calls == [err]
    assert guard.counters.detaches == {"writer_error": 1}


def test_record_failure_after_a_callback_failure_keeps_the_first(
    make_guard: MakeGuard, detach: Any
) -> None:
    guard = make_guard(policy="disable")
    guard.guard_callback("line", failing_line_callback)(None, 1)
    first = guard.failure
    guard.record_failure(EnvironmentError(ErrorCode.IO, "late"), reason="writer_error")
    assert guard.failure is first
    assert len(detach.calls) == 1


def test_record_failure_warns_once_under_disable(
    make_guard: MakeGuard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="recorder")
    guard = make_guard(policy="disable")
    guard.record_failure(EnvironmentError(ErrorCode.NO_SPACE, "full"), reason="writer_error")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.error_code for r in warnings] == ["ERR_NO_SPACE"]  # type: ignore[attr-defined]


# --- failpoints in callbacks ------------------------------------------------------


def test_enabled_callback_failpoint_fails_the_callback(make_guard: MakeGuard) -> None:
    calls: list[int] = []
    guard = make_guard(policy="abort", failpoints="callback.line")
    wrapper = guard.guard_callback("line", lambda code, line: calls.append(line))
    with pytest.raises(InternalError) as caught:
        wrapper(None, 1)
    assert isinstance(caught.value.__cause__, InjectedFailure)
    assert caught.value.code is ErrorCode.CALLBACK_FAILED
    assert calls == []


def test_callback_failpoint_only_affects_its_event(make_guard: MakeGuard) -> None:
    guard = make_guard(policy="abort", failpoints="callback.py_start")
    assert guard.guard_callback("line", lambda code, line: line)(None, 5) == 5


def test_callback_failpoint_with_hit_number_fires_in_the_middle(make_guard: MakeGuard) -> None:
    guard = make_guard(policy="disable", failpoints="callback.line:3")
    wrapper = guard.guard_callback("line", lambda code, line: line)
    assert [wrapper(None, n) for n in (1, 2, 3)] == [1, 2, None]
    assert guard.counters.callbacks_failed == 1


def test_guard_without_failpoints_argument_has_none() -> None:
    assert BoundaryGuard().failpoints == Failpoints()


# --- exclusive (settrace) wrappers ------------------------------------------------


@pytest.mark.parametrize("arity", [3, 2])
def test_exclusive_wrapper_skips_events_while_the_thread_runs_recorder_code(
    make_guard: MakeGuard, arity: int
) -> None:
    calls: list[tuple[object, ...]] = []
    namespace: dict[str, Any] = {"calls": calls}
    params = ", ".join(f"a{i}" for i in range(arity))
    exec(f"def callback({params}): calls.append(({params},))", namespace)
    wrapper = make_guard().guard_callback("trace", namespace["callback"], exclusive=True)
    with inside():
        assert wrapper(*range(arity)) is None
    assert calls == []
    wrapper(*range(arity))
    assert calls == [tuple(range(arity))]


def test_exclusive_wrapper_only_skips_the_marked_thread(make_guard: MakeGuard) -> None:
    calls: list[str] = []
    wrapper = make_guard().guard_callback("trace", lambda f, e, a: calls.append(e), exclusive=True)
    with inside():
        thread = threading.Thread(target=wrapper, args=(None, "other thread", None))
        thread.start()
        thread.join()
        wrapper(None, "marked thread", None)
    assert calls == ["other thread"]


def test_exclusive_wrapper_is_silent_after_detach(make_guard: MakeGuard) -> None:
    calls: list[str] = []
    guard = make_guard(policy="disable")
    guard.record_failure(InternalError(ErrorCode.UNKNOWN, "x"), reason="test")
    wrapper = guard.guard_callback("trace", lambda f, e, a: calls.append(e), exclusive=True)
    assert wrapper(None, "line", None) is None
    assert calls == []


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_exclusive_wrapper_applies_the_policy_and_clears_the_flag(
    make_guard: MakeGuard, policy: str
) -> None:
    guard = make_guard(policy=policy)
    wrapper = guard.guard_callback("trace", failing(ValueError("x")), exclusive=True)
    if policy == "abort":
        with pytest.raises(InternalError):
            wrapper(None, "line", None)
    else:
        assert wrapper(None, "line", None) is None
    assert not is_inside()
    assert guard.counters.callbacks_failed == 1


def test_exclusive_wrapper_passes_keyboard_interrupt(make_guard: MakeGuard) -> None:
    wrapper = make_guard().guard_callback("trace", failing(KeyboardInterrupt()), exclusive=True)
    with pytest.raises(KeyboardInterrupt):
        wrapper(None, "line", None)
    assert not is_inside()


def test_failure_in_exclusive_varargs_wrapper_is_converted(make_guard: MakeGuard) -> None:
    guard = make_guard(policy="disable")
    wrapper = guard.guard_callback("trace", failing(ValueError("x")), exclusive=True)
    # failing() returns a *args callback, so this is the generic exclusive wrapper
    assert wrapper(None) is None
    assert guard.counters.callbacks_failed == 1


@pytest.mark.parametrize("arity", [1, 2, 3, 4, 5])
def test_every_arity_converts_failures(make_guard: MakeGuard, arity: int) -> None:
    params = ", ".join(f"a{i}" for i in range(arity))
    namespace: dict[str, Any] = {}
    exec(f"def callback({params}): raise ValueError('x')", namespace)
    guard = make_guard(policy="disable")
    assert guard.guard_callback("line", namespace["callback"])(*range(arity)) is None
    assert guard.counters.callbacks_failed == 1


@pytest.mark.parametrize("arity", [1, 2, 3, 4, 5])
def test_every_arity_passes_keyboard_interrupt(make_guard: MakeGuard, arity: int) -> None:
    params = ", ".join(f"a{i}" for i in range(arity))
    namespace: dict[str, Any] = {}
    exec(f"def callback({params}): raise KeyboardInterrupt", namespace)
    wrapper = make_guard(policy="disable").guard_callback("line", namespace["callback"])
    with pytest.raises(KeyboardInterrupt):
        wrapper(*range(arity))


def test_callback_with_defaults_uses_the_generic_wrapper(make_guard: MakeGuard) -> None:
    def callback(code: object, line: int = 0, *, flag: bool = False, **extra: object) -> int:
        return line

    assert make_guard().guard_callback("line", callback)(None, 4) == 4


def test_builtin_callable_without_signature_is_wrapped(make_guard: MakeGuard) -> None:
    wrapper = make_guard().guard_callback("line", max)
    assert wrapper(3, 9) == 9


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_failure_bookkeeping_runs_marked_as_recorder_code(
    make_guard: MakeGuard, policy: str
) -> None:
    # The warning may go to a stderr handler that the runtime's IO capture
    # proxies: it must not be captured as the program's output.
    marks: list[bool] = []

    class MarkSpy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            marks.append(is_inside())

    guard = make_guard(policy=policy)
    guard.set_detach(lambda err: marks.append(is_inside()))
    spy = MarkSpy(logging.DEBUG)
    logger = logging.getLogger("recorder.ffi")
    logger.addHandler(spy)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        try:
            guard.guard_callback("line", failing_line_callback)(None, 1)
        except InternalError:
            pass
        guard.record_failure(InternalError(ErrorCode.UNKNOWN, "late"), reason="test")
    finally:
        logger.removeHandler(spy)
        logger.setLevel(old_level)
    assert marks and all(marks)
    assert not is_inside()


def test_keyword_only_parameters_with_defaults_keep_the_fixed_arity(
    make_guard: MakeGuard,
) -> None:
    def callback(code: object, line: int, *, flag: bool = False, **extra: object) -> int:
        return line

    wrapper = make_guard().guard_callback("line", callback)
    assert wrapper(None, 8) == 8
    assert wrapper.__code__.co_argcount == 2


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_three_argument_exclusive_wrapper_applies_the_policy(
    make_guard: MakeGuard, policy: str
) -> None:
    def trace(frame: object, event: str, arg: object) -> None:
        raise ValueError("trace broke")

    guard = make_guard(policy=policy)
    wrapper = guard.guard_callback("trace", trace, exclusive=True)
    assert wrapper.__code__.co_argcount == 3
    if policy == "abort":
        with pytest.raises(InternalError):
            wrapper(None, "line", None)
    else:
        assert wrapper(None, "line", None) is None
    assert guard.counters.callbacks_failed == 1


def test_long_multiline_messages_become_one_bounded_line(make_guard: MakeGuard) -> None:
    wrapper = make_guard().guard_callback("line", failing(ValueError("x\n" * 500)))
    with pytest.raises(InternalError) as caught:
        wrapper(None, 1)
    message = caught.value.message
    assert "\n" not in message
    assert len(message) < 250
    assert message.endswith("...")


def test_callback_called_without_arguments_has_no_location(make_guard: MakeGuard) -> None:
    wrapper = make_guard().guard_callback("py_start", failing(ValueError("x")))
    with pytest.raises(InternalError) as caught:
        wrapper()
    assert "location" not in caught.value.context


def test_three_argument_exclusive_wrapper_passes_keyboard_interrupt(
    make_guard: MakeGuard,
) -> None:
    def trace(frame: object, event: str, arg: object) -> None:
        raise KeyboardInterrupt

    guard = make_guard(policy="disable")
    with pytest.raises(KeyboardInterrupt):
        guard.guard_callback("trace", trace, exclusive=True)(None, "line", None)
    assert guard.failure is None
