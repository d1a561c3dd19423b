"""One-line helpers for raising and classifying recorder errors.

Call sites stay short and uniform::

    raise usage(ErrorCode.ALREADY_TRACING, "a session is already active", trace_dir=path)
    ensure_env(path.is_dir(), ErrorCode.TRACE_DIR_CREATE_FAILED, "not a directory", path=path)
    except OSError as exc:
        raise from_exception(exc).with_context(stage="flush") from exc

The constructors take ``code`` and ``message`` positionally only, so any
keyword (even ``code=`` or ``message=``) is free to be a context key.
"""

from __future__ import annotations

import errno

from recorder_errors.codes import ErrorCode
from recorder_errors.codeset import CodeSet
from recorder_errors.errors import (
    EnvironmentError,
    InternalError,
    RecorderError,
    TargetError,
    UsageError,
    safe_str,
)

__all__ = [
    "bug",
    "ensure_env",
    "ensure_internal",
    "ensure_target",
    "ensure_usage",
    "enverr",
    "exit_code_for",
    "from_exception",
    "target",
    "usage",
]

#: Exit status for an interrupted run: 128 + SIGINT, the shell convention.
KEYBOARD_INTERRUPT_EXIT = 130


def _errno_table() -> dict[int, ErrorCode]:
    """errno -> code for the OSErrors a recorder (or a tool around it) meets.

    EDQUOT (quota exceeded) is the same situation for the user as a full disk;
    names a platform does not define are skipped.
    """
    names = {
        "ENOSPC": ErrorCode.NO_SPACE,
        "EDQUOT": ErrorCode.NO_SPACE,
        "EACCES": ErrorCode.PERMISSION_DENIED,
        "EPERM": ErrorCode.PERMISSION_DENIED,
        "ENOENT": ErrorCode.NOT_FOUND,
        "ENOTDIR": ErrorCode.NOT_A_DIRECTORY,
        "EISDIR": ErrorCode.IS_A_DIRECTORY,
        "EROFS": ErrorCode.READ_ONLY_FILESYSTEM,
        "EMFILE": ErrorCode.TOO_MANY_OPEN_FILES,
        "ENFILE": ErrorCode.TOO_MANY_OPEN_FILES,
        "EFBIG": ErrorCode.FILE_TOO_LARGE,
        "EPIPE": ErrorCode.BROKEN_PIPE,
        "EINTR": ErrorCode.INTERRUPTED,
        "ETIMEDOUT": ErrorCode.TIMEOUT,
    }
    return {getattr(errno, name): code for name, code in names.items() if hasattr(errno, name)}


_ERRNO_CODES = _errno_table()

# An OSError built without an errno (``TimeoutError("slow")``) still says what
# happened through its class; most specific first.
_CLASS_CODES: tuple[tuple[type[OSError], ErrorCode], ...] = (
    (FileNotFoundError, ErrorCode.NOT_FOUND),
    (NotADirectoryError, ErrorCode.NOT_A_DIRECTORY),
    (IsADirectoryError, ErrorCode.IS_A_DIRECTORY),
    (PermissionError, ErrorCode.PERMISSION_DENIED),
    (BrokenPipeError, ErrorCode.BROKEN_PIPE),
    (InterruptedError, ErrorCode.INTERRUPTED),
    (TimeoutError, ErrorCode.TIMEOUT),
)


def usage(code: CodeSet, message: str, /, **context: object) -> UsageError:
    """A :class:`UsageError` (exit 2) to ``raise``."""
    return UsageError(code, message, context)


def enverr(code: CodeSet, message: str, /, **context: object) -> EnvironmentError:
    """A :class:`recorder_errors.EnvironmentError` (exit 10) to ``raise``."""
    return EnvironmentError(code, message, context)


def target(code: CodeSet, message: str, /, **context: object) -> TargetError:
    """A :class:`TargetError` (exit 20) to ``raise``."""
    return TargetError(code, message, context)


def bug(code: CodeSet, message: str, /, **context: object) -> InternalError:
    """An :class:`InternalError` (exit 70) to ``raise``."""
    return InternalError(code, message, context)


def ensure_usage(cond: object, code: CodeSet, message: str, /, **context: object) -> None:
    """Raise :func:`usage` ``(code, message, **context)`` unless ``cond`` is true."""
    if not cond:
        raise usage(code, message, **context)


def ensure_env(cond: object, code: CodeSet, message: str, /, **context: object) -> None:
    """Raise :func:`enverr` ``(code, message, **context)`` unless ``cond`` is true."""
    if not cond:
        raise enverr(code, message, **context)


