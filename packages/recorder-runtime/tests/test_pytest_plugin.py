"""The pytest plugin: ``pytest --codetracer DIR`` on a small test project, for real.

Each end-to-end test runs ``python -m pytest`` in a subprocess on a project written into
``tmp_path`` (two passing tests, one failing, one parametrized pair with awkward ids, a
fixture in ``conftest.py``), with the plugin loaded the way users get it: through its
``pytest11`` entry point. The trace directories on disk are checked with the shared
``trace_check.py``; the runs without the option are the baseline the recorded runs must
not differ from. Which backend records depends on the interpreter (``sys.monitoring`` on
3.12+, the settrace fallback below), so the suite on every Python covers both.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conformance import clean_env, trace_check

from recorder_runtime.pytest_names import HASH_CHARS, MAX_READABLE, trace_dir_name

CONFTEST = """
import pytest


@pytest.fixture
def basket():
    items = ["apple"]
    yield items
    items.clear()
"""

TESTS = """
import pytest


def total(prices):
    result = sum(prices)
    return result


def test_total_passes(basket):
    print("checking", basket)
    assert total([1, 2]) == 3


def test_total_fails(basket):
    value = total([2, 2])
    assert value == 5


@pytest.mark.parametrize("label", ["a/b", "ü [x]"])
def test_labels(label):
    assert label
