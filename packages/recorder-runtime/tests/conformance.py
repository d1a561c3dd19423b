"""Shared helpers for tests that record the shared example programs.

The example programs, the reference recorder's traces and the trace tools are
vendored under ``tests/fixtures`` at the repository root (copied from the
project's shared material), so the suite runs from a clean clone.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures"
PROGRAMS = FIXTURES / "examples" / "programs"
REFERENCE = FIXTURES / "examples" / "reference"
TRACE_CHECK = FIXTURES / "tools" / "trace_check.py"
TRACE_DIFF = FIXTURES / "tools" / "trace_diff.py"
HELPERS = {"helper_mod"}
EXAMPLES = sorted(p.stem for p in PROGRAMS.glob("*.py") if p.stem not in HELPERS)


def clean_env() -> dict[str, str]:
    """The environment of the test process minus anything that steers the recorder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODETRACER", "RECORDER_"))}
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


#: A ``sitecustomize`` that makes the GIL switch only when a thread blocks or ends: threads
#: of a small example then run one after another, whatever the load of the machine.
SERIAL_THREADS = "import sys\nsys.setswitchinterval(60.0)\n"


def serial_threads_path(dest: Path) -> Path:
    """A directory to put on ``PYTHONPATH`` so that example threads run one after another."""
    site = dest / "serial-threads"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SERIAL_THREADS, encoding="utf-8")
    return site


def copy_programs(dest: Path) -> Path:
    """Copy the example programs into ``dest/progs`` (scripts import their sibling module)."""
    progs = dest / "progs"
    shutil.copytree(PROGRAMS, progs)
    return progs


def record(
    workdir: Path,
    script: str,
    trace_dir: Path,
    *extra: str,
    module: str = "recorder_runtime",
    stdin: str = "alice\n",
    pythonpath: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Record ``script`` (relative to ``workdir``) with ``python -m MODULE``."""
    cmd = [sys.executable, "-m", module, "--trace-dir", str(trace_dir), "--format", "json"]
    env = clean_env()
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [*cmd, *extra, script],
        cwd=workdir,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_plain(
    workdir: Path, script: str, stdin: str = "alice\n"
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with plain ``python`` (the untraced baseline)."""
    return subprocess.run(
        [sys.executable, script],
        cwd=workdir,
        env=clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def trace_check(trace_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TRACE_CHECK), str(trace_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def trace_diff(a: Path, b: Path, masks: tuple[str, ...] = ()) -> dict[str, float]:
    """Agreement per aspect (steps, calls, args, returns, variables, output), dunders ignored.

    ``masks`` are regexes of run-dependent text in object renderings (``--mask``).
    """
    proc = subprocess.run(
        [
            sys.executable,
            str(TRACE_DIFF),
            "--json",
            "--ignore-dunder",
            # The reference ran on 3.12: extension-module file names carry the interpreter's
            # ABI tag (math.cpython-312-x86_64-linux-gnu.so), which differs on 3.13.
            "--mask",
            r"cpython-3\d+",
            *(arg for mask in masks for arg in ("--mask", mask)),
            str(a),
            str(b),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode not in (0, 1):
        raise AssertionError(f"trace_diff failed: {proc.stderr}")
    aspects = json.loads(proc.stdout)["aspects"]
    return {
        name: float(v["agreement"]) for name, v in aspects.items() if v.get("agreement") is not None
    }


#: The reference ran on 3.12: extension-module file names carry the interpreter's ABI tag
#: (math.cpython-312-x86_64-linux-gnu.so), which differs on other versions.
ABI_MASK = r"cpython-3\d+"


@functools.cache
def trace_diff_module() -> ModuleType:
    """tests/fixtures/tools/trace_diff.py as a module (its loader renders values as text)."""
    spec = importlib.util.spec_from_file_location("trace_diff", TRACE_DIFF)
    if spec is None or spec.loader is None:  # pragma: no cover - the file is in the repo
        raise ImportError(TRACE_DIFF)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("trace_diff", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def load_rendered(
    trace_dir: Path, *, loose_objects: bool = True, masks: tuple[str, ...] = ()
) -> Any:
    """A trace as ``trace_diff.py --ignore-dunder [--loose-objects]`` sees it: steps as
    (path, line), per-step variables, calls (pre-order, with args and return value) and
    output, every value rendered as text."""
    module = trace_diff_module()
    opts = argparse.Namespace(
        paths="relative",
        exact_values=False,
        mask=[ABI_MASK, *masks],
        ignore_var=None,
        ignore_dunder=True,
        loose_objects=loose_objects,
    )
    return module.Loader(opts).load(str(trace_dir))
