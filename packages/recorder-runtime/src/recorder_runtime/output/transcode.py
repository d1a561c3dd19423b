"""Re-encode a stream of trace events from one format's file into another's.

Used by the session to produce ``trace.bin`` from the staged JSON event stream when it
commits a binary trace, and by ``convert``. Streaming in both directions: events are read
one at a time (:mod:`recorder_runtime.tools.events`) and written as they come, so a trace
larger than memory converts in bounded memory. The event *content* is never changed: a
decoded event is written back in the other format's syntax, nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

from recorder_errors import ErrorCode, RecorderError, bug, from_exception

from ..tools.events import open_events
from . import formats
from .binary import cbor
from .binary.seekable import SeekableZstdStream

__all__ = ["cbor_item", "convert_events", "write_binary", "write_json"]

#: Characters of JSON text gathered before one write.
_JSON_CHUNK = 1 << 20
_FILE_MODE = 0o600
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def convert_events(src: str, dst: str, src_format: str, dst_format: str) -> int:
    """Write every event of ``src`` (in ``src_format``) to the new file ``dst`` in
    ``dst_format``; the number of events. ``dst`` is removed again on any failure."""
    events = open_events(src, formats.lookup(src_format).name)
    target = formats.lookup(dst_format).name
    if target == "binary":
        return write_binary(events, dst)
    return write_json(events, dst)


def write_binary(events: Iterable[Any], dst: str) -> int:
    """``trace.bin``: each event as one CBOR item in a seekable zstd stream."""
    stream = SeekableZstdStream.open(dst)
    count = 0
    try:
        for event in events:
            stream.write(cbor_item(event))
            count += 1
        stream.finish()
    except BaseException:
        stream.abandon()
        with contextlib.suppress(OSError):
            os.unlink(dst)
        raise
    return count


def write_json(events: Iterable[Any], dst: str) -> int:
    """``trace.json``: one compact JSON array (ASCII only, as the recorder writes it)."""
    try:
        fd = os.open(dst, _OPEN_FLAGS, _FILE_MODE)
    except OSError as exc:
        raise from_exception(exc).with_context(path=dst, op="open") from exc
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="ascii", newline="") as out:
            for piece in _json_pieces(events):
                out.write(piece)
                count += 1
            out.flush()
            os.fsync(out.fileno())
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(dst)
        if isinstance(exc, OSError):
            raise from_exception(exc).with_context(path=dst, op="write") from exc
        raise
    return max(count - 2, 0)  # the pieces "[" and "]" are not events


def _json_pieces(events: Iterable[Any]) -> Iterator[str]:
    """``[``, then each event (comma-separated, in chunks), then ``]``: one piece per event
    plus the opening bracket, so the caller can count events."""
    dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode
    yield "["
    first = True
    for event in events:
        text = dumps(event)
        yield text if first else "," + text
        first = False
    yield "]"


def cbor_item(value: Any) -> bytes:
    """The CBOR item of a decoded event (dicts, lists, str, int, bool, None, float)."""
    t = type(value)
    if t is str:
        return cbor.text(value)
    if t is int:
        return cbor.int_item(value)
    if t is dict:
        parts = [cbor.map_head(len(value))]
        for key, item in value.items():
            parts.append(cbor.text(key) if type(key) is str else cbor_item(key))
            parts.append(cbor_item(item))
        return b"".join(parts)
    if t is list:
        return cbor.array_head(len(value)) + b"".join([cbor_item(item) for item in value])
    if t is bool:
        return cbor.TRUE if value else cbor.FALSE
    if value is None:
        return cbor.NULL
    if t is float:
        return cbor.float64(value)
    raise _not_an_event(value)


def _not_an_event(value: object) -> RecorderError:
    return bug(
        ErrorCode.UNKNOWN,
        f"a decoded trace event holds a {type(value).__name__}, which no trace format carries",
    )
