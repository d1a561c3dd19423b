"""The recorder's policy: one frozen object that says how a recording behaves.

Why one object: every decision a user can script (what to do when the
recorder fails, whether a trace is mandatory, where logs go, how much of each
value to capture, which backend to use) must be predictable and inspectable.
So the effective values are computed in one place, in one order, later wins:

    built-in defaults  <  CODETRACER_* environment  <  configure_policy(...)
                       <  explicit overrides (start(..., **policy), CLI flags)

Every value is validated wherever it comes from, and an invalid one is a
``UsageError`` with ``ERR_INVALID_POLICY_VALUE`` that names its source (the
environment variable, the flag or the API call) and the accepted values.
Nothing here runs at import time: a bad environment variable is reported when
a policy is resolved, never as an import failure (the reference's defect).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from recorder_errors import ErrorCode, UsageError, usage

__all__ = [
    "BACKENDS",
    "ENV_VARS",
    "IO_CAPTURE_MODES",
    "LOG_LEVELS",
    "ON_RECORDER_ERROR_VALUES",
    "Backend",
    "IoCapture",
    "LogLevel",
    "OnRecorderError",
    "Policy",
    "configure_policy",
    "parse_bool",
    "policy_snapshot",
    "reset_policy",
    "resolve_policy",
]

OnRecorderError = Literal["abort", "disable"]
IoCapture = Literal["off", "proxies", "proxies+fd"]
Backend = Literal["auto", "monitoring", "settrace"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]

ON_RECORDER_ERROR_VALUES: tuple[OnRecorderError, ...] = ("abort", "disable")
IO_CAPTURE_MODES: tuple[IoCapture, ...] = ("off", "proxies", "proxies+fd")
BACKENDS: tuple[Backend, ...] = ("auto", "monitoring", "settrace")
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error", "critical")

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})
_BOOL_ACCEPTED = "1, true, t, yes, y, on / 0, false, f, no, n, off"


@dataclass(frozen=True)
class Policy:
    """The effective policy of one recording (see the module docstring for precedence).

    ``max_depth``/``max_items``/``max_string_length`` are mirrored by the
    encoder's ``CaptureLimits``; ``trace_filter`` lists filter files in chain
    order (later files win), as given (the filter module resolves them).
    """

    on_recorder_error: OnRecorderError = "abort"
    require_trace: bool = False
    keep_partial_trace: bool = False
    log_level: LogLevel = "warning"
    log_file: str | None = None
    json_errors: bool = False
    propagate_script_exit: bool = False
    io_capture: IoCapture = "proxies"
    max_depth: int = 10
    max_items: int = 200
    max_string_length: int = 10000
    trace_filter: tuple[str, ...] = ()
    backend: Backend = "auto"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (``trace_filter`` as a list), for metadata and snapshots."""
        data = dataclasses.asdict(self)
        data["trace_filter"] = list(self.trace_filter)
        return data


#: Environment variable of each policy field.
ENV_VARS: Mapping[str, str] = {
    "on_recorder_error": "CODETRACER_ON_RECORDER_ERROR",
    "require_trace": "CODETRACER_REQUIRE_TRACE",
    "keep_partial_trace": "CODETRACER_KEEP_PARTIAL_TRACE",
    "log_level": "CODETRACER_LOG_LEVEL",
    "log_file": "CODETRACER_LOG_FILE",
    "json_errors": "CODETRACER_JSON_ERRORS",
    "propagate_script_exit": "CODETRACER_PROPAGATE_SCRIPT_EXIT",
    "io_capture": "CODETRACER_CAPTURE_IO",
    "trace_filter": "CODETRACER_TRACE_FILTER",
    "max_depth": "CODETRACER_MAX_DEPTH",
    "max_items": "CODETRACER_MAX_ITEMS",
    "max_string_length": "CODETRACER_MAX_STRING_LENGTH",
    "backend": "CODETRACER_BACKEND",
}

_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Policy))


