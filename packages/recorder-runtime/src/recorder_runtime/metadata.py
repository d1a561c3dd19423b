"""``trace_metadata.json`` and ``trace_paths.json``: content and safe writing.

WHY a module of its own: the metadata is the trace's completeness marker (it is committed
last) and the only place a reader learns that a trace is partial and why. Its shape is
therefore a contract: the three runtime_tracing keys (``workdir``, ``program``, ``args``), the
reference recorder's ``process_exit_status`` and ``recorder`` blocks, and ours: ``limits``,
``counters``, ``partial`` and ``partial_reason``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from recorder_errors import ErrorCode, bug, from_exception
from recorder_runtime.output import owned_fd
from recorder_runtime.writer import BoundOS as _os

__all__ = ["build_metadata", "dumps_compact", "write_json_file", "write_paths"]

_FLAGS = owned_fd.OPEN_FLAGS
_FILE_MODE = owned_fd.FILE_MODE
# Bound at import: the program may mock ``json.dumps`` and never restore it (F11).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)
_SURROGATE = re.compile("[\ud800-\udfff]")

_CORE_KEYS = frozenset(
    {
        "workdir",
        "program",
        "args",
        "process_exit_status",
        "recorder",
        "limits",
        "counters",
        "partial",
        "partial_reason",
    }
)


def build_metadata(
    *,
    workdir: str,
    program: str,
    args: Sequence[str],
    recorder_name: str,
    recorder_version: str,
    python_version: str,
    exit_status: Mapping[str, Any],
    limits: Mapping[str, Any],
    counters: Mapping[str, Any],
    partial: bool,
    partial_reason: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    backend: str = "sys.monitoring",
) -> dict[str, Any]:
    """The metadata object, keys in a fixed order.

    ``exit_status`` is ``{"code": int | None, "label": str | None}`` as the reference writes
    it. ``partial_reason`` (``{"error_code", "message"}``) is present only when ``partial`` is
    true. ``extra`` adds blocks such as ``trace_filter``; it may not replace a core key.
    """
    extra = dict(extra or {})
    clash = sorted(_CORE_KEYS.intersection(extra))
    if clash:
        raise bug(ErrorCode.UNKNOWN, "extra metadata would replace core keys", keys=",".join(clash))
    if partial_reason is not None and not partial:
        raise bug(ErrorCode.UNKNOWN, "partial_reason given for a complete trace")
    meta: dict[str, Any] = {
        "workdir": str(workdir),
        "program": str(program),
        "args": [str(a) for a in args],
        "process_exit_status": {
            "code": exit_status.get("code"),
            "label": exit_status.get("label"),
        },
        "recorder": {
            "name": recorder_name,
            "version": recorder_version,
            "target_script": str(program),
            "python": python_version,
            "backend": backend,
        },
        "limits": dict(limits),
        "counters": dict(counters),
        "partial": bool(partial),
    }
    if partial:
        reason = dict(partial_reason or {})
        meta["partial_reason"] = {
            **reason,
            "error_code": str(reason.get("error_code", ErrorCode.UNKNOWN.value)),
            "message": str(reason.get("message", "")),
        }
    meta.update(extra)
    return meta


def dumps_compact(obj: object) -> str:
    """Compact, ASCII-only JSON (serde-like: no spaces, no NaN).

    Strings follow the trace's one escaping rule (``encoder.json_string``): a lone surrogate
    (a file name or argument decoded with ``surrogateescape``) becomes the visible text
    ``\\udcff``, because serde_json, CodeTracer's reader, rejects a lone ``\\u`` escape. This
    also keeps ``trace_paths.json`` equal to the ``Path`` events.
    """
    return _ENCODER.encode(_visible_surrogates(obj))


def _visible_surrogates(obj: object) -> object:
    if isinstance(obj, str):
        if obj.isascii() or _SURROGATE.search(obj) is None:
            return obj
        return obj.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(obj, dict):
        return {_visible_surrogates(k): _visible_surrogates(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_visible_surrogates(v) for v in obj]
    return obj


def write_json_file(path: str, obj: object) -> None:
    """Create ``path`` exclusively (0600, never through a link), write ``obj``, fsync, close.

    Any failure is a classified error with ``path`` and ``op`` in its context, and the
    half-written file is removed.
    """
    try:
        data = dumps_compact(obj).encode("ascii")
    except (TypeError, ValueError) as exc:
        raise bug(ErrorCode.UNKNOWN, f"metadata is not JSON: {exc}", path=path) from exc
    _write_new_file(path, data)


def write_paths(path: str, paths: Sequence[str]) -> None:
    """``trace_paths.json``: the Path payloads in id order (the writer's ``paths``)."""
    write_json_file(path, list(paths))


def _write_new_file(path: str, data: bytes) -> None:
    op = "open"
    fd = -1
    try:
        fd = _os.open(path, _FLAGS, _FILE_MODE)
        op = "write"
        _os.fchmod(fd, _FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[_os.write(fd, view) :]
        op = "fsync"
        _os.fsync(fd)
        op = "close"
        fd, closing = -1, fd
        _os.close(closing)
    except OSError as exc:
        if fd >= 0:
            with contextlib.suppress(OSError):
                _os.close(fd)
        if op != "open":
            with contextlib.suppress(OSError):
                _os.unlink(path)
        raise from_exception(exc).with_context(path=path, op=op) from exc
