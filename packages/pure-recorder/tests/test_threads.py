"""Threads: started after install, already running at install, and detached at uninstall."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest
from logrec import LogRecorder, balanced

from pure_recorder.backend import SettraceBackend
from recorder_ffi import BoundaryGuard

TIMEOUT = 10.0


def tick(n: int) -> int:
    return n + 1


@pytest.fixture
def backend() -> Iterator[SettraceBackend]:
    installed = SettraceBackend()
    yield installed
    installed.uninstall()


def install(backend: SettraceBackend) -> LogRecorder:
    recorder = LogRecorder({__file__})
    guard = BoundaryGuard(policy="abort")
    guard.set_detach(lambda err: backend.uninstall())
    backend.install(recorder, guard)
    return recorder


def ticks_in(recorder: LogRecorder, ident: int) -> int:
    return sum(
        1
        for event, name, _ in recorder.threads.get(ident, [])
        if (event, name) == ("start", "tick")
    )


def test_a_thread_started_after_install_is_recorded_on_its_own_stack(
    backend: SettraceBackend,
) -> None:
    recorder = install(backend)
    worker = threading.Thread(target=tick, args=(1,))
    worker.start()
    worker.join(TIMEOUT)
    backend.uninstall()
    log = recorder.threads[worker.ident or 0]
    assert [event for event, _, _ in log] == ["start", "line", "return"]
    assert balanced(log)


def test_a_thread_running_before_install_is_recorded_where_python_allows(
    backend: SettraceBackend,
) -> None:
    go = threading.Event()
    done = threading.Event()

    def waiting() -> None:
        go.wait(TIMEOUT)
        tick(0)
        done.set()

    worker = threading.Thread(target=waiting)
    worker.start()
    recorder = install(backend)
    go.set()
    done.wait(TIMEOUT)
    worker.join(TIMEOUT)
    backend.uninstall()
    # threading.settrace_all_threads exists on 3.12+; before, a running thread
    # cannot be given a trace function from outside (reliability P1).
    expected = 1 if sys.version_info >= (3, 12) else 0
    assert ticks_in(recorder, worker.ident or 0) == expected


def test_uninstall_stops_events_and_removes_the_tracer_on_every_thread(
    backend: SettraceBackend,
) -> None:
    ticking = threading.Event()
    uninstalled = threading.Event()
    report: dict[str, object] = {}

    def loop() -> None:
        n = 0
        while not ticking.is_set():
            n = tick(n)
            if n >= 3:
                ticking.set()
        uninstalled.wait(TIMEOUT)
        for _ in range(5):
            n = tick(n)
        report["tracer"] = sys.gettrace()

    recorder = install(backend)
    worker = threading.Thread(target=loop)
    worker.start()
    ticking.wait(TIMEOUT)
    backend.uninstall()
    before = ticks_in(recorder, worker.ident or 0)
    uninstalled.set()
    worker.join(TIMEOUT)
    assert before >= 3
    assert ticks_in(recorder, worker.ident or 0) == before
    assert report["tracer"] is None
