"""Termination paths E1-E11: every way a program ends, compared with the untraced run.

No recorder failure is involved: the program must end exactly as ``python SCRIPT`` does
(stdout, stderr, exit status) and the trace must be complete, or absent where the process
never reaches the recorder's finish (``os._exit``, a fatal signal, SIGKILL), never
half-written.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .harness import (
    TIMEOUT,
    assert_n1,
    assert_n2,
    assert_n3,
    assert_n4,
    backend_params,
    base_env,
    read_trace,
    recorder_argv,
    run_pair,
    target_path,
    validate_trace,
)

BACKENDS = backend_params()


def exits(tmp_path: Path, backend: str, mode: str, *flags: str):
    return run_pair("exits.py", [mode], tmp_path=tmp_path, backend=backend, flags=flags)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "mode", ["normal", "exit3", "exitmsg", "exitnone", "raise", "atexit", "sigterm_handler"]
)
def test_exit_path_matches_untraced_and_trace_is_complete(
    tmp_path: Path, backend: str, mode: str
) -> None:
    """E1, E2, E3, E8, E9: same stdout/stderr/status as python SCRIPT; trace complete."""
    pair = exits(tmp_path, backend, mode, "--propagate-script-exit")
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    state = assert_n4(pair, allowed=("complete",))
    status = (state.metadata or {}).get("process_exit_status")
    if mode == "raise":  # trace-format.md: an escaping exception is {code: null, "<exit>"}
        assert status == {"code": None, "label": "<exit>"}, state.metadata
    else:
        assert isinstance(status, dict) and status.get("code") == pair.untraced.rc, status


@pytest.mark.parametrize("backend", BACKENDS)
def test_uncaught_keyboardinterrupt_matches_untraced(tmp_path: Path, backend: str) -> None:
    """E4: exit -2 (SIGINT re-raised with the default action), same traceback; trace kept."""
    pair = exits(tmp_path, backend, "kbint", "--propagate-script-exit")
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    assert_n4(pair, allowed=("complete", "partial"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_os_exit_leaves_no_half_trace(tmp_path: Path, backend: str) -> None:
    """E6: os._exit(5) bypasses every finalizer: exit 5, same output, trace absent (atomic)."""
    pair = exits(tmp_path, backend, "os_exit", "--propagate-script-exit")
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    assert_n4(pair, allowed=("absent",), staging_ok=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_default_sigterm_kills_like_untraced(tmp_path: Path, backend: str) -> None:
    """E7: SIGTERM with the default action: exit -15 like T; trace absent, never half-written."""
    pair = exits(tmp_path, backend, "sigterm", "--propagate-script-exit")
    assert pair.untraced is not None and pair.untraced.rc == -signal.SIGTERM
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    assert_n4(pair, allowed=("absent", "partial"), staging_ok=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_main_module_facts_match_untraced(tmp_path: Path, backend: str) -> None:
    """E10: __name__, __file__, sys.argv (as typed), sys.path[0], __spec__ equal T's."""
    pair = exits(tmp_path, backend, "facts", "--propagate-script-exit")
    assert_n1(pair)
    assert_n2(pair)


@pytest.mark.parametrize("backend", BACKENDS)
def test_exit_status_is_not_propagated_without_the_flag(tmp_path: Path, backend: str) -> None:
    """E2 (reference semantics): without --propagate-script-exit, sys.exit(3) exits 0."""
    pair = exits(tmp_path, backend, "exit3")
    assert_n1(pair)
    assert pair.traced.rc == 0
    state = assert_n4(pair, allowed=("complete",))
    assert (state.metadata or {}).get("process_exit_status", {}).get("code") == 3


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default action.

    A suite started in the background (``nox -s tests &``) inherits SIGINT ignored, and a
    Python started with SIGINT ignored installs no KeyboardInterrupt handler: the timer's
    SIGINT would then be ignored and the program would run its whole loop.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_timer_sigint_reaches_the_program(tmp_path: Path, backend: str) -> None:
    """E5: a SIGINT landing (almost always) inside recorder code surfaces as
    KeyboardInterrupt in the program, is never swallowed, and the trace stays valid."""
    rng = random.Random(1234)
    for trial in range(8):
        delay = f"{rng.uniform(0.05, 0.4):.3f}"
        pair = run_pair(
            "sigint_loop.py",
            [delay],
            tmp_path=tmp_path / str(trial),
            backend=backend,
            untraced=False,
            preexec_fn=_default_sigint,
        )
        assert pair.traced.rc == 0, pair.describe()
        assert pair.traced.stdout == b"interrupted\n", pair.describe()
        assert_n4(pair, allowed=("complete", "partial"))


@pytest.mark.slow
def test_sigkill_leaves_final_absent_or_complete_and_next_run_sweeps(tmp_path: Path) -> None:
    """E11: SIGKILL at random points: the final name is absent or complete, never half
    written; stale staging of the dead pid is swept by the next recording."""
    rng = random.Random(4321)
    out = tmp_path / "out"
    trace_dir = out / "trace"
    work = tmp_path / "work"
    work.mkdir()
    script = target_path("long_run.py")
    argv = [*recorder_argv("auto", trace_dir, "abort", []), str(script), "400000"]
    saw_staging = 0
    for _ in range(10):
        proc = subprocess.Popen(
            argv, cwd=work, env=base_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.05, 0.6))
        proc.kill()
        proc.wait(timeout=TIMEOUT)
        state = read_trace(trace_dir)  # fails on any unparseable file
        assert state.kind in ("absent", "complete"), state
        if state.kind == "complete":
            validate_trace(trace_dir)
        saw_staging += (
            any(p.name.startswith(".trace.staging-") for p in out.iterdir()) if out.exists() else 0
        )
    proc = subprocess.run(
        [*recorder_argv("auto", trace_dir, "abort", []), str(script), "10"],
        cwd=work,
        env=base_env(),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".trace.staging-")]
    assert leftovers == [], f"stale staging not swept (seen in {saw_staging} trials)"
    assert read_trace(trace_dir).kind == "complete"
    validate_trace(trace_dir)
