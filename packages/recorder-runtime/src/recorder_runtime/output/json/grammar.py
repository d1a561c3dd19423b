"""The JSON syntax of trace events: the only place that spells an event as ``trace.json`` text.

The recorder asks this grammar for the pieces it caches per code object (a ``Step`` per
line, a ``Value`` prefix per variable id) and builds every other event through it; the
writer's id registries spell their defining events through it too. Events are compact JSON
with ASCII-only strings (see ``recorder_runtime.encoder.json_string``); a ``ValueRecord`` is
passed in already encoded by the value encoder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from .text import json_string, json_text

__all__ = ["GRAMMAR", "JsonGrammar"]


class JsonGrammar:
    """Pieces of ``trace.json`` events and values (``str``); see the module docstring."""

    name: Final = "json"
    empty: Final = ""

    #: What follows the ValueRecord of a ``Value`` event (and of a ``Return``).
    value_suffix: Final = "}}"
    #: Joins the events of one group into one piece (the writer joins pieces the same way).
    separator: Final = ","

    def join_events(self, events: list[str]) -> str:
        """Several complete events as one piece (a cached block of Values)."""
        return ",".join(events)

    def join(self, parts: list[str]) -> str:
        """The records of a container's elements."""
        return ",".join(parts)

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

    # ------------------------------------------------------------------ value records

    def int_(self, i: int, type_id: int) -> str:
        return '{"kind":"Int","i":%d,"type_id":%d}' % (i, type_id)

    def string(self, text: str, type_id: int) -> str:
        return '{"kind":"String","text":' + json_text(text) + _tail(type_id)

    def raw(self, text: str, type_id: int) -> str:
        return '{"kind":"Raw","r":' + json_text(text) + _tail(type_id)

    def error(self, msg: str, type_id: int) -> str:
        return '{"kind":"Error","msg":' + json_text(msg) + _tail(type_id)

    def bool_(self, b: bool, type_id: int) -> str:
        return ('{"kind":"Bool","b":true' if b else '{"kind":"Bool","b":false') + _tail(type_id)

    def none(self, type_id: int) -> str:
        return '{"kind":"None"' + _tail(type_id)

    def sequence(self, elements: str, count: int, type_id: int) -> str:
        return '{"kind":"Sequence","elements":[' + elements + '],"is_slice":false' + _tail(type_id)

    def tuple_(self, elements: str, count: int, type_id: int) -> str:
        return '{"kind":"Tuple","elements":[' + elements + "]" + _tail(type_id)

    def struct(self, field_values: str, count: int, type_id: int) -> str:
        return '{"kind":"Struct","field_values":[' + field_values + "]" + _tail(type_id)

    def pair_builder(self, tuple_type_id: int) -> Callable[[str, str], str]:
        head = '{"kind":"Tuple","elements":['
        tail = "]" + _tail(tuple_type_id)

        def pair(key: str, value: str) -> str:
            return f"{head}{key},{value}{tail}"

        return pair


_TAILS: Final = tuple(',"type_id":%d}' % t for t in range(256))


def _tail(type_id: int) -> str:
    """``,"type_id":N}``: the end of every typed record."""
    return _TAILS[type_id] if 0 <= type_id < 256 else ',"type_id":%d}' % type_id


#: The one instance (the grammar holds no state).
GRAMMAR: Final = JsonGrammar()
