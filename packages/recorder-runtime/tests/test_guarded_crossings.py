"""Every crossing from the program or the interpreter into recorder code is guarded (issue 3).

The tests enumerate what is really registered with the interpreter while a session
records (sys.monitoring callbacks, the settrace functions) and the public API
functions, and check that each one is a ``recorder_ffi`` guard wrapper.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

import recorder_runtime
from recorder_ffi import is_guarded
from recorder_runtime import api

MONITORING_EVENTS = (
    "PY_START",
    "PY_RESUME",
    "PY_RETURN",
    "PY_YIELD",
    "PY_UNWIND",
    "PY_THROW",
    "LINE",
)


@pytest.mark.parametrize("name", ["start", "stop", "flush", "is_tracing"])
def test_public_api_functions_are_guarded_entry_points(name: str) -> None:
    assert is_guarded(getattr(recorder_runtime, name))


def test_trace_context_manager_entry_and_exit_are_guarded() -> None:
    assert is_guarded(api.trace.__enter__)
    assert is_guarded(api.trace.__exit__)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring exists on 3.12+ only")
def test_every_registered_monitoring_callback_is_guarded(tmp_path: Path) -> None:
    session = recorder_runtime.start(str(tmp_path / "trace"), backend="monitoring")
    try:
        backend = session.backend
        tool_id = getattr(backend, "tool_id", None)
        assert tool_id is not None
        mon = sys.monitoring
        registered = {}
        for name in MONITORING_EVENTS:
            event = getattr(mon.events, name)
            callback = mon.register_callback(tool_id, event, None)  # read by swapping
            mon.register_callback(tool_id, event, callback)
            registered[name] = callback
    finally:
        recorder_runtime.stop(exit_code=0)
    assert all(callback is not None for callback in registered.values()), registered
    assert all(is_guarded(callback) for callback in registered.values()), registered


def test_the_settrace_functions_are_guarded(tmp_path: Path) -> None:
    pytest.importorskip("pure_recorder.backend", reason="the settrace fallback is not installed")
    if sys.gettrace() is not None:
        pytest.skip("another tracer (a debugger or coverage) is active")
    session = recorder_runtime.start(str(tmp_path / "trace"), backend="settrace")
    try:
        global_tracer = sys.gettrace()
        thread_tracer = threading.gettrace() if hasattr(threading, "gettrace") else None
    finally:
        recorder_runtime.stop(exit_code=0)
    assert session.backend is not None and session.backend.name == "settrace"
    assert global_tracer is not None and is_guarded(global_tracer)
    if thread_tracer is not None:
        assert is_guarded(thread_tracer)
