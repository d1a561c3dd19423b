"""A small reader of trace directories for assertions in tests (ids resolved to names)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import clean_env


def strict_loads(text: str) -> Any:
    """json.loads that rejects NaN/Infinity (what a strict reader of the format does)."""

    def reject(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def render(value: dict[str, Any]) -> Any:
    """A Python rendering of a ValueRecord, good enough to compare in tests."""
    kind = value["kind"]
    if kind in ("Int",):
        return value["i"]
    if kind == "Bool":
        return value["b"]
    if kind == "String":
        return value["text"]
    if kind == "None":
        return None
    if kind == "Raw":
        return ("raw", value["r"])
    if kind == "Error":
        return ("error", value["msg"])
    if kind == "Tuple":
        return tuple(render(v) for v in value["elements"])
    if kind == "Sequence":
        return [render(v) for v in value["elements"]]
    return (kind.lower(), value)


@dataclass
class Call:
    name: str
    args: list[tuple[str, Any]]


@dataclass
class Trace:
    events: list[Any]
    metadata: dict[str, Any]
    paths: list[str]
    functions: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for event in self.events:
            if isinstance(event, dict) and "Function" in event:
                self.functions.append(event["Function"]["name"])
            if isinstance(event, dict) and "VariableName" in event:
                self.variables.append(event["VariableName"])

    def kinds(self) -> list[str]:
        return [next(iter(e)) if isinstance(e, dict) else e for e in self.events]

    def calls(self) -> list[Call]:
        result = []
        for event in self.events:
            if isinstance(event, dict) and "Call" in event:
                call = event["Call"]
                args = [
                    (self.variables[a["variable_id"]], render(a["value"])) for a in call["args"]
                ]
                result.append(Call(self.functions[call["function_id"]], args))
        return result

    def call_names(self) -> list[str]:
        return [c.name for c in self.calls()]

    def returns(self) -> list[Any]:
        return [
            render(e["Return"]["return_value"])
            for e in self.events
            if isinstance(e, dict) and "Return" in e
        ]

    def steps(self) -> list[int]:
        return [e["Step"]["line"] for e in self.events if isinstance(e, dict) and "Step" in e]

    def values_by_step(self) -> list[dict[str, Any]]:
        """For each Step, the variables written after it (name -> rendered value)."""
        result: list[dict[str, Any]] = []
        for event in self.events:
            if not isinstance(event, dict):
                continue
            if "Step" in event:
                result.append({})
            elif "Value" in event and result:
                v = event["Value"]
                result[-1][self.variables[v["variable_id"]]] = render(v["value"])
        return result

    def output(self, kind: int = 0) -> str:
        return "".join(
            e["Event"]["content"]
            for e in self.events
            if isinstance(e, dict) and "Event" in e and e["Event"]["kind"] == kind
        )


def load(trace_dir: Path) -> Trace:
    events = strict_loads((trace_dir / "trace.json").read_text(encoding="utf-8"))
    metadata = strict_loads((trace_dir / "trace_metadata.json").read_text(encoding="utf-8"))
    paths = strict_loads((trace_dir / "trace_paths.json").read_text(encoding="utf-8"))
    return Trace(events, metadata, paths)


def record_source(
    tmp_path: Path,
    source: str,
    *extra: str,
    module: str = "recorder_runtime",
    stdin: str = "",
    env: dict[str, str] | None = None,
    name: str = "prog.py",
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Write ``source`` to a script in tmp_path, record it, return (process, trace dir)."""
    script = tmp_path / name
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    trace_dir = tmp_path / "trace"
    full_env = clean_env()
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            "--trace-dir",
            str(trace_dir),
            "--format",
            "json",
            *extra,
            str(script),
        ],
        cwd=tmp_path,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, trace_dir