def ensure_target(cond: object, code: CodeSet, message: str, /, **context: object) -> None:
    """Raise :func:`target` ``(code, message, **context)`` unless ``cond`` is true."""
    if not cond:
        raise target(code, message, **context)


def ensure_internal(cond: object, code: CodeSet, message: str, /, **context: object) -> None:
    """Raise :func:`bug` ``(code, message, **context)`` unless ``cond`` is true.

    The replacement for ``assert`` in library code: it survives ``python -O``
    and is classified like every other failure.
    """
    if not cond:
        raise bug(code, message, **context)


def from_exception(exc: BaseException) -> RecorderError:
    """Classify any exception as a :class:`RecorderError`.

    * a ``RecorderError`` comes back unchanged (same object);
    * an ``OSError`` becomes an ``EnvironmentError`` whose code follows errno
      (ENOSPC/EDQUOT -> ``NO_SPACE``, EACCES/EPERM -> ``PERMISSION_DENIED``,
      ENOENT -> ``NOT_FOUND``, ENOTDIR -> ``NOT_A_DIRECTORY``, EISDIR ->
      ``IS_A_DIRECTORY``, EROFS -> ``READ_ONLY_FILESYSTEM``, EMFILE/ENFILE ->
      ``TOO_MANY_OPEN_FILES``, EFBIG -> ``FILE_TOO_LARGE``, EPIPE ->
      ``BROKEN_PIPE``, EINTR -> ``INTERRUPTED``, ETIMEDOUT -> ``TIMEOUT``;
      without an errno, the OSError subclass decides; otherwise ``IO``), with
      ``errno``, ``strerror``, ``filename`` and ``filename2`` in the context
      when the OSError has them;
    * a ``MemoryError`` becomes an ``EnvironmentError`` ``OUT_OF_MEMORY``: the
      machine ran out, which is not a bug of the code that noticed it;
    * anything else becomes an ``InternalError`` with ``ErrorCode.UNKNOWN``
      and ``exception_type`` in the context.

    New errors get ``exc`` as ``__cause__``. ``KeyboardInterrupt`` and
    ``SystemExit`` are not failures; callers should let them propagate
    rather than convert them (see :func:`exit_code_for`).
    """
    if isinstance(exc, RecorderError):
        return exc
    error: RecorderError
    if isinstance(exc, OSError):
        error = EnvironmentError(_code_for_os_error(exc), safe_str(exc), _os_error_context(exc))
    elif isinstance(exc, MemoryError):
        error = EnvironmentError(
            ErrorCode.OUT_OF_MEMORY,
            _out_of_memory_message(exc),
            {"exception_type": _qualified_name(type(exc))},
        )
    else:
        error = InternalError(
            ErrorCode.UNKNOWN,
            _unexpected_message(exc),
            {"exception_type": _qualified_name(type(exc))},
        )
    error.__cause__ = exc
    return error


def exit_code_for(exc: BaseException) -> int:
    """The process exit status a CLI should use when ``exc`` ends the run.

    * ``SystemExit``: what Python itself would do (``None`` -> 0, an int ->
      that int, anything else -> 1);
    * ``KeyboardInterrupt``: 130 (128 + SIGINT);
    * anything else: the exit code of :func:`from_exception` ``(exc)``, so a
      ``RecorderError`` gives its kind's code, an ``OSError`` 10 and any
      other exception 70 (an unclassified failure is a recorder bug).
    """
    if isinstance(exc, SystemExit):
        return _system_exit_status(exc)
    if isinstance(exc, KeyboardInterrupt):
        return KEYBOARD_INTERRUPT_EXIT
    return from_exception(exc).exit_code


def _system_exit_status(exc: SystemExit) -> int:
    status = exc.code
    if status is None:
        return 0
    if isinstance(status, int):
        return status
    return 1


def _code_for_os_error(exc: OSError) -> ErrorCode:
    code = _ERRNO_CODES.get(exc.errno) if isinstance(exc.errno, int) else None
    if code is not None:
        return code
    for cls, class_code in _CLASS_CODES:
        if isinstance(exc, cls):
            return class_code
    return ErrorCode.IO


def _out_of_memory_message(exc: MemoryError) -> str:
    text = safe_str(exc)
    return f"out of memory: {text}" if text else "out of memory"


def _os_error_context(exc: OSError) -> dict[str, object]:
    fields = {
        "errno": exc.errno,
        "strerror": exc.strerror,
        "filename": exc.filename,
        "filename2": exc.filename2,
    }
    return {key: value for key, value in fields.items() if value is not None}


def _unexpected_message(exc: BaseException) -> str:
    text = safe_str(exc)
    name = type(exc).__name__
    return f"unexpected {name}: {text}" if text else f"unexpected {name}"


def _qualified_name(cls: type) -> str:
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"
