"""Shared fixtures: the tests import their helpers (scenarios, logrec) from this directory."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(autouse=True)
def untraced() -> Iterator[None]:
    """Each test starts and ends with no trace function anywhere.

    A test that installs a tracer cannot run under another one (a debugger,
    coverage's Python tracer): the backend would rightly refuse.
    """
    if sys.gettrace() is not None or threading.gettrace() is not None:
        pytest.skip("a trace function is already installed (debugger or coverage tracer)")
    yield
    leftover = sys.gettrace(), threading.gettrace()
    sys.settrace(None)
    threading.settrace(None)  # type: ignore[arg-type]
    assert leftover == (None, None), "a test left a trace function installed"
