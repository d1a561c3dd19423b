"""The settrace backend through the real CLI, on every shared example program.

On every Python: the program's output is unchanged and the trace passes
``trace_check.py``, through ``python -m recorder_runtime --backend settrace``
and through ``python -m pure_recorder``. On 3.12+ the settrace trace and the
monitoring trace of the same program agree 100% on steps, calls, arguments,
returns and variables (``trace_diff.py --ignore-dunder``).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_conformance() -> ModuleType:
    """The runtime's example-recording helpers (one source of truth for paths and env)."""
    path = Path(__file__).resolve().parents[2] / "recorder-runtime" / "tests" / "conformance.py"
    spec = importlib.util.spec_from_file_location("runtime_conformance", path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file is in the repo
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conformance = _load_conformance()
EXAMPLES: list[str] = conformance.EXAMPLES
# Threads interleave differently from run to run (even monitoring vs monitoring).
TIMING_DEPENDENT = {"threads_interleaved"}
ASPECTS = ("steps", "calls", "args", "returns", "variables", "output")
MONITORING = sys.version_info >= (3, 12)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root: Path = tmp_path_factory.mktemp("examples")
    conformance.copy_programs(root)
    return root


def record(
    workdir: Path, name: str, tag: str, *extra: str, module: str = "recorder_runtime"
) -> Path:
    trace = workdir / "traces" / f"{tag}-{name}"
    proc = conformance.record(workdir, f"progs/{name}.py", trace, *extra, module=module)
    assert proc.returncode == 0, proc.stderr
    return trace


def metadata(trace: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((trace / "trace_metadata.json").read_text())
    return loaded


@pytest.mark.parametrize("name", EXAMPLES)
def test_settrace_backend_traces_pass_trace_check_and_output_is_unchanged(
    workdir: Path, name: str
) -> None:
    trace = workdir / "traces" / f"settrace-{name}"
    proc = conformance.record(workdir, f"progs/{name}.py", trace, "--backend", "settrace")
    assert proc.returncode == 0, proc.stderr
    check = conformance.trace_check(trace)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "settrace" in json.dumps(metadata(trace))
    if name not in TIMING_DEPENDENT:
        plain = conformance.run_plain(workdir, f"progs/{name}.py")
        assert proc.stdout == plain.stdout


@pytest.mark.parametrize("name", EXAMPLES)
def test_python_m_pure_recorder_records_with_the_settrace_backend(workdir: Path, name: str) -> None:
    trace = record(workdir, name, "pure", module="pure_recorder")
    check = conformance.trace_check(trace)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "settrace" in json.dumps(metadata(trace))


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring exists on 3.12+ only")
@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - TIMING_DEPENDENT))
def test_settrace_and_monitoring_traces_agree_completely(workdir: Path, name: str) -> None:
    settrace = record(workdir, name, "cmp-settrace", "--backend", "settrace")
    monitoring = record(workdir, name, "cmp-monitoring", "--backend", "monitoring")
    agreement = trace_diff(monitoring, settrace)
    assert {aspect: agreement.get(aspect) for aspect in ASPECTS} == dict.fromkeys(ASPECTS, 100.0)


#: Programs whose values are objects (Structs of their fields, issue 12): two shared examples
#: and the failure suite's touchy corpus (objects whose every method counts its calls).
STRUCT_PROGRAMS = ("classes", "values", "touchy")
TOUCHY = Path(conformance.REPO) / "packages/recorder-runtime/tests/failures/targets/touchy.py"


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring exists on 3.12+ only")
@pytest.mark.parametrize("globals_mode", ["referenced", "all", "none"])
@pytest.mark.parametrize("name", STRUCT_PROGRAMS)
def test_settrace_and_monitoring_record_the_same_values_in_every_globals_mode(
    workdir: Path, name: str, globals_mode: str
) -> None:
    """Struct values (field names and contents, type per layout) and the globals each step
    shows are the same on both backends, whatever the globals policy."""
    shutil.copy(TOUCHY, workdir / "progs" / TOUCHY.name)
    flags = ("--globals", globals_mode)
    settrace = record(workdir, name, f"g-{globals_mode}-settrace", "--backend", "settrace", *flags)
    monitoring = record(
        workdir, name, f"g-{globals_mode}-monitoring", "--backend", "monitoring", *flags
    )
    agreement = trace_diff(monitoring, settrace)
    assert {aspect: agreement.get(aspect) for aspect in ASPECTS} == dict.fromkeys(ASPECTS, 100.0)
    events = json.loads((settrace / "trace.json").read_text())
    kinds = {t["Type"]["kind"] for t in events if "Type" in t}
    assert 6 in kinds  # Struct types were recorded (and compared field by field)


