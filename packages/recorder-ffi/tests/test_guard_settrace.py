"""The guard on a real ``sys.settrace`` trace function (every Python version)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from recorder_errors import InternalError, RecorderError
from recorder_ffi import BoundaryGuard, guard_entry_point


def traced(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


UNTRACED_RESULT = traced(10)


@guard_entry_point
def flush_entry_point() -> str:
    return recorder_internal_helper()


def recorder_internal_helper() -> str:
    return "flushed"


def calls_the_recorder() -> str:
    return flush_entry_point()


class Tracer:
    """A minimal settrace backend: records (event, function name) for the target functions."""

    targets = frozenset({"traced", "calls_the_recorder", "recorder_internal_helper"})

    def __init__(self, guard: BoundaryGuard, fail_at: int | None = None) -> None:
        self.events: list[tuple[str, str]] = []
        self.fail_at = fail_at
        self.detach_calls = 0
        guard.set_detach(self.detach)
        self.trace = guard.guard_callback("trace", self.on_event, exclusive=True)

    def on_event(self, frame: types.FrameType, event: str, arg: object) -> Any:
        name = frame.f_code.co_name
        if name not in self.targets:
            return None
        self.events.append((event, name))
        if self.fail_at is not None and len(self.events) == self.fail_at:
            raise ValueError("recorder bug")
        return self.trace

    def detach(self, err: RecorderError | None = None) -> None:
        self.detach_calls += 1
        sys.settrace(None)


@pytest.fixture
def restore_trace() -> Iterator[None]:
    previous = sys.gettrace()
    try:
        yield
    finally:
        sys.settrace(previous)


def run_traced(tracer: Tracer, fn: Any, *args: Any) -> Any:
    sys.settrace(tracer.trace)
    try:
        return fn(*args)
    finally:
        sys.settrace(None)


@pytest.mark.usefixtures("restore_trace")
def test_guarded_trace_function_sees_events_and_leaves_the_result_alone() -> None:
    tracer = Tracer(BoundaryGuard())
    assert run_traced(tracer, traced, 10) == UNTRACED_RESULT
    assert tracer.events[0] == ("call", "traced")
    assert ("return", "traced") in tracer.events


@pytest.mark.usefixtures("restore_trace")
def test_disable_detaches_and_the_program_is_untouched() -> None:
    guard = BoundaryGuard(policy="disable")
    tracer = Tracer(guard, fail_at=3)
    assert run_traced(tracer, traced, 10) == UNTRACED_RESULT
    # the frame keeps its local trace function after sys.settrace(None); the
    # guard makes it a no-op, so nothing after the failure is recorded
    assert len(tracer.events) == 3
    assert tracer.detach_calls == 1
    assert guard.counters.callbacks_failed == 1


@pytest.mark.usefixtures("restore_trace")
def test_abort_raises_into_the_traced_frame() -> None:
    guard = BoundaryGuard(policy="abort")
    tracer = Tracer(guard, fail_at=3)
    with pytest.raises(InternalError) as caught:
        run_traced(tracer, traced, 10)
    assert caught.value is guard.failure
    assert caught.value.context["event"] == "trace"
    assert caught.value.context["location"].endswith(" traced")
    assert tracer.detach_calls == 1


@pytest.mark.usefixtures("restore_trace")
def test_recorder_code_reached_from_the_program_is_not_traced() -> None:
    tracer = Tracer(BoundaryGuard())
    assert (
        run_traced(
            tracer,
            calls_the_recorder,
        )
        == "flushed"
    )
    names = {name for _, name in tracer.events}
    assert "calls_the_recorder" in names
    assert "recorder_internal_helper" not in names


@pytest.mark.usefixtures("restore_trace")
def test_code_called_by_the_trace_function_produces_no_events() -> None:
    # Why exclusive wrappers need not mark the thread while they run: the
    # interpreter itself does not call the trace function re-entrantly.
    guard = BoundaryGuard()
    tracer = Tracer(guard)
    on_event = tracer.on_event

    def on_event_calling_recorder_code(frame: types.FrameType, event: str, arg: object) -> Any:
        recorder_internal_helper()
        return on_event(frame, event, arg)

    tracer.trace = guard.guard_callback("trace", on_event_calling_recorder_code, exclusive=True)
    assert run_traced(tracer, traced, 3) == traced(3)
    assert tracer.events
    assert {name for _, name in tracer.events} == {"traced"}
