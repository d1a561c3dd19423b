"""A per-thread "recorder code is running" flag.

``sys.monitoring`` never delivers events for code that runs inside one of our
callbacks (fact M3), and ``sys.settrace`` does not call the trace function
while it is already running on the same thread. Recorder code can still run
*outside* a callback while a tracer is live: a public API call such as
``stop()``, or the stdout proxy the program writes through. Under
``sys.settrace`` those frames would be traced like the program's own. The
settrace backend therefore checks this flag (through guarded callbacks built
with ``exclusive=True``) and drops events that arrive while the flag is set;
entry points and the guarded callbacks themselves set it.

The monitoring hot path does not consult the flag: the runtime filters its own
code objects once per code object instead, which is cheaper per event.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["inside", "is_inside"]


class _ThreadState(threading.local):
    """Per-thread state; the class attribute is the default for new threads."""

    inside: bool = False


_state = _ThreadState()


def is_inside() -> bool:
    """True while the current thread is running recorder code."""
    return _state.inside


@contextmanager
def inside() -> Iterator[None]:
    """Mark the current thread as running recorder code for the block.

    Nests: the previous value is restored on exit, so an entry point that
    calls another entry point does not clear the flag early.
    """
    state = _state
    previous = state.inside
    state.inside = True
    try:
        yield
    finally:
        state.inside = previous
