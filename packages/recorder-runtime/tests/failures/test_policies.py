"""Failpoints × policies (reliability.md A1, A2, A4, F14 via the guard, G9; issues 3 and 5).

Every recorder failpoint is switched on with ``RECORDER_FAILPOINTS`` and the basic target is
recorded under ``abort`` and ``disable``, with and without ``--keep-partial-trace``. What must
hold (issue 3/5 semantics, see docs/failure-matrix.md for the A1/A2 divergence):

- abort: exit 70 (an injected failure is an unexpected bug → Internal); the program's stdout
  is a prefix of its untraced stdout; a failure before the program starts means the program
  never runs.
- disable: the program's stdout, stderr and exit status are exactly the untraced ones; one
  warning line at most.
- both: the destination holds nothing (no keep) or a trace marked partial with the reason
  (keep); no staging directory is left behind; ``--json-errors`` ends stderr with one JSON
  object whose kind maps to the exit status.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import (
    EXIT_FOR_KIND,
    Pair,
    assert_n1,
    assert_n1_prefix,
    assert_n2,
    assert_n3,
    assert_n4,
    backend_params,
    failure_diagnostics,
    json_trailer,
    line_point,
    program_stderr,
    recorder_lines,
    run_pair,
)

INTERNAL = 70

#: Points reached before the program starts.
STARTUP_POINTS = ("session.start",)
#: Points reached after the program finished (nothing of the program can be lost).
FINISH_POINTS = ("session.finish", "writer.commit")
#: Points reached while the program runs, on every backend.
RUNTIME_POINTS = ("writer.write", "encoder.encode")
#: sys.monitoring callbacks, each exercised by targets/basic.py; ":N" = fire from the N-th hit.
MONITORING_POINTS = (
    "callback.py_start",
    "callback.py_start:5",
    "callback.py_resume",
    "callback.py_return",
    "callback.py_return:6",
    "callback.py_yield",
    "callback.py_unwind",
    "callback.py_throw",
    "callback.line",
    "callback.line:25",
)
SETTRACE_POINTS = ("callback.trace", "callback.trace:40")


def points_for(backend: str) -> tuple[str, ...]:
    callbacks = MONITORING_POINTS if backend == "monitoring" else SETTRACE_POINTS
    return STARTUP_POINTS + RUNTIME_POINTS + callbacks + FINISH_POINTS


def matrix() -> list[object]:
    params = []
    for backend_param in backend_params():
        backend = backend_param.values[0]
        for point in points_for(backend):
            for policy in ("abort", "disable"):
                params.append(
                    pytest.param(
                        backend,
                        point,
                        policy,
                        marks=backend_param.marks,
                        id=f"{backend}-{point}-{policy}",
                    )
                )
    return params


def record(tmp_path: Path, backend: str, point: str, policy: str, *flags: str) -> Pair:
    return run_pair(
        "basic.py",
        tmp_path=tmp_path,
        backend=backend,
        policy=policy,
        failpoints=point,
        flags=flags,
        cache_untraced=True,
    )


def assert_failure_outcome(pair: Pair, point: str, policy: str) -> None:
    """N1-N3 for one failed recording under one policy."""
    assert pair.untraced is not None
    if policy == "abort":
        assert_n2(pair, INTERNAL)
        if point in STARTUP_POINTS:
            assert pair.traced.stdout == b"", "abort before start: the program must not run"
        else:
            assert_n1_prefix(pair)
        assert pair.untraced.stderr.startswith(program_stderr(pair.traced.stderr)), pair.describe()
        assert len(recorder_lines(pair.traced.stderr)) >= 1, "abort must say why"
    else:
        assert_n1(pair)
        assert_n2(pair)
        assert_n3(pair)
        assert len(recorder_lines(pair.traced.stderr)) >= 1, "disable warns once"
    assert len(failure_diagnostics(pair.traced.stderr)) <= 1, pair.describe()


@pytest.mark.parametrize(("backend", "point", "policy"), matrix())
def test_failpoint_without_keep_leaves_nothing(
    tmp_path: Path, backend: str, point: str, policy: str
) -> None:
    """A1/A4/F14: the failure is classified, the program is intact, no file is left anywhere."""
    pair = record(tmp_path, backend, point, policy, "--json-errors")
    assert_failure_outcome(pair, point, policy)
    assert_n4(pair, allowed=("absent",))
    trailer = json_trailer(pair.traced.stderr)
    assert trailer["error_code"].startswith("ERR_")
    if policy == "abort":
        assert EXIT_FOR_KIND[trailer["kind"]] == pair.traced.rc


@pytest.mark.parametrize(("backend", "point", "policy"), matrix())
def test_failpoint_with_keep_partial_marks_the_trace(
    tmp_path: Path, backend: str, point: str, policy: str
) -> None:
    """issue 5: a kept trace is marked partial with the reason; it still parses and validates."""
    pair = record(tmp_path, backend, point, policy, "--keep-partial-trace")
    assert_failure_outcome(pair, point, policy)
    events_recorded = point not in STARTUP_POINTS
    allowed = (
        ("partial",) if events_recorded and point.startswith("callback.") else ("absent", "partial")
    )
    state = assert_n4(pair, allowed=allowed)
    if state.kind == "partial":
        why = (state.metadata or {})["partial_reason"]
        assert why["error_code"] != "ERR_UNKNOWN" or point.startswith("session."), why


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_program_catching_exception_never_sees_a_disabled_failure(
    tmp_path: Path, backend: str, policy: str
) -> None:
    """A1: under disable the program's `except Exception` canary stays silent.

    Under abort, issue 3 raises the RecorderError at the point of failure, so the program's
    handler MAY see it (the A1/A2 divergence from reliability.md); the exit status is 70 anyway.
    """
    point = line_point(3, backend)
    pair = run_pair(
        "canary.py", tmp_path=tmp_path, backend=backend, policy=policy, failpoints=point
    )
    if policy == "disable":
        assert b"CANARY" not in pair.traced.stdout
        assert_n1(pair)
        assert_n2(pair)
        assert_n3(pair)
    else:
        assert_n2(pair, INTERNAL)
    assert_n4(pair, allowed=("absent",))


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_swallowed_failure_still_decides_the_exit_status(
    tmp_path: Path, backend: str, policy: str
) -> None:
    """A2: `except Exception: pass` and bare `except:` cannot hide an abort (exit 70 sticks)."""
    point = line_point(2, backend)
    pair = run_pair(
        "swallow.py",
        tmp_path=tmp_path,
        backend=backend,
        policy=policy,
        failpoints=point,
        flags=["--json-errors"],
    )
    if policy == "abort":
        assert_n2(pair, INTERNAL)
        trailer = json_trailer(pair.traced.stderr)
        assert trailer["kind"] == "Internal"
        assert trailer["error_code"] == "ERR_CALLBACK_FAILED"
    else:
        assert_n1(pair)
        assert_n2(pair)
        assert_n3(pair)
    assert_n4(pair, allowed=("absent",))


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_preexisting_files_in_the_output_dir_survive_a_failure(tmp_path: Path, policy: str) -> None:
    """G9: cleanup on failure removes only what this run created."""
    trace_dir = tmp_path / "out" / "trace"
    trace_dir.mkdir(parents=True)
    (trace_dir / "notes.txt").write_bytes(b"keep me\n")
    (trace_dir / "trace.json").write_bytes(b"[]\n")  # an older run's events, no metadata
    pair = run_pair(
        "basic.py", tmp_path=tmp_path, policy=policy, failpoints=line_point(10), trace_dir=trace_dir
    )
    assert (trace_dir / "notes.txt").read_bytes() == b"keep me\n"
    assert (trace_dir / "trace.json").read_bytes() == b"[]\n"
    assert_n4(pair, allowed=("absent",))


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_require_trace_is_enforced_under_both_policies(tmp_path: Path, policy: str) -> None:
    """issue 5 (and reference defect 11): disable does not skip --require-trace."""
    pair = run_pair(
        "basic.py",
        tmp_path=tmp_path,
        policy=policy,
        failpoints="session.finish",
        flags=["--require-trace", "--json-errors"],
    )
    assert pair.traced.rc != 0
    trailer = json_trailer(pair.traced.stderr)
    assert EXIT_FOR_KIND[trailer["kind"]] == pair.traced.rc
    if policy == "disable":
        assert_n1(pair)
    assert_n4(pair, allowed=("absent",))


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_successful_recording_is_complete_and_untouched(tmp_path: Path, policy: str) -> None:
    """E1 baseline: no failure → N1-N4 with a complete, valid trace and no diagnostics."""
    pair = run_pair("basic.py", tmp_path=tmp_path, policy=policy)
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    state = assert_n4(pair, allowed=("complete",))
    assert state.metadata is not None and state.metadata.get("partial") in (None, False)
