"""Install, refuse, uninstall, detect a lost tracer: the process is left as it was found."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from logrec import LogRecorder, record_call

from pure_recorder.backend import SettraceBackend
from recorder_errors import ErrorCode, ErrorKind, RecorderError
from recorder_ffi import BoundaryGuard


def foreign_tracer(frame: FrameType, event: str, arg: Any) -> None:
    """Stands for a debugger's or coverage's trace function."""
    return None


@pytest.fixture
def backend() -> Iterator[SettraceBackend]:
    installed = SettraceBackend()
    yield installed
    installed.uninstall()


def install(backend: SettraceBackend, recorder: LogRecorder | None = None) -> LogRecorder:
    recorder = recorder or LogRecorder({__file__})
    guard = BoundaryGuard(policy="abort")
    guard.set_detach(lambda err: backend.uninstall())
    backend.install(recorder, guard)
    return recorder


def test_install_refuses_when_a_trace_function_is_already_set(backend: SettraceBackend) -> None:
    sys.settrace(foreign_tracer)
    try:
        with pytest.raises(RecorderError) as caught:
            install(backend)
        assert sys.gettrace() is foreign_tracer  # left untouched
    finally:
        sys.settrace(None)
    assert caught.value.code is ErrorCode.TRACER_INSTALL_CONFLICT
    assert caught.value.kind is ErrorKind.ENVIRONMENT
    assert caught.value.context["installed_by"] == "sys.settrace"
    assert "foreign_tracer" not in str(caught.value.context["tracer"])  # type only, no call
    assert threading.gettrace() is None


def test_install_refuses_when_new_threads_would_get_another_tracer(
    backend: SettraceBackend,
) -> None:
    threading.settrace(foreign_tracer)
    try:
        with pytest.raises(RecorderError) as caught:
            install(backend)
        assert threading.gettrace() is foreign_tracer
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.TRACER_INSTALL_CONFLICT
    assert caught.value.context["installed_by"] == "threading.settrace"
    assert sys.gettrace() is None


def test_install_twice_is_a_usage_error(backend: SettraceBackend) -> None:
    install(backend)
    with pytest.raises(RecorderError) as caught:
        install(backend)
    assert caught.value.code is ErrorCode.ALREADY_TRACING


def test_install_sets_this_thread_and_new_threads(backend: SettraceBackend) -> None:
    install(backend)
    assert sys.gettrace() is not None
    assert threading.gettrace() is sys.gettrace()
    assert backend.still_installed()


def test_uninstall_restores_both_hooks_and_is_idempotent(backend: SettraceBackend) -> None:
    install(backend)
    backend.uninstall()
    assert (sys.gettrace(), threading.gettrace()) == (None, None)
    assert not backend.still_installed()
    backend.uninstall()
    assert (sys.gettrace(), threading.gettrace()) == (None, None)


def test_uninstall_before_install_does_nothing(backend: SettraceBackend) -> None:
    backend.uninstall()
    assert sys.gettrace() is None


def test_nothing_is_recorded_after_uninstall(backend: SettraceBackend) -> None:
    def called() -> int:
        return 1

    recorder = install(backend)
    backend.uninstall()
    called()
    assert recorder.log == []


def test_the_backend_can_be_installed_again_after_uninstall(backend: SettraceBackend) -> None:
    def called() -> int:
        return 1

    install(backend)
    backend.uninstall()
    recorder = install(backend)
    called()
    backend.uninstall()
    assert [event for event, _, _ in recorder.log] == ["start", "line", "return"]


def test_a_program_that_replaces_the_tracer_is_detected(backend: SettraceBackend) -> None:
    install(backend)
    sys.settrace(foreign_tracer)
    try:
        assert not backend.still_installed()
        backend.uninstall()
        assert sys.gettrace() is foreign_tracer  # someone else's tracer is left alone
    finally:
        sys.settrace(None)


def test_a_program_that_removes_the_tracer_is_detected(backend: SettraceBackend) -> None:
    install(backend)
    sys.settrace(None)
    assert not backend.still_installed()


def test_finishing_the_activation_code_stops_tracing_but_is_no_detach(
    backend: SettraceBackend,
) -> None:
    def activation() -> int:
        return 1

    def after() -> int:
        return 2

    recorder = LogRecorder({__file__}, activation=__file__)
    install(backend, recorder)
    activation()
    after()
    assert recorder.finished
    assert [event for event, _, _ in recorder.log] == ["start", "line", "return"]
    assert (sys.gettrace(), threading.gettrace()) == (None, None)
    assert backend.still_installed()  # it let go on purpose


def test_frames_before_the_activation_code_are_not_traced(backend: SettraceBackend) -> None:
    seen: list[object] = []

    def before() -> None:
        seen.append(sys._getframe().f_trace)

    recorder = LogRecorder({__file__}, activation="/nowhere/activation.py")
    install(backend, recorder)
    before()
    backend.uninstall()
    assert seen == [None]
    assert recorder.log == []


def test_a_tracer_lost_at_the_recursion_limit_is_reported(backend: SettraceBackend) -> None:
    def dive(depth: int) -> int:
        return dive(depth + 1)

    recorder = LogRecorder({__file__})
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        install(backend, recorder)
        with pytest.raises(RecursionError):
            dive(0)
        lost = sys.gettrace() is None
        assert backend.still_installed() is not lost
    finally:
        sys.setrecursionlimit(limit)
        backend.uninstall()
    # CPython removes a settrace function at the limit on 3.12+ (reliability R1/R2).
    if sys.version_info >= (3, 12):
        assert lost


def test_record_call_helper_leaves_no_tracer() -> None:
    recorder = LogRecorder({__file__})
    assert record_call(SettraceBackend(), lambda: 7, recorder) == 7
    assert (sys.gettrace(), threading.gettrace()) == (None, None)