# A Thread's repr shows its state, which depends on when the step ran (two
# monitoring runs of threads.py differ there too).
THREAD_STATE = r"\b(initial|started|stopped)\b"
# A Thread recorded as a Struct (issue 12) holds the OS thread ids of its run.
THREAD_IDS = r"^_(ident|native_id)$"


def trace_diff(a: Path, b: Path) -> dict[str, float]:
    """``trace_diff.py --json --ignore-dunder`` agreement per aspect, thread states masked."""
    proc = subprocess.run(
        [
            sys.executable,
            str(conformance.TRACE_DIFF),
            "--json",
            "--ignore-dunder",
            "--mask",
            THREAD_STATE,
            "--mask-field",
            THREAD_IDS,
            str(a),
            str(b),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    aspects = json.loads(proc.stdout)["aspects"]
    return {
        name: float(value["agreement"])
        for name, value in aspects.items()
        if value.get("agreement") is not None
    }


def trace_summary(trace: Path) -> dict[str, Counter[str]]:
    """Order-free content of a trace: steps, calls and returns as multisets."""
    events = json.loads((trace / "trace.json").read_text())
    functions: list[str] = []
    summary: dict[str, Counter[str]] = {
        "steps": Counter(),
        "calls": Counter(),
        "returns": Counter(),
    }
    for event in events:
        kind, body = next(iter(event.items()))
        if kind == "Function":
            functions.append(body["name"])
        elif kind == "Step":
            summary["steps"][f"{body['path_id']}:{body['line']}"] += 1
        elif kind == "Call":
            summary["calls"][functions[body["function_id"]]] += 1
        elif kind == "Return":
            summary["returns"][json.dumps(body["return_value"], sort_keys=True)] += 1
    return summary


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring exists on 3.12+ only")
@pytest.mark.parametrize("name", sorted(TIMING_DEPENDENT))
def test_interleaved_threads_give_the_same_events_in_some_order(workdir: Path, name: str) -> None:
    settrace = record(workdir, name, "cmp-settrace", "--backend", "settrace")
    monitoring = record(workdir, name, "cmp-monitoring", "--backend", "monitoring")
    assert trace_summary(settrace) == trace_summary(monitoring)


# ----------------------------------------------------------- failure paths

RECURSE = """\
import sys
sys.setrecursionlimit(300)
def dive(n):
    return dive(n + 1)
try:
    dive(0)
except RecursionError:
    print("recursion limit reached")
print("done")
"""

REMOVES_TRACER = """\
import sys
def f():
    return 1
f()
sys.settrace(None)
print(f())
"""


def run_script(
    tmp_path: Path, source: str, *options: str, env: dict[str, str] | None = None
) -> tuple[Any, Any, Path]:
    script = tmp_path / "prog.py"
    script.write_text(source)
    trace = tmp_path / "trace"
    plain_env = conformance.clean_env()
    cmd = [sys.executable, "-m", "pure_recorder", "--trace-dir", str(trace), "--keep-partial-trace"]
    recorded = subprocess.run(
        [*cmd, *options, str(script)],
        env={**plain_env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    plain = subprocess.run(
        [sys.executable, str(script)], env=plain_env, capture_output=True, text=True, timeout=120
    )
    return recorded, plain, trace


def test_a_program_that_removes_the_tracer_gets_a_partial_trace_and_runs_unchanged(
    tmp_path: Path,
) -> None:
    recorded, plain, trace = run_script(tmp_path, REMOVES_TRACER, "--on-recorder-error", "disable")
    assert recorded.stdout == plain.stdout
    meta = metadata(trace)
    assert "ERR_TARGET_DETACHED" in json.dumps(meta)
    assert conformance.trace_check(trace).returncode == 0


def test_the_recursion_limit_leaves_the_program_unchanged_and_the_trace_valid(
    tmp_path: Path,
) -> None:
    recorded, plain, trace = run_script(tmp_path, RECURSE, "--on-recorder-error", "disable")
    assert recorded.stdout == plain.stdout
    check = conformance.trace_check(trace)
    assert check.returncode == 0, check.stdout
    if sys.version_info >= (3, 12):
        # CPython removes a settrace function at the limit (reliability R1/R2).
        assert "ERR_TARGET_DETACHED" in json.dumps(metadata(trace))


def test_a_failing_trace_function_under_disable_leaves_the_program_unchanged(
    tmp_path: Path,
) -> None:
    source = "total = 0\nfor i in range(50):\n    total += i\nprint(total)\n"
    recorded, plain, trace = run_script(
        tmp_path,
        source,
        "--on-recorder-error",
        "disable",
        env={"RECORDER_FAILPOINTS": "callback.trace:20"},
    )
    assert recorded.returncode == plain.returncode == 0
    assert recorded.stdout == plain.stdout
    assert "ERR_CALLBACK_FAILED" in recorded.stderr + json.dumps(metadata(trace))
