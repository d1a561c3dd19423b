"""The policy table: one row per field, and every other view of the policy derives from it.

Why the dataclass *is* the table: each attribute of :class:`Policy` is declared
with :func:`setting`, which records its parser, environment variable, command
line flag, help text and API applicability next to its name, type and default.
The environment layer, the ``[tool.codetracer]`` table of ``pyproject.toml``,
the argparse options, ``configure_policy``/``start`` keyword validation, the
``--help`` text and the README table are all computed from :func:`rows`, so a
new field is one row here (ADR 0010). The type annotation keeps ``policy.NAME``
statically typed for mypy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, TypeVar

from .parsers import (
    Parser,
    choice,
    parse_bool,
    parse_io_capture,
    parse_optional_path,
    parse_path_list,
    parse_positive_int,
)

__all__ = [
    "BACKENDS",
    "GLOBALS_MODES",
    "IO_CAPTURE_MODES",
    "LOG_LEVELS",
    "NATIVE_MODES",
    "ON_RECORDER_ERROR_VALUES",
    "Backend",
    "GlobalsMode",
    "IoCapture",
    "LogLevel",
    "NativeMode",
    "OnRecorderError",
    "Policy",
    "Row",
    "Spec",
    "rows",
    "setting",
]

OnRecorderError = Literal["abort", "disable"]
IoCapture = Literal["off", "proxies", "proxies+fd"]
Backend = Literal["auto", "monitoring", "settrace"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]
GlobalsMode = Literal["referenced", "all", "none"]
NativeMode = Literal["auto", "on", "off"]

ON_RECORDER_ERROR_VALUES: tuple[OnRecorderError, ...] = ("abort", "disable")
IO_CAPTURE_MODES: tuple[IoCapture, ...] = ("off", "proxies", "proxies+fd")
BACKENDS: tuple[Backend, ...] = ("auto", "monitoring", "settrace")
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error", "critical")
GLOBALS_MODES: tuple[GlobalsMode, ...] = ("referenced", "all", "none")
NATIVE_MODES: tuple[NativeMode, ...] = ("auto", "on", "off")

_SPEC = "recorder_runtime.config"
T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """Everything about a field except its name, type and default (the dataclass has those).

    ``metavar`` ``None`` makes the flag a boolean switch (``--x``/``--no-x``);
    ``repeatable`` flags append (``--trace-filter A --trace-filter B``);
    ``api`` says whether ``start(**policy)``/``configure_policy`` accept the field
    (the environment and ``pyproject.toml`` always do); ``paths`` makes relative
    paths in ``pyproject.toml`` relative to that file's directory; ``default_text``
    and ``values`` are what people read in ``--help`` and the README.
    """

    parse: Parser
    env: str
    flag: str
    help: str
    values: str
    metavar: str | None = None
    repeatable: bool = False
    api: bool = True
    paths: bool = False
    default_text: str | None = None


def setting(
    default: T,
    parse: Parser,
    *,
    env: str,
    flag: str,
    help: str,
    values: str,
    metavar: str | None = None,
    repeatable: bool = False,
    api: bool = True,
    paths: bool = False,
    default_text: str | None = None,
) -> T:
    """One row of the table: a dataclass field whose metadata is its :class:`Spec`."""
    spec = Spec(parse, env, flag, help, values, metavar, repeatable, api, paths, default_text)
    return dataclasses.field(default=default, metadata={_SPEC: spec})


@dataclass(frozen=True)
class Row:
    """A field of the table as the derived views use it."""

    name: str
    default: object
    spec: Spec

    @property
    def switch(self) -> bool:
        """A boolean field: ``--flag``/``--no-flag`` on the command line."""
        return self.spec.metavar is None

    @property
    def shown_default(self) -> str:
        """The default as ``--help`` and the README print it."""
        if self.spec.default_text is not None:
            return self.spec.default_text
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)


@dataclass(frozen=True)
class Policy:
    """The effective policy of one recording.

    Values come from layers, later wins: defaults < ``[tool.codetracer]`` in
    ``pyproject.toml`` < ``CODETRACER_*`` environment < ``configure_policy`` <
    explicit values (``start(..., **policy)``, command-line flags).
    ``max_depth``/``max_items``/``max_string_length`` are mirrored by the
    encoder's ``CaptureLimits``; ``trace_filter`` lists filter files in chain
    order (later files win), as given (the filter module resolves them).
    """

    on_recorder_error: OnRecorderError = setting(
        "abort",
        choice(ON_RECORDER_ERROR_VALUES),
        env="CODETRACER_ON_RECORDER_ERROR",
        flag="--on-recorder-error",
        metavar="abort|disable",
        values="`abort`, `disable`",
        help="what a recorder failure does: abort the run with its exit status, "
        "or disable recording and let the program run on",
    )
    require_trace: bool = setting(
        False,
        parse_bool,
        env="CODETRACER_REQUIRE_TRACE",
        flag="--require-trace",
        values="bool",
        help="fail (ERR_TRACE_MISSING, exit 10) when no complete trace is produced",
    )
    keep_partial_trace: bool = setting(
        False,
        parse_bool,
        env="CODETRACER_KEEP_PARTIAL_TRACE",
        flag="--keep-partial-trace",
        values="bool",
        help="keep the trace of a failed recording, marked partial",
    )
    log_level: LogLevel = setting(
        "warning",
        choice(LOG_LEVELS, {"warn": "warning", "fatal": "critical"}),
        env="CODETRACER_LOG_LEVEL",
        flag="--log-level",
        metavar="LEVEL",
        values="`debug`, `info`, `warning` (`warn`), `error`, `critical`",
        help="the recorder's log level: debug, info, warning, error or critical",
    )
    log_file: str | None = setting(
        None,
        parse_optional_path,
        env="CODETRACER_LOG_FILE",
        flag="--log-file",
        metavar="PATH",
        paths=True,
        default_text="stderr",
        values="path (appended to)",
        help="append the recorder's log lines to PATH instead of stderr",
    )
    json_errors: bool = setting(
        False,
        parse_bool,
        env="CODETRACER_JSON_ERRORS",
        flag="--json-errors",
        values="bool",
        help="end stderr with one JSON object describing a failure",
    )
    propagate_script_exit: bool = setting(
        False,
        parse_bool,
        env="CODETRACER_PROPAGATE_SCRIPT_EXIT",
        flag="--propagate-script-exit",
        values="bool",
        help="exit with the program's own status instead of 0",
    )
    io_capture: IoCapture = setting(
        "proxies",
        parse_io_capture,
        env="CODETRACER_CAPTURE_IO",
        flag="--io-capture",
        metavar="off|proxies|proxies+fd",
        values="`off`, `proxies`, `proxies+fd` (also the reference's spellings "
        "`0/off/none`, `1/on`, `proxy,fd`, `mirror`)",
        help="how the program's output is recorded: off, proxies (sys.stdout/stderr), "
        "proxies+fd (also writes to file descriptors 1 and 2)",
    )
    max_depth: int = setting(
        10,
        parse_positive_int,
        env="CODETRACER_MAX_DEPTH",
        flag="--max-depth",
        metavar="N",
        values="positive integer",
        help="value capture: nesting depth",
    )
    max_items: int = setting(
        200,
        parse_positive_int,
        env="CODETRACER_MAX_ITEMS",
        flag="--max-items",
        metavar="N",
        values="positive integer",
        help="value capture: items per container",
    )
    max_string_length: int = setting(
        10000,
        parse_positive_int,
        env="CODETRACER_MAX_STRING_LENGTH",
        flag="--max-string-length",
        metavar="N",
        values="positive integer",
        help="value capture: characters per string",
    )
    max_object_depth: int = setting(
        1,
        parse_positive_int,
        env="CODETRACER_MAX_OBJECT_DEPTH",
        flag="--max-object-depth",
        metavar="N",
        values="positive integer",
        help="value capture: objects nested this deep in a value (inside containers or "
        "objects) are shown by reference (type and address) instead of their fields",
    )
    trace_filter: tuple[str, ...] = setting(
        (),
        parse_path_list,
        env="CODETRACER_TRACE_FILTER",
        flag="--trace-filter",
        metavar="PATH",
        repeatable=True,
        paths=True,
        default_text="none",
        values="paths (`a.toml::b.toml`, or a list); a higher layer replaces a lower one's",
        help="trace filter file, after the built-in and project filters "
        "(repeatable, later wins; 'a.toml::b.toml' splits)",
    )
    backend: Backend = setting(
        "auto",
        choice(BACKENDS),
        env="CODETRACER_BACKEND",
        flag="--backend",
        metavar="auto|monitoring|settrace",
        values="`auto`, `monitoring`, `settrace`",
        help="recording backend: auto = sys.monitoring on 3.12+, settrace below",
    )
    globals: GlobalsMode = setting(
        "referenced",
        choice(GLOBALS_MODES),
        env="CODETRACER_GLOBALS",
        flag="--globals",
        metavar="referenced|all|none",
        values="`referenced`, `all`, `none`",
        help="which module globals a step inside a function records: referenced = the "
        "globals its code names, all = every module global (the reference's content, "
        "for comparisons), none",
    )
    native: NativeMode = setting(
        "auto",
        choice(NATIVE_MODES),
        env="CODETRACER_NATIVE",
        flag="--native",
        metavar="auto|on|off",
        values="`auto`, `on`, `off`",
        help="the C accelerator of the hot path (recorder-speedups): auto = used when "
        "installed, on = required (ERR_NATIVE_UNAVAILABLE without it), off = the pure-Python "
        "path",
    )
    quiet: bool = setting(
        False,
        parse_bool,
        env="CODETRACER_QUIET",
        flag="--quiet",
        values="bool",
        help="no end-of-run summary line on stderr",
    )

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (``trace_filter`` as a list), for metadata and snapshots."""
        data = dataclasses.asdict(self)
        data["trace_filter"] = list(self.trace_filter)
        return data


_ROWS: dict[type, tuple[Row, ...]] = {}


def rows(table: type = Policy) -> tuple[Row, ...]:
    """The rows of ``table`` (a dataclass declared with :func:`setting`), in declaration order."""
    found = _ROWS.get(table)
    if found is None:
        found = tuple(
            Row(f.name, f.default, f.metadata[_SPEC])
            for f in dataclasses.fields(table)
            if _SPEC in f.metadata
        )
        _ROWS[table] = found
    return found
