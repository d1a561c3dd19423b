"""Failpoints: named places where a test can make the recorder fail on purpose.

The failure paths of a recorder are the ones nobody exercises by accident, so
they are tested by switching on *failpoints*: the environment variable
``RECORDER_FAILPOINTS`` holds a comma-separated list of names from
:data:`KNOWN_FAILPOINTS`, and each enabled point raises :class:`InjectedFailure`
when the recorder reaches it. The variable is read once, when a session
starts (:meth:`Failpoints.from_env`), and a disabled point costs nothing on the
hot path: callback wrappers are chosen when they are built, not per event.

A name may carry a ``:N`` suffix (``callback.line:3``): the point then stays
quiet for its first N-1 hits and fires from the N-th hit on. This is how a test
places a failure in the middle of a run instead of at the first event.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from recorder_errors import ErrorCode, usage

__all__ = [
    "CALLBACK_EVENTS",
    "ENV_VAR",
    "KNOWN_FAILPOINTS",
    "Failpoints",
    "InjectedFailure",
]

ENV_VAR = "RECORDER_FAILPOINTS"

#: The callback events a failpoint can target: the ``sys.monitoring`` events the
#: runtime registers, plus ``trace`` for the ``sys.settrace`` function.
CALLBACK_EVENTS: tuple[str, ...] = (
    "py_start",
    "py_resume",
    "py_return",
    "py_yield",
    "py_unwind",
    "py_throw",
    "line",
    "trace",
)

#: Every failpoint name the recorder knows, in documentation order.
KNOWN_FAILPOINTS: frozenset[str] = frozenset(
    (
        "session.start",
        "session.finish",
        "writer.write",
        "writer.commit",
        "encoder.encode",
        *(f"callback.{event}" for event in CALLBACK_EVENTS),
    )
)


class InjectedFailure(RuntimeError):
    """The exception an enabled failpoint raises.

    It is deliberately *not* a ``RecorderError``: it stands for an unexpected
    bug, so it must travel the same road a real bug would (conversion by the
    boundary guard into ``InternalError``). It is the only exception type
    outside ``recorder_errors`` that recorder code raises on purpose.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"injected failure at failpoint {name!r} ({ENV_VAR})")
        self.failpoint = name


@dataclass(frozen=True)
class Failpoints:
    """The set of enabled failpoints for one session (empty in production).

    ``thresholds`` maps each enabled name to the hit number from which it
    fires (1 = from the first hit). Instances are immutable as far as the
    configuration goes; only the hit counters (private) change.
    """

    thresholds: Mapping[str, int] = field(default_factory=dict)
    _hits: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Failpoints:
        """Read ``RECORDER_FAILPOINTS`` from ``environ`` (default ``os.environ``).

        Raises a ``UsageError`` (``ERR_INVALID_POLICY_VALUE``) naming the
        accepted points when a name is unknown or a ``:N`` suffix is not a
        positive integer: a misspelt failpoint silently doing nothing would
        make a failure-path test pass without testing anything.
        """
        env = os.environ if environ is None else environ
        return cls.parse(env.get(ENV_VAR, ""))

    @classmethod
    def parse(cls, spec: str) -> Failpoints:
        """Parse a comma-separated failpoint list (blank items are ignored)."""
        thresholds: dict[str, int] = {}
        for item in spec.split(","):
            item = item.strip()
            if item:
                name, threshold = _parse_item(item)
                thresholds[name] = threshold
        return cls(thresholds)

    @property
    def names(self) -> frozenset[str]:
        """The enabled failpoint names."""
        return frozenset(self.thresholds)

    def enabled(self, name: str) -> bool:
        """True when ``name`` is switched on (whatever its ``:N`` threshold)."""
        return name in self.thresholds

    def fire(self, name: str) -> None:
        """Raise :class:`InjectedFailure` if ``name`` is enabled and its threshold is reached.

        A no-op for a disabled point, so call sites may call it unconditionally
        outside hot paths.
        """
        threshold = self.thresholds.get(name)
        if threshold is None:
            return
        with self._lock:
            hits = self._hits.get(name, 0) + 1
            self._hits[name] = hits
        if hits >= threshold:
            raise InjectedFailure(name)

    def __bool__(self) -> bool:
        return bool(self.thresholds)

    def __hash__(self) -> int:
        # The generated hash would hash the thresholds dict and fail.
        return hash(frozenset(self.thresholds.items()))


def _parse_item(item: str) -> tuple[str, int]:
    """Split ``name[:N]`` and validate both parts."""
    name, sep, count = item.partition(":")
    name = name.strip()
    if name not in KNOWN_FAILPOINTS:
        raise usage(
            ErrorCode.INVALID_POLICY_VALUE,
            f"unknown failpoint {name!r} in {ENV_VAR}; accepted: "
            + ", ".join(sorted(KNOWN_FAILPOINTS)),
            variable=ENV_VAR,
            value=item,
            accepted=sorted(KNOWN_FAILPOINTS),
        )
    if not sep:
        return name, 1
    count = count.strip()
    if not (count.isascii() and count.isdigit()) or int(count) < 1:
        raise usage(
            ErrorCode.INVALID_POLICY_VALUE,
            f"failpoint {name!r} in {ENV_VAR} has an invalid hit number {count!r}; "
            "expected a positive integer (name:N)",
            variable=ENV_VAR,
            value=item,
        )
    return name, int(count)
