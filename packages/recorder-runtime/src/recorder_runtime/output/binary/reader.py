"""Reading ``trace.bin`` back: the seek table, the frames, the CBOR events, one at a time.

Streaming: frames are decompressed one by one (the seek table says where each starts and how
big it is uncompressed) and events are decoded as they complete, so memory stays at about one
frame whatever the size of the trace. An event may span two frames (a write larger than a
frame is split), so undecoded bytes carry over to the next frame.

Any damage (not a Binary v1 file, no or inconsistent seek table, a corrupt frame, an event cut
off) is a classified usage error (``ERR_INVALID_ARGUMENT``, exit 2: the input is not a valid
trace, as ``tools/jsonstream.py`` reports a damaged trace.json) naming the file, never a raw
exception; a failing read is an Environment error (exit 10).

The CBOR decoder here reads what any serde/CBOR writer may produce for the trace types
(definite and indefinite lengths, all float widths, tags skipped); it is the runtime's own,
the tests read traces with ``cbor2`` instead, so the writer is never checked against itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Final

import zstandard

from recorder_errors import ErrorCode, RecorderError, from_exception, usage
from recorder_runtime.output.binary.seekable import HEADER, SEEKABLE_MAGIC, SKIPPABLE_MAGIC
from recorder_runtime.writer import BoundOS as _os

__all__ = ["decode_items", "iter_events", "read_seek_table"]

_FOOTER = struct.Struct("<IBI")
_ENTRY = struct.Struct("<II")
_SKIPPABLE_HEAD = struct.Struct("<II")
_CHECKSUM_FLAG: Final = 0x80
_BREAK: Final = 0xFF


def _corrupt(path: str, detail: str) -> RecorderError:
    return usage(ErrorCode.INVALID_ARGUMENT, f"{path} is not a valid trace: {detail}", path=path)


def read_seek_table(f: BinaryIO, path: str) -> list[tuple[int, int]]:
    """The ``(compressed, decompressed)`` size of every frame, checked against the file size."""
    size = f.seek(0, 2)
    if size < len(HEADER) + _FOOTER.size:
        raise _corrupt(path, f"only {size} bytes")
    f.seek(0)
    if f.read(len(HEADER)) != HEADER:
        raise _corrupt(path, "no CodeTracer Binary v1 header")
    f.seek(size - _FOOTER.size)
    count, descriptor, magic = _FOOTER.unpack(f.read(_FOOTER.size))
    if magic != SEEKABLE_MAGIC:
        raise _corrupt(path, "no seek table at the end (truncated, or the recording was killed)")
    entry = _ENTRY.size + (4 if descriptor & _CHECKSUM_FLAG else 0)
    table_size = _SKIPPABLE_HEAD.size + count * entry + _FOOTER.size
    table_start = size - table_size
    if table_start < len(HEADER):
        raise _corrupt(path, f"the seek table claims {count} frames, more than the file holds")
    f.seek(table_start)
    raw = f.read(table_size - _FOOTER.size)
    head_magic, frame_size = _SKIPPABLE_HEAD.unpack_from(raw)
    if head_magic != SKIPPABLE_MAGIC or frame_size != table_size - _SKIPPABLE_HEAD.size:
        raise _corrupt(path, "the seek table's frame header is damaged")
    frames = [_ENTRY.unpack_from(raw, _SKIPPABLE_HEAD.size + i * entry) for i in range(count)]
    if len(HEADER) + sum(c for c, _ in frames) != table_start:
        raise _corrupt(path, "the seek table does not match the frames in the file")
    return frames


def iter_frames(path: str) -> Iterator[bytes]:
    """The decompressed content of each frame, in order."""
    try:
        f = _os.io_open(path, "rb")
    except OSError as exc:
        raise from_exception(exc).with_context(path=path, op="read") from exc
    with f:
        try:
            frames = read_seek_table(f, path)
            f.seek(len(HEADER))
        except OSError as exc:
            raise from_exception(exc).with_context(path=path, op="read") from exc
        decompressor = zstandard.ZstdDecompressor()
        for index, (csize, dsize) in enumerate(frames):
            try:
                data = f.read(csize)
                chunk = decompressor.decompress(data, max_output_size=dsize)
            except OSError as exc:
                raise from_exception(exc).with_context(path=path, op="read") from exc
            except zstandard.ZstdError as exc:
                raise _corrupt(path, f"frame {index} is corrupt ({exc})") from exc
            if len(chunk) != dsize:
                raise _corrupt(path, f"frame {index} holds {len(chunk)} bytes, not {dsize}")
            yield chunk


def iter_events(path: str) -> Iterator[Any]:
    """Every event of ``path`` as plain Python values (dicts, lists, str, int, ...)."""
    carry = b""
    for chunk in iter_frames(path):
        data = carry + chunk if carry else chunk
        try:
            items, used = decode_items(data)
        except (RecorderError, UnicodeDecodeError) as exc:
            detail = exc.message if isinstance(exc, RecorderError) else str(exc)
            raise _corrupt(path, f"an event is not valid CBOR ({detail})") from exc
        yield from items
        carry = data[used:]
    if carry:
        raise _corrupt(path, f"the last event is cut off ({len(carry)} bytes left over)")


# ---------------------------------------------------------------------- CBOR decoding


def _malformed(detail: str) -> RecorderError:
    """Bad CBOR (the caller adds the file name)."""
    return usage(ErrorCode.INVALID_ARGUMENT, detail)


class _Incomplete(Exception):
    """The data ends inside an item (more is expected from the next frame)."""


def decode_items(data: bytes) -> tuple[list[Any], int]:
    """Decode the complete items at the start of ``data``; also return the bytes they used.

    Raises a usage error for malformed CBOR (``UnicodeDecodeError`` for bad UTF-8 text).
    """
    items: list[Any] = []
    pos = 0
    end = len(data)
    while pos < end:
        try:
            item, new_pos = _item(data, pos)
        except (_Incomplete, IndexError, struct.error):
            break
        except (TypeError, RecursionError) as exc:  # an unhashable map key, absurd nesting
            raise _malformed(str(exc)) from exc
        items.append(item)
        pos = new_pos
    return items, pos


def _argument(data: bytes, pos: int, info: int) -> tuple[int, int]:
    """The argument of a head whose additional information is ``info`` (pos after it)."""
    if info < 24:
        return info, pos
    if info == 24:
        return data[pos], pos + 1
    if info == 25:
        return int.from_bytes(data[pos : pos + 2], "big"), _need(data, pos + 2)
    if info == 26:
        return int.from_bytes(data[pos : pos + 4], "big"), _need(data, pos + 4)
    if info == 27:
        return int.from_bytes(data[pos : pos + 8], "big"), _need(data, pos + 8)
    raise _malformed(f"reserved additional information {info}")


def _need(data: bytes, pos: int) -> int:
    if pos > len(data):
        raise _Incomplete
    return pos


def _item(data: bytes, pos: int) -> tuple[Any, int]:
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    if info == 31 and major in (2, 3, 4, 5):
        return _INDEFINITE[major](data, pos + 1)
    if major == 7:
        return _simple(data, pos + 1, info)
    n, pos = _argument(data, pos + 1, info)
    return _DEFINITE[major](data, pos, n)


def _uint(data: bytes, pos: int, n: int) -> tuple[Any, int]:
    return n, pos


def _nint(data: bytes, pos: int, n: int) -> tuple[Any, int]:
    return -1 - n, pos


def _bytes(data: bytes, pos: int, n: int) -> tuple[Any, int]:
    return data[pos : pos + n], _need(data, pos + n)


def _text(data: bytes, pos: int, n: int) -> tuple[Any, int]:
    end = _need(data, pos + n)
    return data[pos:end].decode("utf-8"), end


def _array(data: bytes, pos: int, n: int) -> tuple[Any, int]:
    out = []
    for _ in range(n):
        item, pos = _item(data, pos)
        out.append(item)
    return out, pos


def _map(data: bytes, pos: int, n: int) -> tuple[Any, int]:
    out = {}
    for _ in range(n):
        key, pos = _item(data, pos)
        value, pos = _item(data, pos)
        out[key] = value
    return out, pos


def _tag(data: bytes, pos: int, n: int) -> tuple[Any, int]:
    return _item(data, pos)  # no tag means anything in a trace: keep the tagged item


def _simple(data: bytes, pos: int, info: int) -> tuple[Any, int]:
    if info == 20:
        return False, pos
    if info == 21:
        return True, pos
    if info in (22, 23):
        return None, pos
    if info == 25:
        return struct.unpack_from(">e", data, pos)[0], _need(data, pos + 2)
    if info == 26:
        return struct.unpack_from(">f", data, pos)[0], _need(data, pos + 4)
    if info == 27:
        return struct.unpack_from(">d", data, pos)[0], _need(data, pos + 8)
    raise _malformed(f"unexpected simple value {info}")


def _chunks(data: bytes, pos: int, major: int) -> tuple[list[Any], int]:
    parts = []
    while data[pos] != _BREAK:
        if data[pos] >> 5 != major:
            raise _malformed("a chunk of an indefinite string has another type")
        part, pos = _item(data, pos)
        parts.append(part)
    return parts, pos + 1


def _indef_bytes(data: bytes, pos: int) -> tuple[Any, int]:
    parts, pos = _chunks(data, pos, 2)
    return b"".join(parts), pos


def _indef_text(data: bytes, pos: int) -> tuple[Any, int]:
    parts, pos = _chunks(data, pos, 3)
    return "".join(parts), pos


def _indef_array(data: bytes, pos: int) -> tuple[Any, int]:
    out = []
    while data[pos] != _BREAK:
        item, pos = _item(data, pos)
        out.append(item)
    return out, pos + 1


def _indef_map(data: bytes, pos: int) -> tuple[Any, int]:
    out = {}
    while data[pos] != _BREAK:
        key, pos = _item(data, pos)
        value, pos = _item(data, pos)
        out[key] = value
    return out, pos + 1


_DEFINITE: Final[tuple[Callable[[bytes, int, int], tuple[Any, int]], ...]] = (
    _uint,
    _nint,
    _bytes,
    _text,
    _array,
    _map,
    _tag,
)
_INDEFINITE: Final[dict[int, Callable[[bytes, int], tuple[Any, int]]]] = {
    2: _indef_bytes,
    3: _indef_text,
    4: _indef_array,
    5: _indef_map,
}
