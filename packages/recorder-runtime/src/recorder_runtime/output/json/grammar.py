"""The JSON syntax of trace events: the only place that spells an event as ``trace.json`` text.

The recorder asks this grammar for the pieces it caches per code object (a ``Step`` per
line, a ``Value`` prefix per variable id) and builds every other event through it; the
writer's id registries spell their defining events through it too. Events are compact JSON
with ASCII-only strings (see ``recorder_runtime.encoder.json_string``); a ``ValueRecord`` is
passed in already encoded by the value encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ...encoder import json_string

__all__ = ["GRAMMAR", "JsonGrammar"]


class JsonGrammar:
    """Pieces of ``trace.json`` events (``str``); see the module docstring."""

    #: What follows the ValueRecord of a ``Value`` event (and of a ``Return``).
    value_suffix: Final = "}}"
    #: Joins the events of one group into one piece (the writer joins pieces the same way).
    separator: Final = ","

    def join_events(self, events: list[str]) -> str:
        """Several complete events as one piece (a cached block of Values)."""
        return ",".join(events)

    def step(self, path_id: int, line: int) -> str:
        return '{"Step":{"path_id":%d,"line":%d}}' % (path_id, line)

    def value_prefix(self, variable_id: int) -> str:
        """``Value`` event = prefix + ValueRecord + :attr:`value_suffix`."""
        return '{"Value":{"variable_id":%d,"value":' % variable_id

    def value(self, variable_id: int, value: str) -> str:
        return '{"Value":{"variable_id":%d,"value":%s}}' % (variable_id, value)

    def call(self, function_id: int, args: Sequence[tuple[int, str]]) -> str:
        """``Call`` with its arguments ``(variable_id, ValueRecord)`` in signature order."""
        inner = ",".join(['{"variable_id":%d,"value":%s}' % arg for arg in args])
        return '{"Call":{"function_id":%d,"args":[%s]}}' % (function_id, inner)

    #: ``Return`` event = prefix + ValueRecord + :attr:`value_suffix`.
    return_prefix: Final = '{"Return":{"return_value":'

    def return_(self, value: str) -> str:
        return self.return_prefix + value + self.value_suffix

    def io_event(self, kind: int, metadata: str, content: str) -> str:
        """``Event`` (EventLogKind ``kind``); both strings are escaped here."""
        return '{"Event":{"kind":%d,"metadata":%s,"content":%s}}' % (
            kind,
            json_string(metadata),
            json_string(content),
        )

    def path(self, path: str) -> str:
        return '{"Path":' + json_string(path) + "}"

    def function(self, path_id: int, line: int, name: str) -> str:
        return '{"Function":{"path_id":%d,"line":%d,"name":%s}}' % (
            path_id,
            line,
            json_string(name),
        )

    def variable_name(self, name: str) -> str:
        return '{"VariableName":' + json_string(name) + "}"

    def type_(self, kind: int, lang_type: str, fields: Sequence[tuple[str, int]] | None) -> str:
        """``Type``; ``fields`` (name, type id) make its ``specific_info`` a Struct."""
        if fields is None:
            info = '{"kind":"None"}'
        else:
            info = '{"kind":"Struct","fields":[%s]}' % ",".join(
                ['{"name":%s,"type_id":%d}' % (json_string(name), tid) for name, tid in fields]
            )
        return '{"Type":{"kind":%d,"lang_type":%s,"specific_info":%s}}' % (
            kind,
            json_string(lang_type),
            info,
        )


#: The one instance (the grammar holds no state).
GRAMMAR: Final = JsonGrammar()
