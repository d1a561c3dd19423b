"""B2/B3: the recorder inside ``pytest --cov`` leaves the coverage report unchanged.

A nested pytest run measures a small module while one of its tests records through the
Python API. With ``sys.monitoring`` (3.12+) both tools coexist (coverage uses settrace's
C tracer or tool id 1, the recorder a free id among 4, 3, 5). The settrace fallback
refuses to replace another tracer (``ERR_TRACER_INSTALL_CONFLICT``, exit 10 for the CLI)
rather than silently breaking coverage; that refusal is the documented outcome on ≤3.11.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MODULE = """
def classify(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"
"""

TESTS = """
import recorder_runtime
import measured


def test_all_branches(tmp_path):
    assert measured.classify(-1) == "negative"
    assert measured.classify(0) == "zero"


def test_recorded(tmp_path):
    recorder_runtime.start(str(tmp_path / "trace"))
    try:
        assert measured.classify(5) == "positive"
    finally:
        report = recorder_runtime.stop(exit_code=0)
    assert report.state == "complete", report
    assert (tmp_path / "trace" / "trace.json").exists()
"""


def run_nested_pytest(
    tmp_path: Path, extra_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "measured.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "test_measured.py").write_text(textwrap.dedent(TESTS))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODETRACER", "COVERAGE"))}
    env.update(extra_env)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--cov=measured",
            "--cov-report=term-missing",
            "test_measured.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the monitoring backend needs 3.12+")
@pytest.mark.parametrize("core", ["default", "sysmon"])
def test_coverage_report_is_unchanged_by_a_recording(tmp_path: Path, core: str) -> None:
    pytest.importorskip("pytest_cov")
    env = {"COVERAGE_CORE": "sysmon"} if core == "sysmon" else {}
    result = run_nested_pytest(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    report = [line for line in result.stdout.splitlines() if line.startswith("measured.py")]
    assert report and report[0].split()[-1] == "100%", result.stdout


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.10/3.11 record through settrace")
def test_settrace_fallback_refuses_to_replace_coverage(tmp_path: Path) -> None:
    pytest.importorskip("pytest_cov")
    pytest.importorskip("pure_recorder.backend")
    result = run_nested_pytest(tmp_path, {})
    assert "ERR_TRACER_INSTALL_CONFLICT" in result.stdout, result.stdout + result.stderr
    report = [line for line in result.stdout.splitlines() if line.startswith("measured.py")]
    assert report, result.stdout  # coverage still measured and reported
