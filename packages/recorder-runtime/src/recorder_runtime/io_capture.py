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
import contextlib
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from recorder_errors import ErrorCode, usage
from recorder_ffi import is_inside

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
        self._mirror: Any = None

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

    def uninstall(self) -> None:
        """Stop capturing and restore the original streams where our proxies are still in place.

        A stream the program replaced in the meantime is left alone: it is the program's.
        """
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
        """Run a capture step; capture problems are logged, never raised into the program."""
        try:
            if self._ct_capture._should_capture():
                action()
        except Exception:  # the program's write already happened; losing the copy is all
            log.debug("io capture failed on %s", self._ct_stream, exc_info=True)


class _OutputProxy(_Proxy):
    """``sys.stdout`` / ``sys.stderr``."""

    _ct_buffer: _BufferProxy | None = None

    def write(self, s: Any) -> Any:
        result = self._ct_wrapped.write(s)
        if isinstance(s, str):
            self._ct_record(lambda: self._ct_capture._output(self._ct_stream, s))
        return result

    def writelines(self, lines: Iterable[Any]) -> Any:
        items = list(lines)
        result = self._ct_wrapped.writelines(items)
        text = "".join(item for item in items if isinstance(item, str))
        self._ct_record(lambda: self._ct_capture._output(self._ct_stream, text))
        return result

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
