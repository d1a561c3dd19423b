"""The C accelerator writes the same trace as the Python reference, byte for byte.

Each program is recorded twice, ``native="on"`` and ``native="off"``, in both formats, and
the event files are compared byte for byte (trace.bin after decompression, its frame layout
being the writer's business). Recordings in one process (the workloads of tools/bench and a
randomized corpus of values) compare raw bytes; recordings of the shared examples run in
subprocesses, where object addresses (``<object at 0x...>``) and frame ids differ from run to
run and are masked, length for length. The metadata differ only in the ``native`` field.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import recorder_runtime
from recorder_runtime.native import accelerator
from recorder_runtime.output.binary.reader import iter_frames

if accelerator()[0] is None:  # pragma: no cover - the workspace always builds it
    pytest.skip("recorder-speedups is not built here", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "tests" / "fixtures" / "examples" / "programs"
WORKLOADS = ROOT / "tools" / "bench" / "workloads"
FORMATS = ("json", "binary")
#: Examples whose threads interleave differently from run to run (not a native matter).
UNORDERED = {"threads.py", "threads_interleaved.py"}
#: A library module of the examples, not a program.
LIBRARIES = {"helper_mod.py"}


def events_bytes(trace_dir: Path) -> bytes:
    """The event stream: trace.json as written, trace.bin decompressed (frames joined)."""
    json_file = trace_dir / "trace.json"
    if json_file.exists():
        return json_file.read_bytes()
    return b"".join(iter_frames(str(trace_dir / "trace.bin")))


def metadata_without_native(trace_dir: Path) -> dict[str, Any]:
    meta = json.loads((trace_dir / "trace_metadata.json").read_text())
    meta.pop("native")
    return dict(meta)


_ADDRESS = re.compile(rb"0x[0-9a-f]+")
_FRAME_ID = re.compile(rb'frame_id\\?":([0-9]+)')


def masked(data: bytes) -> bytes:
    """Addresses and frame ids replaced by same-length filler (CBOR lengths stay valid)."""
    data = _ADDRESS.sub(lambda m: b"0x" + b"_" * (len(m.group()) - 2), data)
    return _FRAME_ID.sub(lambda m: m.group()[: -len(m.group(1))] + b"_" * len(m.group(1)), data)


# ---------------------------------------------------------------- in one process


#: The arguments of the next start(): not locals of the recorded frame (start() records the
#: rest of its caller, whose locals must be the same on both paths).
_START: list[dict[str, Any]] = []


def _recorded(body: Callable[[], object]) -> None:
    recorder_runtime.start(**_START.pop())
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            body()
    finally:
        recorder_runtime.stop(exit_code=0)


def record_here(trace_dir: Path, native: str, fmt: str, body: Callable[[], object]) -> Path:
    """Record ``body()`` in this process (output discarded, IO capture off)."""
    _START.append(
        {"trace_dir": str(trace_dir), "format": fmt, "native": native, "io_capture": "off"}
    )
    _recorded(body)
    return trace_dir


def assert_same_recording(
    tmp_path: Path, fmt: str, body: Callable[[], object], mask: bool = False
) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        body()  # untraced: lazy imports happen here, not inside only the first recording
    on = record_here(tmp_path / f"on-{fmt}", "on", fmt, body)
    off = record_here(tmp_path / f"off-{fmt}", "off", fmt, body)
    assert json.loads((on / "trace_metadata.json").read_text())["native"]["used"] is True
    if mask:
        assert masked(events_bytes(on)) == masked(events_bytes(off))
    else:
        assert events_bytes(on) == events_bytes(off)
    on_meta, off_meta = metadata_without_native(on), metadata_without_native(off)
    # Code objects the filter skipped, counted at first sight: the first recording of a process
    # also meets the modules it imports on first use (one process, two recordings).
    on_meta["trace_filter"]["stats"].pop("scopes_skipped")
    off_meta["trace_filter"]["stats"].pop("scopes_skipped")
    assert on_meta == off_meta


def load_workload(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_workload_{name}", WORKLOADS / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Every workload in JSON; the quick ones in the binary format too (CI time).
WORKLOAD_CASES = [(p.name, "json") for p in sorted(WORKLOADS.glob("*.py"))] + [
    (name, "binary") for name in ("fib.py", "generators.py", "nbody.py")
]


@pytest.mark.parametrize(("workload", "fmt"), WORKLOAD_CASES)
def test_bench_workload_traces_are_identical_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workload: str, fmt: str
) -> None:
    monkeypatch.setenv("BENCH_REPS", "1")

    def fresh_run() -> None:
        """A fresh module per recording: workloads keep state in module globals."""
        load_workload(workload).main()

    assert_same_recording(tmp_path, fmt, fresh_run, mask=True)


class Plain:
    """An instance recorded as a Struct of its fields."""

    def __init__(self, a: object, b: object) -> None:
        self.a = a
        self.b = b


def random_atom(rng: random.Random) -> object:
    kind = rng.randrange(9)
    if kind == 0:
        return rng.randint(-(2**70), 2**70) if rng.random() < 0.2 else rng.randint(-300, 300)
    if kind == 1:
        return rng.choice([0.0, -0.0, 1.5, float("inf"), float("nan"), rng.uniform(-1e9, 1e9)])
    if kind == 2:
        alphabet = 'ab"\\\n\t\x00é€\U0001f600'
        return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 5, 70, 200])))
    if kind == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(6)))
    if kind == 4:
        return rng.choice([None, True, False])
    if kind == 5:
        return complex(rng.random(), -1)
    if kind == 6:
        return range(rng.randrange(5))
    if kind == 7:
        return SimpleNamespace(x=rng.randrange(3))
    return Plain(rng.randrange(5), "s")


def random_value(rng: random.Random, depth: int = 0) -> object:
    if depth >= 3 or rng.random() < 0.5:
        return random_atom(rng)
    size = rng.randrange(4)
    items = [random_value(rng, depth + 1) for _ in range(size)]
    shape = rng.randrange(5)
    if shape == 0:
        return items
    if shape == 1:
        return tuple(items)
    if shape == 2:
        return {f"k{i}": item for i, item in enumerate(items)}
    if shape == 3:
        return {rng.randrange(50) for _ in range(size)}
    return Plain(items, items[:1])


CORPUS_GLOBAL: list[object] = []  # the last values, re-encoded at every step (volatile)


def corpus_program(values: list[object]) -> int:
    """Locals change type and value from line to line; a redacted name and a global too."""
    count = 0
    password = "hunter2"  # redacted by the default filter
    for value in values:
        current = value
        CORPUS_GLOBAL.append(current)
        if len(CORPUS_GLOBAL) > 3:
            CORPUS_GLOBAL.pop(0)
        count += 1
        previous, current = current, None
    del previous
    return count + len(password)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_values_are_recorded_identically_on_both_paths(
    tmp_path: Path, seed: int, fmt: str
) -> None:
    rng = random.Random(seed)
    values = [random_value(rng) for _ in range(150)]
    CORPUS_GLOBAL.clear()

    def body() -> None:
        corpus_program(values)
        CORPUS_GLOBAL.clear()  # the next recording starts from the same state

    assert_same_recording(tmp_path, fmt, body)


def test_native_path_reports_itself_in_the_metadata(tmp_path: Path) -> None:
    off = record_here(tmp_path / "off", "off", "json", lambda: corpus_program([1]))
    on = record_here(tmp_path / "on", "on", "json", lambda: corpus_program([1]))
    assert json.loads((off / "trace_metadata.json").read_text())["native"] == {
        "mode": "off",
        "used": False,
    }
    assert json.loads((on / "trace_metadata.json").read_text())["native"] == {
        "mode": "on",
        "used": True,
    }


# ---------------------------------------------------------------- the shared examples


CLI = (sys.executable, "-m", "recorder_runtime")


def record_example(script: Path, out: Path, native: str, fmt: str) -> Path:
    env = {**os.environ, "CODETRACER_NATIVE": native, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [*CLI, "--trace-dir", str(out), "--format", fmt, "--quiet", script.name],
        cwd=script.parent,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert (out / "trace_metadata.json").exists(), (script.name, native, done.stderr)
    return out


def example_pairs() -> Iterator[str]:
    for script in sorted(EXAMPLES.glob("*.py")):
        if script.name not in UNORDERED | LIBRARIES:
            yield script.name


@pytest.mark.parametrize("fmt", FORMATS)
def test_shared_examples_are_recorded_identically_on_both_paths(tmp_path: Path, fmt: str) -> None:
    names = list(example_pairs())
    jobs = [(name, native) for name in names for native in ("on", "off")]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        dirs = dict(
            zip(
                jobs,
                pool.map(
                    lambda job: record_example(
                        EXAMPLES / job[0], tmp_path / f"{job[0]}-{job[1]}", job[1], fmt
                    ),
                    jobs,
                ),
                strict=True,
            )
        )
    for name in names:
        on, off = dirs[(name, "on")], dirs[(name, "off")]
        assert masked(events_bytes(on)) == masked(events_bytes(off)), name
        on_meta, off_meta = metadata_without_native(on), metadata_without_native(off)
        assert on_meta.pop("args") == off_meta.pop("args")
        assert json.loads((on / "trace_metadata.json").read_text())["native"]["used"], name


PRINTING_PROGRAM = """\
def inner(n):
    print("inner", n)
    return n * 2


def outer(n):
    total = inner(n)
    print("after inner", total)
    return total


for i in range(3):
    print("result", outer(i))
"""


@pytest.mark.parametrize("fmt", FORMATS)
def test_captured_output_is_attributed_identically_on_both_paths(tmp_path: Path, fmt: str) -> None:
    """IO events name the line of their last Step: restored on return on both paths."""
    script = tmp_path / "printing.py"
    script.write_text(PRINTING_PROGRAM)
    on = record_example(script, tmp_path / "on", "on", fmt)
    off = record_example(script, tmp_path / "off", "off", fmt)
    assert masked(events_bytes(on)) == masked(events_bytes(off))
