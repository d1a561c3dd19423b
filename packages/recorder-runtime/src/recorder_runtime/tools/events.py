"""The event stream of a trace directory, as an iterator of decoded events, whatever the format.

Every consumer (``inspect`` today) reads events through :func:`open_events`, which yields
each event as its JSON form decodes it (``{"Step": {"path_id": 0, "line": 3}}``, or the bare
string ``"DropLastStep"``). ``trace.json`` is read incrementally (:mod:`.jsonstream`);
``trace.bin`` is read by the binary format's streaming reader
(``output/binary/reader.py``), which yields the same shapes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from recorder_errors import ErrorCode, RecorderError, from_exception, usage

from ..output.formats import FORMATS
from .jsonstream import DEFAULT_CHUNK, iter_array

__all__ = ["EVENT_FILES", "event_file", "open_events"]

#: Event-stream file name -> format name, in the order they are looked for (from the registry).
EVENT_FILES = {fmt.events_file: fmt.name for fmt in FORMATS.values()}


def event_file(trace_dir: str) -> tuple[str, str]:
    """``(path, format)`` of the event stream in ``trace_dir``; a usage error if there is none."""
    for name, fmt in EVENT_FILES.items():
        path = os.path.join(trace_dir, name)
        if os.path.isfile(path):
            return path, fmt
    raise usage(
        ErrorCode.INVALID_ARGUMENT,
        f"{trace_dir} holds no trace (neither trace.json nor trace.bin)",
        path=trace_dir,
        hint="pass the directory given to --trace-dir",
    )


def open_events(path: str, fmt: str, *, chunk: int = DEFAULT_CHUNK) -> Iterator[Any]:
    """Iterate the decoded events of the stream file ``path`` written in format ``fmt``."""
    if fmt == "binary":
        return _binary_events(path)
    return _json_events(path, chunk)


def _json_events(path: str, chunk: int) -> Iterator[Any]:
    try:
        with open(path, encoding="utf-8", errors="strict", newline="") as stream:
            yield from iter_array(stream, name=path, chunk=chunk)
    except RecorderError:
        raise
    except UnicodeDecodeError as exc:
        raise usage(
            ErrorCode.INVALID_ARGUMENT,
            f"{path} is not a valid trace: not UTF-8 text ({exc.reason})",
            path=path,
        ) from None
    except OSError as exc:
        raise from_exception(exc) from None


def _binary_events(path: str) -> Iterator[Any]:
    """``trace.bin`` through the binary format's own streaming reader (same event shapes)."""
    from ..output.binary.reader import iter_events

    return iter_events(path)
