"""Shared fixtures of the failure suite; the runner and assertions live in harness.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: loops of many runs (SIGKILL, SIGINT timers); still in the default run"
    )


@pytest.fixture(scope="session")
def unshare_ok() -> None:
    """Skip unless a private mount namespace can be made here (root, no seccomp veto)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    proc = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"unshare -m fails here: {proc.stderr.strip()}")


@pytest.fixture(scope="session")
def strace_ok() -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    proc = subprocess.run(
        ["strace", "-f", "-e", "trace=none", "true"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"strace cannot ptrace here: {proc.stderr.strip()}")


@pytest.fixture(scope="session")
def capsh_ok() -> None:
    if shutil.which("capsh") is None:
        pytest.skip("capsh is not installed (needed to drop CAP_DAC_OVERRIDE as root)")


@pytest.fixture
def out_parent(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path
