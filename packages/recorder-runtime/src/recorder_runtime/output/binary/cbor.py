"""Minimal CBOR (RFC 8949) encoding: the few item kinds a trace event is made of.

WHY by hand: every event of a recording is encoded on the traced program's thread, so the
encoding is on the hot path. The pieces here are plain ``bytes`` concatenations with cached
heads and cached small items, measured faster than a general-purpose encoder on the event
shapes of a trace (docs/adr/0013-binary-trace-format.md).

Rules, matching what CodeTracer's writer (``cbor4ii``'s serde serializer) produces:

* definite lengths everywhere (arrays, maps, text);
* the shortest head for every integer and length;
* text strings are UTF-8; a lone surrogate in a Python ``str`` (``surrogateescape`` input)
  becomes the visible text ``\\udcff``, exactly what the JSON side writes
  (``recorder_runtime.encoder.json_string``), so both formats carry the same string;
* floats are 8-byte doubles (``0xfb``): never shortened.
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = [
    "FALSE",
    "NULL",
    "TRUE",
    "array_head",
    "float64",
    "int_item",
    "map_head",
    "text",
    "text_cached",
]

TRUE: Final = b"\xf5"
FALSE: Final = b"\xf4"
NULL: Final = b"\xf6"

_U8: Final = struct.Struct(">B")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")
_F64: Final = struct.Struct(">d")

_U64_MAX: Final = (1 << 64) - 1

#: Integers in [-_SMALL, _SMALL) are looked up instead of built (ids, lines, small values).
_SMALL: Final = 4096
#: Text items of strings up to this many characters are cached (names, kinds, short values) ...
_CACHED_TEXT_MAX: Final = 64
#: ... in a cache of at most this many entries, emptied when full (memory stays flat).
_TEXT_CACHE_ENTRIES: Final = 8192


def head(major: int, n: int) -> bytes:
    """The head of an item of major type ``major`` with argument ``n`` (shortest form)."""
    top = major << 5
    if n < 24:
        return _U8.pack(top | n)
    if n < 0x100:
        return _U8.pack(top | 24) + _U8.pack(n)
    if n < 0x10000:
        return _U8.pack(top | 25) + _U16.pack(n)
    if n < 0x100000000:
        return _U8.pack(top | 26) + _U32.pack(n)
    return _U8.pack(top | 27) + _U64.pack(n)


def _build_int(i: int) -> bytes:
    """An integer item (major 0 for ``i >= 0``, major 1 for ``i < 0``); ``|i|`` within u64."""
    if i >= 0:
        return head(0, i)
    return head(1, -1 - i)


_SMALL_INTS: Final = tuple(_build_int(i) for i in range(_SMALL))
_SMALL_NEG: Final = tuple(_build_int(-1 - i) for i in range(_SMALL))
_TEXT_HEADS: Final = tuple(head(3, n) for n in range(256))


def int_item(i: int) -> bytes:
    """An integer item; ``i`` must lie in [-2**64, 2**64 - 1] (callers keep ids and i64s)."""
    if 0 <= i < _SMALL:
        return _SMALL_INTS[i]
    if -_SMALL <= i < 0:
        return _SMALL_NEG[-1 - i]
    return _build_int(i)


def array_head(count: int) -> bytes:
    """Head of a definite-length array of ``count`` items."""
    return head(4, count)


def map_head(count: int) -> bytes:
    """Head of a definite-length map of ``count`` key/value pairs."""
    return head(5, count)


def float64(f: float) -> bytes:
    """A double (``0xfb``), also for values a shorter float could hold."""
    return b"\xfb" + _F64.pack(f)


def text(s: str) -> bytes:
    """A text-string item for ``s`` (lone surrogates as visible ``\\udcff`` text)."""
    data = s.encode("utf-8", "backslashreplace")
    n = len(data)
    if n < 256:
        return _TEXT_HEADS[n] + data
    return head(3, n) + data


_text_cache: dict[str, bytes] = {}


def text_cached(s: str) -> bytes:
    """:func:`text`, memoised for short strings (names, type names, small values)."""
    item = _text_cache.get(s)
    if item is not None:
        return item
    item = text(s)
    if len(s) <= _CACHED_TEXT_MAX:
        if len(_text_cache) >= _TEXT_CACHE_ENTRIES:
            _text_cache.clear()
        _text_cache[s] = item
    return item