# --- value parsers -----------------------------------------------------------
# Each parser takes the raw value (a string from the environment or a flag, or
# a typed value from the API) and the human name of its source, and returns
# the canonical value or raises ERR_INVALID_POLICY_VALUE.


def _invalid(source: str, value: object, accepted: str) -> UsageError:
    return usage(
        ErrorCode.INVALID_POLICY_VALUE,
        f"invalid value {value!r} for {source}; accepted: {accepted}",
        source=source,
        value=repr(value),
        accepted=accepted,
    )


def parse_bool(value: object, source: str) -> bool:
    """A boolean from ``True``/``False`` or the usual words (trimmed, case-insensitive)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _invalid(source, value, _BOOL_ACCEPTED)


def _choice(canonical: Iterable[str], aliases: Mapping[str, str] | None = None) -> _Parser:
    """A parser for a closed set of words; ``aliases`` map extra spellings to canonical ones."""
    values = tuple(canonical)
    table = {v: v for v in values} | dict(aliases or {})

    def parse(value: object, source: str) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in table:
                return table[word]
        raise _invalid(source, value, ", ".join(values))

    return parse


def _parse_io_capture(value: object, source: str) -> object:
    """``off|proxies|proxies+fd``, plus the reference recorder's spellings.

    The reference accepts ``0/off/false/disable/disabled/none``,
    ``1/on/true/enable/enabled`` and ``,``/``+``-separated tokens
    ``proxies|proxy`` and ``fd|mirror|fallback`` (fd implies proxies); we keep
    accepting them so existing environments do not break.
    """
    if isinstance(value, str):
        word = value.strip().lower()
        if word in {"0", "off", "false", "disable", "disabled", "none"}:
            return "off"
        if word in {"1", "on", "true", "enable", "enabled"}:
            return "proxies"
        tokens = [t.strip() for t in word.replace(",", "+").split("+")]
        if tokens and all(t in {"proxies", "proxy", "fd", "mirror", "fallback"} for t in tokens):
            has_fd = any(t in {"fd", "mirror", "fallback"} for t in tokens)
            return "proxies+fd" if has_fd else "proxies"
    raise _invalid(source, value, ", ".join(IO_CAPTURE_MODES))


def _parse_positive_int(value: object, source: str) -> object:
    accepted = "a positive integer"
    if isinstance(value, bool):
        raise _invalid(source, value, accepted)
    number: int
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value.strip(), 10)
        except ValueError:
            raise _invalid(source, value, accepted) from None
    else:
        raise _invalid(source, value, accepted)
    if number < 1:
        raise _invalid(source, value, accepted)
    return number


def _parse_log_file(value: object, source: str) -> object:
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, str):
            return text if text.strip() else None
    raise _invalid(source, value, "a file path")


def _parse_trace_filter(value: object, source: str) -> object:
    """Filter files: one string (``a.toml::b.toml``) or a sequence of them, in chain order."""
    accepted = "a path, 'a.toml::b.toml', or a list of paths"
    items: list[object]
    if isinstance(value, (str, os.PathLike)):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _invalid(source, value, accepted)
    paths: list[str] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise _invalid(source, value, accepted)
        text = os.fspath(item)
        if not isinstance(text, str):
            raise _invalid(source, value, accepted)
        paths.extend(part for part in text.split("::") if part.strip())
    return tuple(paths)


_Parser = Callable[[object, str], object]

_PARSERS: Mapping[str, _Parser] = {
    "on_recorder_error": _choice(ON_RECORDER_ERROR_VALUES),
    "require_trace": parse_bool,
    "keep_partial_trace": parse_bool,
    "log_level": _choice(LOG_LEVELS, {"warn": "warning", "fatal": "critical"}),
    "log_file": _parse_log_file,
    "json_errors": parse_bool,
    "propagate_script_exit": parse_bool,
    "io_capture": _parse_io_capture,
    "max_depth": _parse_positive_int,
    "max_items": _parse_positive_int,
    "max_string_length": _parse_positive_int,
    "trace_filter": _parse_trace_filter,
    "backend": _choice(BACKENDS),
}


def _parse_field(name: str, value: object, source: str) -> object:
    parser = _PARSERS.get(name)
    if parser is None:
        raise usage(
            ErrorCode.INVALID_POLICY_VALUE,
            f"unknown policy field {name!r} in {source}; known fields: {', '.join(_FIELDS)}",
            source=source,
            field=name,
        )
    return parser(value, source)


# --- layers ------------------------------------------------------------------

_lock = threading.Lock()
_configured: dict[str, object] = {}


def _from_environment(environ: Mapping[str, str]) -> dict[str, object]:
    """Values from ``CODETRACER_*`` variables; an empty or blank variable counts as unset."""
    values: dict[str, object] = {}
    for name, var in ENV_VARS.items():
        raw = environ.get(var)
        if raw is None or not raw.strip():
            continue
        values[name] = _parse_field(name, raw, f"environment variable {var}")
    return values


def _validated(fields: Mapping[str, object], source_of: Callable[[str], str]) -> dict[str, object]:
    """Parse every non-None value; all are checked before anything is applied."""
    return {
        name: _parse_field(name, value, source_of(name))
        for name, value in fields.items()
        if value is not None
    }


def configure_policy(
    *,
    on_recorder_error: str | None = None,
    require_trace: bool | str | None = None,
    keep_partial_trace: bool | str | None = None,
    log_level: str | None = None,
    log_file: str | os.PathLike[str] | None = None,
    json_errors: bool | str | None = None,
    propagate_script_exit: bool | str | None = None,
    io_capture: str | None = None,
    max_depth: int | str | None = None,
    max_items: int | str | None = None,
    max_string_length: int | str | None = None,
    trace_filter: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None = None,
    backend: str | None = None,
) -> None:
    """Set process-wide policy values (the API layer, above the environment).

    ``None`` leaves a field unchanged. The call is all-or-nothing: if one value
    is invalid, nothing is applied and ``ERR_INVALID_POLICY_VALUE`` names it as
    ``configure_policy(field=...)``.
    """
    given = {
        "on_recorder_error": on_recorder_error,
        "require_trace": require_trace,
        "keep_partial_trace": keep_partial_trace,
        "log_level": log_level,
        "log_file": log_file,
        "json_errors": json_errors,
        "propagate_script_exit": propagate_script_exit,
        "io_capture": io_capture,
        "max_depth": max_depth,
        "max_items": max_items,
        "max_string_length": max_string_length,
        "trace_filter": _as_list_if_iterable(trace_filter),
        "backend": backend,
    }
    values = _validated(given, lambda name: f"configure_policy({name}=...)")
    with _lock:
        _configured.update(values)


def _as_list_if_iterable(value: object) -> object:
    # A generator or set of paths is accepted by the API; the parser wants a list.
    if value is None or isinstance(value, (str, os.PathLike, list, tuple)):
        return value
    if isinstance(value, Iterable):
        return list(value)
    return value


def reset_policy() -> None:
    """Forget every ``configure_policy`` value (for tests and long-lived hosts)."""
    with _lock:
        _configured.clear()


def resolve_policy(
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
) -> Policy:
    """The effective policy: defaults < environment < ``configure_policy`` < ``overrides``.

    ``overrides`` holds explicit values (``start(..., **policy)`` or CLI flags);
    ``None`` values are ignored. ``sources`` names where each override came
    from for error messages (the CLI passes ``{"on_recorder_error":
    "--on-recorder-error", ...}``); the default is ``policy argument NAME``.
    ``environ`` defaults to ``os.environ``.
    """
    env_values = _from_environment(os.environ if environ is None else environ)
    names = dict(sources or {})
    explicit = _validated(
        dict(overrides or {}), lambda name: names.get(name, f"policy argument {name}")
    )
    with _lock:
        configured = dict(_configured)
    merged: dict[str, object] = {**env_values, **configured, **explicit}
    return Policy(**merged)  # type: ignore[arg-type]


def policy_snapshot(*, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The effective values (environment and ``configure_policy`` applied), as plain data."""
    return resolve_policy(environ=environ).to_dict()
