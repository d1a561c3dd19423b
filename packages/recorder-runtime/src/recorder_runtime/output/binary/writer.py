"""The binary trace writer: the event buffer, registries and ending of :class:`TraceWriter`,
written as CBOR items into a seekable zstd stream (``trace.bin``).

Only the byte stream differs from the JSON writer: pieces are ``bytes`` from
:class:`~recorder_runtime.output.binary.grammar.CborGrammar`, a chunk is their
concatenation, and :class:`~recorder_runtime.output.binary.seekable.SeekableZstdStream`
compresses it off the recording thread and ends the file with its seek table. Calls and
Returns are counted by the head of each event (a CBOR ``Call`` event starts with its map
head and variant name, which no other event does; a cached block of Values starts with a
``Value``), so the call balance at the end is exact, as with JSON.
"""

from __future__ import annotations

from typing import Any

from recorder_runtime.writer import FailpointHook, TraceWriter

from .grammar import CALL_HEAD, GRAMMAR, RETURN_HEAD
from .seekable import HEADER, SeekableZstdStream

__all__ = ["BinaryTraceWriter"]


class BinaryTraceWriter(TraceWriter):
    """:class:`TraceWriter` writing ``trace.bin`` (see the module docstring)."""

    def __init__(
        self,
        events_path: str,
        *,
        buffer_limit: int = 1 << 20,
        failpoints: FailpointHook | None = None,
    ) -> None:
        self._stream: SeekableZstdStream | None = None
        super().__init__(
            events_path, buffer_limit=buffer_limit, failpoints=failpoints, grammar=GRAMMAR
        )

    # ------------------------------------------------------------------ the byte stream

    def _open(self, path: str) -> int:
        """Create ``trace.bin`` with its header (the stream classifies its own errors)."""
        self._stream = SeekableZstdStream.open(path)
        self.bytes_written = len(HEADER)
        return -1  # no descriptor of our own: the stream owns the file

    def _encode_chunk(self, chunk: list[Any]) -> tuple[bytes, int, int]:
        calls, returns = _calls_and_returns(chunk)
        return b"".join(chunk), calls, returns

    def _balance_of(self, events: list[Any]) -> int:
        calls, returns = _calls_and_returns(events)
        return calls - returns

    def _write(self, data: bytes) -> None:
        stream = self._stream
        if stream is not None:
            stream.write(data)
            self.bytes_written = len(HEADER) + stream.accepted_bytes

    def _file_offset(self) -> int:
        """Header plus the uncompressed bytes the stream has accepted: what an interrupted
        write is judged by (the stream accepts a write whole or not at all)."""
        stream = self._stream
        return -1 if stream is None else len(HEADER) + stream.accepted_bytes

    def _terminate(self) -> None:
        """The last frame and the seek table, fsync, close (raises the first failure)."""
        stream = self._stream
        if stream is not None:
            stream.finish()

    def _terminated(self) -> bool:
        stream = self._stream
        return stream is not None and stream.complete

    def _fsync(self) -> None:
        return None  # the stream fsyncs when it ends

    def _release_fd(self) -> OSError | None:
        """An unfinished stream is abandoned (no seek table: the file is discarded)."""
        stream = self._stream
        if stream is not None and not stream.closed:
            stream.abandon()
        return None

    def _detach_after_fork(self) -> None:
        """In a forked child: the stream module detaches its own copy; drop our buffer."""
        super()._detach_after_fork()
        self._stream = None


def _calls_and_returns(pieces: list[bytes]) -> tuple[int, int]:
    """How many ``Call`` and ``Return`` events ``pieces`` hold (by their head bytes)."""
    calls = returns = 0
    for piece in pieces:
        if piece.startswith(CALL_HEAD):
            calls += 1
        elif piece.startswith(RETURN_HEAD):
            returns += 1
    return calls, returns
