"""recorder-runtime: record a Python program into a CodeTracer trace.

The command line (``python -m recorder_runtime SCRIPT``) and this API share one
session implementation. Public API::

    import recorder_runtime as rr

    with rr.trace("trace-out"):
        work()

Names are loaded on first use so that importing one submodule (the CLI, the
encoder) does not import the whole recorder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "start": "api",
    "stop": "api",
    "flush": "api",
    "is_tracing": "api",
    "trace": "api",
    "configure_policy": "policy",
    "policy_snapshot": "policy",
    "TraceSession": "session",
    "FinishReport": "session",
}
_ERRORS = ("RecorderError", "UsageError", "EnvironmentError", "TargetError", "InternalError")

__all__ = [
    "EnvironmentError",
    "FinishReport",
    "InternalError",
    "RecorderError",
    "TargetError",
    "TraceSession",
    "UsageError",
    "__version__",
    "configure_policy",
    "flush",
    "is_tracing",
    "policy_snapshot",
    "start",
    "stop",
    "trace",
]

if TYPE_CHECKING:
    from recorder_errors import (
        EnvironmentError,
        InternalError,
        RecorderError,
        TargetError,
        UsageError,
    )

    from .api import flush, is_tracing, start, stop, trace
    from .policy import configure_policy, policy_snapshot
    from .session import FinishReport, TraceSession


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    if name in _ERRORS:
        return getattr(importlib.import_module("recorder_errors"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
