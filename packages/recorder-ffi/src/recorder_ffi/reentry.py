"""Which threads are running recorder code outside an interpreter callback.

``sys.monitoring`` never delivers events for code that runs inside one of our
callbacks (fact M3), and ``sys.settrace`` does not call the trace function
again while it is running on the same thread, so a callback cannot recurse
through the interpreter. Recorder code can still run *outside* a callback
while a tracer is live: a public API call such as ``stop()``, or the stdout
proxy the program writes through. Under ``sys.settrace`` those frames would be
traced like the program's own. Entry points (and the runtime, with
:func:`inside`) mark the thread for the duration; settrace callbacks built with
``guard_callback(..., exclusive=True)`` drop events from a marked thread.

The mark is a process-wide set of thread idents rather than a
``threading.local``: the hot-path check is ``if busy and get_ident() in busy``,
which costs one truthiness test while no thread is in recorder code (the
usual case), where a ``threading.local`` attribute read costs ~50 ns per
event (bench/guard_overhead.py). Each thread only adds and removes its own
ident, so a thread's view of its own membership is always exact.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["inside", "is_inside"]

#: Idents of the threads currently running recorder code outside a callback.
busy: set[int] = set()
get_ident = threading.get_ident


def is_inside() -> bool:
    """True while the current thread is running recorder code (see :func:`inside`)."""
    return bool(busy) and get_ident() in busy


def enter() -> bool:
    """Mark the current thread; returns False if it was already marked (nested)."""
    ident = get_ident()
    if ident in busy:
        return False
    busy.add(ident)
    return True


def leave() -> None:
    """Unmark the current thread (only call after :func:`enter` returned True)."""
    busy.discard(get_ident())


@contextmanager
def inside() -> Iterator[None]:
    """Mark the current thread as running recorder code for the block.

    Nests: only the outermost block unmarks the thread on exit.
    """
    entered = enter()
    try:
        yield
    finally:
        if entered:
            leave()
