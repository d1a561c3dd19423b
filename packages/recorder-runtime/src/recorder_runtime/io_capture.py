"""IO capture: the program's stdout, stderr and stdin become IO events, unchanged on the terminal.

``sys.stdout``/``sys.stderr``/``sys.stdin`` are replaced by proxies that first do exactly what
the wrapped stream would do (same call, same arguments, same return value, same exception)
and then queue a copy of the text. The recorder drains the queue at its drain points (before
each Step and Return, and at the end) and writes one ``Event`` per chunk
(``trace-format.md`` §10.6):

* one chunk per line once a newline is written (``print("a\\nb")`` gives ``"a\\n"``, ``"b\\n"``,
  flag ``newline``); an explicit ``flush()`` cuts a partial line (flag ``flush``); a partial line
  still pending at a drain point is cut there (flag ``step_boundary``);
* what the program reads from stdin is a Read chunk (kind 3, flag ``input``);
* ``proxies+fd`` also mirrors bytes written straight to file descriptors 1 and 2
  (``os.write(1, ...)``, C extensions, child processes): flag ``mirror``. See :class:`_FdMirror`.

Output is buffered per (stream, thread), so two threads printing at once do not mix their
lines. Writes made by recorder code (a thread marked with ``recorder_ffi.inside()``, or inside
:meth:`IOCapture.suspended`) pass through but are never captured. A proxy the program kept a
reference to keeps working after :meth:`IOCapture.uninstall`; it just stops capturing.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from recorder_errors import ErrorCode, enverr, usage
from recorder_ffi import is_inside

from . import io_forwarder
from .logs import get_logger

__all__ = [
    "IO_CAPTURE_MODES",
    "KIND_READ",
    "KIND_WRITE",
    "KIND_WRITE_OTHER",
    "IOCapture",
    "IOChunk",
]

log = get_logger("io")

IO_CAPTURE_MODES: Final = ("off", "proxies", "proxies+fd")
#: Event kinds of runtime_tracing (§8): Write, WriteOther, Read.
KIND_WRITE: Final = 0
KIND_WRITE_OTHER: Final = 2
KIND_READ: Final = 3
_KINDS: Final = {"stdout": KIND_WRITE, "stderr": KIND_WRITE_OTHER, "stdin": KIND_READ}


@dataclass(frozen=True)
class IOChunk:
    """One piece of captured IO, ready to become an ``Event``."""

    kind: int
    stream: str
    content: str
    flags: tuple[str, ...]
    thread_id: int


class IOCapture:
    """Owns the proxies (and in ``proxies+fd`` mode the fd mirror) and the chunk queue."""

    def __init__(self, mode: str, *, scrub: Callable[[str], str] | None = None) -> None:
        if mode not in IO_CAPTURE_MODES:
            raise usage(
                ErrorCode.INVALID_POLICY_VALUE,
                f"invalid io capture mode {mode!r} "
                f"(expected one of: {', '.join(IO_CAPTURE_MODES)})",
                value=mode,
            )
        self.mode = mode
        #: True while chunks (or partial lines) wait for :meth:`drain`; read on the hot path.
        self.pending = False
        self._scrub = scrub
        self._lock = threading.Lock()
        self._chunks: list[IOChunk] = []
        self._partial: dict[tuple[str, int], tuple[str, tuple[str, ...]]] = {}
        self._local = threading.local()
        self._capturing = False
        self._installed: dict[str, tuple[object, object]] = {}
        self._mirror: _FdMirror | None = None

    # ------------------------------------------------------------------ lifecycle

    def install(self) -> None:
        """Put the proxies in place (no-op in ``off`` mode or when already installed)."""
        if self.mode == "off" or self._installed:
            return
        self._capturing = True
        for name, proxy_type in (
            ("stdout", _OutputProxy),
            ("stderr", _OutputProxy),
            ("stdin", _InputProxy),
        ):
            original = getattr(sys, name, None)
            if original is None:
                continue
            proxy = proxy_type(self, name, original)
            setattr(sys, name, proxy)
            self._installed[name] = (original, proxy)
        if self.mode == "proxies+fd":
            self._mirror = _FdMirror.start(self)

    def uninstall(self) -> None:
        """Stop capturing and restore the original streams where our proxies are still in place.

        A stream (or file descriptor) the program replaced in the meantime is left alone: it
        is the program's. In ``proxies+fd`` mode the mirror is stopped first, after everything
        written so far has reached the terminal and been captured.
        """
        mirror, self._mirror = self._mirror, None
        if mirror is not None:
            mirror.stop()
        self._capturing = False
        for name, (original, proxy) in self._installed.items():
            if getattr(sys, name, None) is proxy:
                setattr(sys, name, original)
        self._installed = {}

    @property
    def capturing(self) -> bool:
        """True between :meth:`install` and :meth:`uninstall`."""
        return self._capturing

    def original(self, name: str) -> object | None:
        """The stream that ``sys.<name>`` was before :meth:`install` (None when not installed)."""
        entry = self._installed.get(name)
        return None if entry is None else entry[0]

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Within the block, this thread's writes pass through without being captured."""
        previous = getattr(self._local, "suspended", False)
        self._local.suspended = True
        try:
            yield
        finally:
            self._local.suspended = previous

    # ------------------------------------------------------------------ queue

    def drain(self) -> list[IOChunk]:
        """Every chunk queued since the last drain; partial lines are cut (``step_boundary``)."""
        with self._lock:
            chunks = self._chunks
            self._chunks = []
            for (stream, thread_id), (text, extra) in self._partial.items():
                chunks.append(
                    IOChunk(_KINDS[stream], stream, text, ("step_boundary", *extra), thread_id)
                )
            self._partial = {}
            self.pending = False
        scrub = self._scrub
        if scrub is None or not chunks:
            return chunks
        return [_scrubbed(chunk, scrub) for chunk in chunks]

    def _should_capture(self) -> bool:
        return self._capturing and not is_inside() and not getattr(self._local, "suspended", False)

    def _output(
        self, stream: str, text: str, thread_id: int | None = None, extra: tuple[str, ...] = ()
    ) -> None:
        """Queue written text: complete lines become chunks, the rest waits for more."""
        if not text:
            return
        ident = threading.get_ident() if thread_id is None else thread_id
        key = (stream, ident)
        kind = _KINDS[stream]
        with self._lock:
            previous = self._partial.pop(key, None)
            if previous is not None:
                text = previous[0] + text
            start = 0
            newline = text.find("\n")
            while newline >= 0:
                line = text[start : newline + 1]
                self._chunks.append(IOChunk(kind, stream, line, ("newline", *extra), ident))
                start = newline + 1
                newline = text.find("\n", start)
            if start < len(text):
                self._partial[key] = (text[start:], extra)
            self.pending = True

    def _flush(self, stream: str, thread_id: int | None = None) -> None:
        """An explicit flush cuts this thread's partial line (flag ``flush``)."""
        ident = threading.get_ident() if thread_id is None else thread_id
        with self._lock:
            previous = self._partial.pop((stream, ident), None)
            if previous is not None:
                text, extra = previous
                self._chunks.append(IOChunk(_KINDS[stream], stream, text, ("flush", *extra), ident))
                self.pending = True

    def _expect(self, stream: str, data: bytes) -> None:
        """Bytes a proxy is about to write to fd 1/2: the fd mirror must not capture them twice."""
        mirror = self._mirror
        if mirror is not None and data:
            mirror.expect(stream, data)

    def _input(self, text: str) -> None:
        """Queue what the program read from stdin as one Read chunk."""
        if not text:
            return
        with self._lock:
            self._chunks.append(
                IOChunk(KIND_READ, "stdin", text, ("input",), threading.get_ident())
            )
            self.pending = True


