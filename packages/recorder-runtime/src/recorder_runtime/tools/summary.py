"""What a trace holds, computed in one streaming pass over its events (``inspect``).

:func:`summarize` takes any iterator of decoded events (:mod:`.events`), so the JSON and
binary formats share it. Memory is bounded by the program's size (one counter per function
and per file, the call stack), never by the trace's length.

Counting rules, shared with the summary line at the end of a run (``notices.py``):

* ``steps`` are line steps. The recorder also writes a ``Step`` at the definition line just
  before each ``Call`` (trace-format.md §10.3); a ``Step`` directly followed by a ``Call``
  is that prologue and is not counted.
* ``calls`` are ``Call`` events of the program's code: the top-level pseudo call that opens
  every trace (§10.2) is not counted.
* A line step is attributed to the function on top of the call stack and to its file.
  Threads share one stream without markers (§10.7), so with several busy threads the
  per-function split is approximate; the totals are exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REDACTED_MESSAGE", "StreamStats", "summarize"]

#: The ``msg`` of the ValueRecord that replaces a redacted value (``encoder.redacted``).
REDACTED_MESSAGE = "<redacted>"


@dataclass
class StreamStats:
    """Counts over one event stream (see the module docstring for what each one means)."""

    events: int = 0
    steps: int = 0
    calls: int = 0
    returns: int = 0
    values: int = 0
    redactions: int = 0
    io_events: int = 0
    paths: list[str] = field(default_factory=list)
    functions: list[tuple[str, int, int]] = field(default_factory=list)  # name, path_id, line
    called: set[int] = field(default_factory=set)
    steps_by_function: Counter[int] = field(default_factory=Counter)
    steps_by_path: Counter[int] = field(default_factory=Counter)
    open_calls: int = 0

    def top_functions(self, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` functions with the most line steps, most first."""
        rows = []
        for function_id, steps in self.steps_by_function.most_common(limit):
            name, path_id, line = self._function(function_id)
            rows.append({"name": name, "path": self._path(path_id), "line": line, "steps": steps})
        return rows

    def top_files(self, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` files with the most line steps, most first."""
        return [
            {"path": self._path(path_id), "steps": steps}
            for path_id, steps in self.steps_by_path.most_common(limit)
        ]

    def _function(self, function_id: int) -> tuple[str, int, int]:
        if 0 <= function_id < len(self.functions):
            return self.functions[function_id]
        return (f"<function {function_id}>", -1, 0)

    def _path(self, path_id: int) -> str:
        if 0 <= path_id < len(self.paths):
            return self.paths[path_id]
        return f"<path {path_id}>"


def summarize(events: Iterable[Any]) -> StreamStats:
    """Count what ``events`` hold; unknown or malformed events are counted and skipped."""
    stats = StreamStats()
    stack: list[int] = []
    pending_step = -1  # path_id of a Step not yet known to be a line step
    top_level = True
    for event in events:
        stats.events += 1
        if type(event) is not dict or len(event) != 1:
            continue
        ((kind, payload),) = event.items()
        if pending_step >= 0 and kind != "Call":
            _count_step(stats, stack, pending_step)
        pending_step = -1
        if type(payload) is not dict:
            if kind == "Path" and type(payload) is str:
                stats.paths.append(payload)
            continue
        if kind == "Step":
            pending_step = _int(payload.get("path_id"))
        elif kind == "Value":
            stats.values += 1
            if _is_redacted(payload.get("value")):
                stats.redactions += 1
        elif kind == "Call":
            function_id = _int(payload.get("function_id"))
            stack.append(function_id)
            if top_level:
                top_level = False
                continue
            stats.calls += 1
            stats.called.add(function_id)
        elif kind == "Return":
            stats.returns += 1
            if stack:
                stack.pop()
            if _is_redacted(payload.get("return_value")):
                stats.redactions += 1
        elif kind == "Function":
            stats.functions.append(
                (str(payload.get("name")), _int(payload.get("path_id")), _int(payload.get("line")))
            )
        elif kind == "Event":
            stats.io_events += 1
    if pending_step >= 0:
        _count_step(stats, stack, pending_step)
    stats.open_calls = len(stack)
    return stats


def _count_step(stats: StreamStats, stack: list[int], path_id: int) -> None:
    stats.steps += 1
    stats.steps_by_path[path_id] += 1
    if stack:
        stats.steps_by_function[stack[-1]] += 1


def _int(value: object) -> int:
    return value if type(value) is int else -1


def _is_redacted(value: object) -> bool:
    return type(value) is dict and value.get("msg") == REDACTED_MESSAGE
