"""Deterministic guards on the hot path (issue 8): work per step, not time per step.

Speed is measured by ``nox -s bench``, never asserted. These tests count what the
recorder does per line event, so an accidental slowdown of the hot path (values
re-encoded that should come from a cache, extra events) fails here on any machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import recorder_runtime

GLOBAL_A = 1
GLOBAL_B = "two"
GLOBAL_C = (3, 4)


def _loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


class CountingEncode:
    """Wraps ValueEncoder.encode and counts the calls."""

    def __init__(self, encode: Any) -> None:
        self.encode = encode
        self.calls = 0

    def __call__(self, value: object) -> str:
        self.calls += 1
        return str(self.encode(value))


@pytest.fixture()
def recorded_loop(tmp_path: Path) -> tuple[int, int, list[Any], int]:
    """Record ``_loop(200)`` in-process; return (encode calls, steps, events, volatile)."""
    trace_dir = tmp_path / "trace"
    session = recorder_runtime.start(str(trace_dir), io_capture="off")
    recorder = session.recorder
    assert recorder is not None
    counter = CountingEncode(recorder._encode)
    recorder._encode = counter
    try:
        _loop(200)
    finally:
        recorder_runtime.stop(exit_code=0)
    events = json.loads((trace_dir / "trace.json").read_text())
    steps = sum(1 for e in events if isinstance(e, dict) and "Step" in e)
    block = recorder.code_info(_loop.__code__).global_block
    assert block is not None
    return counter.calls, steps, events, len(block.volatile)


def test_unchanged_module_globals_are_encoded_once_not_at_every_step(
    recorded_loop: tuple[int, int, list[Any], int],
) -> None:
    calls, steps, _, volatile = recorded_loop
    # Per step only the locals (n, total, i) and the globals whose rendering can change while
    # the object stays the same (instances with their own repr) are encoded; this module's
    # functions, classes, constants and str dunders come from the pre-encoded global block.
    stable = len(globals()) - volatile
    assert steps > 400
    assert stable >= 10, (stable, volatile)
    assert calls <= steps * (3 + volatile) + 2 * len(globals()), (calls, steps, volatile)


def test_each_step_writes_one_value_per_visible_variable(
    recorded_loop: tuple[int, int, list[Any], int],
) -> None:
    _, _, events, _ = recorded_loop
    names: list[str] = []
    per_step: list[list[str]] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        if "VariableName" in event:
            names.append(event["VariableName"])
        elif "Step" in event:
            per_step.append([])
        elif "Value" in event and per_step:
            per_step[-1].append(names[event["Value"]["variable_id"]])
    inside = [step for step in per_step if "total" in step]
    assert inside
    for step in inside:
        assert len(step) == len(set(step)), step  # no variable written twice in one step
        assert "__builtins__" not in step


def test_native_path_encodes_in_python_only_values_not_seen_before(tmp_path: Path) -> None:
    """With the C accelerator, the atoms a LINE event shows come from the encoder's caches:
    Python encodes an int/str/float for a step only on its cache miss."""
    pytest.importorskip("recorder_speedups._speedups")
    session = recorder_runtime.start(str(tmp_path / "trace"), io_capture="off", native="on")
    recorder = session.recorder
    assert recorder is not None
    encoder = recorder.encoder
    seen: list[tuple[str, object]] = []
    scoped = encoder.encode_scoped

    def counting_scoped(scope: Any, value: object) -> Any:
        seen.append((type(value).__name__, value))
        return scoped(scope, value)

    encoder.encode_scoped = counting_scoped  # type: ignore[method-assign]
    try:
        _loop(200)
    finally:
        recorder_runtime.stop(exit_code=0)
    atoms = [item for item in seen if item[0] in ("int", "str", "float")]
    assert recorder.steps > 400
    assert atoms, "the loop's new values reach the Python encoder once"
    # Repeats only on the Python paths: the argument, the return, each local's first sight.
    repeats = len(atoms) - len(set(atoms))
    assert repeats <= len(_loop.__code__.co_varnames) + 2, "atoms re-encoded, not cached"
    assert len(seen) <= len(atoms) + 2 * len(globals())
