"""Issue 12: recording never runs the program's code (ADR 0016).

targets/touchy.py holds objects whose every dunder, property, descriptor and metaclass method
counts its calls, a ``__getattr__`` that logs, a property that mutates state, a lying
``__class__``, and a lazily sorted registry that breaks when it is rendered in the middle of
``register()`` (the Markdown library's tables vanished that way). The program prints its
counters at the end: recorded on either backend, in either globals mode, it prints exactly
what it prints untraced, where every counter is 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import (
    assert_n1,
    assert_n2,
    assert_n3,
    assert_n4,
    backend_params,
    run_pair,
    run_untraced,
    strict_loads,
)

UNTOUCHED = b"calls: []\n"
SORTED = b"registry order after sorting: ['high', 'mid', 'low']\n"


def struct_types(events: list[Any]) -> dict[int, str]:
    """Type id -> lang_type of every Struct type in the trace."""
    types = [event["Type"] for event in events if "Type" in event]
    return {tid: t["lang_type"] for tid, t in enumerate(types) if t["kind"] == 6}


def registry_steps(events: list[Any]) -> int:
    """Steps inside ``Registry.register`` at which ``self`` was recorded as a Registry Struct."""
    functions = [event["Function"]["name"] for event in events if "Function" in event]
    names = [event["VariableName"] for event in events if "VariableName" in event]
    structs = struct_types(events)
    stack: list[str] = []
    count = 0
    for event in events:
        if "Call" in event:
            stack.append(functions[event["Call"]["function_id"]])
        elif "Return" in event and stack:
            stack.pop()
        elif "Value" in event and stack and stack[-1].endswith("register"):
            value = event["Value"]
            if names[value["variable_id"]] == "self" and value["value"]["kind"] == "Struct":
                count += structs[value["value"]["type_id"]].startswith("Registry")
    return count


@pytest.mark.parametrize("globals_mode", ["referenced", "all"])
@pytest.mark.parametrize("backend", backend_params())
def test_no_method_of_a_touchy_object_runs_while_recording(
    tmp_path: Path, backend: str, globals_mode: str
) -> None:
    pair = run_pair(
        "touchy.py", tmp_path=tmp_path, backend=backend, flags=["--globals", globals_mode]
    )
    assert pair.untraced is not None
    assert UNTOUCHED in pair.untraced.stdout and SORTED in pair.untraced.stdout
    assert_n1(pair)  # so every counter is still 0 and the registry still sorts
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    assert_n4(pair, allowed=("complete",))
    events = strict_loads((pair.trace_dir / "trace.json").read_bytes())
    names = set(struct_types(events).values())
    for shown in ("Touchy", "Guarded", "Logging", "Liar", "WithMeta", "Record", "Row"):
        assert shown in names, (shown, sorted(names))
    assert registry_steps(events) >= 3, "the registry was not seen in the middle of register()"


def test_the_touchy_corpus_notices_a_recorder_that_renders_objects(tmp_path: Path) -> None:
    """The oracle can fail: a run that calls ``repr()`` on every local at every line (what
    the reference recorder does) changes what the program prints."""
    script = (Path(__file__).parent / "targets" / "touchy.py").read_text(encoding="utf-8")
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\n"
        "def tracer(frame, event, arg):\n"
        "    for value in list(frame.f_locals.values()):\n"
        "        try:\n"
        "            repr(value)\n"
        "        except Exception:\n"
        "            pass\n"
        "    return tracer\n"
        "sys.settrace(tracer)\n" + script,
        encoding="utf-8",
    )
    stdout = run_untraced(probe, [], workdir=tmp_path / "work").stdout
    assert UNTOUCHED not in stdout, stdout
    assert SORTED not in stdout, stdout
