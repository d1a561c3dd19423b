"""The guard on a real ``sys.monitoring`` LINE callback (Python 3.12+)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from recorder_errors import EnvironmentError, ErrorCode, InternalError, RecorderError, exit_code_for
from recorder_ffi import BoundaryGuard, Failpoints

pytestmark = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")

TOOL_NAME = "recorder-ffi-test"


def traced(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


UNTRACED_RESULT = traced(10)


class Tool:
    """A monitoring tool id holding one LINE callback on ``traced``; detach is the full detach."""

    def __init__(self) -> None:
        mon = sys.monitoring
        free = [i for i in (3, 4, 2, 5, 1, 0) if mon.get_tool(i) is None]
        if not free:
            pytest.skip("no free sys.monitoring tool id")
        self.id = free[0]
        mon.use_tool_id(self.id, TOOL_NAME)
        self.detach_calls = 0

    def install(self, callback: Any) -> None:
        mon = sys.monitoring
        mon.register_callback(self.id, mon.events.LINE, callback)
        mon.set_local_events(self.id, traced.__code__, mon.events.LINE)

    def detach(self, err: RecorderError | None = None) -> None:
        self.detach_calls += 1
        mon = sys.monitoring
        if mon.get_tool(self.id) != TOOL_NAME:
            return
        mon.set_events(self.id, 0)
        mon.set_local_events(self.id, traced.__code__, 0)
        mon.register_callback(self.id, mon.events.LINE, None)
        mon.free_tool_id(self.id)


@pytest.fixture
def tool() -> Iterator[Tool]:
    tool = Tool()
    try:
        yield tool
    finally:
        tool.detach()
        assert sys.monitoring.get_tool(tool.id) is None


def line_callback_failing_at(event_number: int, seen: list[int]) -> Any:
    def on_line(code: Any, line: int) -> None:
        seen.append(line)
        if len(seen) == event_number:
            raise ValueError("recorder bug")

    return on_line


def test_guarded_callback_sees_events_and_leaves_the_result_alone(tool: Tool) -> None:
    seen: list[int] = []
    guard = BoundaryGuard()
    guard.set_detach(tool.detach)
    tool.install(guard.guard_callback("line", lambda code, line: seen.append(line)))
    assert traced(10) == UNTRACED_RESULT
    assert len(seen) > 10
    assert guard.failure is None


def test_disable_detaches_and_the_program_is_untouched(tool: Tool) -> None:
    seen: list[int] = []
    guard = BoundaryGuard(policy="disable")
    guard.set_detach(tool.detach)
    tool.install(guard.guard_callback("line", line_callback_failing_at(3, seen)))
    assert traced(10) == UNTRACED_RESULT
    assert len(seen) == 3
    assert traced(10) == UNTRACED_RESULT
    assert len(seen) == 3
    assert tool.detach_calls == 1
    assert sys.monitoring.get_tool(tool.id) is None
    assert guard.failure is not None
    assert guard.failure.context["location"].endswith(f" {traced.__qualname__}")


def test_abort_raises_into_the_traced_function(tool: Tool) -> None:
    seen: list[int] = []
    guard = BoundaryGuard(policy="abort")
    guard.set_detach(tool.detach)
    tool.install(guard.guard_callback("line", line_callback_failing_at(3, seen)))
    with pytest.raises(InternalError) as caught:
        traced(10)
    assert caught.value is guard.failure
    assert isinstance(caught.value.__cause__, ValueError)
    assert tool.detach_calls == 1
    assert traced(10) == UNTRACED_RESULT
    assert len(seen) == 3


def test_out_of_memory_in_a_real_callback_is_an_environment_failure_exiting_10(
    tool: Tool,
) -> None:
    def on_line(code: Any, line: int) -> None:
        raise MemoryError

    guard = BoundaryGuard(policy="abort")
    guard.set_detach(tool.detach)
    tool.install(guard.guard_callback("line", on_line))
    with pytest.raises(EnvironmentError) as caught:
        traced(10)
    assert caught.value is guard.failure
    assert caught.value.code is ErrorCode.OUT_OF_MEMORY
    assert exit_code_for(caught.value) == 10
    assert isinstance(caught.value.__cause__, MemoryError)
    assert traced(10) == UNTRACED_RESULT


def test_abort_is_remembered_when_the_program_swallows_it(tool: Tool) -> None:
    guard = BoundaryGuard(policy="abort")
    guard.set_detach(tool.detach)
    tool.install(guard.guard_callback("line", line_callback_failing_at(1, [])))

    def program() -> str:
        try:
            traced(10)
        except Exception:
            return "swallowed"
        return "finished"

    assert program() == "swallowed"
    assert guard.failure is not None
    assert guard.failure.exit_code == 70


def test_failpoint_fails_the_first_line_event(tool: Tool) -> None:
    seen: list[int] = []
    guard = BoundaryGuard(policy="disable", failpoints=Failpoints.parse("callback.line"))
    guard.set_detach(tool.detach)
    tool.install(guard.guard_callback("line", lambda code, line: seen.append(line)))
    assert traced(10) == UNTRACED_RESULT
    assert seen == []
    assert guard.counters.callbacks_failed == 1


def test_keyboard_interrupt_in_the_callback_reaches_the_program(tool: Tool) -> None:
    guard = BoundaryGuard(policy="disable")
    guard.set_detach(tool.detach)

    def on_line(code: Any, line: int) -> None:
        raise KeyboardInterrupt

    tool.install(guard.guard_callback("line", on_line))
    with pytest.raises(KeyboardInterrupt):
        traced(10)
    assert guard.failure is None
    assert tool.detach_calls == 0


def test_code_called_by_the_callback_produces_no_events(tool: Tool) -> None:
    # fact M3: why the monitoring path needs no re-entrancy flag
    seen: list[int] = []
    guard = BoundaryGuard()
    guard.set_detach(tool.detach)

    def on_line(code: Any, line: int) -> None:
        seen.append(line)
        traced(5)

    tool.install(guard.guard_callback("line", on_line))
    traced(1)
    lines_for_one_iteration = len(seen)
    seen.clear()
    traced(2)
    # one more iteration adds two LINE events (loop header and body), no nested ones
    assert len(seen) == lines_for_one_iteration + 2
