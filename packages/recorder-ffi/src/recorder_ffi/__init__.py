"""recorder-ffi: the boundary between the traced program and the recorder.

Everything that crosses from the program or the interpreter into recorder code
goes through this package:

- :class:`BoundaryGuard` wraps interpreter callbacks (``sys.monitoring``
  callbacks, the ``sys.settrace`` function) and applies the
  ``on_recorder_error`` policy (``abort`` or ``disable``) when one fails;
- :func:`guard_entry_point` wraps the public API functions;
- :class:`Failpoints` (``RECORDER_FAILPOINTS``) makes named points fail on
  purpose, so the failure paths can be tested end to end;
- :mod:`recorder_ffi.reentry` keeps the per-thread "recorder code is running"
  flag the settrace backend needs.

Logging goes to the ``recorder.ffi`` logger only; importing the package puts a
``NullHandler`` on the ``recorder`` logger and never touches the root logger.
"""

from __future__ import annotations

import logging

from recorder_ffi.counters import GuardCounters
from recorder_ffi.entry import (
    GUARD_MARK,
    active_guard,
    entry_point_failure_count,
    guard_entry_point,
    is_guarded,
)
from recorder_ffi.failpoints import (
    CALLBACK_EVENTS,
    ENV_VAR,
    KNOWN_FAILPOINTS,
    Failpoints,
    InjectedFailure,
)
from recorder_ffi.guard import POLICIES, BoundaryGuard
from recorder_ffi.reentry import inside, is_inside

__version__ = "0.1.0"

__all__ = [
    "CALLBACK_EVENTS",
    "ENV_VAR",
    "GUARD_MARK",
    "KNOWN_FAILPOINTS",
    "POLICIES",
    "BoundaryGuard",
    "Failpoints",
    "GuardCounters",
    "InjectedFailure",
    "active_guard",
    "entry_point_failure_count",
    "guard_entry_point",
    "inside",
    "is_guarded",
    "is_inside",
]

logging.getLogger("recorder").addHandler(logging.NullHandler())
