"""Private staging of the trace files and their atomic commit into the destination.

WHY: the destination must only ever hold a complete trace (or one clearly marked partial).
Files are written into a private directory created next to the destination (same filesystem,
so the final ``os.replace`` is an atomic rename; unpredictable name and mode 0700, so nobody can
plant a symlink in it). ``commit()`` moves them in, metadata last: ``trace_metadata.json``
present = trace complete. A crash leaves at most the staging directory, which the next run
sweeps once its owner pid is dead.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
import tempfile
from collections.abc import Sequence

from recorder_errors import ErrorCode, RecorderError, bug, enverr, from_exception, usage
from recorder_runtime.output import formats as _formats
from recorder_runtime.writer import BoundOS as _os

__all__ = [
    "EVENT_FILES",
    "METADATA_FILE",
    "PATHS_FILE",
    "OutputStaging",
    "staging_prefix",
]

_log = logging.getLogger("recorder.staging")

METADATA_FILE = "trace_metadata.json"
PATHS_FILE = "trace_paths.json"
#: The event-stream file of each format (from the format registry); a commit removes the one
#: it does not write, so a directory never mixes two runs.
EVENT_FILES = _formats.EVENT_FILES
#: Every name the recorder may create in the destination (checked up front: a directory in
#: their place is the caller's mistake, found before the program runs).
TRACE_FILES = (*EVENT_FILES, PATHS_FILE, METADATA_FILE)

_DIR_MODE = 0o700
_FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC


def staging_prefix(destination: str) -> str:
    """Name prefix of every staging directory for ``destination`` (without the pid part)."""
    return "." + _os.path.basename(destination) + ".staging-"


class OutputStaging:
    """One recording's staging directory and its commit into ``destination``."""

    def __init__(self, destination: str) -> None:
        # Absolute now, so a chdir by the traced program changes nothing (F12).
        self.destination = _os.path.abspath(os.fspath(destination))
        self.parent = _os.path.dirname(self.destination)
        self._staging: str | None = None
        self._created_dirs: list[str] = []  # dirs prepare() made, deepest last
        self._issued: set[str] = set()  # names handed out by file(), removable without an fd
        self.committed = False
        self.swept: list[str] = []

    # ------------------------------------------------------------------ prepare

    def prepare(self) -> None:
        """Validate the destination and create the staging directory (before the program runs).

        Usage errors (exit 2): the destination or one of its parents is a file, a trace file
        name is taken by a directory, or the destination is a symlink planted by another user
        in a world-writable directory. Environment errors (exit 10): the directories cannot be
        created.
        """
        if self._staging is not None:
            return
        self._check_destination()
        self._make_parents()
        self.swept = self._sweep_stale()
        prefix = f"{staging_prefix(self.destination)}{_os.getpid()}-"
        try:
            path = tempfile.mkdtemp(prefix=prefix, dir=self.parent)
            _os.chmod(path, _DIR_MODE)  # exact mode whatever the umask (S1)
        except OSError as exc:
            self._remove_created_dirs()
            raise self._dir_error(exc, self.parent, "mkdtemp") from exc
        self._staging = path

    def _check_destination(self) -> None:
        dest = self.destination
        try:
            lst = _os.lstat(dest)
        except FileNotFoundError:
            return
        except NotADirectoryError as exc:
            raise self._conflict(
                f"a parent of the trace directory {dest} is not a directory"
            ) from exc
        except OSError as exc:
            raise self._dir_error(exc, dest, "lstat") from exc
        if stat.S_ISLNK(lst.st_mode):
            self._check_symlink(lst)
        try:
            st = _os.stat(dest)
        except FileNotFoundError as exc:
            raise self._conflict(f"the trace directory {dest} is a symlink to nothing") from exc
        except OSError as exc:
            raise self._dir_error(exc, dest, "stat") from exc
        if not stat.S_ISDIR(st.st_mode):
            raise self._conflict(f"the trace directory {dest} exists and is not a directory")
        for name in TRACE_FILES:
            target_path = _os.path.join(dest, name)
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(_os.lstat(target_path).st_mode):
                    raise usage(
                        ErrorCode.TRACE_DIR_CONFLICT,
                        f"{target_path} is a directory; the recorder needs that name for a file",
                        path=target_path,
                    )

    def _check_symlink(self, lst: os.stat_result) -> None:
        """Refuse a link another user planted in a world-writable directory (S4, G7)."""
        try:
            parent = _os.stat(self.parent)
        except OSError as exc:
            raise self._dir_error(exc, self.parent, "stat") from exc
        world_writable = bool(parent.st_mode & stat.S_IWOTH)
        if world_writable and lst.st_uid not in (_os.getuid(), 0):
            raise usage(
                ErrorCode.TRACE_DIR_CONFLICT,
                f"the trace directory {self.destination} is a symlink owned by another user "
                "in a world-writable directory; refusing to follow it",
                path=self.destination,
                owner_uid=str(lst.st_uid),
            )

    def _make_parents(self) -> None:
        """Create missing parents of the destination, mode 0700 (never 0777 under umask 0)."""
        missing: list[str] = []
        path = self.parent
        while not _os.path.isdir(path):
            if _os.path.lexists(path) and not _os.path.isdir(path):
                raise self._conflict(f"{path} exists and is not a directory", path=path)
            missing.append(path)
            up = _os.path.dirname(path)
            if up == path:
                break
            path = up
        for directory in reversed(missing):
            try:
                _os.mkdir(directory, _DIR_MODE)
            except FileExistsError:
                if not _os.path.isdir(directory):
                    raise self._conflict(
                        f"{directory} exists and is not a directory", path=directory
                    ) from None
                continue
            except OSError as exc:
                self._remove_created_dirs()
                raise self._dir_error(exc, directory, "mkdir") from exc
            self._created_dirs.append(directory)

    def _sweep_stale(self) -> list[str]:
        """Remove staging dirs of this destination whose owner process is dead (E11)."""
        prefix = staging_prefix(self.destination)
        removed: list[str] = []
        try:
            names = _os.listdir(self.parent)
        except OSError:
            return removed
        for name in names:
            if not name.startswith(prefix):
                continue
            pid_text = name[len(prefix) :].split("-", 1)[0]
            if not pid_text.isdigit():
                continue
            pid = int(pid_text)
            if pid == _os.getpid() or _pid_alive(pid):
                continue
            path = _os.path.join(self.parent, name)
            try:
                st = _os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != _os.getuid():
                continue  # never follow a link, never delete someone else's files
            _os.rmtree(path, ignore_errors=True)
            if not _os.path.lexists(path):
                removed.append(path)
                _log.info("removed stale staging directory %s", path)
        return removed

    # ------------------------------------------------------------------ staging area

    @property
    def staging_dir(self) -> str:
        """The private directory; only valid after :meth:`prepare`."""
        if self._staging is None:
            raise bug(ErrorCode.UNKNOWN, "OutputStaging.prepare() was not called")
        return self._staging

    def file(self, name: str) -> str:
        """Path of ``name`` inside the staging directory (a plain file name only, G8)."""
        if (
            not name
            or name in (".", "..")
            or "/" in name
            or "\0" in name
            or (os.altsep is not None and os.altsep in name)
        ):
            raise bug(ErrorCode.UNKNOWN, "invalid staged file name", name=repr(name))
        path = _os.path.join(self.staging_dir, name)
        self._issued.add(name)
        return path

    # ------------------------------------------------------------------ commit / discard

    def commit(self, files: Sequence[str]) -> list[str]:
        """Move the staged ``files`` (names or paths from :meth:`file`) into the destination.

        Metadata always goes last. On failure everything staged is discarded, whatever this
        commit already moved is removed again, and a classified Environment error is raised.
        Returns the final paths, in the order they were moved.
        """
        staging = self.staging_dir
        names = [self._staged_name(f) for f in files]
        names.sort(key=lambda n: n == METADATA_FILE)  # stable: metadata last, others in order
        moved: list[str] = []
        try:
            for name in names:
                _fsync_path(_os.path.join(staging, name), directory=False)
            self._ensure_destination()
            self._remove_stale(names)
            for name in names:
                final = _os.path.join(self.destination, name)
                self._move(_os.path.join(staging, name), final)
                moved.append(final)
            _fsync_path(self.destination, directory=True)
        except BaseException as exc:
            for final in moved:
                with contextlib.suppress(OSError):
                    _os.unlink(final)
            self.discard()
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt/SystemExit: the trace is absent, the signal goes on
            filename = exc.filename if isinstance(exc, OSError) else None
            err = from_exception(exc).with_context(
                path=str(filename or self.destination), op="commit"
            )
            if err is exc:
                raise
            raise err from exc
        self.committed = True
        self.discard()
        return moved

    def _staged_name(self, file: str) -> str:
        name = _os.path.basename(file)
        if _os.path.dirname(file) not in ("", self.staging_dir):
            raise bug(ErrorCode.UNKNOWN, "file is not in the staging directory", path=file)
        self.file(name)  # validates the name
        return name

    def _ensure_destination(self) -> None:
        """Create the destination (0700) if it is missing; refuse anything but a directory."""
        try:
            _os.mkdir(self.destination, _DIR_MODE)
            self._created_dirs.append(self.destination)
        except FileExistsError:
            if not _os.path.isdir(self.destination):
                raise self._conflict(
                    f"the trace directory {self.destination} exists and is not a directory"
                ) from None

    def _remove_stale(self, names: Sequence[str]) -> None:
        """Unlink the old marker first, then trace files of the other format (no mixed runs)."""
        stale = [METADATA_FILE]
        if any(n in EVENT_FILES for n in names):
            stale += [n for n in EVENT_FILES if n not in names]
        for name in stale:
            try:
                _os.unlink(_os.path.join(self.destination, name))
            except FileNotFoundError:
                pass

    def _move(self, src: str, final: str) -> None:
        """Atomic rename; replaces a link at ``final`` rather than following it (S3)."""
        try:
            _os.replace(src, final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_then_replace(src, final)  # destination is a mount point or a linked dir

    def discard(self) -> None:
        """Remove the staging directory (and parents prepare() created, if empty).

        Best effort: never raises, except that KeyboardInterrupt/SystemExit pass through.
        """
        staging, self._staging = self._staging, None
        try:
            if staging is not None:
                _remove_tree(staging, self._issued)
            if not self.committed:
                self._remove_created_dirs()
        except Exception:
            _log.debug("discarding staging failed", exc_info=True)

    def _remove_created_dirs(self) -> None:
        while self._created_dirs:
            with contextlib.suppress(OSError):
                _os.rmdir(self._created_dirs[-1])  # only succeeds when empty
            self._created_dirs.pop()

    # ------------------------------------------------------------------ errors

    def _conflict(self, message: str, path: str | None = None) -> RecorderError:
        """``ERR_TRACE_DIR_CONFLICT``; the message always names the path it is about."""
        path = path or self.destination
        if path not in message:
            message = f"{message}: {path}"
        return usage(ErrorCode.TRACE_DIR_CONFLICT, message, path=path)

    def _dir_error(self, exc: OSError, path: str, op: str) -> RecorderError:
        """``ERR_TRACE_DIR_CREATE_FAILED`` naming ``path`` (and the trace directory), with a
        hint that says what is wrong with the parent instead of guessing."""
        if exc.errno in (errno.ENOTDIR, errno.EEXIST):
            return self._conflict(f"{path}: {exc.strerror}", path=path)
        dest = self.destination
        target = "" if path == dest else f" (for the trace directory {dest})"
        return enverr(
            ErrorCode.TRACE_DIR_CREATE_FAILED,
            f"cannot prepare {path}{target}: {exc.strerror}",
            path=path,
            op=op,
            errno=errno.errorcode.get(exc.errno or 0, str(exc.errno)),
            hint=_create_failed_hint(exc, path),
        )


def _create_failed_hint(exc: OSError, path: str) -> str:
    """What to check when ``path`` could not be prepared: only what is actually the case."""
    parent = _os.path.dirname(path.rstrip(os.sep)) or path
    if not _os.path.isdir(parent):
        return f"{parent} does not exist"
    if exc.errno == errno.ENOENT:  # a component vanished meanwhile, or a dangling link
        return f"a directory on the way to {path} does not exist"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"check that {parent} is writable"
    if exc.errno == errno.EROFS:
        return f"{parent} is on a read-only file system; choose another --trace-dir"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "free disk space, or write the trace elsewhere with --trace-dir"
    return f"check {parent}"


def _remove_tree(path: str, names: set[str]) -> None:
    """Remove the staging dir; the known names first, since unlink/rmdir need no descriptor.

    Cleaning up after EMFILE must work while the descriptor table is still full (F8);
    ``rmtree`` (which opens the directory) is only the fallback for unexpected content.
    """
    for name in names:
        with contextlib.suppress(OSError):
            _os.unlink(_os.path.join(path, name))
    try:
        _os.rmdir(path)
    except FileNotFoundError:
        return
    except OSError:
        _os.rmtree(path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        _os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True  # unknown: be conservative, keep the directory
    return True


def _fsync_path(path: str, *, directory: bool) -> None:
    flags = os.O_RDONLY | _CLOEXEC | (_DIRECTORY if directory else _NOFOLLOW)
    fd = _os.open(path, flags)
    try:
        try:
            _os.fsync(fd)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
                raise
    finally:
        _os.close(fd)


def _copy_then_replace(src: str, final: str) -> None:
    """EXDEV fallback: copy into a private temp file next to ``final``, then rename it.

    The temp file is made here rather than by ``tempfile`` so that only functions bound at
    import are used (the program may have mocked ``os.path`` or ``open``, F11).
    """
    directory = _os.path.dirname(final)
    prefix = "." + _os.path.basename(final) + "."
    fd, tmp = -1, ""
    for _ in range(100):
        tmp = _os.path.join(directory, prefix + secrets.token_hex(8))
        try:
            fd = _os.open(tmp, _TEMP_FLAGS, _FILE_MODE)
            break
        except FileExistsError:
            continue
    if fd < 0:
        raise enverr(ErrorCode.IO, "no free temporary name next to the trace file", path=final)
    try:
        _os.fchmod(fd, _FILE_MODE)
        with _os.io_open(src, "rb") as source, _os.io_open(fd, "wb") as out:
            _os.copyfileobj(source, out, 1 << 20)
            out.flush()
            _os.fsync(out.fileno())
        _os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            _os.unlink(tmp)
        raise
    _os.unlink(src)
