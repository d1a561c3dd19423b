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
    """Install with a guard whose detach uninstalls the backend (as the session does)."""
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
    """A recorder hit once by Ctrl-C (or a signal handler's sys.exit) in ``helper``'s first line."""

    def __init__(self, files: set[str], exc: BaseException) -> None:
        super().__init__(files)
        self.exc: BaseException | None = exc

    def on_line(self, code: CodeType, frame: FrameType, line: int) -> None:
        if self.exc is not None and code is helper.__code__:
            exc, self.exc = self.exc, None
            raise exc
        super().on_line(code, frame, line)


def handles_an_interrupt() -> int:
    try:
        helper(1)
    except KeyboardInterrupt:
        pass
    return helper(2)


def calls(log: list[tuple[str, str, object]]) -> list[tuple[str, str, object]]:
    return [entry for entry in log if entry[0] != "line"]


def test_an_interrupt_in_the_trace_function_reaches_the_program_and_tracing_goes_on(
    backend: SettraceBackend,
) -> None:
    recorder = InterruptingRecorder({__file__}, KeyboardInterrupt())
    guard = install(backend, recorder, "abort")
    assert handles_an_interrupt() == 4
    assert backend.still_installed()  # CPython dropped the tracer; it was put back
    backend.uninstall()
    assert guard.failure is None  # the program's interrupt, not a recorder failure
    assert calls(recorder.log) == [
        ("start", "handles_an_interrupt", ()),
        ("start", "helper", (("i", "1"),)),
        ("unwind", "helper", "KeyboardInterrupt()"),
        ("start", "helper", (("i", "2"),)),
        ("return", "helper", "4"),
        ("return", "handles_an_interrupt", "4"),
    ]
    lines = [line for event, name, line in recorder.log if event == "line" and name != "helper"]
    assert lines == [1, 2, 3, 4, 5]  # the handler's lines were recorded


def test_a_system_exit_from_a_signal_handler_ends_the_program_with_a_balanced_trace(
    backend: SettraceBackend,
) -> None:
    recorder = InterruptingRecorder({__file__}, SystemExit(7))
    install(backend, recorder, "abort")
    with pytest.raises(SystemExit) as caught:
        work(2)
    assert caught.value.code == 7
    assert backend.still_installed()
    backend.uninstall()
    assert calls(recorder.log)[-2:] == [
        ("unwind", "helper", "SystemExit(7)"),
        ("unwind", "work", "SystemExit(7)"),
    ]


def test_an_interrupt_under_a_profiler_ends_tracing_and_is_reported_as_a_detach(
    backend: SettraceBackend,
) -> None:
    def profiler(frame: FrameType, event: str, arg: object) -> None:
        return None

    recorder = InterruptingRecorder({__file__}, KeyboardInterrupt())
    install(backend, recorder, "abort")
    sys.setprofile(profiler)
    try:
        assert handles_an_interrupt() == 4
        assert sys.getprofile() is profiler  # the program's profiler is left alone
    finally:
        sys.setprofile(None)
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
