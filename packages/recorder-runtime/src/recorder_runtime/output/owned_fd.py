"""A trace file the recorder created and owns: create it safely, prove it is still ours, let go.

WHY one module: the traced program may close the recorder's file descriptor, or close it and
open another file that reuses the number (reliability fact F9); writing or closing the
descriptor then would corrupt or steal the *program's* file. Both event streams (``trace.json``
by ``recorder_runtime.writer.TraceWriter``, ``trace.bin`` by
``recorder_runtime.output.binary.seekable``) therefore hold the file's identity
``(st_dev, st_ino)`` and go through these functions. OS functions come from ``BoundOS`` at
call time (bound at import, patchable by fault-injection tests).
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Final

import recorder_runtime.writer as _writer
from recorder_errors import ErrorCode, from_exception, target

__all__ = ["FILE_MODE", "OPEN_FLAGS", "Identity", "check", "create", "fsync", "release"]

OPEN_FLAGS: Final = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
FILE_MODE: Final = 0o600

#: ``(st_dev, st_ino)`` of the file a descriptor was opened on.
Identity = tuple[int, int]


def create(path: str, prologue: bytes) -> tuple[int, Identity]:
    """Create ``path`` exclusively (never through a planted name or link), mode 0600 whatever
    the umask, and write ``prologue``; the descriptor and the file's identity.

    A failure is a classified error (``path``, ``op="open"``) and leaves no file behind.
    """
    bound = _writer.BoundOS
    try:
        fd = bound.open(path, OPEN_FLAGS, FILE_MODE)
    except OSError as exc:
        raise from_exception(exc).with_context(path=path, op="open") from exc
    try:
        bound.fchmod(fd, FILE_MODE)  # exact mode whatever the umask (S1)
        st = bound.fstat(fd)
        view = memoryview(prologue)
        while view:
            view = view[bound.write(fd, view) :]
    except OSError as exc:
        bound.close(fd)
        with contextlib.suppress(OSError):
            bound.unlink(path)  # we created it (O_EXCL): leave nothing behind
        raise from_exception(exc).with_context(path=path, op="open") from exc
    return fd, (st.st_dev, st.st_ino)


def check(fd: int, identity: Identity, path: str) -> None:
    """Raise a Target error (``ERR_TARGET_DETACHED``) unless ``fd`` is still our file."""
    try:
        st = _writer.BoundOS.fstat(fd)
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise
        raise target(
            ErrorCode.TARGET_DETACHED,
            "the traced program closed the trace file descriptor",
            path=path,
            op="write",
            fd=str(fd),
        ) from exc
    if (st.st_dev, st.st_ino) != identity:
        raise target(
            ErrorCode.TARGET_DETACHED,
            "the traced program closed the trace file descriptor and reused its number",
            path=path,
            op="write",
            fd=str(fd),
        )


def release(fd: int, identity: Identity) -> OSError | None:
    """Close ``fd`` unless the program closed it or took its number over (then leave it);
    the error of a failing close, to be classified by the caller."""
    if fd < 0:
        return None
    bound = _writer.BoundOS
    try:
        st = bound.fstat(fd)
    except OSError:
        return None  # already closed by the program
    if (st.st_dev, st.st_ino) != identity:
        return None  # not ours any more: never close the program's file
    try:
        bound.close(fd)
    except OSError as exc:
        return exc
    return None


def fsync(fd: int) -> None:
    """``fsync``, except on special files that cannot be synced (a pipe, ``/dev/full``)."""
    try:
        _writer.BoundOS.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
