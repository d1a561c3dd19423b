"""The recorder's own catalogue of stable error codes.

Every code is a grep-able string (``ERR_...``) that appears in logs, JSON
error trailers and bug reports, so codes are part of the public contract:
they are never renamed or removed within a minor version (a test pins the
full set). Each code carries a one-line description and the kind it usually
has; a raise site may still pick another kind when the situation differs
(for example a frame that cannot be inspected because the *program* broke
it is a Target failure, not an Environment one).

:class:`ErrorCode` is one :class:`~recorder_errors.CodeSet`; other tools
declare their own sets the same way (see ``codeset.py``). To add a code,
add one member line: ``NAME = "ERR_NAME", _<KIND>, "One-line description."``.
"""

from __future__ import annotations

from collections.abc import Iterable

from recorder_errors.codeset import CodeSet, markdown_table
from recorder_errors.kinds import ErrorKind

__all__ = ["ErrorCode", "codes_table_markdown"]

_U = ErrorKind.USAGE
_E = ErrorKind.ENVIRONMENT
_T = ErrorKind.TARGET
_I = ErrorKind.INTERNAL


class ErrorCode(CodeSet):
    """A stable error code of the recorder; the value is the ``ERR_...`` string.

    Member names drop the ``ERR_`` prefix: ``ErrorCode.NO_SPACE.value ==
    "ERR_NO_SPACE"``, and ``ErrorCode("ERR_NO_SPACE")`` looks a code up.
    ``str(code)`` and f-strings give the value on every supported Python
    (3.11 changed the default for str-mixin enums).
    """

    __module__ = "recorder_errors"

    # Internal: a bug in the recorder.
    UNKNOWN = "ERR_UNKNOWN", _I, "An unexpected failure that no other code describes."
    CALLBACK_FAILED = (
        "ERR_CALLBACK_FAILED",
        _I,
        "A recorder callback raised unexpectedly while handling an interpreter event.",
    )
    # Usage: the caller's mistake.
    ALREADY_TRACING = (
        "ERR_ALREADY_TRACING",
        _U,
        "A recording session was started while another one is active.",
    )
    NOT_TRACING = "ERR_NOT_TRACING", _U, "An operation needs an active session but none is."
    TRACE_DIR_CONFLICT = (
        "ERR_TRACE_DIR_CONFLICT",
        _U,
        "The trace output path exists and is not a usable directory.",
    )
    UNSUPPORTED_FORMAT = (
        "ERR_UNSUPPORTED_FORMAT",
        _U,
        "The requested trace format is not supported.",
    )
    SCRIPT_NOT_FOUND = (
        "ERR_SCRIPT_NOT_FOUND",
        _U,
        "The script to record does not exist or is not a file.",
    )
    MODULE_NOT_FOUND = (
        "ERR_MODULE_NOT_FOUND",
        _U,
        "The module given with -m cannot be found or imported.",
    )
    INVALID_POLICY_VALUE = (
        "ERR_INVALID_POLICY_VALUE",
        _U,
        "A policy setting (flag, environment variable or API value) is invalid.",
    )
    INVALID_FILTER = (
        "ERR_INVALID_FILTER",
        _U,
        "A trace-filter file cannot be read, parsed or validated.",
    )
    INVALID_ARGUMENT = (
        "ERR_INVALID_ARGUMENT",
        _U,
        "A command-line or API argument is invalid (other than a policy value).",
    )
    INVALID_CODE_SET = (
        "ERR_INVALID_CODE_SET",
        _U,
        "A code set declares an invalid code or claims a code another set owns.",
    )
    NATIVE_UNAVAILABLE = (
        "ERR_NATIVE_UNAVAILABLE",
        _U,
        "The native accelerator was required (native = on) but is not installed or not built.",
    )
    # Environment: IO, resources, the machine.
    TRACE_DIR_CREATE_FAILED = (
        "ERR_TRACE_DIR_CREATE_FAILED",
        _E,
        "The trace output directory cannot be created.",
    )
    IO = "ERR_IO", _E, "Reading or writing a file failed."
    NO_SPACE = "ERR_NO_SPACE", _E, "The disk or quota is full."
    PERMISSION_DENIED = (
        "ERR_PERMISSION_DENIED",
        _E,
        "The operating system refused access to a file or resource.",
    )
    TRACER_INSTALL_CONFLICT = (
        "ERR_TRACER_INSTALL_CONFLICT",
        _E,
        "The interpreter's tracing hook or monitoring tool id is held by another tool.",
    )
    TRACE_MISSING = "ERR_TRACE_MISSING", _E, "A trace was required but none was produced."
    UNSUPPORTED_PYTHON = (
        "ERR_UNSUPPORTED_PYTHON",
        _E,
        "The running Python lacks a feature the requested backend needs.",
    )
    FRAME_INTROSPECTION_FAILED = (
        "ERR_FRAME_INTROSPECTION_FAILED",
        _E,
        "A frame or its locals could not be inspected.",
    )
    GLOBALS_INTROSPECTION_FAILED = (
        "ERR_GLOBALS_INTROSPECTION_FAILED",
        _E,
        "A frame's globals could not be inspected.",
    )
    NOT_FOUND = "ERR_NOT_FOUND", _E, "A file or directory does not exist (ENOENT)."
    NOT_A_DIRECTORY = (
        "ERR_NOT_A_DIRECTORY",
        _E,
        "A path component that must be a directory is not one (ENOTDIR).",
    )
    IS_A_DIRECTORY = "ERR_IS_A_DIRECTORY", _E, "A file operation was given a directory (EISDIR)."
    READ_ONLY_FILESYSTEM = (
        "ERR_READ_ONLY_FILESYSTEM",
        _E,
        "The file system is mounted read-only (EROFS).",
    )
    TOO_MANY_OPEN_FILES = (
        "ERR_TOO_MANY_OPEN_FILES",
        _E,
        "The process or system limit on open files is reached (EMFILE, ENFILE).",
    )
    FILE_TOO_LARGE = (
        "ERR_FILE_TOO_LARGE",
        _E,
        "A file exceeds the size limit: ulimit -f or the file system's maximum (EFBIG).",
    )
    BROKEN_PIPE = "ERR_BROKEN_PIPE", _E, "The reading end of a pipe or socket went away (EPIPE)."
    INTERRUPTED = "ERR_INTERRUPTED", _E, "A system call was interrupted by a signal (EINTR)."
    TIMEOUT = "ERR_TIMEOUT", _E, "An operation timed out (ETIMEDOUT)."
    OUT_OF_MEMORY = "ERR_OUT_OF_MEMORY", _E, "The process ran out of memory (MemoryError)."
    # Target: the traced program's misbehaviour.
    VALUE_CAPTURE_FAILED = (
        "ERR_VALUE_CAPTURE_FAILED",
        _T,
        "A value of the traced program could not be captured (for example its repr() raised).",
    )
    MISSING_POSITIONAL_ARG = (
        "ERR_MISSING_POSITIONAL_ARG",
        _T,
        "A function's positional argument was missing from its frame at call time.",
    )
    MISSING_KEYWORD_ARG = (
        "ERR_MISSING_KEYWORD_ARG",
        _T,
        "A function's keyword-only argument was missing from its frame at call time.",
    )
    TARGET_DETACHED = (
        "ERR_TARGET_DETACHED",
        _T,
        "The traced program removed or replaced the recorder's hooks.",
    )
    TRACE_INCOMPLETE = "ERR_TRACE_INCOMPLETE", _T, "Recording stopped early; the trace is partial."


def codes_table_markdown(codes: Iterable[CodeSet] = ErrorCode) -> str:
    """Render a code set (by default :class:`ErrorCode`) as a Markdown table.

    The README embeds the output for :class:`ErrorCode`. Rows follow the
    declaration order of the set; the output ends with a newline.
    """
    return markdown_table(codes)