"""

PASSING = "test_shop.py::test_total_passes"
FAILING = "test_shop.py::test_total_fails"
SLASHED = "test_shop.py::test_labels[a/b]"
UNICODE = "test_shop.py::test_labels[\\xfc [x]]"  # pytest escapes non-ASCII ids
ALL_TESTS = (PASSING, FAILING, SLASHED, UNICODE)
OUTCOME = re.compile(r"^=*\s*(\d+ failed, \d+ passed)", re.MULTILINE)


def write_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n")  # rootdir here, not the repository
    (root / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (root / "test_shop.py").write_text(textwrap.dedent(TESTS), encoding="utf-8")
    return root


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in clean_env().items() if not k.startswith(("COVERAGE", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rN", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def outcome(result: subprocess.CompletedProcess[str]) -> str:
    found = OUTCOME.findall(result.stdout)
    assert found, result.stdout + result.stderr
    return found[-1]


def functions(trace: Path) -> list[str]:
    events = json.loads((trace / "trace.json").read_text())
    return [event["Function"]["name"] for event in events if "Function" in event]


def assert_valid(trace: Path) -> None:
    check = trace_check(trace)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """The project run without ``--codetracer`` (the plugin installed, not asked for)."""
    return run_pytest(write_project(tmp_path_factory.mktemp("baseline")))


# ------------------------------------------------------------------ names


@pytest.mark.parametrize(
    "nodeid",
    [
        "tests/unit/test_a.py::TestCase::test_b",
        "test_a.py::test_b[a/b\\c]",
        "test_a.py::test_b[ü [x] ✓]",
        "test_a.py::test_" + "long_" * 200,
        "../..::..",
    ],
)
def test_trace_dir_name_is_one_safe_bounded_path_component(nodeid: str) -> None:
    name = trace_dir_name(nodeid)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]+", name), name
    assert len(name) <= MAX_READABLE + 1 + HASH_CHARS
    assert name == trace_dir_name(nodeid)  # stable: the same test, the same directory


def test_trace_dir_names_of_ids_that_read_alike_differ() -> None:
    alike = ["t.py::f[x y]", "t.py::f[x_y]", "t.py::f[X_Y]", "t.py::f[x/y]", "t.py::f[x\\y]"]
    names = {trace_dir_name(nodeid).lower() for nodeid in alike}
    assert len(names) == len(alike)


def test_trace_dir_name_keeps_the_test_readable() -> None:
    assert trace_dir_name("tests/test_a.py::TestB::test_c[1-2]").startswith(
        "tests_test_a.py__TestB__test_c-1-2-"
    )


# ------------------------------------------------------------------ inert


def test_importing_the_plugin_imports_no_recorder_module() -> None:
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import recorder_runtime.pytest_plugin\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    ours = {m for m in json.loads(result.stdout) if m.startswith(("recorder", "pure_recorder"))}
    assert ours <= {"recorder_runtime", "recorder_runtime.pytest_plugin"}


def test_without_the_option_the_run_shows_nothing_of_the_plugin(
    baseline: subprocess.CompletedProcess[str],
) -> None:
    assert baseline.returncode == 1, baseline.stdout + baseline.stderr
    assert "codetracer" not in baseline.stdout + baseline.stderr


# ------------------------------------------------------------------ recording


def test_each_test_call_is_recorded_into_its_own_valid_trace(
    tmp_path: Path, baseline: subprocess.CompletedProcess[str]
) -> None:
    project = write_project(tmp_path / "project")
    # A file where one passing test's trace should go: that recording fails (ERR_TRACE_DIR_
    # CONFLICT); under the default policy the test still passes and the summary warns.
    blocked = project / "traces" / trace_dir_name(SLASHED)
    blocked.parent.mkdir()
    blocked.write_text("not a directory")

    result = run_pytest(project, "--codetracer", "traces")

    assert (result.returncode, outcome(result)) == (baseline.returncode, outcome(baseline))
    for nodeid in (PASSING, FAILING, UNICODE):
        assert_valid(project / "traces" / trace_dir_name(nodeid))
    failing = project / "traces" / trace_dir_name(FAILING)
    # The call only: the test and what it calls, not the fixture, not pytest.
    assert functions(failing) == ["<toplevel>", "test_total_fails", "total"]
    assert json.loads((failing / "trace_paths.json").read_text()) == [str(project / "test_shop.py")]
    summary = result.stdout.split("codetracer ===", 1)[1]
    assert f"{FAILING} -> traces/{trace_dir_name(FAILING)}" in summary
    assert PASSING not in summary.split("recorder warnings")[0]
    assert "1 test: not recorded: ERR_TRACE_DIR_CONFLICT" in summary
    assert "3 traces in traces (keep: all)" in summary


def test_xdist_workers_record_fixtures_and_keep_only_failed_traces(
    tmp_path: Path, baseline: subprocess.CompletedProcess[str]
) -> None:
    pytest.importorskip("xdist")
    project = write_project(tmp_path / "project")

    result = run_pytest(
        project, "-n", "2", "--codetracer", "out", "--codetracer-keep", "failed",
        "--codetracer-fixtures",
    )  # fmt: skip

    assert (result.returncode, outcome(result)) == (baseline.returncode, outcome(baseline))
    assert "2 workers" in result.stdout
    failing = trace_dir_name(FAILING)
    assert sorted(os.listdir(project / "out")) == [failing]  # no staging leftovers either
    assert_valid(project / "out" / failing)
    assert {"basket", "test_total_fails", "total"} <= set(functions(project / "out" / failing))
    assert f"{FAILING} -> out/{failing}" in result.stdout
    assert "1 trace in out (keep: failed)" in result.stdout


def test_beside_pytest_cov_coverage_is_reported_and_the_recorder_degrades_clearly(
    tmp_path: Path, baseline: subprocess.CompletedProcess[str]
) -> None:
    pytest.importorskip("pytest_cov")
    project = write_project(tmp_path / "project")

    result = run_pytest(project, "--cov=test_shop", "--codetracer", "traces")

    assert (result.returncode, outcome(result)) == (baseline.returncode, outcome(baseline))
    coverage = [line for line in result.stdout.splitlines() if line.startswith("test_shop.py")]
    assert coverage and coverage[-1].split()[-1] == "100%", result.stdout
    if sys.version_info >= (3, 12):  # sys.monitoring and coverage's tracer coexist
        for nodeid in ALL_TESTS:
            assert_valid(project / "traces" / trace_dir_name(nodeid))
    else:  # the settrace fallback will not replace coverage's tracer: one grouped warning
        assert not (project / "traces").exists()
        assert "4 tests: not recorded: ERR_TRACER_INSTALL_CONFLICT" in result.stdout


def test_abort_policy_makes_a_recorder_failure_fail_its_test(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project")
    blocked = project / "traces" / trace_dir_name(PASSING)
    blocked.parent.mkdir()
    blocked.write_text("not a directory")

    result = run_pytest(project, "--codetracer", "traces", "--codetracer-on-error", "abort")

    assert outcome(result) == "2 failed, 2 passed", result.stdout
    assert "codetracer: not recorded: ERR_TRACE_DIR_CONFLICT" in result.stdout
    assert "Traceback" not in result.stdout


def test_a_trace_root_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project")
    (project / "traces").write_text("")

    result = run_pytest(project, "--codetracer", "traces")

    assert result.returncode == 4  # pytest's usage-error status; no test ran
    assert "ERROR: --codetracer: ERR_TRACE_DIR_CONFLICT" in result.stderr
    assert "Traceback" not in result.stderr
