"""The CBOR grammar of ``trace.bin``: every event and ValueRecord as ``bytes`` pieces.

One CBOR item per event, in the shape serde gives the Rust types of
``codetracer_trace_types`` (``types.rs``) through ``cbor4ii``, CodeTracer's writer:

* events are externally tagged, a 1-entry map ``{"Step": {...}}``; ``DropLastStep`` is the
  bare text ``"DropLastStep"``;
* structs are definite-length maps with text keys in Rust declaration order;
* id newtypes (``PathId``, ``VariableId``, ``TypeId``, ...) and ``Line`` are bare integers;
  ``TypeKind`` and ``EventLogKind`` are small integers (serde_repr);
* ValueRecords are internally tagged: a ``"kind"`` text key first, then the fields.

The recorder caches ``step``/``value_prefix``/``call`` pieces per code object; what is built
per value (:meth:`CborGrammar.int_`, :meth:`CborGrammar.string`) is a concatenation of cached
pieces. The contract (what each method returns) is the output seam shared with the JSON
grammar: a piece is one complete item except ``value_prefix`` + record + ``value_suffix``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from recorder_runtime.output.binary.cbor import (
    FALSE,
    TRUE,
    array_head,
    int_item,
    map_head,
    text,
    text_cached,
)

__all__ = ["CALL_HEAD", "DROP_LAST_STEP", "GRAMMAR", "RETURN_HEAD", "CborGrammar"]

_T = text  # short local names for the templates below
_M1: Final = map_head(1)
_M2: Final = map_head(2)
_M3: Final = map_head(3)
_M4: Final = map_head(4)

# Event openers: {"Variant": {...
_STEP: Final = _M1 + _T("Step") + _M2 + _T("path_id")
_LINE: Final = _T("line")
_VALUE: Final = _M1 + _T("Value") + _M2 + _T("variable_id")
_VALUE_KEY: Final = _T("value")
_CALL: Final = _M1 + _T("Call") + _M2 + _T("function_id")
_ARGS: Final = _T("args")
_ARG: Final = _M2 + _T("variable_id")
_RETURN: Final = _M1 + _T("Return") + _M1 + _T("return_value")
_EVENT: Final = _M1 + _T("Event") + _M3 + _T("kind")
_METADATA: Final = _T("metadata")
_CONTENT: Final = _T("content")
_PATH: Final = _M1 + _T("Path")
_FUNCTION: Final = _M1 + _T("Function") + _M3 + _T("path_id")
_NAME: Final = _T("name")
_VARIABLE_NAME: Final = _M1 + _T("VariableName")
_TYPE: Final = _M1 + _T("Type") + _M3 + _T("kind")
_LANG_TYPE: Final = _T("lang_type")
_SPECIFIC_NONE: Final = _T("specific_info") + _M1 + _T("kind") + _T("None")
_SPECIFIC_STRUCT: Final = _T("specific_info") + _M2 + _T("kind") + _T("Struct") + _T("fields")
_FIELD: Final = _M2 + _T("name")

#: ``DropLastStep``: a unit variant, serialised as its name alone.
DROP_LAST_STEP: Final = _T("DropLastStep")

# ValueRecords: {"kind": K, <fields>, "type_id": t}
_KIND: Final = _T("kind")
_TYPE_ID: Final = _T("type_id")
_INT: Final = _M3 + _KIND + _T("Int") + _T("i")
_STRING: Final = _M3 + _KIND + _T("String") + _T("text")
_RAW: Final = _M3 + _KIND + _T("Raw") + _T("r")
_ERROR: Final = _M3 + _KIND + _T("Error") + _T("msg")
_BOOL: Final = _M3 + _KIND + _T("Bool") + _T("b")
_NONE: Final = _M2 + _KIND + _T("None")
_SEQUENCE: Final = _M4 + _KIND + _T("Sequence") + _T("elements")
_IS_SLICE_FALSE: Final = _T("is_slice") + FALSE
_TUPLE: Final = _M3 + _KIND + _T("Tuple") + _T("elements")
_STRUCT: Final = _M3 + _KIND + _T("Struct") + _T("field_values")


def _type_id_tail(type_id: int) -> bytes:
    """``"type_id": t`` (the last field of every typed ValueRecord)."""
    return _TYPE_ID + int_item(type_id)


#: Tails for the first type ids (every recording's common types have small ids).
_TAILS: Final = tuple(_type_id_tail(t) for t in range(256))


def _tail(type_id: int) -> bytes:
    if 0 <= type_id < 256:
        return _TAILS[type_id]
    return _type_id_tail(type_id)


class CborGrammar:
    """Builds the CBOR pieces of ``trace.bin`` (see the output seam in the module docstring).

    Stateless apart from module-level caches, so one instance may serve every thread.
    """

    name: Final = "binary"
    empty: Final = b""
    value_suffix: Final = b""
    #: ``{"Return": {"return_value": `` (the record follows; nothing closes a CBOR map).
    return_prefix: Final = _RETURN

    def join_events(self, events: list[bytes]) -> bytes:
        """Several complete events as one piece (items back to back)."""
        return b"".join(events)

    def value(self, variable_id: int, value: bytes) -> bytes:
        """``{"Value": {"variable_id": v, "value": VR}}``."""
        return _VALUE + int_item(variable_id) + _VALUE_KEY + value

    def pair_builder(self, tuple_type_id: int) -> Callable[[bytes, bytes], bytes]:
        """The 2-element Tuple record of a dict item, as one concatenation."""
        head = _TUPLE + array_head(2)
        tail = _tail(tuple_type_id)

        def pair(key: bytes, value: bytes) -> bytes:
            return head + key + value + tail

        return pair

    # ------------------------------------------------------------------ events

    def step(self, path_id: int, line: int) -> bytes:
        """``{"Step": {"path_id": p, "line": l}}``."""
        return _STEP + int_item(path_id) + _LINE + int_item(line)

    def value_prefix(self, variable_id: int) -> bytes:
        """``{"Value": {"variable_id": v, "value": `` (the record and ``value_suffix`` follow)."""
        return _VALUE + int_item(variable_id) + _VALUE_KEY

    def call(self, function_id: int, args: Sequence[tuple[int, bytes]]) -> bytes:
        """``{"Call": {"function_id": f, "args": [{"variable_id": v, "value": VR}, ...]}}``."""
        parts = [_CALL, int_item(function_id), _ARGS, array_head(len(args))]
        for variable_id, record in args:
            parts += (_ARG, int_item(variable_id), _VALUE_KEY, record)
        return b"".join(parts)

    def return_(self, value: bytes) -> bytes:
        """``{"Return": {"return_value": VR}}``."""
        return _RETURN + value

    def io_event(self, kind: int, metadata: str, content: str) -> bytes:
        """``{"Event": {"kind": k, "metadata": s, "content": s}}`` (``kind``: EventLogKind)."""
        return _EVENT + int_item(kind) + _METADATA + text(metadata) + _CONTENT + text(content)

    def path(self, path: str) -> bytes:
        """``{"Path": "..."}``."""
        return _PATH + text(path)

    def function(self, path_id: int, line: int, name: str) -> bytes:
        """``{"Function": {"path_id": p, "line": l, "name": "..."}}``."""
        return _FUNCTION + int_item(path_id) + _LINE + int_item(line) + _NAME + text(name)

    def variable_name(self, name: str) -> bytes:
        """``{"VariableName": "..."}``."""
        return _VARIABLE_NAME + text(name)

    def type_(self, kind: int, lang_type: str, fields: Sequence[tuple[str, int]] | None) -> bytes:
        """``{"Type": {"kind": k, "lang_type": s, "specific_info": TSI}}``.

        TSI is ``{"kind": "None"}`` without ``fields``, else
        ``{"kind": "Struct", "fields": [{"name": s, "type_id": t}, ...]}``.
        """
        head = _TYPE + int_item(kind) + _LANG_TYPE + text(lang_type)
        if fields is None:
            return head + _SPECIFIC_NONE
        parts = [head, _SPECIFIC_STRUCT, array_head(len(fields))]
        for name, type_id in fields:
            parts += (_FIELD, text(name), _type_id_tail(type_id))
        return b"".join(parts)

    # ------------------------------------------------------------------ value records

    def join(self, parts: list[bytes]) -> bytes:
        """The items of a container, back to back (``count`` goes to the container)."""
        return b"".join(parts)

    def int_(self, i: int, type_id: int) -> bytes:
        """``{"kind": "Int", "i": i, "type_id": t}`` (``i`` within i64)."""
        return _INT + int_item(i) + _tail(type_id)

    def string(self, text: str, type_id: int) -> bytes:
        """``{"kind": "String", "text": s, "type_id": t}``."""
        return _STRING + text_cached(text) + _tail(type_id)

    def raw(self, text: str, type_id: int) -> bytes:
        """``{"kind": "Raw", "r": s, "type_id": t}``."""
        return _RAW + text_cached(text) + _tail(type_id)

    def error(self, msg: str, type_id: int) -> bytes:
        """``{"kind": "Error", "msg": s, "type_id": t}``."""
        return _ERROR + text_cached(msg) + _tail(type_id)

    def bool_(self, b: bool, type_id: int) -> bytes:
        """``{"kind": "Bool", "b": b, "type_id": t}``."""
        return _BOOL + (TRUE if b else FALSE) + _tail(type_id)

    def none(self, type_id: int) -> bytes:
        """``{"kind": "None", "type_id": t}``."""
        return _NONE + _tail(type_id)

    def sequence(self, elements: bytes, count: int, type_id: int) -> bytes:
        """``{"kind": "Sequence", "elements": [...], "is_slice": false, "type_id": t}``."""
        return _SEQUENCE + array_head(count) + elements + _IS_SLICE_FALSE + _tail(type_id)

    def tuple_(self, elements: bytes, count: int, type_id: int) -> bytes:
        """``{"kind": "Tuple", "elements": [...], "type_id": t}``."""
        return _TUPLE + array_head(count) + elements + _tail(type_id)

    def struct(self, field_values: bytes, count: int, type_id: int) -> bytes:
        """``{"kind": "Struct", "field_values": [...], "type_id": t}``."""
        return _STRUCT + array_head(count) + field_values + _tail(type_id)


#: The first bytes of every ``Call`` / ``Return`` event (the writer counts open calls by them).
CALL_HEAD: Final = _CALL
RETURN_HEAD: Final = _RETURN
#: The one instance (the grammar holds no state).
GRAMMAR: Final = CborGrammar()
