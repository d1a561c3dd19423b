"""The registry of trace formats: the only place that names them and their event files.

The CLI (``--format``), the API (``start(format=...)``), the session, staging (which event
file a commit keeps) and the trace readers (``inspect``, ``convert``) all read this table,
so a new format is one entry here plus its writer and reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from recorder_errors import ErrorCode, RecorderError, usage

if TYPE_CHECKING:
    from ..writer import FailpointHook, TraceWriter

__all__ = [
    "DEFAULT_FORMAT",
    "EVENT_FILES",
    "FORMATS",
    "TraceFormat",
    "by_event_file",
    "lookup",
    "open_writer",
]


@dataclass(frozen=True)
class TraceFormat:
    """One trace format: its name, its event-stream file and what it is."""

    name: str
    events_file: str
    description: str


FORMATS: Final[dict[str, TraceFormat]] = {
    "json": TraceFormat(
        "json", "trace.json", "runtime_tracing JSON: one array of events (readable, large)"
    ),
    "binary": TraceFormat(
        "binary",
        "trace.bin",
        "CodeTracer Binary v1: CBOR events in seekable zstd (compact, what CodeTracer loads "
        "fastest)",
    ),
}
#: The format written when none is asked for.
DEFAULT_FORMAT: Final = "json"
#: Every event-stream file name, in the order readers look for them.
EVENT_FILES: Final[tuple[str, ...]] = tuple(f.events_file for f in FORMATS.values())


def lookup(name: str) -> TraceFormat:
    """The format called ``name`` (case and surrounding blanks ignored); a usage error naming
    the known formats otherwise."""
    found = FORMATS.get(name.strip().lower()) if type(name) is str else None
    if found is None:
        raise _unknown(name)
    return found


def open_writer(
    fmt: TraceFormat, events_path: str, failpoints: FailpointHook | None
) -> TraceWriter:
    """A new writer of ``fmt``'s event stream at ``events_path`` (its grammar included)."""
    if fmt.name == "binary":
        from .binary.writer import BinaryTraceWriter

        return BinaryTraceWriter(events_path, failpoints=failpoints)
    from ..writer import TraceWriter

    return TraceWriter(events_path, failpoints=failpoints)


def by_event_file(file_name: str) -> TraceFormat | None:
    """The format whose event stream is called ``file_name``, if any."""
    for fmt in FORMATS.values():
        if fmt.events_file == file_name:
            return fmt
    return None


def _unknown(name: object) -> RecorderError:
    known = ", ".join(FORMATS)
    return usage(
        ErrorCode.UNSUPPORTED_FORMAT,
        f"unknown trace format {name!r} (known: {known})",
        format=str(name),
        hint=f"use --format {' or --format '.join(FORMATS)}",
    )
