"""The catalogue of stable error codes.

Every code is a grep-able string (``ERR_...``) that appears in logs, JSON
error trailers and bug reports, so codes are part of the public contract:
they are never renamed or removed within a minor version (a test pins the
full set). Each code carries a one-line description and the kind it usually
has; a raise site may still pick another kind when the situation differs
(for example a frame that cannot be inspected because the *program* broke
it is a Target failure, not an Environment one).
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from recorder_errors.kinds import ErrorKind

__all__ = ["ErrorCode", "codes_table_markdown"]


class ErrorCode(str, enum.Enum):
    """A stable error code; the value is the ``ERR_...`` string.

    Member names drop the ``ERR_`` prefix: ``ErrorCode.NO_SPACE.value ==
    "ERR_NO_SPACE"``, and ``ErrorCode("ERR_NO_SPACE")`` looks a code up.
    ``str(code)`` and f-strings give the value on every supported Python
    (3.11 changed the default for str-mixin enums).
    """

    __module__ = "recorder_errors"

    # Internal: a bug in the recorder.
    UNKNOWN = "ERR_UNKNOWN"
    CALLBACK_FAILED = "ERR_CALLBACK_FAILED"
    # Usage: the caller's mistake.
    ALREADY_TRACING = "ERR_ALREADY_TRACING"
    NOT_TRACING = "ERR_NOT_TRACING"
    TRACE_DIR_CONFLICT = "ERR_TRACE_DIR_CONFLICT"
    UNSUPPORTED_FORMAT = "ERR_UNSUPPORTED_FORMAT"
    SCRIPT_NOT_FOUND = "ERR_SCRIPT_NOT_FOUND"
    MODULE_NOT_FOUND = "ERR_MODULE_NOT_FOUND"
    INVALID_POLICY_VALUE = "ERR_INVALID_POLICY_VALUE"
    INVALID_FILTER = "ERR_INVALID_FILTER"
    INVALID_ARGUMENT = "ERR_INVALID_ARGUMENT"
    # Environment: IO, resources, the machine.
    TRACE_DIR_CREATE_FAILED = "ERR_TRACE_DIR_CREATE_FAILED"
    IO = "ERR_IO"
    NO_SPACE = "ERR_NO_SPACE"
    PERMISSION_DENIED = "ERR_PERMISSION_DENIED"
    TRACER_INSTALL_CONFLICT = "ERR_TRACER_INSTALL_CONFLICT"
    TRACE_MISSING = "ERR_TRACE_MISSING"
    UNSUPPORTED_PYTHON = "ERR_UNSUPPORTED_PYTHON"
    FRAME_INTROSPECTION_FAILED = "ERR_FRAME_INTROSPECTION_FAILED"
    GLOBALS_INTROSPECTION_FAILED = "ERR_GLOBALS_INTROSPECTION_FAILED"
    NOT_FOUND = "ERR_NOT_FOUND"
    NOT_A_DIRECTORY = "ERR_NOT_A_DIRECTORY"
    IS_A_DIRECTORY = "ERR_IS_A_DIRECTORY"
    READ_ONLY_FILESYSTEM = "ERR_READ_ONLY_FILESYSTEM"
    TOO_MANY_OPEN_FILES = "ERR_TOO_MANY_OPEN_FILES"
    FILE_TOO_LARGE = "ERR_FILE_TOO_LARGE"
    BROKEN_PIPE = "ERR_BROKEN_PIPE"
    INTERRUPTED = "ERR_INTERRUPTED"
    TIMEOUT = "ERR_TIMEOUT"
    OUT_OF_MEMORY = "ERR_OUT_OF_MEMORY"
    # Target: the traced program's misbehaviour.
    VALUE_CAPTURE_FAILED = "ERR_VALUE_CAPTURE_FAILED"
    MISSING_POSITIONAL_ARG = "ERR_MISSING_POSITIONAL_ARG"
    MISSING_KEYWORD_ARG = "ERR_MISSING_KEYWORD_ARG"
    TARGET_DETACHED = "ERR_TARGET_DETACHED"
    TRACE_INCOMPLETE = "ERR_TRACE_INCOMPLETE"

    def __str__(self) -> str:
        return str(self.value)

    @property
    def default_kind(self) -> ErrorKind:
        """The kind this code usually has (raise sites may choose another)."""
        return _CATALOGUE[self].kind

    @property
    def description(self) -> str:
        """One-line description of the failure the code stands for."""
        return _CATALOGUE[self].description

    @property
    def exit_code(self) -> int:
        """Exit status of this code's default kind."""
        return self.default_kind.exit_code


class _Entry(NamedTuple):
    kind: ErrorKind
    description: str


_U = ErrorKind.USAGE
_E = ErrorKind.ENVIRONMENT
_T = ErrorKind.TARGET
_I = ErrorKind.INTERNAL

