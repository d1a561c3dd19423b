"""The ``trace.bin`` byte stream: header, independent zstd frames, seek table.

Layout (CodeTracer Binary v1, ``codetracer_trace_format_cbor_zstd/src/lib.rs`` and
``codetracer_trace_writer/src/cbor_zstd_writer.rs`` of codetracer-trace-format; the
seekable format is zstd's ``contrib/seekable_format``, written there by ``zeekstd``):

* the 8-byte header ``C0 DE 72 AC E2 01 00 00``;
* independent zstd frames of at most :data:`FRAME_LIMIT` uncompressed bytes;
* a skippable frame (magic ``0x184D2A5E``) holding the seek table: one
  ``(compressed u32, decompressed u32)`` entry per frame, then the frame count (u32), the
  descriptor byte 0 (no checksums) and the magic ``0x8F92EAB1``, all little-endian.

WHY a worker thread: compressing is the expensive part; ``zstandard`` releases the GIL while
it compresses and ``os.write`` while it writes, so both run beside the traced program. The
recording thread only appends bytes to a list and, every 2 MiB, hands one frame to the worker
through a bounded queue (memory stays bounded when the disk is slower than the program).
The worker starts with the first frame (a short recording never starts it before finishing)
and is parked before a fork, so a program that forks stays a single-threaded forker.

Frames end on ``write()`` boundaries (the caller writes whole events), so a partial trace ends
on a whole event; only a single write larger than a frame is split. Failure policy, as in
``recorder_runtime.writer``: the first failure is classified (``from_exception``), kept in
:attr:`SeekableZstdStream.broken` and raised once; later writes are dropped. A failed frame
is cut off again and the seek table is written over the frames that were complete; when the
disk is too full even for the table, whole frames are dropped from the end until it fits (a
dropped frame frees more room than the table needs). See docs/adr/0013-binary-trace-format.md.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import struct
import sys
import threading
import weakref
from collections.abc import Sequence
from typing import Final

import zstandard

from recorder_errors import ErrorCode, RecorderError, enverr, from_exception
from recorder_runtime.output import owned_fd
from recorder_runtime.writer import BoundOS as _os

__all__ = [
    "FRAME_LIMIT",
    "HEADER",
    "SEEKABLE_MAGIC",
    "SKIPPABLE_MAGIC",
    "SeekableZstdStream",
    "seek_table",
]

_log = logging.getLogger("recorder.binary")

HEADER: Final = b"\xc0\xde\x72\xac\xe2\x01\x00\x00"
#: Largest uncompressed size of one frame (zeekstd's default, what CodeTracer writes).
FRAME_LIMIT: Final = 2 * 1024 * 1024
SKIPPABLE_MAGIC: Final = 0x184D2A5E
SEEKABLE_MAGIC: Final = 0x8F92EAB1
#: Frames waiting for the worker; a full queue makes ``write`` wait (bounded memory).
_QUEUE_FRAMES: Final = 4
#: zstd's default level: ~100x smaller than the JSON of a trace, faster than the encoding.
_LEVEL: Final = 3

_ENTRY = struct.Struct("<II")
_FOOTER = struct.Struct("<IBI")


def seek_table(frames: Sequence[tuple[int, int]]) -> bytes:
    """The skippable frame holding the seek table of ``frames`` (compressed, decompressed)."""
    payload = b"".join([_ENTRY.pack(c, d) for c, d in frames])
    payload += _FOOTER.pack(len(frames), 0, SEEKABLE_MAGIC)
    return _ENTRY.pack(SKIPPABLE_MAGIC, len(payload)) + payload


class SeekableZstdStream:
    """Writes ``trace.bin``: :meth:`open`, :meth:`write` whole events, then end it once.

    Ending: :meth:`finish` (raises the first failure), :meth:`finish_partial` (never raises a
    RecorderError), :meth:`abandon` (no seek table: the caller discards the file). Counters:
    :attr:`bytes_in` (uncompressed bytes accepted), :attr:`bytes_written` (file size so far),
    :attr:`frames` (complete frames on disk), :attr:`dropped_bytes`.
    """

    def __init__(self, path: str, fd: int, identity: tuple[int, int]) -> None:
        self.path = path
        self.broken: RecorderError | None = None
        self.detached = False
        self.closed = False
        #: True once the file ends with a seek table over whole frames (a readable trace).
        self.complete = False
        self.bytes_in = 0
        self.bytes_written = len(HEADER)
        self.dropped_bytes = 0
        self._fd = fd
        self._identity = identity
        self._accepting = True
        self._reported = False
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._consumed = 0  # stream offset of _pending[0]
        self._seen = 0  # stream offset up to which the worker has taken data
        self._frames: list[tuple[int, int]] = []
        self._whole: list[bool] = []  # frame i ends on a write() boundary
        self._stop_sent = False
        self._queue: queue.Queue[tuple[int, bytes, bool] | None] = queue.Queue(_QUEUE_FRAMES)
        #: Started with the first frame, parked before a fork (see :func:`_before_fork`).
        self._worker: threading.Thread | None = None
        _LIVE.add(self)

    @classmethod
    def open(cls, path: str) -> SeekableZstdStream:
        """Create ``path`` exclusively (mode 0600, never through a link) and write the header."""
        path = _os.path.abspath(path)
        fd, identity = owned_fd.create(path, HEADER)
        return cls(path, fd, identity)

    @property
    def accepted_bytes(self) -> int:
        """Uncompressed bytes accepted by :meth:`write` so far (queued, compressed or not)."""
        return self.bytes_in + self._pending_size

    @property
    def frames(self) -> int:
        """Complete frames on disk."""
        return len(self._frames)

    # ------------------------------------------------------------------ recording thread

    def write(self, data: bytes) -> None:
        """Append whole events (the hot path: a list append; every 2 MiB a frame is queued)."""
        if self._accepting:
            self._pending.append(data)
            self._pending_size += len(data)
            if self._pending_size >= FRAME_LIMIT:
                self._cut(final=False)
        else:
            self._refused(len(data))

    def flush(self) -> None:
        """Turn everything written so far into frames and wait until they are on disk."""
        if self._accepting:
            self._cut(final=True)
            self._queue.join()
        self._raise_once()

    def _refused(self, size: int) -> None:
        self.dropped_bytes += size
        self._raise_once()

    def _raise_once(self) -> None:
        """Raise the worker's failure on the recording thread, once."""
        if self.broken is not None and not self._reported:
            self._reported = True
            raise self.broken

    def _cut(self, *, final: bool) -> None:
        """Queue full frames (all of ``_pending`` when ``final``) for the worker.

        Interrupt-safe: items leave ``_pending`` only after they were queued, and every frame
        carries its stream offset, so a frame queued twice (a KeyboardInterrupt between the
        ``put`` and the bookkeeping) is recognised by the worker and not written twice.
        """
        pending = self._pending
        while pending:
            count, size = _frame_extent(pending)
            if not final and count == len(pending) and size < FRAME_LIMIT:
                return  # a frame's worth is not there yet
            start = self._consumed
            if size > FRAME_LIMIT:  # one write larger than a frame: split it
                item = pending[0]
                for offset in range(0, size, FRAME_LIMIT):
                    piece = item[offset : offset + FRAME_LIMIT]
                    self._submit((start + offset, piece, offset + FRAME_LIMIT >= size))
            else:
                self._submit((start, b"".join(pending[:count]), True))
            # No call below this line: the bookkeeping is never interrupted half-way.
            del pending[:count]
            self._consumed = start + size
            self._pending_size -= size
            self.bytes_in += size

    # ------------------------------------------------------------------ worker thread

    def _submit(self, frame: tuple[int, bytes, bool]) -> None:
        """Queue one frame for the worker, starting the worker first if none runs."""
        if self._ensure_worker():
            self._queue.put(frame)
        else:
            self.dropped_bytes += len(frame[1])

    def _ensure_worker(self) -> bool:
        """Start a worker unless one runs; False when no thread can be started (the stream
        is then broken and drops frames)."""
        worker = self._worker
        if worker is None:
            worker = self._worker = threading.Thread(
                target=self._run, name="recorder-trace-bin", daemon=True
            )
            self._stop_sent = False
        if worker.ident is None:  # not started yet (or its start was interrupted)
            try:
                worker.start()
            except RuntimeError as exc:  # no thread can be started: the stream stops
                if not worker.is_alive():
                    self._worker = None
                    self._fail(exc)
        return self._worker is not None

    def _park(self) -> None:
        """Before a fork: let the worker write what is queued and end, so the program forks
        a single-threaded process when it was one (no "multi-threaded fork" warning, no
        queue lock held in the child). The next frame starts a new worker."""
        if self._worker is not None and not self.detached:
            self._stop_worker()

    def _run(self) -> None:
        """The worker: compress and write queued frames in order until the stop sentinel."""
        sys.settrace(None)  # this thread runs recorder code only: never trace it
        sys.setprofile(None)
        compressor = zstandard.ZstdCompressor(level=_LEVEL)
        q = self._queue
        while True:
            item = q.get()
            try:
                if item is None:
                    return
                self._write_frame(compressor, *item)
            except Exception as exc:  # never let the worker die silently
                self._fail(exc)
            finally:
                q.task_done()

    def _write_frame(
        self, compressor: zstandard.ZstdCompressor, start: int, chunk: bytes, whole: bool
    ) -> None:
        if start < self._seen:  # queued again after an interrupt: skip what was taken
            chunk = chunk[self._seen - start :]
            if not chunk:
                return
        self._seen = start + len(chunk)
        if self.broken is not None or self.detached or self.closed:
            self.dropped_bytes += len(chunk)
            return
        frame = compressor.compress(chunk)
        self._check_identity()
        _write_all(self._fd, frame)
        self.bytes_written += len(frame)
        self._frames.append((len(frame), len(chunk)))
        self._whole.append(whole)

    def _fail(self, exc: BaseException) -> None:
        """Record the first failure; cut a half-written frame off again (never another file's)."""
        err = from_exception(exc)
        if not isinstance(exc, RecorderError):
            err = err.with_context(path=self.path, op="write")
        self._break(err)
        self._accepting = False
        if err.code is not ErrorCode.TARGET_DETACHED:
            self._truncate(self._frames_end(len(self._frames)))

    # ------------------------------------------------------------------ ending

    def finish(self) -> None:
        """Write the last frame and the seek table, fsync, close; raise the first failure.

        After a failure the file still ends with a seek table over its complete frames when
        that was possible (:attr:`complete`): a partial trace, not a lost one.
        """
        self._end()
        self._raise_once()

    def finish_partial(self, reason: str = "") -> None:
        """:meth:`finish` for a failed run: best effort, never raises a RecorderError."""
        _log.debug("finishing a partial trace.bin (%s)", reason)
        self._end()

    def abandon(self) -> None:
        """Stop without a seek table (the caller discards the file); never raises."""
        self._accepting = False
        self.closed = True  # the worker drops whatever is still queued
        with contextlib.suppress(RecorderError):
            self._stop_worker()
        self._release_fd()

    def _end(self) -> None:
        """Seal, drain the worker, write the seek table, fsync and close (re-entrant).

        A KeyboardInterrupt while waiting for the worker propagates; calling this again
        (``finish_partial`` after an interrupted ``finish``) completes the same work.
        """
        if self.closed or self.detached:
            return
        if self._accepting:
            self._cut(final=True)
            self._accepting = False
        elif self._pending:
            self.dropped_bytes += sum(map(len, self._pending))
            self._pending = []
        self._stop_worker()
        self.closed = True
        try:
            self._seal_file()
        except BaseException:
            if not self.complete:  # interrupted before the table was whole
                self._break(
                    enverr(
                        ErrorCode.IO,
                        "finishing trace.bin was interrupted",
                        path=self.path,
                        op="finish",
                    )
                )
            raise
        finally:
            self._release_fd()

    def _stop_worker(self) -> None:
        worker = self._worker
        if worker is None or worker.ident is None:
            # No worker runs; frames may still wait in the queue, queued by another thread
            # while a fork parked the worker: start one to write them.
            if self._queue.empty() or not self._ensure_worker():
                self._worker = None
                return
            worker = self._worker
            if worker is None:  # pragma: no cover - _ensure_worker returned True
                return
        if not self._stop_sent:
            self._queue.put(None)
            self._stop_sent = True
        worker.join()
        self._worker = None

    def _seal_file(self) -> None:
        """Write the seek table after the last whole frame, dropping frames if the disk is full."""
        if self.broken is not None and self.broken.code is ErrorCode.TARGET_DETACHED:
            return  # the descriptor is not ours any more
        count = self._last_whole(len(self._frames))
        while True:
            end = self._frames_end(count)
            try:
                self._check_identity()
                _os.ftruncate(self._fd, end)
                _os.lseek(self._fd, end, os.SEEK_SET)
                table = seek_table(self._frames[:count])
                _write_all(self._fd, table)
                owned_fd.fsync(self._fd)
            except Exception as exc:
                self._break(_classified(exc, self.path, "finish"))
                if count == 0 or not _is_full(exc):
                    self._truncate(end)
                    return
                count = self._last_whole(count - 1)  # free a frame's room for the table
                continue
            del self._frames[count:]
            self.bytes_written = end + len(table)
            self.complete = True
            return

    def _last_whole(self, count: int) -> int:
        """The largest frame count <= ``count`` whose last frame ends on a write boundary."""
        while count > 0 and not self._whole[count - 1]:
            count -= 1
        return count

    def _frames_end(self, count: int) -> int:
        return len(HEADER) + sum(c for c, _ in self._frames[:count])

    def _truncate(self, size: int) -> None:
        try:
            _os.ftruncate(self._fd, size)
            _os.lseek(self._fd, size, os.SEEK_SET)
            self.bytes_written = size
        except OSError:
            _log.debug("truncating %s failed", self.path, exc_info=True)

    def _release_fd(self) -> None:
        """Close our descriptor, unless the program took its number over (then leave it)."""
        fd, self._fd = self._fd, -1
        failed = owned_fd.release(fd, self._identity)
        if failed is not None:
            _log.debug("closing %s failed: %r", self.path, failed)

    # ------------------------------------------------------------------ helpers

    def _check_identity(self) -> None:
        """Raise a Target error if the program closed our descriptor or reused its number."""
        owned_fd.check(self._fd, self._identity, self.path)

    def _break(self, err: RecorderError) -> None:
        if self.broken is None:
            self.broken = err
            _log.debug("trace.bin stream broken: %s", err.code, exc_info=err)

    def _detach_after_fork(self) -> None:
        """In a forked child: never write into the parent's file (the worker does not exist)."""
        self.detached = True
        self._accepting = False
        self._worker = None
        self._pending = []
        self._queue = queue.Queue(_QUEUE_FRAMES)
        fd, self._fd = self._fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                _os.close(fd)  # the child's copy only; the parent's descriptor is unaffected


def _frame_extent(pending: list[bytes]) -> tuple[int, int]:
    """How many leading writes make the next frame (at least one), and their size."""
    size = 0
    for count, item in enumerate(pending):
        n = len(item)
        if count and size + n > FRAME_LIMIT:
            return count, size
        size += n
    return len(pending), size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[_os.write(fd, view) :]


_FULL_ERRNOS: Final = frozenset(
    n for n in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if n is not None
)


def _is_full(exc: BaseException) -> bool:
    """Disk full, quota or file-size limit: dropping a frame may make room for the table."""
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


def _classified(exc: BaseException, path: str, op: str) -> RecorderError:
    if isinstance(exc, RecorderError):
        return exc
    return from_exception(exc).with_context(path=path, op=op)


_LIVE: weakref.WeakSet[SeekableZstdStream] = weakref.WeakSet()


def _before_fork() -> None:
    for stream in list(_LIVE):
        try:
            stream._park()
        except Exception:  # a fork hook must never fail the program's fork
            _log.debug("parking the trace.bin worker before fork failed", exc_info=True)


def _after_fork_in_child() -> None:
    for stream in list(_LIVE):
        stream._detach_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
