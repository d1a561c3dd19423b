"""Value encoder: any Python object -> the JSON text of one ValueRecord, bounded and inert.

Why it is shaped like this (see docs/adr/0004-value-encoding.md):

* **The reference's encodings for built-in values** (docs/adr/0004-value-encoding.md): ints,
  bools, None and strings are typed records, tuples ``Tuple``, lists and dicts ``Sequence``,
  floats, bytes and sets of plain values ``Raw`` text.
* **No program code runs** (docs/adr/0016-values-without-side-effects.md). Dispatch is on the
  exact ``type(v)`` (never ``isinstance``, which believes a lying ``__class__``); containers
  are read only through the built-in types' own methods (``list.__len__(v)``,
  ``dict.items(v)``), so subclass overrides never run; nothing calls
  ``len``/``iter``/``bool``/``==``/``hash``/``str``/``repr`` on an object of unknown type.
  Instances of other classes are ``Struct`` values of their stored fields
  (:mod:`encoder_fields`), classes, modules, functions and enum members are named from
  C-level data, and only an explicit allowlist of standard-library types is rendered by its
  own text (:mod:`encoder_render`). Mocks are never touched.
* **Bounded.** Depth, items per container, items per value and text length are capped
  (:class:`CaptureLimits`), and big values are sliced BEFORE they are converted, so a 10**6
  list costs what a 200-item list costs. Cycles are cut by ``id()`` on the current path.
* **Fast.** Encoding values is the whole time budget of a recording (issue 8): JSON is built by
  string concatenation from per-kind templates, type ids are resolved once per kind, and the
  text of small ints and short strings is cached.
* **Never raises** (except KeyboardInterrupt/SystemExit, and whatever the
  :class:`TypeRegistry` raises: a failing writer is the writer's failure to classify).
"""

from __future__ import annotations

import collections
import itertools
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final, Protocol, TypeAlias

from recorder_errors import ErrorCode, usage
from recorder_runtime import encoder_fields as _fields
from recorder_runtime import encoder_render as _render
from recorder_runtime.encoder_memo import DICT as MEMO_DICT
from recorder_runtime.encoder_memo import LIST as MEMO_LIST
from recorder_runtime.encoder_memo import RECORD as MEMO_RECORD
from recorder_runtime.encoder_memo import TOTAL as MEMO_TOTAL
from recorder_runtime.encoder_memo import TUPLE as MEMO_TUPLE
from recorder_runtime.encoder_memo import ContainerMemo, StructMemo
from recorder_runtime.encoder_memo import is_atom as memo_atom
from recorder_runtime.encoder_memo import reference as memo_reference
from recorder_runtime.output.grammar import ValueGrammar
from recorder_runtime.output.json.grammar import GRAMMAR as JSON_GRAMMAR
from recorder_runtime.output.json.text import json_string

__all__ = [
    "CaptureLimits",
    "TypeRegistry",
    "ValueEncoder",
    "json_string",
]

# TypeKind numbers (trace-format.md §8) and the reference's lang_type names (§10.5).
KIND_SEQ: Final = 0
KIND_SET: Final = 1
KIND_STRUCT: Final = 6
KIND_INT: Final = 7
KIND_STRING: Final = 9
KIND_BOOL: Final = 12
KIND_RAW: Final = 16
KIND_TUPLE: Final = 27
KIND_NONE: Final = 30
KIND_ANY: Final = 32

_I64_MIN: Final = -(1 << 63)
_I64_MAX: Final = (1 << 63) - 1

#: Cached encodings: strings up to this length are cached, each cache holds at most this many
#: entries and is emptied when full (memory stays flat however many distinct values pass).
_CACHED_STR_MAX_LEN: Final = 64
_CACHE_ENTRIES: Final = 8192
#: Strings longer than _CACHED_STR_MAX_LEN (up to max_string_length) have their own, smaller
#: cache: at most this many entries (a few MB at the default limits).
_LONG_CACHE_ENTRIES: Final = 128
#: Per-type rendering caches hold classes strongly (so an ``id`` is never reused while cached);
#: emptied when full so classes created in a loop do not accumulate.
_CLASS_CACHE_ENTRIES: Final = 4096
#: When a scrubber is set, a cut string is scrubbed on this many characters beyond the cut,
#: so that a secret straddling the cut is still recognised and replaced as a whole.
_SCRUB_OVERLAP: Final = 1024


COUNTER_NAMES: Final = (
    "truncated",  # a String/Raw text cut at max_string_length
    "items_capped",  # a container shown with fewer items than it holds (max_items/budget)
    "depth_cut",  # a container below max_depth replaced by a marker
    "cycles",  # a container met again on its own path
    "structs",  # objects recorded as a Struct of their fields
    "fields_redacted",  # Struct fields hidden by a redaction rule (by field name)
    "objects_by_reference",  # objects nested max_object_depth deep, shown by reference
    "encode_failed",  # an unexpected failure inside the encoder (a bug): Error marker
)


