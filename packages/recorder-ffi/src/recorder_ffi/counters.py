"""Counters the boundary guard keeps; they end up in the trace metadata.

They answer "did anything go wrong while recording, and how often?" without
reading logs: a trace whose metadata says ``callbacks_failed: 0`` and
``dropped_events: 0`` is known to hold every event the program produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GuardCounters"]


@dataclass
class GuardCounters:
    """Failure bookkeeping of one :class:`~recorder_ffi.BoundaryGuard`.

    The guard mutates these under its own lock, and only on failure paths,
    so reading them costs the hot path nothing.

    - ``callbacks_failed``: interpreter callbacks that raised (any policy).
    - ``entry_point_failures``: public API calls that failed unexpectedly
      while this guard was active.
    - ``detaches``: how many times the tracer was detached, by reason
      (for example ``"callback_failed"``).
    - ``dropped_events``: events skipped without detaching, because the
      program itself was at its recursion limit when the callback ran.
    """

    callbacks_failed: int = 0
    entry_point_failures: int = 0
    detaches: dict[str, int] = field(default_factory=dict)
    dropped_events: int = 0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready snapshot (the ``detaches`` dict is copied)."""
        return {
            "callbacks_failed": self.callbacks_failed,
            "entry_point_failures": self.entry_point_failures,
            "detaches": dict(self.detaches),
            "dropped_events": self.dropped_events,
        }
