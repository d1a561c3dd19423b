"""The API records the block it guards: the caller's own lines, not only the calls it makes.

``with rr.trace(dir):`` and ``rr.start()`` are called from a frame that is already running,
which no backend would otherwise see (no ``PY_START``, no ``'call'`` event). Recorded
in-process on each backend this interpreter has: ``monitoring`` (3.12+) and ``settrace``
(``pure-recorder``; forced on 3.12+ too).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import recorder_runtime as rr


def _backends() -> list[str]:
    found = []
    if sys.version_info >= (3, 12):
        found.append("monitoring")
    try:
        import pure_recorder.backend  # noqa: F401
    except ImportError:
        pass
    else:
        found.append("settrace")
    return found


BACKENDS = _backends()
SOURCE = Path(__file__).read_text(encoding="utf-8").splitlines()


def line_of(marker: str) -> int:
    """The line of this file that ends with the comment ``# <marker>``."""
    return next(i for i, text in enumerate(SOURCE, 1) if text.endswith(f"# <{marker}>"))


@pytest.fixture(autouse=True)
def _no_foreign_tracer(request: pytest.FixtureRequest) -> None:
    backend = (
        request.node.callspec.params.get("backend") if hasattr(request.node, "callspec") else None
    )
    if backend == "settrace" and sys.gettrace() is not None:
        pytest.skip("a tracer (coverage, a debugger) is already installed")


def load(trace_dir: Path) -> tuple[list[Any], dict[str, Any], list[str]]:
    events = json.loads((trace_dir / "trace.json").read_text(encoding="utf-8"))
    metadata = json.loads((trace_dir / "trace_metadata.json").read_text(encoding="utf-8"))
    paths = json.loads((trace_dir / "trace_paths.json").read_text(encoding="utf-8"))
    return events, metadata, paths


def here_steps(trace_dir: Path) -> list[int]:
    """Lines of this file recorded as line steps, in order (not the Step before a Call)."""
    events, _, paths = load(trace_dir)
    this = paths.index(__file__) if __file__ in paths else -1
    return [
        event["Step"]["line"]
        for event, following in zip(events, [*events[1:], None], strict=True)
        if "Step" in event
        and event["Step"]["path_id"] == this
        and not (isinstance(following, dict) and "Call" in following)
    ]


def twice(value: int) -> int:
    return value * 2  # <twice body>


def guarded_block(trace_dir: Path, backend: str) -> int:
    before = 1  # <before>
    with rr.trace(str(trace_dir), backend=backend, io_capture="off"):  # <with>
        inside = before + 1  # <block 1>
        doubled = twice(inside)  # <block 2>
    after = doubled + 1  # <after>
    return after


def started_here(trace_dir: Path, backend: str) -> int:
    rr.start(str(trace_dir), backend=backend, io_capture="off")
    first = 40  # <started 1>
    second = first + 2  # <started 2>
    rr.stop(exit_code=0)  # <stop>
    return second


@pytest.mark.parametrize("backend", BACKENDS)
def test_with_block_records_its_own_lines(tmp_path: Path, backend: str) -> None:
    trace_dir = tmp_path / "trace"
    assert guarded_block(trace_dir, backend) == 5
    steps = here_steps(trace_dir)
    assert steps[:3] == [line_of("block 1"), line_of("block 2"), line_of("twice body")]
    assert line_of("before") not in steps
    assert line_of("after") not in steps


@pytest.mark.parametrize("backend", BACKENDS)
def test_block_values_are_recorded_at_its_steps(tmp_path: Path, backend: str) -> None:
    trace_dir = tmp_path / "trace"
    guarded_block(trace_dir, backend)
    events, _, _ = load(trace_dir)
    names = [e["VariableName"] for e in events if "VariableName" in e]
    assert {"before", "inside", "doubled"} <= set(names)


@pytest.mark.parametrize("backend", BACKENDS)
def test_block_is_recorded_as_a_call_of_the_calling_function(tmp_path: Path, backend: str) -> None:
    trace_dir = tmp_path / "trace"
    guarded_block(trace_dir, backend)
    events, _, _ = load(trace_dir)
    functions = [e["Function"]["name"] for e in events if "Function" in e]
    called = [functions[e["Call"]["function_id"]] for e in events if "Call" in e]
    assert called == ["<toplevel>", "guarded_block", "twice"]
    assert sum(1 for e in events if "Call" in e) == sum(1 for e in events if "Return" in e)


@pytest.mark.parametrize("backend", BACKENDS)
def test_start_records_the_rest_of_the_calling_function(tmp_path: Path, backend: str) -> None:
    trace_dir = tmp_path / "trace"
    assert started_here(trace_dir, backend) == 42
    assert here_steps(trace_dir) == [line_of("started 1"), line_of("started 2"), line_of("stop")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_decorator_records_the_function_not_its_caller(tmp_path: Path, backend: str) -> None:
    trace_dir = tmp_path / "trace"

    @rr.trace(str(trace_dir), backend=backend, io_capture="off")
    def decorated(value: int) -> int:
        return twice(value)  # <decorated body>

    outside = decorated(3)  # <decorated call>
    assert outside == 6
    steps = here_steps(trace_dir)
    assert steps == [line_of("decorated body"), line_of("twice body")]


@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs both backends (Python 3.12+)")
def test_both_backends_record_the_same_block(tmp_path: Path) -> None:
    recorded = {}
    for backend in BACKENDS:
        guarded_block(tmp_path / backend, backend)
        events, _, _ = load(tmp_path / backend)
        recorded[backend] = [
            (next(iter(e)), e.get("Step", {}).get("line"))
            for e in events
            if isinstance(e, dict) and next(iter(e)) in ("Step", "Call", "Return")
        ]
    assert recorded["monitoring"] == recorded["settrace"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_metadata_names_the_program(tmp_path: Path, backend: str) -> None:
    trace_dir = tmp_path / "trace"
    guarded_block(trace_dir, backend)
    _, metadata, paths = load(trace_dir)
    main_file = getattr(sys.modules["__main__"], "__file__", None) or __file__
    assert metadata["program"] == str(Path(main_file).resolve()) or metadata["program"] == str(
        Path(main_file).absolute()
    )
    assert paths[0] == metadata["program"]