def _scrubbed(chunk: IOChunk, scrub: Callable[[str], str]) -> IOChunk:
    content = scrub(chunk.content)
    if content is chunk.content:
        return chunk
    return IOChunk(chunk.kind, chunk.stream, content, chunk.flags, chunk.thread_id)


def _as_text(data: object, decoder: codecs.IncrementalDecoder | None) -> str:
    """The captured text of a write or read result (bytes through the stream's decoder)."""
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)) and decoder is not None:
        return decoder.decode(bytes(data))
    return ""


def _decoder_for(stream: object) -> codecs.IncrementalDecoder:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        factory = codecs.getincrementaldecoder(encoding)
    except (LookupError, TypeError):
        factory = codecs.getincrementaldecoder("utf-8")
    return factory(errors="replace")


# ---------------------------------------------------------------------- proxies


class _Proxy:
    """Delegates everything it does not define to the wrapped stream.

    Attribute names start with ``_ct_`` so that they cannot shadow the wrapped stream's own
    attributes, which ``__getattr__`` forwards (``encoding``, ``errors``, ``isatty``,
    ``fileno``, ``line_buffering``, ``closed``, ``name``, ``mode``, ``reconfigure``, ...).
    """

    _ct_capture: IOCapture
    _ct_stream: str
    _ct_wrapped: Any

    def __init__(self, capture: IOCapture, stream: str, wrapped: object) -> None:
        self._ct_capture = capture
        self._ct_stream = stream
        self._ct_wrapped = wrapped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ct_wrapped, name)

    def __repr__(self) -> str:
        return repr(self._ct_wrapped)

    def __enter__(self) -> _Proxy:
        self._ct_wrapped.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> Any:
        return self._ct_wrapped.__exit__(*exc_info)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self._ct_wrapped)

    def _ct_record(self, action: Callable[[], None]) -> None:
        """Run a capture step unless this write is the recorder's own (see ``_should_capture``)."""
        if self._ct_capture._should_capture():
            self._ct_safely(action)

    def _ct_safely(self, action: Callable[[], None]) -> None:
        """Capture problems are logged, never raised into the program: its write still happens."""
        try:
            action()
        except Exception:
            log.debug("io capture failed on %s", self._ct_stream, exc_info=True)