# Kept outside the enum body so that the entries cannot become members (and
# so that mypy types ``ErrorCode("ERR_IO")`` as the plain lookup it is).
# A test checks that every member has an entry.
_CATALOGUE: dict[ErrorCode, _Entry] = {
    ErrorCode.UNKNOWN: _Entry(_I, "An unexpected failure that no other code describes."),
    ErrorCode.CALLBACK_FAILED: _Entry(
        _I, "A recorder callback raised unexpectedly while handling an interpreter event."
    ),
    ErrorCode.ALREADY_TRACING: _Entry(
        _U, "A recording session was started while another one is active."
    ),
    ErrorCode.NOT_TRACING: _Entry(_U, "An operation needs an active session but none is."),
    ErrorCode.TRACE_DIR_CONFLICT: _Entry(
        _U, "The trace output path exists and is not a usable directory."
    ),
    ErrorCode.UNSUPPORTED_FORMAT: _Entry(_U, "The requested trace format is not supported."),
    ErrorCode.SCRIPT_NOT_FOUND: _Entry(_U, "The script to record does not exist or is not a file."),
    ErrorCode.MODULE_NOT_FOUND: _Entry(_U, "The module given with -m cannot be found or imported."),
    ErrorCode.INVALID_POLICY_VALUE: _Entry(
        _U, "A policy setting (flag, environment variable or API value) is invalid."
    ),
    ErrorCode.INVALID_FILTER: _Entry(
        _U, "A trace-filter file cannot be read, parsed or validated."
    ),
    ErrorCode.INVALID_ARGUMENT: _Entry(
        _U, "A command-line or API argument is invalid (other than a policy value)."
    ),
    ErrorCode.TRACE_DIR_CREATE_FAILED: _Entry(_E, "The trace output directory cannot be created."),
    ErrorCode.IO: _Entry(_E, "Reading or writing a file failed."),
    ErrorCode.NO_SPACE: _Entry(_E, "The disk or quota is full."),
    ErrorCode.PERMISSION_DENIED: _Entry(
        _E, "The operating system refused access to a file or resource."
    ),
    ErrorCode.TRACER_INSTALL_CONFLICT: _Entry(
        _E, "The interpreter's tracing hook or monitoring tool id is held by another tool."
    ),
    ErrorCode.TRACE_MISSING: _Entry(_E, "A trace was required but none was produced."),
    ErrorCode.UNSUPPORTED_PYTHON: _Entry(
        _E, "The running Python lacks a feature the requested backend needs."
    ),
    ErrorCode.FRAME_INTROSPECTION_FAILED: _Entry(
        _E, "A frame or its locals could not be inspected."
    ),
    ErrorCode.GLOBALS_INTROSPECTION_FAILED: _Entry(_E, "A frame's globals could not be inspected."),
    ErrorCode.NOT_FOUND: _Entry(_E, "A file or directory does not exist (ENOENT)."),
    ErrorCode.NOT_A_DIRECTORY: _Entry(
        _E, "A path component that must be a directory is not one (ENOTDIR)."
    ),
    ErrorCode.IS_A_DIRECTORY: _Entry(_E, "A file operation was given a directory (EISDIR)."),
    ErrorCode.READ_ONLY_FILESYSTEM: _Entry(_E, "The file system is mounted read-only (EROFS)."),
    ErrorCode.TOO_MANY_OPEN_FILES: _Entry(
        _E, "The process or system limit on open files is reached (EMFILE, ENFILE)."
    ),
    ErrorCode.FILE_TOO_LARGE: _Entry(
        _E, "A file exceeds the size limit: ulimit -f or the file system's maximum (EFBIG)."
    ),
    ErrorCode.BROKEN_PIPE: _Entry(_E, "The reading end of a pipe or socket went away (EPIPE)."),
    ErrorCode.INTERRUPTED: _Entry(_E, "A system call was interrupted by a signal (EINTR)."),
    ErrorCode.TIMEOUT: _Entry(_E, "An operation timed out (ETIMEDOUT)."),
    ErrorCode.OUT_OF_MEMORY: _Entry(_E, "The process ran out of memory (MemoryError)."),
    ErrorCode.VALUE_CAPTURE_FAILED: _Entry(
        _T, "A value of the traced program could not be captured (for example its repr() raised)."
    ),
    ErrorCode.MISSING_POSITIONAL_ARG: _Entry(
        _T, "A function's positional argument was missing from its frame at call time."
    ),
    ErrorCode.MISSING_KEYWORD_ARG: _Entry(
        _T, "A function's keyword-only argument was missing from its frame at call time."
    ),
    ErrorCode.TARGET_DETACHED: _Entry(
        _T, "The traced program removed or replaced the recorder's hooks."
    ),
    ErrorCode.TRACE_INCOMPLETE: _Entry(_T, "Recording stopped early; the trace is partial."),
}


def codes_table_markdown() -> str:
    """Render every code as a Markdown table (the README embeds this output).

    Rows follow the declaration order of :class:`ErrorCode`; the output ends
    with a newline.
    """
    lines = [
        "| Code | Kind | Exit | Description |",
        "|---|---|---|---|",
    ]
    for code in ErrorCode:
        kind = code.default_kind
        lines.append(f"| `{code.value}` | {kind.label} | {kind.exit_code} | {code.description} |")
    return "\n".join(lines) + "\n"
