"""The guard's promises hold for the trace function: failures never reach the program."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from types import CodeType, FrameType

import pytest
from logrec import LogRecorder

from pure_recorder.backend import SettraceBackend
from recorder_errors import ErrorCode, RecorderError
from recorder_ffi import BoundaryGuard, Failpoints, reentry


def work(n: int) -> int:
    total = 0
    for i in range(n):
        total += helper(i)
    return total


def helper(i: int) -> int:
    return i * 2


UNTRACED = work(5)


@pytest.fixture
def backend() -> Iterator[SettraceBackend]:
    installed = SettraceBackend()
    yield installed
    installed.uninstall()


def install(backend: SettraceBackend, recorder: LogRecorder, policy: str) -> BoundaryGuard:
    guard = BoundaryGuard(policy=policy)
    guard.set_detach(lambda err: backend.uninstall())
    backend.install(recorder, guard)
    return guard


def test_a_failure_under_disable_detaches_and_the_program_result_is_unchanged(
    backend: SettraceBackend,
) -> None:
    recorder = LogRecorder({__file__})
    recorder.fail_on = "line"
    guard = install(backend, recorder, "disable")
    result = work(5)
    assert result == UNTRACED
    assert (sys.gettrace(), threading.gettrace()) == (None, None)
    assert guard.failure is not None
    assert guard.failure.code is ErrorCode.CALLBACK_FAILED
    assert [event for event, _, _ in recorder.log] == ["start"]  # nothing after the failure


def test_a_failure_under_abort_stops_the_program_with_the_classified_error(
    backend: SettraceBackend,
) -> None:
    recorder = LogRecorder({__file__})
    recorder.fail_on = "return"
    install(backend, recorder, "abort")
    with pytest.raises(RecorderError) as caught:
        work(2)
    assert caught.value.code is ErrorCode.CALLBACK_FAILED
    assert (sys.gettrace(), threading.gettrace()) == (None, None)


class InterruptingRecorder(LogRecorder):
    """A recorder hit by Ctrl-C while it handles a line event."""

    def on_line(self, code: CodeType, frame: FrameType, line: int) -> None:
        raise KeyboardInterrupt


def test_keyboard_interrupt_in_the_trace_function_reaches_the_program_unchanged(
    backend: SettraceBackend,
) -> None:
    recorder = InterruptingRecorder({__file__})
    guard = install(backend, recorder, "abort")
    with pytest.raises(KeyboardInterrupt):
        work(2)
    assert guard.failure is None  # the program's interrupt, not a recorder failure
    # CPython drops a trace function that raised; the session reads this as a detach.
    assert not backend.still_installed()


class CallingRecorder(LogRecorder):
    """A recorder that runs program code while handling an event (like a user __repr__)."""

    def on_line(self, code: CodeType, frame: FrameType, line: int) -> None:
        helper(0)
        super().on_line(code, frame, line)


def test_code_the_recorder_runs_is_never_traced(backend: SettraceBackend) -> None:
    recorder = CallingRecorder({__file__})
    install(backend, recorder, "abort")
    work(1)
    backend.uninstall()
    names = [name for event, name, _ in recorder.log if event == "start"]
    assert names == ["work", "helper"]  # helper only once: the program's own call


def test_recorder_code_outside_callbacks_is_not_traced(backend: SettraceBackend) -> None:
    recorder = LogRecorder({__file__})
    install(backend, recorder, "abort")
    with reentry.inside():
        helper(1)
    helper(2)
    backend.uninstall()
    starts = [detail for event, _, detail in recorder.log if event == "start"]
    assert starts == [(("i", "2"),)]


def test_a_per_event_failpoint_fails_at_that_recorder_call(backend: SettraceBackend) -> None:
    recorder = LogRecorder({__file__})
    guard = BoundaryGuard(policy="disable", failpoints=Failpoints.parse("callback.line:2"))
    guard.set_detach(lambda err: backend.uninstall())
    backend.install(recorder, guard)
    assert work(5) == UNTRACED
    assert guard.failure is not None
    assert guard.failure.code is ErrorCode.CALLBACK_FAILED
    assert [event for event, _, _ in recorder.log] == ["start", "line"]  # the 2nd line failed