class _OutputProxy(_Proxy):
    """``sys.stdout`` / ``sys.stderr``."""

    _ct_buffer: _BufferProxy | None = None

    def write(self, s: Any) -> Any:
        if self._ct_capture._mirror is not None and isinstance(s, str):
            self._ct_safely(lambda: self._ct_expect(s))
        result = self._ct_wrapped.write(s)
        if isinstance(s, str):
            self._ct_record(lambda: self._ct_capture._output(self._ct_stream, s))
        return result

    def writelines(self, lines: Iterable[Any]) -> Any:
        items = list(lines)
        text = "".join(item for item in items if isinstance(item, str))
        if self._ct_capture._mirror is not None:
            self._ct_safely(lambda: self._ct_expect(text))
        result = self._ct_wrapped.writelines(items)
        self._ct_record(lambda: self._ct_capture._output(self._ct_stream, text))
        return result

    def _ct_expect(self, text: str) -> None:
        """Tell the fd mirror which bytes this text becomes on the file descriptor."""
        wrapped = self._ct_wrapped
        encoding = getattr(wrapped, "encoding", None) or "utf-8"
        errors = getattr(wrapped, "errors", None) or "strict"
        try:
            data = text.encode(encoding, errors)
        except (UnicodeError, LookupError):
            return  # the write itself fails the same way: nothing reaches the fd
        self._ct_capture._expect(self._ct_stream, data)

    def flush(self) -> Any:
        result = self._ct_wrapped.flush()
        self._ct_record(lambda: self._ct_capture._flush(self._ct_stream))
        return result

    @property
    def buffer(self) -> Any:
        """The binary layer, wrapped too so that bytes written there are captured."""
        raw = self._ct_wrapped.buffer
        cached = self._ct_buffer
        if cached is None or cached._ct_wrapped is not raw:
            cached = self._ct_buffer = _BufferProxy(self._ct_capture, self._ct_stream, raw)
            cached._ct_decoder = _decoder_for(self._ct_wrapped)
        return cached