class TypeRegistry(Protocol):
    """The writer's type table: one ``Type`` event per type, before its first use."""

    def type_id(
        self, kind: int, lang_type: str, fields: tuple[tuple[str, int], ...] | None = None
    ) -> int:
        """Register a type on first use (emitting its Type event); its id. ``fields``: the
        ``(name, type_id)`` of a Struct type's fields (``specific_info`` Struct)."""
        ...


class FieldPolicy(Protocol):
    """What a filter scope says about a named value (``ScopeDecision`` in ``filters``)."""

    def value_action(self, domain: str, name: str) -> str:
        """``"allow"``, ``"redact"`` or ``"drop"`` for the value ``name`` in ``domain``."""
        ...


#: Accepted range of each capture limit. ``max_depth`` is bounded because the encoder recurses
#: once per level (10**5-deep nesting is cut at this depth, far from the recursion limit).
LIMIT_RANGES: Final[dict[str, tuple[int, int]]] = {
    "max_depth": (0, 100),
    "max_items": (0, 1_000_000),
    "max_string_length": (1, 100_000_000),
    "max_total_items": (1, 10_000_000),
    "max_object_depth": (0, 100),
}


@dataclass(frozen=True)
class CaptureLimits:
    """How much of a value goes into the trace (recorded in ``trace_metadata.json``).

    ``max_depth``: containers nested deeper than this many levels become a marker (0: every
    container is a marker). ``max_items``: elements shown per list/tuple/dict, the rest
    summarised by a final marker with the true length. ``max_string_length``: characters
    kept from a string or a rendered text. ``max_total_items``: elements shown across a whole
    value, so that shared sub-containers (``[[x] * 200] * 200``) cannot multiply.
    """

    max_depth: int = 10
    max_items: int = 200
    max_string_length: int = 10_000
    max_total_items: int = 10_000
    max_object_depth: int = 1

    def __post_init__(self) -> None:
        for name, (low, high) in LIMIT_RANGES.items():
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise usage(
                    ErrorCode.INVALID_POLICY_VALUE,
                    f"capture limit {name} must be an integer from {low} to {high}, got {value!r}",
                    setting=name,
                    value=repr(value),
                )

    def as_dict(self) -> dict[str, int]:
        """The limits as plain data, for the trace metadata."""
        return asdict(self)


#: Per-value traversal state, one per top-level value (never shared between threads):
#: ``walk[0]`` is the number of items the value may still show (``max_total_items``),
#: ``walk[1]`` the filter scope whose rules apply to Struct fields (or None), the rest are
#: the ``id()`` of the containers and objects on the current path (cycle check). A plain
#: list because it is created for every container value and searched with ``in`` (ids are
#: addresses, far above any budget, and a scope compares by identity only).
Walk = list[Any]
#: One encoded piece: ``str`` for the JSON grammar, ``bytes`` for the binary one.
Piece: TypeAlias = Any
Handler = Callable[[Any, int, "Walk | None"], Piece]


