"""What the command line tells the user at the end of a run, besides failures.

One summary line says where the trace went and what it holds (format, backend, steps,
calls, size on disk, ``partial``; the failure line that follows says why); the JSON trailer
of ``--json-errors`` carries the same fields (:meth:`RunSummary.as_dict`). Warnings point at
runs that probably did not record what the user meant; each is one stderr line with a stable
code from :class:`WarningCode`, the one place where warning codes are defined (the README's
"The end of a run" section lists them).

Why here and not in the session: the session decides what is on disk; what to say about it,
and in which words, is the command line's business (the API returns a ``FinishReport``).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TRACE_FILES",
    "Destination",
    "RunNotes",
    "RunSummary",
    "WarningCode",
    "human_size",
    "look_at_destination",
    "no_steps_message",
    "trace_size",
    "warning_line",
]

#: Every file a trace directory may hold (staging.py's TRACE_FILES).
TRACE_FILES = ("trace.json", "trace.bin", "trace_paths.json", "trace_metadata.json")


class WarningCode(str, enum.Enum):
    """Stable warning codes (never renamed within a minor version; new ones may be added)."""

    NO_STEPS = "WARN_NO_STEPS"
    TRACE_OVERWRITTEN = "WARN_TRACE_OVERWRITTEN"
    DIR_NOT_EMPTY = "WARN_DIR_NOT_EMPTY"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    WarningCode.NO_STEPS: "the trace holds no line step: the activation path was never reached, "
    "or the trace filter excluded everything that ran",
    WarningCode.TRACE_OVERWRITTEN: "the trace directory held a trace, which the new one replaced",
    WarningCode.DIR_NOT_EMPTY: "the trace directory held other files, which are left as they "
    "were, beside the trace",
}


def warning_line(code: WarningCode, message: str) -> str:
    """The one stderr line of a warning: ``recorder: warning: WARN_CODE: message``."""
    return f"recorder: warning: {code.value}: {message}"


# --- the destination, looked at before the run -------------------------------------------


@dataclass(frozen=True)
class Destination:
    """What the trace directory held before the run: ``new``, ``empty``, ``trace``, ``other``."""

    path: str
    kind: str
    others: int = 0  # entries that are not trace files

    def warnings(self) -> list[str]:
        """The warning lines due once a trace was written here."""
        if self.kind == "trace":
            return [
                warning_line(
                    WarningCode.TRACE_OVERWRITTEN,
                    f"replaced the trace that was already in {self.path}",
                )
            ]
        if self.kind == "other":
            entries = (
                "entry that is not a trace file"
                if self.others == 1
                else ("entries that are not trace files")
            )
            return [
                warning_line(
                    WarningCode.DIR_NOT_EMPTY,
                    f"{self.path} already held {self.others} {entries}; "
                    "the trace was written beside them",
                )
            ]
        return []


def look_at_destination(trace_dir: str) -> Destination:
    """Classify ``trace_dir`` before recording; never raises (the session validates it)."""
    try:
        names = os.listdir(trace_dir)
    except OSError:
        return Destination(trace_dir, "new")
    if not names:
        return Destination(trace_dir, "empty")
    others = sum(1 for name in names if name not in TRACE_FILES)
    if others < len(names):
        return Destination(trace_dir, "trace", others)
    return Destination(trace_dir, "other", others)


def no_steps_message(
    *, activated: bool, activation_path: str | None, explicit_activation: bool
) -> str:
    """The ``WARN_NO_STEPS`` line, with the likely cause."""
    if not activated and explicit_activation:
        cause = f"the activation path {activation_path} was never reached (check --activation-path)"
    elif not activated:
        cause = (
            f"{activation_path} is excluded by the trace filter (the default filter skips "
            "the standard library and installed packages; see --trace-filter)"
        )
    else:
        cause = "the trace filter excluded every line that ran (see --trace-filter)"
    return warning_line(WarningCode.NO_STEPS, f"no steps were recorded: {cause}")


# --- the summary line -----------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """What a finished run wrote (the summary line and the trailer's ``trace`` object)."""

    trace_dir: str
    state: str  # "complete" | "partial"
    format: str
    backend: str
    steps: int
    calls: int
    size_bytes: int
    partial_reason: str | None = None

    @classmethod
    def of(
        cls,
        trace_dir: str,
        state: str,
        counters: Mapping[str, Any],
        *,
        format: str,
        backend: str,
        partial_reason: str | None,
    ) -> RunSummary:
        return cls(
            trace_dir=trace_dir,
            state=state,
            format=format,
            backend=backend,
            steps=_count(counters.get("steps")),
            calls=_count(counters.get("calls")),
            size_bytes=trace_size(trace_dir),
            partial_reason=partial_reason if state == "partial" else None,
        )

    def line(self) -> str:
        """``recorder: [partial ]trace written to DIR (json, monitoring, N steps, ...)``."""
        details = [
            self.format,
            self.backend,
            _plural(self.steps, "step"),
            _plural(self.calls, "call"),
            human_size(self.size_bytes),
        ]
        prefix = "recorder: trace written to"
        if self.state == "partial":  # why: the failure line that follows names the code
            prefix = "recorder: partial trace written to"
            details.append("partial")
        return f"{prefix} {self.trace_dir} ({', '.join(details)})"

    def as_dict(self) -> dict[str, Any]:
        """The same fields for the JSON trailer."""
        return {
            "trace_dir": self.trace_dir,
            "state": self.state,
            "format": self.format,
            "backend": self.backend,
            "steps": self.steps,
            "calls": self.calls,
            "size_bytes": self.size_bytes,
            "partial": self.state == "partial",
            "partial_reason": self.partial_reason,
        }


@dataclass(frozen=True)
class RunNotes:
    """What the command line knows before the run that the end-of-run lines need."""

    destination: Destination
    format: str
    activation_path: str | None
    explicit_activation: bool

    def summary(self, report: Any, session: Any) -> RunSummary | None:
        """The summary of a written trace (``None`` when nothing was written).

        ``report`` is the session's ``FinishReport`` and ``session`` the session; both are
        read through ``getattr``, so a stand-in session (tests) only needs what it has.
        """
        state = getattr(report, "state", "absent")
        if state not in ("complete", "partial"):
            return None
        error = getattr(report, "error", None)
        backend = getattr(getattr(session, "backend", None), "name", None)
        return RunSummary.of(
            getattr(report, "trace_dir", "") or self.destination.path,
            state,
            getattr(report, "counters", None) or {},
            format=self.format,
            backend=backend if isinstance(backend, str) else "unknown",
            partial_reason=getattr(getattr(error, "code", None), "value", None),
        )

    def warnings(self, report: Any, session: Any) -> list[str]:
        """The warning lines of a run that wrote a trace (none when nothing was written)."""
        if getattr(report, "state", "absent") not in ("complete", "partial"):
            return []
        lines = self.destination.warnings()
        counters = getattr(report, "counters", None) or {}
        # A failed run (partial) has its own line saying why recording stopped.
        if counters.get("steps", -1) == 0 and getattr(report, "error", None) is None:
            recorder = getattr(session, "recorder", None)
            lines.append(
                no_steps_message(
                    activated=bool(getattr(recorder, "activated", True)),
                    activation_path=self.activation_path,
                    explicit_activation=self.explicit_activation,
                )
            )
        return lines


def trace_size(trace_dir: str) -> int:
    """Bytes on disk of the trace files in ``trace_dir`` (other files are not the trace's)."""
    total = 0
    for name in TRACE_FILES:
        try:
            total += os.stat(os.path.join(trace_dir, name)).st_size
        except OSError:
            continue
    return total


def human_size(size: int) -> str:
    """``532 B``, ``18.2 KiB``, ``347.0 MiB``: one decimal from KiB up."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _count(value: object) -> int:
    return value if type(value) is int else 0
