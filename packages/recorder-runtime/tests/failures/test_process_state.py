"""N5 and instrumentation integration (A3, A7, B1, B5, B6, B8): the interpreter state the
recorder borrows is returned intact, and it shares sys.monitoring politely."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .harness import (
    Pair,
    Run,
    assert_n1,
    assert_n2,
    assert_n3,
    assert_n4,
    backend_params,
    base_env,
    json_trailer,
    run_pair,
    run_process,
    target_path,
)

needs_monitoring = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring: 3.12+")


@pytest.mark.parametrize("backend", backend_params())
def test_stop_restores_interpreter_state(tmp_path: Path, backend: str) -> None:
    """N5/B1/B6: after stop() tool slots, callbacks, local events, trace functions, root
    logger, signal handlers, umask, fds and threads are as before; slot 0 never taken; a new
    owner of our old slot inherits nothing (M6)."""
    trace_dir = tmp_path / "out" / "trace"
    env = base_env({"CODETRACER_BACKEND": backend})
    rc, out, err = run_process(
        [sys.executable, str(target_path("n5_api.py")), str(trace_dir)], cwd=tmp_path, env=env
    )
    assert (rc, out.splitlines()[-1:]) == (0, [b"N5 OK"]), (out + err).decode(errors="replace")
    assert err == b""
    pair = Pair(None, Run([], rc, out, err, {}), trace_dir, "abort")
    assert_n4(pair, allowed=("complete",))


@needs_monitoring
@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_all_tool_slots_taken(tmp_path: Path, policy: str) -> None:
    """A7: sitecustomize takes tool ids 0-5: abort exits 10 without running the program;
    disable runs it untraced with one warning."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(target_path("slots_full.py").read_text())
    pair = run_pair(
        "basic.py",
        tmp_path=tmp_path,
        backend="monitoring",
        policy=policy,
        env={"PYTHONPATH": str(site)},
        flags=["--json-errors"],
    )
    if policy == "abort":
        assert_n2(pair, 10)
        assert pair.traced.stdout == b""
        assert json_trailer(pair.traced.stderr)["kind"] == "Environment"
    else:
        assert_n1(pair)
        assert_n2(pair)
        assert_n3(pair)
    assert_n4(pair, allowed=("absent",))


@needs_monitoring
@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_program_frees_our_slot(tmp_path: Path, policy: str) -> None:
    """B5: the program turns off and frees our slot: detected at stop; Ab(20) / Di, and the
    trace is absent or marked partial, never passed off as complete."""
    pair = run_pair(
        "detacher.py",
        tmp_path=tmp_path,
        backend="monitoring",
        policy=policy,
        flags=["--keep-partial-trace", "--json-errors"],
    )
    if policy == "abort":
        assert_n2(pair, 20)
        assert json_trailer(pair.traced.stderr)["kind"] == "Target"
    else:
        assert_n1(pair)
        assert_n2(pair)
        assert_n3(pair)
    assert_n4(pair, allowed=("absent", "partial"))


@pytest.mark.parametrize("backend", backend_params())
def test_no_recorder_frames_and_no_disable_errors(tmp_path: Path, backend: str) -> None:
    """A3/B8: no `Cannot disable` ValueError (M2), no recorder or stdlib-internal frame in
    the trace; exception events keep arriving after the first (both handled raises recorded)."""
    pair = run_pair("basic.py", tmp_path=tmp_path, backend=backend)
    assert b"Cannot disable" not in pair.traced.stderr
    assert_n3(pair, max_diagnostics=0)
    assert_n4(pair, allowed=("complete",))
    paths = json.loads((pair.trace_dir / "trace_paths.json").read_text())
    for path in paths:
        assert "recorder_runtime" not in path and "recorder_ffi" not in path, path
        assert "pure_recorder" not in path and "threading.py" not in path, path
    events = json.loads((pair.trace_dir / "trace.json").read_text())
    fails_id = next(
        i
        for i, e in enumerate([e for e in events if "Function" in e])
        if e["Function"]["name"] == "fails"
    )
    calls = [e for e in events if "Call" in e and e["Call"]["function_id"] == fails_id]
    assert len(calls) == 7
