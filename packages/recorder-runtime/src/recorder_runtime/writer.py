"""Streaming writer of ``trace.json`` (runtime_tracing 0.14, one compact JSON array).

WHY streaming: the reference recorder keeps every event in memory until the end, so a long
program exhausts memory and a killed one leaves nothing. Here events are appended to a bounded
in-memory buffer that is written to the (staged) file in large chunks; memory stays flat.

Contract, in one place:

* Event texts handed to :meth:`TraceWriter.append` (and the ValueRecord texts handed to the
  typed helpers) are complete, compact JSON produced by the encoder; the writer never re-parses
  them. Strings the writer builds itself go through ``encoder.json_string`` (ASCII-only; a
  lone surrogate becomes visible text, since serde_json rejects a lone ``\\u`` escape).
* Registries (:meth:`path_id`, :meth:`function_id`, :meth:`variable_id`, :meth:`type_id`)
  hand out dense 0-based ids and append the defining event *before* the id becomes visible to
  any thread, so a definition always precedes its first use in the stream.
* Failure policy: the first ``OSError`` while writing (or a detected fd takeover) is converted
  to a classified :class:`recorder_errors.RecorderError`, stored in :attr:`broken` and raised
  **once** from the call that hit it. From then on the writer is broken: events are dropped
  cheaply (counted in :attr:`dropped_events`) and no method raises again. Whether the failure
  stops the recording is the session's decision, not the writer's.
* Ending: :meth:`finish` (complete run), :meth:`close_partial` (failed run, kept as partial),
  :meth:`close` and :meth:`abandon` first *seal* the writer: events that other threads still
  append afterwards are dropped silently, so nothing lands after the final ``Return`` and a
  daemon thread still running at exit never sees an exception from the recorder (facts P2,
  D3). A forked child's writer is sealed at once (fact P3).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import threading
import weakref
from collections.abc import Sequence
from typing import Any, Protocol

from recorder_errors import ErrorCode, RecorderError, bug, enverr, from_exception
from recorder_runtime.durable_prefix import (
    DISK_FULL_ERRNOS,
    Cut,
    DurablePoint,
    count_kind,
    longest_cut,
    side_file_reserve,
)

# One escaping rule for every string in the trace (ASCII-only; a lone surrogate becomes the
# visible text ``\\udcff``, because serde_json rejects a lone ``\\udcff`` escape).
from recorder_runtime.encoder import json_string
from recorder_runtime.output import owned_fd
from recorder_runtime.output.grammar import Grammar, Piece
from recorder_runtime.output.json.grammar import GRAMMAR

__all__ = ["NONE_TYPE_JSON", "BoundOS", "FailpointHook", "TraceWriter", "json_string"]

_log = logging.getLogger("recorder.writer")


_NONE_VALUE = '{"kind":"None","type_id":0}'
# Keys that occur only in Call / Return events: a quote inside any JSON string is escaped
# (``\"``), so program text can never imitate them. Faster to count than ``{"Call":{``, whose
# ``{"`` prefix occurs in almost every event.
_CALL_MARK = '"function_id":'
_RETURN_MARK = '"return_value":'

#: The ``specific_info`` of a type without structure.
NONE_TYPE_JSON = '{"kind":"None"}'

# Longest a lock may be waited for before the writer assumes it was leaked by an interrupted
# critical section (see _lock_lost). Registrations hold theirs for microseconds; a flush holds
# its lock for one disk write, which a stalled filesystem may stretch.
_REG_LOCK_TIMEOUT = 10.0
_IO_LOCK_TIMEOUT = 120.0


class BoundOS:
    """The OS functions the output modules use, bound when the recorder is imported.

    The traced program may replace ``os.replace``, ``os.path``, ``os.fsync``, ``json.dumps``
    or ``builtins.open`` with mocks and never restore them (matrix F11; coverage.py #416,
    #2083); writing and committing the trace must still work, so ``writer``, ``staging`` and
    ``metadata`` never look these names up at call time. Tests inject faults by patching the
    attributes of this class (``monkeypatch.setattr(BoundOS, "write", ...)``).
    """

    open = os.open
    close = os.close
    write = os.write
    fstat = os.fstat
    fsync = os.fsync
    fchmod = os.fchmod
    lseek = os.lseek
    ftruncate = os.ftruncate
    stat = os.stat
    lstat = os.lstat
    chmod = os.chmod
    mkdir = os.mkdir
    rmdir = os.rmdir
    unlink = os.unlink
    replace = os.replace
    listdir = os.listdir
    kill = os.kill
    getpid = os.getpid
    getuid = os.getuid
    io_open = io.open
    rmtree = shutil.rmtree
    copyfileobj = shutil.copyfileobj

    class path:
        abspath = os.path.abspath
        basename = os.path.basename
        dirname = os.path.dirname
        isdir = os.path.isdir
        join = os.path.join
        lexists = os.path.lexists


_os = BoundOS


class FailpointHook(Protocol):
    """What the writer needs from ``recorder_ffi.Failpoints``: fire a named point."""

    def fire(self, name: str) -> None:
        """Raise the configured exception when ``name`` is enabled; otherwise do nothing."""

    def enabled(self, name: str) -> bool:
        """True when ``name`` is switched on."""


class TraceWriter:
    """Streams the event array into ``events_path`` with bounded memory.

    Thread safety: :meth:`append` is a single ``list.append`` (atomic); the buffer is drained
    under ``_io_lock`` by slicing, never by swapping lists, so an append racing with a flush is
    never lost (the one swap is the seal at the end, on purpose). Registries take
    ``_reg_lock`` only on the slow path (a new key).
    """

    def __init__(
        self,
        events_path: str,
        *,
        buffer_limit: int = 1 << 20,
        failpoints: FailpointHook | None = None,
        grammar: Grammar = GRAMMAR,
    ) -> None:
        self.events_path = _os.path.abspath(events_path)
        #: The format's event grammar: registries spell their defining events through it.
        self.grammar = grammar
        self.buffer_limit = max(1, int(buffer_limit))
        # extend() bounds the buffer by event count (~128 bytes per event on average).
        self._flush_events = max(16, self.buffer_limit // 128)
        # Only kept when the point is on, so a production flush pays one ``is None`` test.
        self._failpoints = (
            failpoints if failpoints is not None and failpoints.enabled("writer.write") else None
        )
        self.paths: list[str] = []
        self.closed = False
        self.detached = False
        self._sealed = False
        self.broken: RecorderError | None = None
        self._dropped = 0
        self.bytes_written = 0
        self._buf: list[str] = []
        self._pending = 0  # approximate number of characters in _buf
        self._flushed_events = 0
        self._any_written = False
        #: Set when a full disk stopped the stream and its longest complete prefix was kept,
        #: closed and synced (durable_prefix.py): the file is then a valid partial trace.
        self.salvaged: Cut | None = None
        self._calls = 0
        self._returns = 0
        self._io_lock = threading.Lock()
        self._reg_lock = threading.Lock()
        self._path_ids: dict[Any, int] = {}
        self._function_ids: dict[Any, int] = {}
        self._variable_ids: dict[Any, int] = {}
        self._type_ids: dict[Any, int] = {}
        self._fd = -1
        self._end_offset = -1
        self._identity = (0, 0)
        self._fd = self._open(self.events_path)
        _LIVE_WRITERS.add(self)

    # ------------------------------------------------------------------ opening

    def _open(self, path: str) -> int:
        """Create the file exclusively (never follow or reuse a planted name), mode 0600."""
        fd, self._identity = owned_fd.create(path, b"[")
        self.bytes_written = 1
        return fd

    # ------------------------------------------------------------------ registries

    def path_id(self, path: str) -> int:
        """Dense id of ``path``; the first time, appends ``{"Path": path}``."""
        pid = self._path_ids.get(path)
        if pid is not None:
            return pid
        return self._register(self._path_ids, path, self.grammar.path(path), path)

    def function_id(self, key: object, path_id: int, line: int, name: str) -> int:
        """Dense id for the function identified by ``key`` (never by ``name`` alone)."""
        fid = self._function_ids.get(key)
        if fid is not None:
            return fid
        return self._register(self._function_ids, key, self.grammar.function(path_id, line, name))

    def variable_id(self, name: str) -> int:
        """Dense id of a variable *name*; the first time, appends ``{"VariableName": name}``."""
        vid = self._variable_ids.get(name)
        if vid is not None:
            return vid
        return self._register(self._variable_ids, name, self.grammar.variable_name(name))

    def type_id(
        self, kind: int, lang_type: str, fields: tuple[tuple[str, int], ...] | None = None
    ) -> int:
        """Dense id of a type; the first time, appends its ``Type`` event.

        ``fields`` (name, type id) make it a Struct type (``specific_info`` Struct). Keyed by
        ``(kind, lang_type, fields)`` rather than by ``lang_type`` alone (the 0.14 writer's
        key): two different types never share a record, and the stream stays valid because
        every id is still defined before use.
        """
        key = (kind, lang_type, fields)
        tid = self._type_ids.get(key)
        if tid is not None:
            return tid
        text = self.grammar.type_(kind, lang_type, fields)
        return self._register(self._type_ids, key, text)

    def _register(
        self, table: dict[Any, int], key: object, text: str, path: str | None = None
    ) -> int:
        """Slow path of every registry: define the next id, then publish it.

        The defining event enters the buffer before the id is visible in ``table``, so no
        thread can use an id ahead of its definition. An asynchronous exception (Ctrl-C lands
        inside recorder code most of the time, fact R3) between those two steps is settled by
        :meth:`_settle`, so ids never shift.
        """
        if self.broken is not None or self._sealed:
            return 0  # every event is dropped from now on; any id will do
        if not self._reg_lock.acquire(timeout=_REG_LOCK_TIMEOUT):
            self._lock_lost("register")
            return 0
        try:
            found = table.get(key)
            if found is not None:
                return found
            if self._sealed:
                return 0  # never publish after the seal: ``paths`` must match the stream
            new_id = len(table)
            self._define(table, key, new_id, path, text)
        finally:
            self._reg_lock.release()
        self._pending += len(text)
        if self._pending > self.buffer_limit:
            self.flush()
        return new_id

    def _define(
        self, table: dict[Any, int], key: object, new_id: int, path: str | None, text: str
    ) -> None:
        """Append the defining event, then publish the id (called under ``_reg_lock``)."""
        flushed = self._flushed_events
        try:
            self._buf.append(text)
            self._publish(table, key, new_id, path)
        except BaseException:
            self._settle(table, key, new_id, path, text, flushed)
            raise

    def _publish(self, table: dict[Any, int], key: object, new_id: int, path: str | None) -> None:
        """Record ``key -> new_id`` (idempotent, so :meth:`_settle` may finish it)."""
        if path is not None and len(self.paths) == new_id:
            self.paths.append(path)
        table[key] = new_id

    def _settle(
        self,
        table: dict[Any, int],
        key: object,
        new_id: int,
        path: str | None,
        text: str,
        flushed: int,
    ) -> None:
        """Make an interrupted registration whole, or stop the stream if that is impossible."""
        if table.get(key) == new_id:
            return
        if any(item is text for item in self._buf):
            self._publish(table, key, new_id, path)  # defined in the stream: finish publishing
        elif self._flushed_events != flushed:
            # A flush ran meanwhile, so the definition may already be on disk; continuing could
            # shift every later id of this space. A stopped stream is honest, a shifted one not.
            self._break(
                enverr(
                    ErrorCode.IO,
                    "an id registration was interrupted; the event stream was stopped",
                    path=self.events_path,
                    op="register",
                )
            )

    # ------------------------------------------------------------------ events

    def append(self, event_json: str) -> None:
        """Append one pre-built event text (the hot path)."""
        self._buf.append(event_json)
        self._pending += len(event_json)
        if self._pending > self.buffer_limit:
            self.flush()

    def extend(self, events: list[str]) -> None:
        """Append a group of event texts in one step, so threads never interleave inside it.

        The hot path of the recorder. The buffer is bounded by event count here (no per-event
        size bookkeeping), and a full buffer is flushed BEFORE the group is added: once this
        method returns the group is buffered, and if it raises (a RecursionError at the
        program's recursion limit) nothing of the group was, so the recorder's own
        bookkeeping of open calls never disagrees with the stream.
        """
        buf = self._buf
        if len(buf) > self._flush_events:
            self.flush()
            buf = self._buf
        buf.extend(events)

    def step(self, path_id: int, line: int) -> None:
        self.append(self.grammar.step(path_id, line))

    def value(self, variable_id: int, value_json: str) -> None:
        self.append(self.grammar.value(variable_id, value_json))

    def call(self, function_id: int, args: Sequence[tuple[int, str]]) -> None:
        """``Call`` with arguments ``(variable_id, ValueRecord JSON)`` in signature order."""
        self.append(self.call_text(function_id, args))

    def ret(self, value_json: str) -> None:
        self.append(self.grammar.return_(value_json))

    def io_event(self, kind: int, metadata: str, content: str) -> None:
        """``Event`` (EventLogKind ``kind``); ``metadata`` is itself a JSON text in a string."""
        self.append(self.io_event_text(kind, metadata, content))

    def call_text(self, function_id: int, args: Sequence[tuple[int, Piece]]) -> Piece:
        """Text of a ``Call`` event (for callers that batch events with :meth:`extend`)."""
        return self.grammar.call(function_id, args)

    def io_event_text(self, kind: int, metadata: str, content: str) -> Piece:
        """Text of an IO ``Event``; both strings are escaped here."""
        return self.grammar.io_event(kind, metadata, content)

    # ------------------------------------------------------------------ state

    @property
    def event_count(self) -> int:
        """Events accepted so far (written or buffered; not those dropped)."""
        return self._flushed_events + len(self._buf)

    @property
    def dropped_events(self) -> int:
        """Events thrown away: after a failure, after the end, in a forked child."""
        return (
            self._dropped + self._buf.dropped if isinstance(self._buf, _Sealed) else self._dropped
        )

    @property
    def calls_written(self) -> int:
        """``Call`` events written to the file so far: exact once the writer is closed.

        Counted at flush time with the open-call bookkeeping, so the hot path pays nothing.
        """
        return self._calls

    @property
    def open_calls(self) -> int:
        """``Call`` events minus ``Return`` events accepted so far.

        Counted on the joined text at flush time (C-speed ``str.count``), so the hot path pays
        nothing and events batched through :meth:`extend` are counted too. Exact: inside a JSON
        string every ``"`` is escaped, so the markers can only match real events.
        """
        return self._calls - self._returns + self._balance_of(self._buf[:])

    @property
    def buffered_chars(self) -> int:
        """Approximate size of the in-memory buffer (bounded by ``buffer_limit`` + one event)."""
        return self._pending

    # ------------------------------------------------------------------ output

    def _maybe_flush(self) -> None:
        if self._pending > self.buffer_limit:
            self.flush()

    def flush(self) -> None:
        """Write the buffer to the file in one large write.

        Raises the classified error the first time writing fails; afterwards (and after close,
        and in a forked child) it drops the buffer silently.
        """
        if not self._io_lock.acquire(timeout=_IO_LOCK_TIMEOUT):
            self._lock_lost("write")
            return
        try:
            self._flush_list(self._buf)
        finally:
            self._io_lock.release()

    def _flush_list(self, buf: list[str]) -> None:
        """Write the events in ``buf`` (caller holds ``_io_lock``).

        Written to survive an asynchronous exception at any point where CPython can deliver
        one (after a call returns): the chunk leaves ``buf`` only once it is on disk, and an
        interrupted write is judged by the kernel's file offset, not by our bookkeeping.
        """
        n = len(buf)
        if n == 0:
            return
        if self.closed or self.detached or self.broken is not None:
            del buf[:n]  # appends made meanwhile sit after index n and survive
            self._dropped += n
            self._pending = 0
            return
        start = self.bytes_written  # the file offset: we only ever write sequentially
        size = calls = returns = -1
        try:
            data, calls, returns = self._encode_chunk(buf[:n])
            size = len(data)
            if self._failpoints is not None:
                self._failpoints.fire("writer.write")
            self._write(data)
            remaining = sum(map(len, buf[n:]))
        except Exception as exc:
            chunk = buf[:n]
            del buf[:n]
            self._dropped += n
            err = self._classify(exc, "write")
            self._break(err)
            if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
                self._keep_durable_prefix(chunk, start, exc.errno or 0)
            if err is exc:
                raise
            raise err from exc
        except BaseException:
            self._settle_interrupted_write(buf, n, start, size, calls, returns)
            raise
        # No call below this line: nothing can interrupt the bookkeeping half-way.
        del buf[:n]
        self._pending = remaining
        self._any_written = True
        self._flushed_events += n
        self._calls += calls
        self._returns += returns

    def _encode_chunk(self, chunk: list[Any]) -> tuple[bytes, int, int]:
        """The bytes of a chunk of events, and how many Calls and Returns it holds.

        JSON: comma-separated (a comma first when something is on disk already); the
        ``Call``/``Return`` keys are counted on the joined text (C-speed ``str.count``).
        """
        if self._any_written:
            chunk.insert(0, "")  # the separator after what is already on disk
        text = ",".join(chunk)
        return (
            text.encode("utf-8", "backslashreplace"),
            text.count(_CALL_MARK),
            text.count(_RETURN_MARK),
        )

    def _balance_of(self, events: list[Any]) -> int:
        """``Call`` minus ``Return`` events among ``events`` (not yet written)."""
        return _balance(events)

    def _terminate(self) -> None:
        """End the stream on disk: the closing bracket of the array, then fsync."""
        self._end_offset = self.bytes_written + 1
        self._write(b"]")
        self._fsync()

    def _terminated(self) -> bool:
        """True when :meth:`_terminate` completed (judged by the file offset)."""
        return self._file_offset() == self._end_offset

    def _keep_durable_prefix(self, chunk: list[Any], start: int, errno_: int) -> None:
        """The disk is full: cut the file back to its longest complete prefix and close it.

        ``chunk`` is what failed to be written from offset ``start``; what lies before is
        whole. The cut must leave room for the closing records (and, on a full file system,
        for the side files); never raises (the stream is broken already).
        """
        if self._fd < 0 or self.detached:  # not a JSON file of our own
            return
        rest = list(self._buf)
        point = DurablePoint(
            offset=start,
            open_calls=self._calls - self._returns,
            paths=len(self.paths) - count_kind(chunk, "Path") - count_kind(rest, "Path"),
            types=len(self._type_ids) - count_kind(chunk, "Type") - count_kind(rest, "Type"),
            events=self._flushed_events,
        )
        reserve = side_file_reserve(errno_, self.paths)
        close_call = self.grammar.return_(_NONE_VALUE)
        try:
            cut = longest_cut(
                point, chunk, capacity=self.bytes_written, reserve=reserve, close_call=close_call
            )
            if cut is None:
                return
            _os.ftruncate(self._fd, cut.offset)
            _os.lseek(self._fd, cut.offset, os.SEEK_SET)
            self.bytes_written = cut.offset
            self._write(cut.closing)
            self._fsync()
        except Exception as exc:  # no room even for that: no trace is kept
            _log.debug("keeping the complete prefix failed: %r", exc)
            return
        del self.paths[cut.paths :]
        self.salvaged = cut

    def _settle_interrupted_write(
        self, buf: list[str], n: int, start: int, size: int, calls: int, returns: int
    ) -> None:
        """After KeyboardInterrupt/SystemExit in a flush: keep, finish or stop the stream.

        Nothing reached the file: the events stay buffered (nothing lost). Everything did: the
        flush counts as done (nothing duplicated later). Part of it did: the stream cannot be
        continued truthfully, so the writer is broken.
        """
        offset = self._file_offset()
        if offset == start:
            return
        if size >= 0 and offset == start + size:
            self.bytes_written = offset
            del buf[:n]
            self._any_written = True
            self._flushed_events += n
            self._calls += calls
            self._returns += returns
            return
        del buf[:n]
        self._dropped += n
        self._break(
            enverr(
                ErrorCode.IO,
                "writing the trace was interrupted half-way",
                path=self.events_path,
                op="write",
            )
        )

    def _write(self, data: bytes) -> None:
        """Write all of ``data``, after proving the fd is still our file (F9)."""
        self._check_identity()
        view = memoryview(data)
        while view:
            written = _os.write(self._fd, view)
            self.bytes_written += written
            view = view[written:]

    def _check_identity(self) -> None:
        """Raise a Target error if the program closed our fd or reused its number."""
        owned_fd.check(self._fd, self._identity, self.events_path)

    # ------------------------------------------------------------------ ending

    def _seal(self) -> list[str]:
        """Stop accepting events; return the events accepted so far that are not yet written.

        Other threads may still be inside a callback when the recording ends (D3). After the
        seal their events go to a list that drops them, so nothing can land after the final
        ``Return`` (a Step outside any Call makes the trace invalid). Caller holds ``_io_lock``.
        """
        old = self._buf
        if isinstance(old, _Sealed):
            return []
        self.buffer_limit = sys.maxsize  # appends after the seal never trigger a flush
        # Under the registry lock, so no registration publishes an id (or a path for
        # trace_paths.json) whose defining event the seal dropped.
        locked = self._reg_lock.acquire(timeout=_REG_LOCK_TIMEOUT)
        try:
            self._sealed = True
            self._buf = _Sealed()
        finally:
            if locked:
                self._reg_lock.release()
        # A thread that fetched ``old`` just before the swap may still append to it; whatever
        # lands after this snapshot is dropped, whatever lands before precedes the final events.
        return old[:]

    def finish(
        self,
        final_return_json: str,
        *,
        open_calls: int | None = None,
        unwound_return_json: str = _NONE_VALUE,
    ) -> None:
        """End the stream: seal, close every open call, terminate the array, fsync, close.

        Emits one ``Return`` per open call (default: the writer's own exact count at the seal;
        the inner ones carry ``unwound_return_json``, the outermost — the top level —
        ``final_return_json``), so the stream balances whatever other threads were doing.
        Raises the classified error once, like :meth:`close`.
        """
        self._end(final_return_json, open_calls, unwound_return_json)

    def close(self) -> None:
        """Seal, terminate the array, flush, fsync and close; check every step (``/dev/full``).

        Writes no ``Return`` of its own (see :meth:`finish`). Idempotent. Raises the classified
        error if this call hits the writer's first failure; on an already broken or detached
        writer it only releases the descriptor.
        """
        self._end(None, None, _NONE_VALUE)

    def close_partial(self, final_return_json: str, open_calls: int | None = None) -> None:
        """:meth:`finish` for a failed run: best effort, never raises a RecorderError.

        Afterwards :attr:`broken` is ``None`` exactly when the file is complete and balanced;
        a broken writer's file must never be kept, not even as a partial trace.
        """
        try:
            self._end(final_return_json, open_calls, _NONE_VALUE)
        except RecorderError:
            _log.debug("closing a partial trace failed", exc_info=True)

    def _end(self, final: str | None, open_calls: int | None, unwound: str) -> None:
        if not self._io_lock.acquire(timeout=_IO_LOCK_TIMEOUT):
            self.closed = True  # the descriptor stays with whoever holds the lock
            self._lock_lost("close")
            return
        try:
            self._end_locked(final, open_calls, unwound)
        finally:
            self._io_lock.release()

    def _end_locked(self, final: str | None, open_calls: int | None, unwound: str) -> None:
        if self.closed:
            return
        was_broken = self.broken is not None
        self._end_offset = -1
        try:
            tail = self._seal()
            if final is not None:
                count = self._calls - self._returns + self._balance_of(tail)
                if open_calls is not None:
                    count = open_calls
                if count > 0:
                    tail.extend([self.grammar.return_(unwound)] * (count - 1))
                    tail.append(self.grammar.return_(final))
            self._flush_list(tail)
            if self.broken is None and not self.detached:
                self._terminate()
        except Exception as exc:
            self._break(self._classify(exc, "close"))
        except BaseException:
            # Interrupted: the file is whole only if the closing bracket made it to disk.
            if self.broken is None and not self.detached and not self._terminated():
                self._break(
                    enverr(
                        ErrorCode.IO,
                        "closing the trace was interrupted",
                        path=self.events_path,
                        op="close",
                    )
                )
            raise
        finally:
            self.closed = True
            self._pending = 0
            close_err = self._release_fd()
        if close_err is not None:
            self._break(self._classify(close_err, "close"))
        if not was_broken and self.broken is not None:
            raise self.broken

    def abandon(self) -> None:
        """Give the file up without finishing it (a failed run whose trace is discarded).

        Seals (later events are dropped), releases the descriptor; never raises a
        RecorderError.
        """
        if not self._io_lock.acquire(timeout=_IO_LOCK_TIMEOUT):
            self.closed = True
            return
        try:
            self._dropped += len(self._seal())
            self.closed = True
            self._pending = 0
            close_err = self._release_fd()
            if close_err is not None:
                _log.debug("closing an abandoned trace file failed: %r", close_err)
        finally:
            self._io_lock.release()

    def _file_offset(self) -> int:
        try:
            return _os.lseek(self._fd, 0, os.SEEK_CUR)
        except OSError:
            return -1

    def _fsync(self) -> None:
        owned_fd.fsync(self._fd)

    def _release_fd(self) -> OSError | None:
        """Close our descriptor, unless the program took the number over (then leave it)."""
        fd, self._fd = self._fd, -1
        if self.detached:
            return None
        return owned_fd.release(fd, self._identity)

    # ------------------------------------------------------------------ failure helpers

    def _classify(self, exc: BaseException, op: str) -> RecorderError:
        """Classified error for ``exc`` (a RecorderError keeps its own classification)."""
        if isinstance(exc, RecorderError):
            return exc
        return from_exception(exc).with_context(path=self.events_path, op=op)

    def _break(self, err: RecorderError) -> None:
        if self.broken is None:
            self.broken = err
            _log.debug("trace writer broken: %s", err.code, exc_info=err)

    def _lock_lost(self, op: str) -> None:
        """A lock was not released in time: only an interrupted critical section does that.

        Waiting forever would hang the traced program; breaking the writer turns the hang
        into one classified failure (raised once, like any other).
        """
        if self.broken is not None:
            return
        err = bug(
            ErrorCode.UNKNOWN,
            "the trace writer's lock was not released (interrupted critical section?)",
            path=self.events_path,
            op=op,
        )
        self._break(err)
        raise err

    def _detach_after_fork(self) -> None:
        """In a forked child: never write into the parent's file (fact P3)."""
        self._io_lock = threading.Lock()
        self._reg_lock = threading.Lock()
        self.detached = True
        self._dropped += len(self._seal())  # the parent's unwritten events: not ours to write
        self._pending = 0
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                _os.close(fd)  # the child's copy only; the parent's descriptor is unaffected
            except OSError:
                pass


class _Sealed(list):  # type: ignore[type-arg]
    """The buffer of an ended writer: it accepts late events and drops them (counted)."""

    __slots__ = ("dropped",)

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def append(self, item: object) -> None:
        self.dropped += 1

    def extend(self, items: object) -> None:
        self.dropped += len(items) if isinstance(items, list) else 1


def _balance(events: list[str]) -> int:
    """``Call`` minus ``Return`` events among ``events`` (see :attr:`TraceWriter.open_calls`)."""
    text = ",".join(events)
    return text.count(_CALL_MARK) - text.count(_RETURN_MARK)


_LIVE_WRITERS: weakref.WeakSet[TraceWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_LIVE_WRITERS):
        writer._detach_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
