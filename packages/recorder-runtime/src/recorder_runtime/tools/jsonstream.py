"""Incremental reader of one JSON array: ``trace.json`` event by event, in bounded memory.

Why not ``json.load``: a trace can be larger than memory (a long loop writes hundreds of
megabytes), and the writer emits one compact array with no newlines (``writer.py``), so
line-by-line reading is not possible either. The reader keeps a sliding text buffer and lets
the C scanner of ``json.JSONDecoder.raw_decode`` decode one element at a time; only the
current element and one read chunk are ever held.

Telling "the element continues in the next chunk" from "the element is malformed": a
truncated element makes the scanner fail at (or a few characters before) the end of the
buffer, or inside a string that is still open; any other failure is a syntax error in the
file, reported at once with its byte-exact character offset. An element longer than
``max_element`` characters is refused (a corrupt file must not make the reader read it all).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from recorder_errors import ErrorCode, RecorderError, usage

__all__ = ["DEFAULT_CHUNK", "MAX_ELEMENT", "iter_array"]

DEFAULT_CHUNK = 1 << 20
MAX_ELEMENT = 256 << 20
# A scanner failure this close to the end of the buffer may be a cut element (a cut
# ``\uXXXX`` escape is reported at its backslash, up to 6 characters back).
_END_SLACK = 16
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; the trace's readers reject them, so does this one."""
    raise usage(ErrorCode.INVALID_ARGUMENT, f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class _Buffer:
    """The unread part of the stream: ``text[pos:]``, refilled one chunk at a time."""

    def __init__(self, stream: TextIO, chunk: int, name: str) -> None:
        self.stream = stream
        self.chunk = chunk
        self.name = name
        self.text = ""
        self.pos = 0
        self.consumed = 0  # characters dropped from the front of ``text`` so far
        self.eof = False

    def fill(self) -> bool:
        """Read one more chunk (dropping what was consumed); False at end of file."""
        if self.eof:
            return False
        data = self.stream.read(self.chunk)
        if not data:
            self.eof = True
            return False
        self.consumed += self.pos
        self.text = self.text[self.pos :] + data
        self.pos = 0
        return True

    def skip_whitespace(self) -> str:
        """The next significant character ("" at end of file), without consuming it."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def offset(self) -> int:
        return self.consumed + self.pos

    def error(self, message: str, offset: int | None = None) -> RecorderError:
        where = self.offset() if offset is None else offset
        return usage(
            ErrorCode.INVALID_ARGUMENT,
            f"{self.name} is not a valid trace: {message} (at character {where})",
            path=self.name,
            offset=where,
        )


def iter_array(
    stream: TextIO,
    *,
    name: str = "trace.json",
    chunk: int = DEFAULT_CHUNK,
    max_element: int = MAX_ELEMENT,
) -> Iterator[Any]:
    """Yield the elements of the JSON array in ``stream`` one by one.

    Malformed or truncated input raises a classified usage error (``ERR_INVALID_ARGUMENT``)
    naming ``name`` and the character offset; the elements before it have been yielded.
    """
    buf = _Buffer(stream, max(1, chunk), name)
    if buf.skip_whitespace() != "[":
        raise buf.error("it does not start with '['")
    buf.pos += 1
    if buf.skip_whitespace() == "]":
        buf.pos += 1
        _expect_end(buf)
        return
    while True:
        yield _element(buf, max_element)
        following = buf.skip_whitespace()
        if following == ",":
            buf.pos += 1
            continue
        if following == "]":
            buf.pos += 1
            _expect_end(buf)
            return
        if following == "":
            raise buf.error("the file ends inside the array (truncated)")
        raise buf.error(f"expected ',' or ']' after an element, found {following!r}")


def _element(buf: _Buffer, max_element: int) -> Any:
    """Decode the element at the buffer's position, reading more text while it is cut."""
    if buf.skip_whitespace() == "":
        raise buf.error("the file ends inside the array (truncated)")
    while True:
        try:
            value, end = _DECODER.raw_decode(buf.text, buf.pos)
        except json.JSONDecodeError as exc:
            cut = exc.pos >= len(buf.text) - _END_SLACK or exc.msg.startswith("Unterminated")
            if not cut:
                raise buf.error(exc.msg, buf.consumed + exc.pos) from None
            if len(buf.text) - buf.pos > max_element:
                raise buf.error(f"an element is longer than {max_element} characters") from None
            if not buf.fill():
                raise buf.error(f"the file ends inside an element ({exc.msg})") from None
            continue
        except RecorderError as exc:  # NaN / Infinity (_reject_constant)
            raise buf.error(exc.message) from None
        except ValueError as exc:  # a number too long to convert
            raise buf.error(str(exc)) from None
        except RecursionError:
            raise buf.error("an element is nested too deeply") from None
        if end == len(buf.text) and buf.fill():
            continue  # a bare number may go on in the next chunk: decode it again, whole
        buf.pos = end
        return value


def _expect_end(buf: _Buffer) -> None:
    if buf.skip_whitespace() != "":
        raise buf.error("unexpected data after the closing ']'")
