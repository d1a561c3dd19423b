"""Helpers: constructors, ensure_*, from_exception and exit_code_for."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

import recorder_errors
from recorder_errors import (
    ErrorCode,
    ErrorKind,
    InternalError,
    RecorderError,
    TargetError,
    UsageError,
    bug,
    ensure_env,
    ensure_internal,
    ensure_target,
    ensure_usage,
    enverr,
    exit_code_for,
    from_exception,
    target,
    usage,
)

CONSTRUCTORS: list[tuple[Callable[..., RecorderError], type[RecorderError], ErrorKind]] = [
    (usage, UsageError, ErrorKind.USAGE),
    (enverr, recorder_errors.EnvironmentError, ErrorKind.ENVIRONMENT),
    (target, TargetError, ErrorKind.TARGET),
    (bug, InternalError, ErrorKind.INTERNAL),
]
ENSURERS: list[tuple[Callable[..., None], type[RecorderError]]] = [
    (ensure_usage, UsageError),
    (ensure_env, recorder_errors.EnvironmentError),
    (ensure_target, TargetError),
    (ensure_internal, InternalError),
]


class ProgramError(Exception):
    """An exception class defined by 'the traced program'."""


@pytest.mark.parametrize(("make", "cls", "kind"), CONSTRUCTORS)
def test_constructor_helper_returns_its_subclass(
    make: Callable[..., RecorderError], cls: type[RecorderError], kind: ErrorKind
) -> None:
    err = make(ErrorCode.IO, "message", path="/tmp/x", size=3)
    assert type(err) is cls
    assert err.kind is kind
    assert err.code is ErrorCode.IO
    assert err.message == "message"
    assert err.context == {"path": "/tmp/x", "size": "3"}


@pytest.mark.parametrize(("make", "cls", "kind"), CONSTRUCTORS)
def test_code_and_message_are_free_to_be_context_keys(
    make: Callable[..., RecorderError], cls: type[RecorderError], kind: ErrorKind
) -> None:
    err = make(ErrorCode.IO, "m", code="c", message="x")
    assert err.context == {"code": "c", "message": "x"}


@pytest.mark.parametrize(("ensure", "cls"), ENSURERS)
def test_ensure_raises_its_subclass_when_the_condition_is_false(
    ensure: Callable[..., None], cls: type[RecorderError]
) -> None:
    with pytest.raises(cls) as info:
        ensure(False, ErrorCode.NOT_TRACING, "no session", where="stop")
    assert type(info.value) is cls
    assert info.value.code is ErrorCode.NOT_TRACING
    assert info.value.message == "no session"
    assert info.value.context == {"where": "stop"}


@pytest.mark.parametrize(("ensure", "cls"), ENSURERS)
def test_ensure_does_not_raise_when_the_condition_is_true(
    ensure: Callable[..., None], cls: type[RecorderError]
) -> None:
    ensure(True, ErrorCode.NOT_TRACING, "no session")  # does not raise


@pytest.mark.parametrize("falsy", [0, "", None, [], {}])
def test_ensure_uses_truthiness(falsy: object) -> None:
    with pytest.raises(UsageError):
        ensure_usage(falsy, ErrorCode.INVALID_ARGUMENT, "m")


def test_from_exception_returns_a_recorder_error_unchanged() -> None:
    err = target(ErrorCode.VALUE_CAPTURE_FAILED, "m")
    assert from_exception(err) is err


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (errno.ENOSPC, ErrorCode.NO_SPACE),
        (errno.EDQUOT, ErrorCode.NO_SPACE),
        (errno.EACCES, ErrorCode.PERMISSION_DENIED),
        (errno.EPERM, ErrorCode.PERMISSION_DENIED),
        (errno.ENOENT, ErrorCode.NOT_FOUND),
        (errno.ENOTDIR, ErrorCode.NOT_A_DIRECTORY),
        (errno.EISDIR, ErrorCode.IS_A_DIRECTORY),
        (errno.EROFS, ErrorCode.READ_ONLY_FILESYSTEM),
        (errno.EMFILE, ErrorCode.TOO_MANY_OPEN_FILES),
        (errno.ENFILE, ErrorCode.TOO_MANY_OPEN_FILES),
        (errno.EFBIG, ErrorCode.FILE_TOO_LARGE),
        (errno.EPIPE, ErrorCode.BROKEN_PIPE),
        (errno.EINTR, ErrorCode.INTERRUPTED),
        (errno.ETIMEDOUT, ErrorCode.TIMEOUT),
        (errno.EIO, ErrorCode.IO),
        (errno.EXDEV, ErrorCode.IO),
    ],
)
def test_os_error_becomes_environment_error_with_code_from_errno(
    number: int, code: ErrorCode
) -> None:
    err = from_exception(OSError(number, "text"))
    assert type(err) is recorder_errors.EnvironmentError
    assert err.code is code
    assert err.exit_code == ErrorKind.ENVIRONMENT.exit_code


def test_os_error_subclass_is_classified_by_errno_too() -> None:
    err = from_exception(PermissionError(errno.EACCES, "Permission denied", "/root/x"))
    assert err.code is ErrorCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (FileNotFoundError("gone"), ErrorCode.NOT_FOUND),
        (NotADirectoryError("a file"), ErrorCode.NOT_A_DIRECTORY),
        (IsADirectoryError("a dir"), ErrorCode.IS_A_DIRECTORY),
        (PermissionError("no"), ErrorCode.PERMISSION_DENIED),
        (BrokenPipeError("reader left"), ErrorCode.BROKEN_PIPE),
        (InterruptedError("signal"), ErrorCode.INTERRUPTED),
        (TimeoutError("slow"), ErrorCode.TIMEOUT),
        (ConnectionResetError("reset"), ErrorCode.IO),
    ],
)
def test_os_error_without_errno_is_classified_by_its_class(exc: OSError, code: ErrorCode) -> None:
    err = from_exception(exc)
    assert exc.errno is None
    assert type(err) is recorder_errors.EnvironmentError
    assert err.code is code


@pytest.mark.parametrize("exc", [MemoryError(), MemoryError("cannot allocate 8 GiB")])
def test_memory_error_is_an_environment_out_of_memory_error(exc: MemoryError) -> None:
    err = from_exception(exc)
    assert type(err) is recorder_errors.EnvironmentError
    assert err.code is ErrorCode.OUT_OF_MEMORY
    assert err.exit_code == 10
    assert err.__cause__ is exc
    assert err.context == {"exception_type": "MemoryError"}


def test_memory_error_message_says_out_of_memory_and_keeps_the_text() -> None:
    assert from_exception(MemoryError()).message == "out of memory"
    assert from_exception(MemoryError("8 GiB")).message == "out of memory: 8 GiB"


def test_os_error_context_has_errno_strerror_and_filenames() -> None:
    exc = OSError(errno.EXDEV, "Invalid cross-device link", "/a", None, "/b")
    err = from_exception(exc)
    assert err.context == {
        "errno": str(errno.EXDEV),
        "strerror": "Invalid cross-device link",
        "filename": "/a",
        "filename2": "/b",
    }


def test_os_error_message_is_the_os_errors_text_and_cause_is_the_original() -> None:
    exc = FileNotFoundError(errno.ENOENT, "No such file or directory", "/nope")
    err = from_exception(exc)
    assert err.message == str(exc)
    assert err.__cause__ is exc


def test_os_error_without_errno_is_io_with_empty_context() -> None:
    err = from_exception(OSError("something odd"))
    assert err.code is ErrorCode.IO
    assert err.context == {}
    assert err.message == "something odd"


def test_other_exception_becomes_internal_unknown_with_the_original_as_cause() -> None:
    exc = ValueError("bad value")
    err = from_exception(exc)
    assert type(err) is InternalError
    assert err.code is ErrorCode.UNKNOWN
    assert err.__cause__ is exc
    assert err.message == "unexpected ValueError: bad value"
    assert err.context == {"exception_type": "ValueError"}


def test_other_exception_type_is_module_qualified_outside_builtins() -> None:
    err = from_exception(ProgramError())
    assert err.context == {"exception_type": f"{__name__}.ProgramError"}
    assert err.message == "unexpected ProgramError"


def test_exception_whose_str_raises_is_still_classified() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    err = from_exception(Broken())
    assert err.message == "unexpected Broken: <unprintable Broken>"


@pytest.mark.parametrize(("make", "cls", "kind"), CONSTRUCTORS)
def test_exit_code_for_a_recorder_error_is_its_kinds_code(
    make: Callable[..., RecorderError], cls: type[RecorderError], kind: ErrorKind
) -> None:
    assert exit_code_for(make(ErrorCode.UNKNOWN, "m")) == kind.exit_code


@pytest.mark.parametrize(
    ("status", "expected"), [(None, 0), (0, 0), (3, 3), (True, 1), ("fatal: bye", 1)]
)
def test_exit_code_for_system_exit_follows_python(status: object, expected: int) -> None:
    assert exit_code_for(SystemExit(status)) == expected


def test_exit_code_for_keyboard_interrupt_is_130() -> None:
    assert exit_code_for(KeyboardInterrupt()) == 130


def test_exit_code_for_an_os_error_is_the_environment_code() -> None:
    assert exit_code_for(OSError(errno.ENOSPC, "full")) == ErrorKind.ENVIRONMENT.exit_code


def test_exit_code_for_a_memory_error_is_the_environment_code() -> None:
    assert exit_code_for(MemoryError()) == ErrorKind.ENVIRONMENT.exit_code


def test_exit_code_for_any_other_exception_is_the_internal_code() -> None:
    assert exit_code_for(ZeroDivisionError()) == ErrorKind.INTERNAL.exit_code
