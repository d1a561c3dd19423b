"""Developer sessions for the recorder monorepo.

`nox -s tests` runs every package's test suite on every supported Python;
`nox -s mypy lint audit` are the static checks; `nox -s bench` measures
overhead against the reference recorder (not part of `tests`); `nox -s wheels`
builds every package into one wheelhouse, `dist/wheelhouse` (not part of the
defaults either).

Each session installs the workspace from the committed `uv.lock` into its own
virtual environment with `uv sync --frozen`, so what CI tests is exactly what
the lock file pins.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv"
nox.options.download_python = "never"
nox.options.sessions = ["tests", "tests-python-path", "mypy", "lint", "audit"]
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

ROOT = Path(__file__).parent
WHEELHOUSE = ROOT / "dist" / "wheelhouse"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PACKAGES = {
    "recorder-errors": "recorder_errors",
    "recorder-ffi": "recorder_ffi",
    "recorder-runtime": "recorder_runtime",
    "pure-recorder": "pure_recorder",
    "recorder-speedups": "recorder_speedups",
}

#: The pure-Python packages (one wheel for every Python); recorder-speedups' wheel is built per
#: interpreter (a C extension), so the wheelhouse holds it for the building Python only.
PURE_PACKAGES = [name for name in PACKAGES if name != "recorder-speedups"]


def sync_workspace(session: nox.Session) -> None:
    """Install all four packages (editable) and the dev group from uv.lock."""
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--all-packages",
        "--group",
        "dev",
        f"--python={session.virtualenv.location}",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session(python=PYTHONS)
@nox.parametrize("package", list(PACKAGES))
def tests(session: nox.Session, package: str) -> None:
    """Run one package's pytest suite on one Python."""
    sync_workspace(session)
    args = ["pytest", f"packages/{package}/tests"]
    if package == "recorder-runtime":
        # Mostly subprocess-bound; two workers halve the wall time on a 2-core machine.
        args += ["-n", "2"]
    if package == "recorder-errors":
        # The error façade promises 100% branch coverage, measured here.
        args += [
            "--cov=recorder_errors",
            "--cov-branch",
            "--cov-report=term-missing",
            "--cov-fail-under=100",
        ]
    session.run(*args, *session.posargs)


@nox.session(python="3.12", name="tests-python-path")
@nox.parametrize("package", ["recorder-runtime", "pure-recorder"])
def tests_python_path(session: nox.Session, package: str) -> None:
    """The recorder's suites on the pure-Python hot path (CODETRACER_NATIVE=off).

    ``tests`` installs the C accelerator (recorder-speedups) and so runs every suite on the
    native path (policy ``native = auto``); the Python path, the reference, is covered on
    every Python by the native differential test and here, in full, on 3.12 only (CI time;
    docs/adr/0014-native-accelerator.md).
    """
    sync_workspace(session)
    session.run(
        "pytest", f"packages/{package}/tests", *session.posargs, env={"CODETRACER_NATIVE": "off"}
    )


@nox.session(python=PYTHONS)
@nox.parametrize("package", list(PACKAGES))
def mypy(session: nox.Session, package: str) -> None:
    """Type-check one package in strict mode for one target Python."""
    sync_workspace(session)
    session.run(
        "mypy",
        "--strict",
        f"--python-version={session.python}",
        f"packages/{package}/src",
    )


@nox.session(python="3.12")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    sync_workspace(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.12")
def audit(session: nox.Session) -> None:
    """Guardrails on library code (see tools/audit.py for the rules)."""
    session.run("python", "tools/audit.py", "packages")


@nox.session(python="3.12")
def bench(session: nox.Session) -> None:
    """Overhead against the reference recorder; writes docs/performance.md."""
    sync_workspace(session)
    session.run("python", "tools/bench.py", *session.posargs)


@nox.session(venv_backend="none")
def wheels(session: nox.Session) -> None:
    """Build the four wheels into dist/wheelhouse, with their third-party dependencies.

    Afterwards any one package installs alone, without an index:
    ``pip install --no-index --find-links dist/wheelhouse recorder-runtime``.
    The third-party wheels (zstandard, tomli) are downloaded by each supported
    Python's own pip (environment markers are evaluated by the running interpreter,
    so ``pip download --python-version`` would miss tomli for 3.10);
    ``nox -s wheels -- --no-download`` builds ours only.
    """
    shutil.rmtree(WHEELHOUSE, ignore_errors=True)
    session.run(
        "uv", "build", "--all-packages", "--wheel", "--out-dir", str(WHEELHOUSE), external=True
    )
    if "--no-download" in session.posargs:
        return
    for python in PYTHONS:
        session.run(
            "uv", "run", "--no-project", f"--python={python}", "--with=pip", "--",
            "python", "-m", "pip", "download", "--quiet", "--only-binary=:all:",
            "--dest", str(WHEELHOUSE), "--find-links", str(WHEELHOUSE), *PURE_PACKAGES,
            external=True,
        )  # fmt: skip
    session.log(f"wheelhouse: {WHEELHOUSE}")