class _InputProxy(_Proxy):
    """``sys.stdin``: every read is passed through, then captured as a Read chunk."""

    _ct_buffer: _BufferProxy | None = None

    def _ct_got(self, data: Any) -> Any:
        if isinstance(data, str) and data:
            self._ct_record(lambda: self._ct_capture._input(data))
        return data

    def read(self, *args: Any) -> Any:
        return self._ct_got(self._ct_wrapped.read(*args))

    def readline(self, *args: Any) -> Any:
        return self._ct_got(self._ct_wrapped.readline(*args))

    def readlines(self, *args: Any) -> Any:
        lines = self._ct_wrapped.readlines(*args)
        if isinstance(lines, list):
            self._ct_got("".join(line for line in lines if isinstance(line, str)))
        return lines

    def __next__(self) -> Any:
        return self._ct_got(next(self._ct_wrapped))

    @property
    def buffer(self) -> Any:
        raw = self._ct_wrapped.buffer
        cached = self._ct_buffer
        if cached is None or cached._ct_wrapped is not raw:
            cached = self._ct_buffer = _BufferProxy(self._ct_capture, self._ct_stream, raw)
            cached._ct_decoder = _decoder_for(self._ct_wrapped)
        return cached


class _BufferProxy(_Proxy):
    """The ``.buffer`` of a proxied stream: bytes pass through, their text is captured."""

    _ct_decoder: codecs.IncrementalDecoder | None = None

    def write(self, b: Any) -> Any:
        if self._ct_capture._mirror is not None and isinstance(b, (bytes, bytearray)):
            self._ct_safely(lambda: self._ct_capture._expect(self._ct_stream, bytes(b)))
        result = self._ct_wrapped.write(b)
        if self._ct_stream != "stdin":
            count = result if isinstance(result, int) else None
            data = b if count is None else memoryview(b)[:count]
            self._ct_record(
                lambda: self._ct_capture._output(self._ct_stream, _as_text(data, self._ct_decoder))
            )
        return result

    def writelines(self, lines: Iterable[Any]) -> Any:
        items = list(lines)
        result = self._ct_wrapped.writelines(items)
        decoder = self._ct_decoder
        text = "".join(_as_text(item, decoder) for item in items)
        self._ct_record(lambda: self._ct_capture._output(self._ct_stream, text))
        return result

    def flush(self) -> Any:
        result = self._ct_wrapped.flush()
        if self._ct_stream != "stdin":
            self._ct_record(lambda: self._ct_capture._flush(self._ct_stream))
        return result

    def _ct_got(self, data: Any) -> Any:
        if self._ct_stream == "stdin" and data:
            self._ct_record(lambda: self._ct_capture._input(_as_text(data, self._ct_decoder)))
        return data

    def read(self, *args: Any) -> Any:
        return self._ct_got(self._ct_wrapped.read(*args))

    def read1(self, *args: Any) -> Any:
        return self._ct_got(self._ct_wrapped.read1(*args))

    def readline(self, *args: Any) -> Any:
        return self._ct_got(self._ct_wrapped.readline(*args))

    def __next__(self) -> Any:
        return self._ct_got(next(self._ct_wrapped))


# ---------------------------------------------------------------------- fd mirroring

#: How long :meth:`_FdMirror.stop` waits for the forwarder to finish (it only has to wait
#: when a child process still holds fd 1/2 open).
STOP_TIMEOUT: Final = 5.0
_TAGS: Final = {"stdout": 1, "stderr": 2}
#: Proxy bytes not yet seen on the fd are forgotten beyond this (a block-buffered stdout
#: holds at most its buffer, 8 KiB by default).
MAX_EXPECTED: Final = 4 << 20
_SEARCH_AHEAD: Final = 8
#: A match this long is taken as proxy bytes even before the whole write has arrived.
_SURE_MATCH: Final = 256


