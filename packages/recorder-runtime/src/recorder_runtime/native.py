"""Which hot path records the LINE events: the C accelerator or the Python reference.

The optional package ``recorder-speedups`` (``recorder-runtime[speedups]``) implements
:meth:`EventRecorder.on_line <recorder_runtime.recorder.EventRecorder.on_line>` in C and
produces exactly the same pieces; the Python method stays the reference and takes every case
the C code does not handle (docs/adr/0015-native-accelerator.md). The policy field
``native`` chooses: ``auto`` uses the accelerator when it is importable, ``on`` requires it
(``ERR_NATIVE_UNAVAILABLE`` otherwise), ``off`` never uses it.

This module is the only place that imports ``recorder_speedups``; the runtime itself stays
pure Python and works without it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder_errors import ErrorCode, usage

from . import recorder as _recorder

__all__ = ["NATIVE_MODES", "NativeLine", "accelerator", "bind_native", "select_native"]

NATIVE_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class NativeLine:
    """The C event handlers bound to one recorder.

    ``on_line``, ``on_start`` and ``on_return`` replace the ``EventRecorder`` methods of the
    same names (``on_return`` also ``on_yield``; ``on_unwind`` calls ``on_return``) for both
    backends, same arguments;
    ``line`` is the ``sys.monitoring`` LINE callback (``code, lineno``), registered instead of
    the monitoring backend's Python closure.
    """

    on_line: Callable[..., Any]
    on_start: Callable[..., Any]
    on_return: Callable[..., Any]
    line: Callable[..., Any]


def accelerator() -> tuple[type[Any] | None, str | None]:
    """The C ``LineRecorder`` type (``None`` if unavailable) and why it is unavailable."""
    try:
        import recorder_speedups
    except ImportError as exc:
        return None, f"recorder-speedups is not installed ({exc})"
    cls = recorder_speedups.line_recorder_class()
    return cls, recorder_speedups.unavailable_reason()


def select_native(mode: str) -> type[Any] | None:
    """The accelerator type to use under policy ``mode``, or ``None`` for the Python path.

    ``on`` without an importable accelerator is the user's mistake to correct (install
    ``recorder-runtime[speedups]`` with a C compiler, or ask for ``auto``/``off``).
    """
    if mode not in NATIVE_MODES:
        raise usage(
            ErrorCode.INVALID_POLICY_VALUE,
            f"invalid native mode {mode!r} (expected auto, on or off)",
            value=str(mode),
        )
    if mode == "off":
        return None
    cls, reason = accelerator()
    if cls is None and mode == "on":
        raise usage(
            ErrorCode.NATIVE_UNAVAILABLE,
            f"the native accelerator was required (native = on) but is not available: {reason}",
            hint='pip install "recorder-runtime[speedups]" (needs a C compiler), '
            "or use --native auto/off",
        )
    return cls


def bind_native(cls: type[Any], recorder: _recorder.EventRecorder) -> NativeLine:
    """Bind the accelerator to ``recorder`` and make its handlers the recorder's.

    The instance attribute shadows the method for every caller (the settrace backend looks
    ``on_line`` up on the recorder); the Python method stays reachable as the class's, and
    the C code calls it for every case it does not handle.
    """
    disable: object = None
    if sys.version_info >= (3, 12):
        disable = sys.monitoring.DISABLE
    reference = _recorder.EventRecorder
    native = cls(
        recorder,
        reference.on_line,
        _recorder._MISSING,
        disable,
        reference.on_return,
        reference.on_start,
    )
    bound = NativeLine(
        on_line=native.on_line,
        on_start=native.on_start,
        on_return=native.on_return,
        line=native.line,
    )
    # Instance attributes on purpose (noqa B010: mypy refuses assigning to a method).
    setattr(recorder, "on_line", bound.on_line)  # noqa: B010
    setattr(recorder, "on_start", bound.on_start)  # noqa: B010
    setattr(recorder, "on_return", bound.on_return)  # noqa: B010
    setattr(recorder, "on_yield", bound.on_return)  # noqa: B010
    return bound
