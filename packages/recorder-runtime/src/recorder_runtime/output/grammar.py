"""The output seam: what the recorder and the value encoder ask of a trace format.

Neither the recorder nor the encoder spells a byte of any format. They ask the format's
*grammar* for pieces — a ``Step`` event, the prefix of a ``Value`` event, an ``Int`` record —
cache them per code object and per value, and hand complete events to the writer. A piece
is ``str`` for the JSON grammar (``output/json/grammar.py``) and ``bytes`` for the binary
one (``output/binary/grammar.py``); both implement these protocols, field for field in the
declaration order of the format's types (codetracer_trace_types, ``types.rs``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["EventGrammar", "Grammar", "ValueGrammar"]

#: ``str`` (JSON) or ``bytes`` (binary); kept as ``Any`` so one encoder serves both.
Piece = Any


class ValueGrammar(Protocol):
    """ValueRecords (internally tagged by ``kind``); texts arrive capped and scrubbed."""

    @property
    def empty(self) -> Piece: ...

    def join(self, parts: list[Piece]) -> Piece:
        """The records of a container's elements, in order (``count`` goes to the record)."""
        ...

    def int_(self, i: int, type_id: int) -> Piece: ...

    def string(self, text: str, type_id: int) -> Piece: ...

    def raw(self, text: str, type_id: int) -> Piece: ...

    def error(self, msg: str, type_id: int) -> Piece: ...

    def bool_(self, b: bool, type_id: int) -> Piece: ...

    def none(self, type_id: int) -> Piece: ...

    def sequence(self, elements: Piece, count: int, type_id: int) -> Piece: ...

    def tuple_(self, elements: Piece, count: int, type_id: int) -> Piece: ...

    def struct(self, field_values: Piece, count: int, type_id: int) -> Piece: ...

    def pair_builder(self, tuple_type_id: int) -> Callable[[Piece, Piece], Piece]:
        """A function building the 2-element Tuple record of a dict item (the hot path of
        dict encoding: one call per item, no per-item lookup of the tuple type)."""
        ...


class EventGrammar(Protocol):
    """Events (externally tagged: ``{"Step": {...}}``); ValueRecords arrive encoded."""

    @property
    def value_suffix(self) -> Piece: ...

    @property
    def return_prefix(self) -> Piece: ...

    def join_events(self, events: list[Piece]) -> Piece:
        """Several complete events as one piece (a cached block of Values)."""
        ...

    def step(self, path_id: int, line: int) -> Piece: ...

    def value_prefix(self, variable_id: int) -> Piece: ...

    def value(self, variable_id: int, value: Piece) -> Piece: ...

    def call(self, function_id: int, args: Sequence[tuple[int, Piece]]) -> Piece: ...

    def return_(self, value: Piece) -> Piece: ...

    def io_event(self, kind: int, metadata: str, content: str) -> Piece: ...

    def path(self, path: str) -> Piece: ...

    def function(self, path_id: int, line: int, name: str) -> Piece: ...

    def variable_name(self, name: str) -> Piece: ...

    def type_(
        self, kind: int, lang_type: str, fields: Sequence[tuple[str, int]] | None
    ) -> Piece: ...


class Grammar(EventGrammar, ValueGrammar, Protocol):
    """A whole format: its events and its values."""

    @property
    def name(self) -> str: ...
