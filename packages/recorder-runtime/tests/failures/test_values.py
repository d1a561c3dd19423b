"""Hostile values C1-C13: capture never changes, hangs or breaks the program.

targets/hostile.py holds raising, never-returning and lying objects, MagicMocks, cycles,
10^5-deep nesting, huge ints, strings and bytes, lone surrogates, NaN/inf and odd dict keys in
locals while lines run. A capture failure is never a policy failure, so the run must look
exactly untraced and the trace must be complete and parse with a strict JSON parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import (
    assert_n1,
    assert_n2,
    assert_n3,
    assert_n4,
    backend_params,
    run_pair,
    strict_loads,
)


@pytest.mark.parametrize("policy", ["abort", "disable"])
@pytest.mark.parametrize("backend", backend_params())
def test_hostile_values_change_nothing_and_trace_parses(
    tmp_path: Path, backend: str, policy: str
) -> None:
    """C1, C3-C12: N1-N4 hold; mock_calls stays [] (C5)."""
    pair = run_pair("hostile.py", tmp_path=tmp_path, backend=backend, policy=policy, timeout=120)
    assert b"mock_calls []" in pair.traced.stdout
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    state = assert_n4(pair, allowed=("complete",))
    text = (pair.trace_dir / "trace.json").read_bytes()
    strict_loads(text)  # C11: no NaN/Infinity, no lone surrogate, valid UTF-8
    assert b"NaN" not in text.replace(b'"NaN"', b"")
    assert len(text) < 200 * 1024 * 1024, "huge values must be capped (C7, C10)"
    assert state.events


@pytest.mark.parametrize("backend", backend_params())
def test_redaction_never_writes_back_into_frames(tmp_path: Path, backend: str) -> None:
    """C13: a `token` local is redacted in the trace only; the function returns the real value
    (writing to f_locals changes the program on 3.13)."""
    pair = run_pair("hostile.py", tmp_path=tmp_path, backend=backend, timeout=120)
    assert b"token unchanged True" in pair.traced.stdout, pair.describe()


@pytest.mark.parametrize("backend", backend_params())
def test_never_returning_repr_is_never_called(tmp_path: Path, backend: str) -> None:
    """C2: a local whose ``__repr__`` never returns: the recorder must not call program code
    to render it (a timeout here means it did, and the program hangs under the recorder).
    ADR 0016: objects are recorded by their stored fields, their own text is never asked."""
    pair = run_pair("hostile.py", ["forever"], tmp_path=tmp_path, backend=backend, timeout=10)
    assert_n1(pair)
    assert_n2(pair)
