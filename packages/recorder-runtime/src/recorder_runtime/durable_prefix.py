"""Where a JSON event stream may be cut: the longest complete prefix after a full disk.

WHY a module of its own: when a write fails with ``ENOSPC``/``EDQUOT``/``EFBIG`` the user who
asked for ``--keep-partial-trace`` must get what was recorded, not nothing; but a reader must
be able to parse every byte kept. The writer therefore cuts the file back to the end of the
last complete *event group* that fits together with the records that close it (one
``Return`` per open call and the closing bracket). This module holds that bookkeeping, apart
from the writer, so that it can follow the event stream when the writer is split into a
format-independent stream and sinks.

Event groups are what the recorder hands the writer in one ``extend`` call, so threads never
interleave inside one (``recorder.py``):

* a line: ``Event* Step Value*``;
* a call: ``Event* Value^a Step Call`` (``a`` = the number of arguments of the ``Call``);
* a return: ``Event* Return``; a lone ``Call`` (the top level) or ``Event+`` (a drain);
* definitions (``Path``, ``Function``, ``VariableName``, ``Type``) stand alone between groups.

A flush always writes whole groups, so the start of every chunk is a group boundary; inside
the chunk that failed, boundaries are found from the shapes above. Anything unexpected stops
the scan: a shorter prefix is kept rather than a wrong one.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DISK_FULL_ERRNOS",
    "SIDE_FILE_RESERVE",
    "Cut",
    "DurablePoint",
    "count_kind",
    "event_group_ends",
    "longest_cut",
    "side_file_reserve",
]

#: errno values of a write that found no room: the file system is full, the quota is
#: exhausted, or the file reached its size limit (``ulimit -f``).
DISK_FULL_ERRNOS: Final = frozenset(
    n for n in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if n is not None
)
#: Room kept free for ``trace_metadata.json`` and ``trace_paths.json`` when the file system
#: (not just the file) is full; the paths file's own size is added to it.
SIDE_FILE_RESERVE: Final = 16 * 1024

_DEFINITIONS: Final = ("Path", "Function", "VariableName", "Type")


def _kind(event: str) -> str:
    """``Step``, ``Value``, ``Call``… from the event's text (``{"Step":{…}}``)."""
    end = event.find('"', 2)
    return event[2:end] if event.startswith('{"') and end > 2 else ""


def _call_arity(event: str) -> int:
    """How many arguments a ``Call`` event lists (their ``Value`` events precede it)."""
    try:
        return len(json.loads(event)["Call"]["args"])
    except (ValueError, KeyError, TypeError):
        return -1


def event_group_ends(events: Sequence[str]) -> list[int]:
    """Every ``p`` (``0 < p <= len(events)``) such that ``events[:p]`` ends a complete group.

    ``events`` start at a group boundary (the start of a flushed chunk).
    """
    kinds = [_kind(event) for event in events]
    n = len(kinds)
    ends: list[int] = []
    i = 0
    while i < n:
        if kinds[i] in _DEFINITIONS:
            i += 1
            ends.append(i)
            continue
        j = i
        while j < n and kinds[j] == "Event":
            j += 1
        if j == n or kinds[j] in _DEFINITIONS:  # output drained on its own
            ends.append(j)
            i = j
            continue
        end = _group_end(events, kinds, j)
        if end < 0:
            break
        ends.append(end)
        i = end
    return ends


def _group_end(events: Sequence[str], kinds: Sequence[str], j: int) -> int:
    """The end of the group whose first non-IO event is ``events[j]``; -1 if unrecognised."""
    n = len(kinds)
    kind = kinds[j]
    if kind in ("Return", "Call"):
        return j + 1
    if kind == "Value":  # the arguments of a call: Value^a Step Call
        m = j
        while m < n and kinds[m] == "Value":
            m += 1
        call = m + 1 < n and kinds[m] == "Step" and kinds[m + 1] == "Call"
        return m + 2 if call and _call_arity(events[m + 1]) == m - j else -1
    if kind != "Step":
        return -1
    if j + 1 < n and kinds[j + 1] == "Call":  # a call without arguments
        return j + 2
    m = j + 1
    while m < n and kinds[m] == "Value":
        m += 1
    if m + 1 < n and kinds[m] == "Step" and kinds[m + 1] == "Call":
        arity = _call_arity(events[m + 1])
        if arity < 0 or m - arity < j + 1:
            return -1
        m -= arity  # the last Values are the next call's arguments
    return m


@dataclass(frozen=True)
class DurablePoint:
    """The stream as it stands on disk before the chunk that failed: all of it is whole."""

    offset: int  # bytes in the file (the opening bracket included)
    open_calls: int  # Calls minus Returns written
    paths: int  # Path events written
    types: int  # Type events written
    events: int  # events written


@dataclass(frozen=True)
class Cut:
    """Where to cut the file, and what the kept prefix holds."""

    offset: int
    open_calls: int
    paths: int
    events: int
    closing: bytes  # the records that end the stream there


def longest_cut(
    point: DurablePoint,
    chunk: Sequence[str],
    *,
    capacity: int,
    reserve: int,
    close_call: str,
) -> Cut | None:
    """The longest complete prefix that fits in ``capacity`` bytes with its closing records.

    ``chunk`` is the list of events whose write failed, ``close_call`` the ``Return`` event
    that closes one open call. ``reserve`` bytes stay free for the side files. None when not
    even the stream's opening events fit (then no trace is kept).
    """
    ends = event_group_ends(chunk)
    lengths = [len(event.encode("utf-8", "backslashreplace")) for event in chunk]
    separator = 1 if point.events else 0  # the comma before the chunk's first event
    best: Cut | None = None
    candidates = [0, *ends]
    size = calls = paths = types = 0
    done = 0
    for p in candidates:
        for event, length in zip(chunk[done:p], lengths[done:p], strict=True):
            size += length + (1 if done or separator else 0)
            kind = _kind(event)
            calls += kind == "Call"
            calls -= kind == "Return"
            paths += kind == "Path"
            types += kind == "Type"
            done += 1
        events = point.events + p
        open_calls = point.open_calls + calls
        if events == 0 or point.types + types == 0 or open_calls < 0:
            continue  # nothing recorded yet, or the None type closing Returns need is missing
        closing = _closing(open_calls, close_call)
        offset = point.offset + size
        if offset + len(closing) + reserve <= capacity:
            best = Cut(offset, open_calls, point.paths + paths, events, closing)
    return best


def _closing(open_calls: int, close_call: str) -> bytes:
    """A ``Return`` for every open call, then the closing bracket of the array."""
    return (("," + close_call) * open_calls + "]").encode("ascii")


def side_file_reserve(errno_: int, paths: Sequence[str]) -> int:
    """Bytes to leave free for the side files: none when only the file hit its size limit."""
    if errno_ == errno.EFBIG:
        return 0
    return SIDE_FILE_RESERVE + sum(len(path) + 4 for path in paths)


def count_kind(events: Sequence[str], kind: str) -> int:
    """How many of ``events`` are ``kind`` events (``Path``, ``Type``…)."""
    return sum(1 for event in events if _kind(event) == kind)
