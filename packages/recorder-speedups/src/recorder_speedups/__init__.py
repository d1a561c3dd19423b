"""recorder-speedups: the optional C accelerator of recorder-runtime's hot path.

The extension ``recorder_speedups._speedups`` is compiled when the package is installed on a
machine with a C compiler; without one the package installs anyway (the extension is declared
optional) and :data:`LineRecorder` is ``None``. recorder-runtime asks :func:`line_recorder_class`
and falls back to its pure-Python path, which stays the reference implementation
(docs/adr/0015-native-accelerator.md).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "line_recorder_class", "unavailable_reason"]

_REASON: str | None = None
try:
    from recorder_speedups._speedups import LineRecorder as _LineRecorder
except ImportError as exc:  # built without a compiler, or for another interpreter
    _LineRecorder = None  # type: ignore[assignment,misc]
    _REASON = f"the C extension recorder_speedups._speedups is not importable: {exc}"


def line_recorder_class() -> type[_LineRecorder] | None:
    """The C ``LineRecorder`` type, or ``None`` when the extension was not built."""
    return _LineRecorder


def unavailable_reason() -> str | None:
    """Why :func:`line_recorder_class` is ``None`` (``None`` when the extension is there)."""
    return _REASON