@dataclass
class _Channel:
    """One forwarded file (fd 1, fd 2, or both when they are the same file)."""

    stream: str
    fds: tuple[int, ...]
    saved: dict[int, int]
    reader: int
    writer: int
    identity: tuple[int, int] = (0, 0)
    #: Bytes the proxies wrote, in order, not yet seen coming back from the forwarder.
    expected: bytearray = field(default_factory=bytearray)
    #: Sizes of the proxy writes making up ``expected`` (to skip one that never arrived).
    writes: collections.deque[int] = field(default_factory=collections.deque)
    #: Forwarded bytes that may be the start of a proxy write; decided when more arrive.
    held: bytes = b""
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )


class _FdMirror:
    """``proxies+fd``: bytes written straight to fd 1/2 are forwarded *and* captured.

    fd 1 and fd 2 are pointed at a pipe (a pty when they were a terminal, so ``isatty`` and
    the window size stay what the program expects). A separate forwarding process copies
    every byte, in order, to the original terminal or file, and sends a copy back over a
    third pipe, where a reader thread captures what did not come through the proxies
    (flag ``mirror``). Because the forwarder is a separate process, output written just
    before ``os._exit`` or by a child process that outlives the program still arrives, and
    a closed terminal still gives the program EPIPE. Proxy writes register their bytes
    first (:meth:`expect`) so that the copy is not captured twice.
    """

    def __init__(self, capture: IOCapture, channels: list[_Channel], back: int) -> None:
        self.capture = capture
        self.channels = channels
        by_fd = {fd: channel for channel in channels for fd in channel.fds}
        #: Which channel a proxy's bytes travel through: only a proxy whose wrapped stream
        #: writes to a mirrored fd registers expected bytes (a StringIO never reaches fd 1).
        self.by_stream: dict[str, _Channel] = {}
        for name in ("stdout", "stderr"):
            fd = _fileno(capture.original(name))
            if fd in by_fd:
                self.by_stream[name] = by_fd[fd]
        self.back = back
        self.lock = threading.Lock()
        self.thread_id = threading.main_thread().ident or threading.get_ident()
        self.active = True
        self.reader = threading.Thread(target=self._read, name="recorder-io-mirror", daemon=True)

    # -- set-up and tear-down

    @classmethod
    def start(cls, capture: IOCapture) -> _FdMirror | None:
        """Set the mirror up, or log why not and return None (the proxies still capture)."""
        channels: list[_Channel] = []
        back = -1
        try:
            channels = _open_channels()
            if not channels:
                return None
            back = _spawn_forwarder(channels)
            mirror = cls(capture, channels, back)
            _redirect(capture, channels)
        except Exception as exc:  # mirroring is an extra: never fail the recording for it
            _close_channels(channels, back)
            log.warning(
                "fd mirroring unavailable, capturing through sys.stdout/stderr only: %s", exc
            )
            return None
        mirror.reader.start()
        return mirror

    def stop(self) -> None:
        """Restore fds 1/2, wait until everything written reached the terminal, capture it."""
        _flush_originals(self.capture)
        for channel in self.channels:
            for fd in channel.fds:
                try:
                    info = os.fstat(fd)
                    if (info.st_dev, info.st_ino) == channel.identity:
                        os.dup2(channel.saved[fd], fd)
                except OSError:
                    pass  # the program closed or replaced it: that is its business
            for saved in channel.saved.values():
                with contextlib.suppress(OSError):
                    os.close(saved)
        self.reader.join(STOP_TIMEOUT)
        if self.reader.is_alive():
            log.debug("a child process still writes to the mirrored fds; stop capturing them")
        with self.lock:
            self.active = False

    def expect(self, stream: str, data: bytes) -> None:
        channel = self.by_stream.get(stream)
        if channel is not None and self.active:
            with self.lock:
                channel.expected += data
                channel.writes.append(len(data))
                excess = len(channel.expected) - MAX_EXPECTED
                if excess > 0:  # bytes that never arrive must not pile up forever
                    _consume(channel, excess)

    # -- the reader thread

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                data = os.read(self.back, 1 << 16)
                if not data:
                    break
                buffer = self._frames(buffer + data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(self.back)
            for channel in self.channels:
                held, channel.held = channel.held, b""
                self._capture(channel, held, final=True)

    def _frames(self, buffer: bytes) -> bytes:
        while len(buffer) >= 5:
            kind = buffer[0]
            length = int.from_bytes(buffer[1:5], "big")
            if kind > 2:  # the forwarder could not copy `length` bytes back: resynchronise
                log.debug(
                    "fd mirror lost %d bytes of %s", length, "stdout" if kind == 3 else "stderr"
                )
                channel = self._channel(kind - 2)
                if channel is not None:
                    with self.lock:
                        channel.expected.clear()
                        channel.writes.clear()
                        channel.held = b""
                buffer = buffer[5:]
                continue
            if len(buffer) < 5 + length:
                break
            payload, buffer = buffer[5 : 5 + length], buffer[5 + length :]
            channel = self._channel(kind)
            if channel is not None:
                self._capture(channel, self._unexpected(channel, payload))
        return buffer

    def _channel(self, tag: int) -> _Channel | None:
        for channel in self.channels:
            if _TAGS[channel.stream] == tag:
                return channel
        return None

    def _capture(self, channel: _Channel, raw: bytes, final: bool = False) -> None:
        text = channel.decoder.decode(raw, final=final)
        with self.lock:
            active = self.active
        if text and active and self.capture._capturing:
            self.capture._output(channel.stream, text, self.thread_id, ("mirror",))

    def _unexpected(self, channel: _Channel, data: bytes) -> bytes:
        """The part of ``data`` that did not come through the proxies (best effort, exact bytes).

        The forwarded stream interleaves whole ``write()`` calls on the fds: the bytes the
        proxies registered (in order, though Python's buffering regroups them) and raw
        writes. Matching bytes are consumed from ``expected``; the rest is raw.
        """
        with self.lock:
            expected = channel.expected
            raw = bytearray()
            buf, channel.held = channel.held + data, b""
            while buf:
                if not expected:
                    raw += buf
                    break
                first_write = channel.writes[0] if channel.writes else len(expected)
                matched = _common_prefix(buf, expected)
                if matched and matched >= min(first_write, len(expected), _SURE_MATCH):
                    _consume(channel, matched)  # aligned on a whole proxy write: ours
                    buf = buf[matched:]
                    continue
                if matched == len(buf):  # could be the start of a proxy write: wait
                    channel.held = buf
                    break
                need = min(max(first_write, 4), len(expected))
                index = _match_at(buf, expected, need, start=1)
                if index < 0 and _resync(channel, buf):
                    continue
                if index < 0:
                    raw += buf
                    break
                raw += buf[:index]
                buf = buf[index:]
                matched = _common_prefix(buf, expected)
                if matched < need:  # the match runs to the end of what we have: wait
                    channel.held = buf
                    break
                _consume(channel, matched)
                buf = buf[matched:]
            return bytes(raw)


def _common_prefix(a: bytes, b: bytearray) -> int:
    """Length of the common beginning of ``a`` and ``b`` (binary search on C comparisons)."""
    low, high = 0, min(len(a), len(b))
    if a[:high] == b[:high]:
        return high
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _match_at(buf: bytes, expected: bytearray, need: int, start: int = 0) -> int:
    """First index where ``buf`` goes on as ``expected`` begins, for ``need`` bytes or to its end.

    ``need`` covers the first pending proxy write (at least 4 bytes), so that a lone
    ``"\n"`` in raw output is not taken for the newline ``print`` writes separately.
    """
    first = expected[0]
    index = buf.find(first, start)
    while index >= 0:
        length = min(need, len(buf) - index)
        if buf[index : index + length] == expected[:length]:
            return index
        index = buf.find(first, index + 1)
    return -1


def _consume(channel: _Channel, count: int) -> None:
    del channel.expected[:count]
    writes = channel.writes
    while count and writes:
        if writes[0] <= count:
            count -= writes.popleft()
        else:
            writes[0] -= count
            count = 0


def _resync(channel: _Channel, buf: bytes) -> bool:
    """Drop proxy writes that never reached the fd (the write failed, the buffer was lost).

    Only when a later registered write is clearly present in ``buf`` (8 bytes or more), so
    that raw output that merely resembles it does not throw the bookkeeping off.
    """
    offset = 0
    for skipped, size in enumerate(itertools.islice(channel.writes, _SEARCH_AHEAD)):
        offset += size
        rest = channel.expected[offset : offset + 64]
        if len(rest) < 8:
            return False
        if bytes(rest) in buf:
            _consume(channel, offset)
            log.debug("fd mirror: %d proxy writes never reached the fd", skipped + 1)
            return True
    return False


def _fileno(stream: object) -> int | None:
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
    except Exception:
        return None
    return fd if isinstance(fd, int) else None


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _open_channels() -> list[_Channel]:
    """A pipe (or raw pty) per distinct target of fds 1 and 2."""
    targets: dict[tuple[int, int], list[int]] = {}
    for fd in (1, 2):
        try:
            targets.setdefault(_identity(fd), []).append(fd)
        except OSError:
            continue  # closed: nothing to mirror
    channels: list[_Channel] = []
    try:
        for fds in targets.values():
            stream = "stdout" if fds[0] == 1 else "stderr"
            saved = {fd: os.dup(fd) for fd in fds}
            if os.isatty(fds[0]):
                reader, writer = _raw_pty(fds[0])
            else:
                reader, writer = os.pipe()
            channels.append(_Channel(stream, tuple(fds), saved, reader, writer))
    except Exception:
        _close_channels(channels, -1)
        raise
    return channels


def _raw_pty(like: int) -> tuple[int, int]:
    """A pty pair whose slave passes bytes through untranslated, sized like terminal ``like``."""
    import fcntl
    import termios
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    with contextlib.suppress(OSError):
        size = fcntl.ioctl(like, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
    return master, slave


def _spawn_forwarder(channels: list[_Channel]) -> int:
    """Start the forwarding process; returns our end of the back channel."""
    back_read, back_write = os.pipe()
    with contextlib.suppress(Exception):
        import fcntl

        fcntl.fcntl(back_write, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    args = [str(back_write)]
    fds = [back_write]
    for channel in channels:
        terminal = channel.saved[channel.fds[0]]
        args += [str(channel.reader), str(terminal), str(_TAGS[channel.stream])]
        fds += [channel.reader, terminal]
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", io_forwarder.__file__, *args],
            pass_fds=fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        status = process.wait(timeout=60)  # the intermediate exits as soon as it has forked
    except BaseException:
        os.close(back_read)
        raise
    finally:
        os.close(back_write)
    if status != 0:
        os.close(back_read)
        raise enverr(ErrorCode.IO, f"the fd forwarding process failed to start (status {status})")
    for channel in channels:
        os.close(channel.reader)
        channel.reader = -1
    return back_read


def _redirect(capture: IOCapture, channels: list[_Channel]) -> None:
    """Point fds 1/2 at the channels (after flushing what Python still buffers for them)."""
    _flush_originals(capture)
    for channel in channels:
        for fd in channel.fds:
            os.dup2(channel.writer, fd)
        channel.identity = _identity(channel.fds[0])
        os.close(channel.writer)
        channel.writer = -1


def _flush_originals(capture: IOCapture) -> None:
    """Push what Python still buffers for fds 1/2 out before they are switched."""
    for name in ("stdout", "stderr"):
        flush = getattr(capture.original(name), "flush", None)
        if flush is not None:
            with contextlib.suppress(Exception):
                flush()


def _close_channels(channels: list[_Channel], back: int) -> None:
    """Undo a half-done set-up (fds 1/2 are only touched by :func:`_redirect`, last)."""
    for channel in channels:
        for fd in (channel.reader, channel.writer, *channel.saved.values()):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
    if back >= 0:
        with contextlib.suppress(OSError):
            os.close(back)
