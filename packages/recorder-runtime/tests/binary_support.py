"""An independent reader of ``trace.bin`` for tests: ``struct`` + ``zstandard`` + ``cbor2``.

Nothing here imports the recorder's own reader or CBOR code, so a trace written by the
recorder is never checked only against itself. The layout checked is CodeTracer Binary v1:
header ``C0 DE 72 AC E2 01 00 00``, independent zstd frames, and a final skippable frame with
the seek table (zstd's seekable format, as ``zeekstd`` writes it for codetracer-trace-format).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
import zstandard

HEADER = bytes.fromhex("C0DE72ACE2010000")
SKIPPABLE_MAGIC = 0x184D2A5E
SEEKABLE_MAGIC = 0x8F92EAB1
FRAME_LIMIT = 2 * 1024 * 1024


@dataclass
class BinTrace:
    """What a ``trace.bin`` holds, read without the recorder's code."""

    table: list[tuple[int, int]]  # (compressed, decompressed) per frame, from the seek table
    frames: list[bytes]  # each frame decompressed on its own
    table_bytes: int  # size of the skippable frame holding the table

    @property
    def content(self) -> bytes:
        return b"".join(self.frames)

    def events(self) -> list[Any]:
        return cbor_items(self.content)


def cbor_items(data: bytes) -> list[Any]:
    """Every CBOR item in ``data`` (which must end exactly after the last one)."""
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream)
    items = []
    while stream.tell() < len(data):
        items.append(decoder.decode())
    return items


def read_bin(path: Path) -> BinTrace:
    """Parse ``path`` strictly; ``AssertionError`` for anything out of place."""
    data = path.read_bytes()
    assert data[:8] == HEADER, data[:8].hex()
    count, descriptor, magic = struct.unpack("<IBI", data[-9:])
    assert magic == SEEKABLE_MAGIC, hex(magic)
    assert descriptor == 0, descriptor  # no checksums
    table_bytes = 8 + 8 * count + 9
    start = len(data) - table_bytes
    skippable, payload = struct.unpack_from("<II", data, start)
    assert skippable == SKIPPABLE_MAGIC, hex(skippable)
    assert payload == 8 * count + 9
    table = [struct.unpack_from("<II", data, start + 8 + 8 * i) for i in range(count)]
    frames = []
    offset = 8
    for compressed, decompressed in table:
        frame = data[offset : offset + compressed]
        content = zstandard.ZstdDecompressor().decompress(frame)  # alone: independent
        assert len(content) == decompressed
        frames.append(content)
        offset += compressed
    assert offset == start, "the seek table's sizes do not add up to the frames in the file"
    return BinTrace(table, frames, table_bytes)