class ValueEncoder:
    """Turns Python values into ValueRecord JSON text; see the module docstring for the rules.

    Instances are shared by all threads of a recording: per-value state lives in a
    :data:`Walk`, and the caches tolerate races (worst case: a value is encoded twice).
    """

    def __init__(
        self,
        types: TypeRegistry,
        limits: CaptureLimits = CaptureLimits(),
        *,
        scrub: Callable[[str], str] | None = None,
        grammar: ValueGrammar | None = None,
    ) -> None:
        self._types = types
        self.limits = limits
        self._scrub = scrub
        self._max_depth = limits.max_depth
        self._max_items = limits.max_items
        self._max_chars = limits.max_string_length
        self._max_total = limits.max_total_items
        self._max_object_depth = limits.max_object_depth
        self.counters: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)
        self._type_ids: dict[str, int] = {}
        self._registry_error: BaseException | None = None
        # ',"type_id":N}' per lang_type, filled on first use ("" = not yet registered).
        # Type ids of the built-in kinds, -1 until first use.
        self._tid_int = self._tid_str = self._tid_raw = self._tid_list = -1
        self._tid_dict = self._tid_tuple = -1
        g = self._g = grammar if grammar is not None else JSON_GRAMMAR
        # Cached records of None, True, False (empty = not built yet).
        self._none_json = self._true_json = self._false_json = g.empty
        # What encode() returns once the stack is exhausted (no Python call is possible).
        self._exhausted = self._exhausted_0 = g.error("<stack exhausted>", 0)
        self._pair: Callable[[Piece, Piece], Piece] | None = None
        self._pair_tid = -1
        # Encodings of immutable values, by exact type (1 == 1.0 == True must not collide).
        self._ints: dict[int, Piece] = {}
        self._strs: dict[str, Piece] = {}
        self._long_strs: dict[str, Piece] = {}
        self._floats: dict[float, Piece] = {}
        # id(object) -> (class, encoding) of instances rendered by object.__repr__.
        self._reprs: dict[int, tuple[type, Piece]] = {}
        # Encodings of unchanged containers (see encoder_memo), and a count of the markers
        # written, so that no entry is made from an encoding a limit has cut.
        self._memo = ContainerMemo(limits.max_items)
        self._struct_memo = StructMemo()
        self._marks = 0
        # Bound once: the caches are emptied with clear(), never replaced.
        self._ints_get = self._ints.get
        self._strs_get = self._strs.get
        self._floats_get = self._floats.get
        # id(class) -> (class, handler)
        self._handlers: dict[int, tuple[type, Handler]] = {}
        # (id(class), field names) -> (class, Struct type id); id(class) -> layouts seen
        self._struct_types: dict[tuple[int, tuple[str, ...]], tuple[type, int]] = {}
        self._layouts: dict[int, tuple[type, int]] = {}
        self._by_shape: dict[int, Handler] = {
            _render.INT: self._int_subclass,
            _render.STR: self._str_subclass,
            _render.TUPLE: self._tuple,
            _render.LIST: self._list,
            _render.DICT: self._dict,
            _render.MOCK: self._mock,
            _render.DEFAULT: self._object,
            _render.TRUSTED: self._trusted,
            _render.FLOAT: self._float_subclass,
            _render.BYTES: self._bytes,
            _render.BYTEARRAY: self._bytearray,
            _render.COLLECTION: self._collection,
            _render.ALLOWED: self._allowed,
            _render.CLASS: self._class,
            _render.MODULE: self._module,
            _render.ENUM: self._enum,
            _render.EXCEPTION: self._exception,
            _render.METHOD: self._method,
        }
        self._by_shape[_render.TUPLE] = self._tuple_subclass
        self._object_handler = self._by_shape[_render.DEFAULT]

    # ------------------------------------------------------------------ public API

    def encode(self, value: object, _depth: int = 0, _walk: Walk | None = None) -> Piece:
        """The JSON text of one ValueRecord for ``value``. Never raises (see module doc).

        Also the recursion step for container elements (``_depth``, ``_walk`` are private):
        a failure is then contained to the one element, its siblings are still shown.
        """
        v: Any = value
        try:
            t = type(v)
            if t is int:
                s = self._ints.get(v)
                return s if s is not None else self._int(v)
            if t is str:
                s = self._strs.get(v)
                return s if s is not None else self._str(v)
            if t is float:
                s = self._floats.get(v)
                return s if s is not None else self._float(v)
            if v is None:
                return self._none_json or self._none()
            if t is bool:
                return (self._true_json if v else self._false_json) or self._bool(v)
            if t is list:
                return self._list(v, _depth, _walk)
            if t is dict:
                return self._dict(v, _depth, _walk)
            if t is tuple:
                return self._tuple(v, _depth, _walk)
            entry = self._handlers.get(id(t))
            if entry is not None and entry[0] is t:
                return entry[1](v, _depth, _walk)
            return self._classified(t)(v, _depth, _walk)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            if exc is self._registry_error:
                raise
            try:
                return self._failed(exc)
            except RecursionError:
                # The program recursed to the limit before this callback: no Python call
                # is possible any more, only C operations. Type 0 if Object is not known yet.
                return self._exhausted

    def encode_scoped(self, scope: FieldPolicy | None, value: object) -> Piece:
        """Like :meth:`encode`, with ``scope``'s redaction rules applied to Struct fields by
        name (domain ``attr``), exactly as to variables of that scope."""
        t = type(value)
        if t is int or t is str or t is float or t is bool or value is None or scope is None:
            return self.encode(value)
        return self.encode(value, 0, [self._max_total, scope])

    def redacted(self) -> Piece:
        """``Error{msg:"<redacted>"}`` of type (16, "Redacted"): a value a filter hid."""
        return self._g.error("<redacted>", self._type_id(KIND_RAW, "Redacted"))

    def dropped(self) -> Piece:
        """``Error{msg:"<dropped>"}`` of type (16, "Dropped"): a value a filter dropped."""
        return self._g.error("<dropped>", self._type_id(KIND_RAW, "Dropped"))

    def set_scrub(self, scrub: Callable[[str], str] | None) -> None:
        """Replace the scrubber (``None``: no secrets known, the fast cached path).

        Texts are cached only while there is no scrubber, so a secret learned later can never
        come back out of a cache; installing one empties the caches of scrubbable text.
        """
        self._scrub = scrub
        self._strs.clear()
        self._long_strs.clear()
        self._floats.clear()
        self._reprs.clear()
        self._memo.clear()
        self._struct_memo.clear()

    def string(self, text: str) -> Piece:
        """A ``String`` record (capped like any string), e.g. ``"<exit>"``."""
        return self.encode(text)

    def int_(self, i: int) -> Piece:
        """An ``Int`` record (``Raw`` text when outside i64)."""
        return self.encode(i)

    # ------------------------------------------------------------------ dispatch

    def _classified(self, t: type) -> Handler:
        """Classify a type seen for the first time (or again after a cache reset)."""
        key = id(t)
        handler = self._by_shape[_render.classify(t)]
        if len(self._handlers) >= _CLASS_CACHE_ENTRIES:
            self._handlers.clear()
        self._handlers[key] = (t, handler)
        return handler

    # ------------------------------------------------------------------ type ids

    def _type_id(self, kind: int, lang_type: str) -> int:
        tid = self._type_ids.get(lang_type)
        if tid is None:
            try:
                tid = self._types.type_id(kind, lang_type)
            except RecursionError:
                raise  # the stack is exhausted (the program's recursion), not the writer
            except BaseException as exc:
                self._registry_error = exc  # the writer failed: encode() lets this through
                raise
            self._type_ids[lang_type] = tid
        return tid

    # ------------------------------------------------------------------ scalars

    def _none(self) -> Piece:
        self._none_json = self._g.none(self._type_id(KIND_NONE, "None"))
        return self._none_json

    def _bool(self, v: bool) -> Piece:
        if not self._true_json:
            tid = self._type_id(KIND_BOOL, "Bool")
            self._true_json = self._g.bool_(True, tid)
            self._false_json = self._g.bool_(False, tid)
        return self._true_json if v is True else self._false_json

    def _int(self, v: int) -> Piece:
        """An exact int whose encoding is not cached yet."""
        if not _I64_MIN <= v <= _I64_MAX:
            return self._raw(_render.big_int_text(v, self._max_chars), bounded=True)
        tid = self._tid_int
        if tid < 0:
            tid = self._tid_int = self._type_id(KIND_INT, "Int")
        s = self._g.int_(v, tid)
        ints = self._ints
        if len(ints) >= _CACHE_ENTRIES:
            ints.clear()
        ints[v] = s
        return s

    def _int_subclass(self, v: int, depth: int, walk: Walk | None) -> Piece:
        """IntEnum and other int subclasses: the plain value (their ``str`` is not consulted)."""
        plain: int = int.__int__(v)
        s = self._ints.get(plain)
        return s if s is not None else self._int(plain)

    def _float(self, v: float) -> Piece:
        """Floats are ``Raw`` text like the reference (``"inf"``/``"nan"`` stay valid JSON).

        Cached by value, except zero: ``0.0 == -0.0`` but their texts differ.
        """
        if self._scrub is not None:  # not cached, like strings (see set_scrub)
            return self._raw(repr(v))
        s = self._g.raw(float.__repr__(v), self._raw_tid())
        if v:
            floats = self._floats
            if len(floats) >= _CACHE_ENTRIES:
                floats.clear()
            floats[v] = s
        return s

    def _float_subclass(self, v: float, depth: int, walk: Walk | None) -> Piece:
        return self._raw(float.__repr__(v))

    # ------------------------------------------------------------------ text

    def _str(self, v: str) -> Piece:
        """An exact str whose encoding is not cached yet."""
        tid = self._tid_str
        if tid < 0:
            tid = self._tid_str = self._type_id(KIND_STRING, "String")
        n = len(v)
        if n > self._max_chars:
            return self._g.string(self._cut(v, n), tid)
        scrub = self._scrub
        if scrub is not None:  # not cached: the scrubber learns new secrets as it goes
            return self._g.string(scrub(v), tid)
        if n <= _CACHED_STR_MAX_LEN:
            s = self._g.string(v, tid)
            strs = self._strs
            if len(strs) >= _CACHE_ENTRIES:
                strs.clear()
            strs[v] = s
            return s
        # Longer texts (a file read, a JSON document) tend to stay in a variable for many
        # steps; re-escaping them at each step would cost O(length) every time. A str caches
        # its hash, and the lookup of the same object is an identity check.
        longs = self._long_strs
        cached = longs.get(v)
        if cached is not None:
            return cached
        s = self._g.string(v, tid)
        if len(longs) >= _LONG_CACHE_ENTRIES:
            longs.clear()
        longs[v] = s
        return s

    def _str_subclass(self, v: str, depth: int, walk: Walk | None) -> Piece:
        """str subclasses: the plain text, read with str's own methods."""
        n = str.__len__(v)
        if n > self._max_chars:
            tid = self._tid_str
            if tid < 0:
                tid = self._tid_str = self._type_id(KIND_STRING, "String")
            return self._g.string(self._cut(v, n), tid)
        plain: str = str.__str__(v)
        s = self._strs.get(plain)
        return s if s is not None else self._str(plain)

    def _cut(self, text: str, n: int) -> str:
        """The first ``max_string_length`` characters of ``text`` plus a marker with its size.

        Only the kept part is copied (and scrubbed, with an overlap so that a secret crossing
        the cut is replaced whole): a 100 MB string costs what a 10 kB one does.
        """
        self.counters["truncated"] += 1
        cap = self._max_chars
        scrub = self._scrub
        if scrub is not None:
            text = scrub(str.__getitem__(text, slice(0, cap + _SCRUB_OVERLAP)))
        return _render.cut(text, cap, f"{n} chars")

    def _raw(self, text: str, *, bounded: bool = False) -> Piece:
        """A ``Raw`` record of type (16, "Object") for a rendered text (capped, scrubbed).

        ``bounded``: the renderer already cut the text and added its own size marker.
        """
        tid = self._raw_tid()
        if type(text) is str and self._scrub is None and len(text) <= self._max_chars:
            return self._g.raw(text, tid)  # the common case
        if type(text) is not str:
            text = str.__str__(text)  # a __str__ may return a str subclass
        n = len(text)
        if bounded or n <= self._max_chars:
            if n > self._max_chars:
                self.counters["truncated"] += 1
            if self._scrub is not None:
                text = self._scrub(text)
        else:
            text = self._cut(text, n)
        return self._g.raw(text, tid)

    def _raw_tid(self) -> int:
        """The id of (16, "Object"), the type of Raw texts and of the encoder's markers."""
        tid = self._tid_raw
        if tid < 0:
            tid = self._tid_raw = self._type_id(KIND_RAW, "Object")
            self._exhausted = self._g.error("<stack exhausted>", tid)
        return tid

    def _error(self, msg: str) -> Piece:
        """An ``Error`` record of type (16, "Object"): the encoder's own markers."""
        return self._g.error(msg, self._raw_tid())

    # ------------------------------------------------------------------ containers

    def _list(self, v: list[Any], depth: int, walk: Walk | None) -> Piece:
        """Lists (and subclasses): ``Sequence`` of type (0, "List")."""
        tid = self._tid_list
        if tid < 0:
            tid = self._tid_list = self._type_id(KIND_SEQ, "List")
        return self._sequence(v, list, "list", MEMO_LIST, self._g.sequence, tid, depth, walk)

    def _tuple(self, v: tuple[Any, ...], depth: int, walk: Walk | None) -> Piece:
        """Tuples (and tuple subclasses that are not named tuples): ``Tuple`` (27, "Tuple")."""
        tid = self._tid_tuple
        if tid < 0:
            tid = self._tid_tuple = self._type_id(KIND_TUPLE, "Tuple")
        return self._sequence(v, tuple, "tuple", MEMO_TUPLE, self._g.tuple_, tid, depth, walk)

    def _sequence(
        self,
        v: Any,
        base: Any,
        what: str,
        memo_kind: str,
        record_of: Callable[[Piece, int, int], Piece],
        type_id: int,
        depth: int,
        walk: Walk | None,
    ) -> Piece:
        """Lists and tuples: the record of the elements (bounded, cycle-checked, memoised).

        ``base`` is the built-in type whose own methods read ``v`` (``list`` or ``tuple``), so
        a subclass's ``__len__``/``__getitem__`` overrides never run.
        """
        exact = type(v) is base
        n = len(v) if exact else base.__len__(v)
        if depth >= self._max_depth:
            return self._depth_cut(what, n)
        key = id(v)
        if walk is None:
            walk = [self._max_total, None, key]
        elif key in walk:
            return self._cycle(what)
        else:
            walk.append(key)
        try:
            limit = self._limit(walk)
            # A snapshot of at most `limit` items: a huge list costs what a short one does,
            # and an element's __repr__ appending to the list cannot make this run forever.
            items = v[:limit] if exact else base.__getitem__(v, slice(0, limit))
            memo: ContainerMemo | None = None
            if exact and self._scrub is None:
                hit, memo, marks = self._memo_lookup(key, memo_kind, n, items, depth, walk)
                if hit is not None:
                    return hit
            misses: list[Any] = [] if memo is not None else _NO_MISSES
            parts = self._elements(items, depth + 1, walk, misses)
        finally:
            walk.pop()
        if len(items) < n:
            self._more(parts, n)
        record = record_of(self._g.join(parts), len(parts), type_id)
        if memo is not None and self._marks == marks:
            memo.store(key, memo_kind, n, items, len(items), misses, record)
        return record

    def _memo_lookup(
        self, key: int, kind: str, n: int, contents: Any, depth: int, walk: Walk
    ) -> tuple[Piece | None, ContainerMemo | None, int]:
        """Ask the memo about an unchanged container (no scrubber installed, exact type).

        Returns ``(record, None, 0)`` on a hit (its item budget is charged to the walk), else
        ``(None, memo_to_store_into_or_None, marks)``: ``None`` when the memo said to skip
        this container; ``marks`` lets the caller tell whether the encoding it is about to
        make may be stored.
        """
        memo = self._memo
        entry = memo.lookup(key, kind, n, contents, self._max_depth - depth, walk[0])
        if type(entry) is tuple:
            walk[0] -= entry[MEMO_TOTAL]
            return entry[MEMO_RECORD], None, 0
        return None, (memo if entry is None else None), self._marks

    def _limit(self, walk: Walk) -> int:
        """Items a container may show: ``max_items``, or what is left of the value's budget
        (a cut that depends on what came before: no memo entry is made below it)."""
        limit = self._max_items
        left: int = walk[0]
        if left < limit:
            self._marks += 1
            return left
        return limit

    def _elements(
        self, items: list[Any] | tuple[Any, ...], depth: int, walk: Walk, misses: list[Any]
    ) -> list[Piece]:
        """The encodings of a snapshot of a container's first items.

        Cached atoms are looked up inline (half the cost of a call per element); the type
        test comes first because ``1 == 1.0 == True`` share a hash, and hashing an object of
        unknown type would run its ``__hash__``. When a memo entry is being built, every
        other element and its encoding are noted in ``misses``.
        """
        walk[0] -= len(items)
        encode = self.encode
        ints = self._ints_get
        strs = self._strs_get
        floats = self._floats_get
        true, false, none = self._true_json, self._false_json, self._none_json
        noting = misses is not _NO_MISSES
        note = misses.append
        return [
            (
                ints(x)
                if (t := type(x)) is int
                else strs(x)
                if t is str
                else floats(x)
                if t is float
                else (true if x else false)
                if t is bool
                else none
                if x is None
                else None
            )
            # not cached yet (empty or None), or not an atom: encoded, and when a memo entry
            # is being built, noted (the element, then its encoding, which is then used)
            or (note(x) or note(encode(x, depth, walk)) or misses[-1] if noting else None)
            or encode(x, depth, walk)
            for x in items
        ]

    def _dict(self, v: dict[Any, Any], depth: int, walk: Walk | None) -> Piece:
        """Dicts (and subclasses): ``Sequence`` (0, "Dict") of ``(key, value)`` Tuples."""
        tid = self._tid_dict
        if tid < 0:
            tid = self._tid_dict = self._type_id(KIND_SEQ, "Dict")
        exact = type(v) is dict
        n = len(v) if exact else dict.__len__(v)
        if not n:  # empty (a module's __annotations__ at every step): no walk, no memo
            return self._g.sequence(self._g.empty, 0, tid)
        if depth >= self._max_depth:
            return self._depth_cut("dict", n)
        key = id(v)
        if walk is None:
            walk = [self._max_total, None, key]
        elif key in walk:
            return self._cycle("dict")
        else:
            walk.append(key)
        try:
            limit = self._limit(walk)
            # dict.items(v) reads the dict's own storage: no __iter__/items/__getitem__
            # override runs, and list(...) stays in C, so nothing can mutate v half-way
            # (no "dictionary changed size during iteration").
            if exact and n <= limit:
                pairs = list(v.items())
            else:
                pairs = list(itertools.islice(dict.items(v), limit))
            memo: ContainerMemo | None = None
            if exact and self._scrub is None:
                flat = tuple(itertools.chain.from_iterable(pairs))
                hit, memo, marks = self._memo_lookup(key, MEMO_DICT, n, flat, depth, walk)
                if hit is not None:
                    return hit
            misses: list[Any] = [] if memo is not None else _NO_MISSES
            parts = self._pairs(pairs, depth + 1, walk, misses)
        finally:
            walk.pop()
        if len(pairs) < n:
            self._more(parts, n)
        record = self._g.sequence(self._g.join(parts), len(parts), tid)
        if memo is not None and self._marks == marks:
            memo.store(key, MEMO_DICT, n, flat, len(pairs), misses, record)
        return record

    def _pairs(
        self, pairs: list[tuple[Any, Any]], depth: int, walk: Walk, misses: list[Any]
    ) -> list[Piece]:
        """The ``(key, value)`` Tuples of a dict snapshot, like :meth:`_elements`."""
        walk[0] -= len(pairs)
        tid = self._tid_tuple
        if tid < 0:
            tid = self._tid_tuple = self._type_id(KIND_TUPLE, "Tuple")
        pair = self._pair_of(tid)
        encode = self.encode
        ints = self._ints_get
        strs = self._strs_get
        floats = self._floats_get
        true, false, none = self._true_json, self._false_json, self._none_json
        noting = misses is not _NO_MISSES
        note = misses.append
        return [
            pair(k_text, x_text)
            for k, x in pairs
            # `for name in [expr]` is a plain assignment in a comprehension (CPython 3.9+)
            for k_text in [
                (strs(k) if type(k) is str else None)
                or (note(k) or note(encode(k, depth, walk)) or misses[-1] if noting else None)
                or encode(k, depth, walk)
            ]
            for t in [type(x)]
            for x_text in [
                (
                    ints(x)
                    if t is int
                    else strs(x)
                    if t is str
                    else floats(x)
                    if t is float
                    else (true if x else false)
                    if t is bool
                    else none
                    if x is None
                    else None
                )
                or (note(x) or note(encode(x, depth, walk)) or misses[-1] if noting else None)
                or encode(x, depth, walk)
            ]
        ]

    def _pair_of(self, tuple_tid: int) -> Callable[[Piece, Piece], Piece]:
        """``pair(key, value)``: the 2-element Tuple record of a dict item (cached)."""
        pair = self._pair
        if pair is None or self._pair_tid != tuple_tid:
            pair = self._pair = self._g.pair_builder(tuple_tid)
            self._pair_tid = tuple_tid
        return pair

    # ------------------------------------------------------------------ markers

    def _more(self, parts: list[Piece], n: int) -> None:
        """Append the marker element for the items not shown (with the true length)."""
        self.counters["items_capped"] += 1
        parts.append(self._error(f"<truncated: {n} items>"))

    def _depth_cut(self, what: str, n: int) -> Piece:
        self._marks += 1
        self.counters["depth_cut"] += 1
        return self._error(f"<depth limit: {what} of {n} items>")

    def _cycle(self, what: str) -> Piece:
        self._marks += 1
        self.counters["cycles"] += 1
        return self._error(f"<cycle: {what}>")

    def _failed(self, exc: BaseException) -> Piece:
        self._marks += 1
        self.counters["encode_failed"] += 1
        return self._error(f"<encoding failed: {_render.type_name(type(exc))}>")

    # ------------------------------------------------------------------ other objects

    def _mock(self, v: object, depth: int, walk: Walk | None) -> Piece:
        return self._raw(_render.mock_text(v))

    def _default_repr(self, v: object, depth: int, walk: Walk | None) -> Piece:
        """Classes without their own text: ``object.__repr__``, which runs no program code.

        Its text is a function of the class and the address only, so it is cached by
        ``id(v)`` and checked against the class: an object reborn at the same address with
        the same class has the very same text (no reference to ``v`` is kept).
        """
        t = type(v)
        key = id(v)
        entry = self._reprs.get(key)
        if entry is not None and entry[0] is t:
            return entry[1]
        s = self._raw(object.__repr__(v))
        if self._scrub is None:
            reprs = self._reprs
            if len(reprs) >= _CACHE_ENTRIES:
                reprs.clear()
            reprs[key] = (t, s)
        return s

    def _trusted(self, v: object, depth: int, walk: Walk | None) -> Piece:
        """Functions, builtins, complex, range: their base's C ``repr`` of fixed-size data."""
        t = type(v)
        if t is types.FunctionType or t is types.BuiltinFunctionType:
            return self._raw(t.__repr__(v))
        base: Any = complex if issubclass(t, complex) else range
        return self._raw(base.__repr__(v))

    def _bytes(self, v: bytes, depth: int, walk: Walk | None) -> Piece:
        return self._raw(_render.bytes_text(v, self._max_chars), bounded=True)

    def _bytearray(self, v: bytearray, depth: int, walk: Walk | None) -> Piece:
        return self._raw(_render.bytearray_text(v, self._max_chars), bounded=True)

    def _class(self, v: type, depth: int, walk: Walk | None) -> Piece:
        """A class: ``<class 'mod.Name'>`` by ``type.__repr__``, never a metaclass's repr."""
        return self._raw(type.__repr__(v))

    def _module(self, v: object, depth: int, walk: Walk | None) -> Piece:
        return self._raw(_render.module_text(v))

    def _method(self, v: object, depth: int, walk: Walk | None) -> Piece:
        return self._raw(_render.method_text(v))

    def _enum(self, v: object, depth: int, walk: Walk | None) -> Piece:
        """An enum member: ``Color.RED`` from its stored ``_name_`` (no ``__str__`` runs)."""
        return self._raw(_render.enum_text(v, _fields.instance_dict(v, type(v))))

    def _allowed(self, v: object, depth: int, walk: Walk | None) -> Piece:
        """An allowlisted standard-library type (exact): its own text, which runs no program
        code; a datetime whose ``tzinfo`` is a program class is shown by its fields."""
        t = type(v)
        if (_render.type_module(t), _render.type_qualname(t)) in _render.TZ_AWARE:
            getter = _type_dict(t).get("tzinfo")
            if getter is None or not _render.safe_tzinfo(getter.__get__(v, t)):
                return self._object(v, depth, walk)
        return self._raw(str(v))

    def _collection(self, v: object, depth: int, walk: Walk | None) -> Piece:
        """set, frozenset, deque: the built-in text when every shown item is a plain value
        (the reference's rendering, no program code), else a Sequence of the items."""
        base: Any = _render.collection_base(type(v))
        n: int = base.__len__(v)
        # list(islice(...)) runs in C: no program code, no mutation half-way.
        items = list(itertools.islice(base.__iter__(v), self._max_items))
        if all(map(_is_text_atom, items)):
            return self._raw(
                _render.collection_text(v, self._max_items, self._max_chars), bounded=True
            )
        lang_type = _render.type_name(base)
        if depth >= self._max_depth:
            return self._depth_cut(lang_type, n)
        key = id(v)
        if walk is None:
            walk = [self._max_total, None, key]
        elif key in walk:
            return self._cycle(lang_type)
        else:
            walk.append(key)
        try:
            limit = self._limit(walk)
            shown = items[:limit]
            walk[0] -= len(shown)
            parts = [self.encode(x, depth + 1, walk) for x in shown]
        finally:
            walk.pop()
        if len(shown) < n:
            self._more(parts, n)
        kind = KIND_SEQ if base is collections.deque else KIND_SET
        tid = self._type_id(kind, lang_type.capitalize())
        return self._g.sequence(self._g.join(parts), len(parts), tid)

    # ------------------------------------------------------------------ structures

    def _object(self, v: object, depth: int, walk: Walk | None) -> Piece:
        """Any other object: a Struct of its stored fields; ``object.__repr__`` text (type and
        identity, no program code) when it stores none."""
        t = type(v)
        fields = _fields.instance_fields(v, t)
        if not fields:
            return self._default_repr(v, depth, walk)
        return self._struct(v, t, fields, depth, walk)

    def _exception(self, v: BaseException, depth: int, walk: Walk | None) -> Piece:
        """An exception: a Struct of its ``args`` and its own fields, named by its class."""
        t = type(v)
        return self._struct(v, t, _fields.exception_fields(v, t), depth, walk)

    def _tuple_subclass(self, v: tuple[Any, ...], depth: int, walk: Walk | None) -> Piece:
        """A named tuple is a Struct of its named fields; other tuple subclasses a Tuple."""
        t = type(v)
        names = _fields.namedtuple_fields(t)
        if names is None:
            return self._tuple(v, depth, walk)
        values = tuple.__getitem__(v, slice(0, len(names)))
        return self._struct(v, t, list(zip(names, values, strict=True)), depth, walk)

    def _struct(
        self, v: object, t: type, fields: list[tuple[str, Any]], depth: int, walk: Walk | None
    ) -> Piece:
        """``Struct`` of ``fields`` (name, value) in a Type of kind Struct naming them.

        Caps and cycles apply as to containers; a field whose name a redaction rule of the
        current scope matches (domain ``attr``) is redacted or dropped like a variable.
        """
        n = len(fields)
        if depth >= self._max_depth:
            return self._depth_cut(_render.type_qualname(t), n)
        key = id(v)
        if walk is None:
            walk = [self._max_total, None, key]
        elif key in walk:
            return self._cycle(_render.type_qualname(t))
        elif depth >= self._max_object_depth:
            # An object nested max_object_depth levels deep (in containers or objects):
            # shown by reference (type and address, no program code), so linked objects
            # and long lists of objects do not pull their whole graph into every step.
            self.counters["objects_by_reference"] += 1
            return self._default_repr(v, depth, walk)
        else:
            walk.append(key)
        scope: FieldPolicy | None = walk[1]
        memo = self._struct_memo if self._scrub is None else None
        if memo is not None:
            hit = memo.lookup(key, t, depth, scope, fields)
            if hit is not None:
                walk.pop()
                walk[0] -= n
                return hit
        marks = self._marks
        names: list[str] = []
        texts: list[Piece] = []
        # per field: the atom, or a reference check; None once the record cannot be memoised
        checks: list[Any] | None = [] if memo is not None else None
        by_reference = depth + 1 >= self._max_object_depth and depth + 1 < self._max_depth
        try:
            limit = self._limit(walk)
            shown = fields[:limit]
            walk[0] -= len(shown)
            encode = self.encode
            ints = self._ints_get
            strs = self._strs_get
            for field, value in shown:
                if scope is not None:
                    action = scope.value_action("attr", field)
                    if action != "allow":
                        checks = None
                        if action == "drop":
                            continue
                        names.append(field)
                        self.counters["fields_redacted"] += 1
                        texts.append(self.redacted())
                        continue
                names.append(field)
                kind = type(value)
                texts.append(
                    (ints(value) if kind is int else strs(value) if kind is str else None)
                    or encode(value, depth + 1, walk)
                )
                if checks is not None:
                    if memo_atom(value):
                        checks.append(value)
                    elif by_reference and self._shown_by_reference(value, kind, walk):
                        checks.append(memo_reference(value))
                    else:
                        checks = None
        finally:
            walk.pop()
        if len(shown) < n:
            self.counters["items_capped"] += 1
            names.append("…")
            texts.append(self._error(f"<truncated: {n} fields>"))
        self.counters["structs"] += 1
        type_id = self._struct_type(t, tuple(names))
        record = self._g.struct(self._g.join(texts), len(texts), type_id)
        if checks is not None and memo is not None and len(shown) == n and self._marks == marks:
            memo.store(key, t, depth, scope, tuple(names), tuple(checks), record)
        return record

    def _shown_by_reference(self, value: object, kind: type, walk: Walk) -> bool:
        """True when ``value`` (a field one object level below the limit) was encoded as a
        reference: an instance the default handler shows, not on the current path."""
        entry = self._handlers.get(id(kind))
        return (
            entry is not None
            and entry[0] is kind
            and entry[1] is self._object_handler
            and id(value) not in walk
        )

    def _struct_type(self, t: type, names: tuple[str, ...]) -> int:
        """The Struct type of one field layout of class ``t`` (registered on first use).

        Each distinct layout is its own type; the second and later layouts of a class are
        named ``Name#2``, ``Name#3``… so that type names stay unique in the trace.
        """
        key = (id(t), names)
        entry = self._struct_types.get(key)
        if entry is not None and entry[0] is t:
            return entry[1]
        any_id = self._type_id(KIND_ANY, "Any")
        name = _render.type_qualname(t)
        seen = self._layouts.get(id(t))
        count = seen[1] + 1 if seen is not None and seen[0] is t else 1
        lang_type = name if count == 1 else f"{name}#{count}"
        try:
            tid = self._types.type_id(KIND_STRUCT, lang_type, tuple((f, any_id) for f in names))
        except RecursionError:
            raise
        except BaseException as exc:
            self._registry_error = exc
            raise
        if len(self._struct_types) >= _CLASS_CACHE_ENTRIES:
            self._struct_types.clear()
            self._layouts.clear()
        self._struct_types[key] = (t, tid)
        self._layouts[id(t)] = (t, count)
        return tid


_type_dict = type.__dict__["__dict__"].__get__


def _is_text_atom(x: object) -> bool:
    """A value whose built-in repr runs no program code (identity tests only, no hashing)."""
    t = type(x)
    return (
        t is int or t is str or t is float or t is bool or x is None or t is bytes or t is complex
    )


#: Passed as ``misses`` when no memo entry is being built; never appended to.
_NO_MISSES: Final[list[Any]] = []
