"""Process-wide auto-start: ``CODETRACER_TRACE=DIR python prog.py`` records an unmodified program.

How it starts (ADR 0012): the wheel installs ``zz_recorder_runtime_autostart.pth`` at the top
of site-packages. Python's ``site`` module executes its one line at every interpreter start;
the line only looks at ``os.environ`` (already imported by ``site``) and imports this module
when ``CODETRACER_TRACE`` is set and not empty, so an unset variable costs one dictionary
lookup.

What it records: every Python process that starts with the variable set records into its
own directory under ``DIR``, named ``<start order>-<pid>`` (``0001-4242``, ``0002-4250``...).
The start order is handed out by ``DIR/processes.jsonl``: each process appends one line
(pid, parent pid, program) when it starts, and its position in the file is its number.
A process lists its children (the lines whose parent pid is its pid) in the ``process``
block of its ``trace_metadata.json`` when it finishes.

* ``python script.py``: the script is the activation code, exactly as under the CLI
  (recording starts with the script's first line and stops when it returns, and the
  script's exit status is the top-level return).
* any other start (``-c``, ``-m``, ``multiprocessing`` spawn and forkserver processes):
  calls from start-up on are recorded (the standard library is filtered out as usual).
* ``os.fork()`` (``multiprocessing`` fork, forkserver children): the child drops the
  inherited session without writing a byte (``api._forget_after_fork``) and starts its own.

When it ends: at interpreter exit (an ``atexit`` handler registered at start-up, so it runs
after the program's own handlers), or, for ``multiprocessing`` children that end with
``os._exit``, in ``multiprocessing``'s own exit function. Without activation code the
interpreter's exit status is not visible to either: the top-level return is ``"<exit>"``.

Failures: the program always runs. A recorder that cannot start writes one warning line on
stderr and the program runs untraced; ``on_recorder_error`` defaults to ``disable`` here
(``CODETRACER_ON_RECORDER_ERROR=abort`` makes a start failure exit with the error's status
before the program runs, and a failed recording exit with it at the end).
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import sys
from dataclasses import dataclass
from typing import Any

from recorder_errors import RecorderError, from_exception

ENV_TRACE = "CODETRACER_TRACE"
ENV_FORMAT = "CODETRACER_FORMAT"
ENV_ON_ERROR = "CODETRACER_ON_RECORDER_ERROR"
#: Same switch as the CLI's (``cli.DISABLED_ENV_VAR``): no recorder at all.
DISABLED_ENV_VAR = "CODETRACER_PYTHON_RECORDER_DISABLED"
REGISTRY_FILE = "processes.jsonl"
#: The recorder's own command lines record through --trace-dir, never through auto-start.
CLI_SCRIPTS = frozenset({"recorder-runtime", "pure-recorder"})
CLI_MODULES = frozenset({"recorder_runtime", "pure_recorder"})

__all__ = ["ENV_TRACE", "REGISTRY_FILE", "start_from_env"]


@dataclass
class AutoProcess:
    """This process's auto-started recording (one per process; a forked child makes its own)."""

    root: str
    pid: int
    ppid: int
    order: int = 0
    name: str = ""
    session: Any = None  # TraceSession, imported lazily (see _start)
    policy: Any = None
    mp_finish_pid: int = 0


_state: AutoProcess | None = None
_hooks_installed = False


def start_from_env() -> None:
    """Start recording this process when ``CODETRACER_TRACE`` names a directory.

    Called by the ``.pth`` line; never raises (an exception here would be printed by
    ``site`` as a traceback before the program starts). Idempotent: ``site`` may process
    the same site-packages twice (``lib64`` symlinked to ``lib``).
    """
    root = os.environ.get(ENV_TRACE, "").strip()
    if not root or (_state is not None and _state.pid == os.getpid()):
        return
    if is_recorder_cli(sys.argv, getattr(sys, "orig_argv", [])):
        return
    _install_process_hooks()
    if not os.path.isabs(root):
        # Children may start in another directory: they must record under the same DIR.
        root = os.environ[ENV_TRACE] = os.path.abspath(root)
    _start(root, forked=False)


def is_recorder_cli(argv: list[str], orig_argv: list[str]) -> bool:
    """True for ``recorder-runtime ...`` / ``python -m recorder_runtime ...`` (and pure-recorder).

    The CLI records its program into ``--trace-dir`` itself; a second, process-wide
    session would record the recorder. Its Python children still auto-start.
    """
    if argv and os.path.basename(argv[0]) in CLI_SCRIPTS:
        return True
    args = iter(orig_argv[1:])
    for arg in args:
        if arg in ("-X", "-W"):  # interpreter options whose value is the next argument
            next(args, None)
        elif arg.startswith("-m"):
            return (arg[2:] or next(args, "")) in CLI_MODULES
        elif arg == "-c" or not arg.startswith("-"):
            return False
    return False


def _install_process_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    from . import api  # noqa: F401  (registers its own at-fork handler first: it runs first)

    atexit.register(_finish_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _start(root: str, *, forked: bool) -> None:
    """Build, register and start this process's session; a failure is reported, never raised."""
    global _state
    state = AutoProcess(root=root, pid=os.getpid(), ppid=os.getppid())
    _state = state
    try:
        from . import api
        from .policy import parse_bool, resolve_policy
        from .session import SessionConfig, TraceSession

        disabled = os.environ.get(DISABLED_ENV_VAR, "").strip()
        if disabled and parse_bool(disabled, f"environment variable {DISABLED_ENV_VAR}"):
            return
        state.policy = resolve_policy(environ=_environment_with_auto_defaults())
        program, args, activation = _program(forked)
        state.order = _register(root, state, program)
        state.name = f"{state.order:04d}-{state.pid}"
        session = TraceSession(
            SessionConfig(
                trace_dir=os.path.join(root, state.name),
                policy=state.policy,
                format=os.environ.get(ENV_FORMAT, "").strip().lower() or "json",
                activation_path=activation,
                program=program,
                args=tuple(args),
                backend=state.policy.backend,
                extra_metadata=_process_metadata,
            )
        )
        session.start()
        state.session = session
        api.adopt(session)
    except Exception as exc:
        _report_start_failure(exc, state)


def _environment_with_auto_defaults() -> dict[str, str]:
    """``os.environ`` with ``on_recorder_error`` defaulting to ``disable`` (never break the run)."""
    environ = dict(os.environ)
    if not environ.get(ENV_ON_ERROR, "").strip():
        environ[ENV_ON_ERROR] = "disable"
    return environ


def _program(forked: bool) -> tuple[str, list[str], str | None]:
    """The program, its arguments and the activation path of this process.

    ``python script.py``: the script (absolute, as Python compiles it) is also the
    activation code. Anything else (``-c``, ``-m``, a forked child that is already
    running) has no activation code: everything from now on is recorded.
    """
    argv = list(sys.argv)
    script = argv[0] if argv else ""
    if not forked and script and not script.startswith("-") and os.path.isfile(script):
        # As CPython names it (co_filename): cwd + path as typed, not normalised
        # (``./s.py`` gives ``/cwd/./s.py``); see ``runner._python_abspath``.
        path = script if os.path.isabs(script) else os.getcwd() + os.sep + script
        return path, argv[1:], path
    orig = list(getattr(sys, "orig_argv", argv))
    return sys.executable or "python", orig[1:], None


def _register(root: str, state: AutoProcess, program: str) -> int:
    """Append this process to ``DIR/processes.jsonl``; its line number is its start order.

    One ``O_APPEND`` write of one short line is atomic between processes, so concurrent
    starts never interleave, and every process finds its own line by a random token.
    """
    os.makedirs(root, exist_ok=True)
    token = secrets.token_hex(8)
    line = json.dumps(
        {"pid": state.pid, "ppid": state.ppid, "token": token, "program": program},
        ensure_ascii=True,
    )
    path = os.path.join(root, REGISTRY_FILE)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, (line + "\n").encode("ascii"))
    finally:
        os.close(fd)
    for order, entry in enumerate(_read_registry(root), start=1):
        if entry.get("token") == token:
            return order
    return 0  # pragma: no cover - our own line is always there


def _read_registry(root: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    try:
        with open(os.path.join(root, REGISTRY_FILE), encoding="ascii") as handle:
            for text in handle:
                try:
                    entry = json.loads(text)
                except ValueError:
                    entry = {}  # a torn line still counts in the numbering
                entries.append(entry if isinstance(entry, dict) else {})
    except OSError:
        pass
    return entries


def _process_metadata() -> dict[str, Any]:
    """The ``process`` block of ``trace_metadata.json``: who we are and our children."""
    state = _state
    if state is None or state.pid != os.getpid():
        return {}
    children = []
    for order, entry in enumerate(_read_registry(state.root), start=1):
        pid = entry.get("pid")
        if entry.get("ppid") == state.pid and isinstance(pid, int) and pid != state.pid:
            name = f"{order:04d}-{pid}"
            children.append(
                {
                    "pid": pid,
                    "start_order": order,
                    "trace_dir": name,
                    "state": _child_state(os.path.join(state.root, name), pid),
                }
            )
    return {
        "process": {
            "pid": state.pid,
            "ppid": state.ppid,
            "start_order": state.order,
            "auto_start_dir": state.root,
            "children": children,
        }
    }


def _child_state(trace_dir: str, pid: int) -> str:
    """``recorded``, ``running``, or ``lost`` (it ended without finishing: ``os._exit``).

    A lost child's staging directory is removed, so ``DIR`` holds only traces.
    """
    from .staging import METADATA_FILE, staging_prefix

    if os.path.exists(os.path.join(trace_dir, METADATA_FILE)):
        return "recorded"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    except OSError:
        return "running"  # exists (another owner) or unknown: leave it alone
    else:
        return "running"
    parent = os.path.dirname(trace_dir)
    prefix = f"{staging_prefix(trace_dir)}{pid}-"
    try:
        leftovers = [name for name in os.listdir(parent) if name.startswith(prefix)]
    except OSError:
        leftovers = []
    for name in leftovers:
        shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    return "lost"


# --------------------------------------------------------------------- fork


def _after_fork_in_child() -> None:
    """A forked child records into its own directory (the parent's session is already dropped)."""
    state = _state
    if state is None or state.pid == os.getpid():
        return
    _start(state.root, forked=True)
    _arrange_multiprocessing_finish()


def _arrange_multiprocessing_finish() -> None:
    """``multiprocessing`` ends fork and forkserver children with ``os._exit``: no atexit.

    Its bootstrap clears inherited finalizers, then runs the registered after-fork
    callbacks; ours registers a finalizer of lowest priority, which its exit function
    runs last (after joining the child's own children).
    """
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.register_after_fork(_ANCHOR, _register_multiprocessing_finalizer)


class _Anchor:
    """An object that lives as long as the process (``register_after_fork`` keeps weak refs)."""


_ANCHOR = _Anchor()


def _register_multiprocessing_finalizer(_anchor: object) -> None:
    state = _state
    util = sys.modules.get("multiprocessing.util")
    if state is None or util is None or state.mp_finish_pid == os.getpid():
        return
    state.mp_finish_pid = os.getpid()
    util.Finalize(None, _finish_current, exitpriority=-1000)


# ------------------------------------------------------------------- finish


def _finish_at_exit() -> None:
    """Interpreter exit: finish this process's session; an explicit ``abort`` failure exits."""
    status = _finish_current()
    if status is not None:
        _flush_stdio()
        os._exit(status)


def _finish_current() -> int | None:
    """Finish the session of this process (once); the exit status ``abort`` asks for, if any."""
    state = _state
    if state is None or state.pid != os.getpid() or state.session is None:
        return None
    session, state.session = state.session, None
    from . import api

    api.release(session)
    if not session.is_recording:
        return None
    exit_code = _activation_exit_code(session)
    report = session.finish(
        exit_code=exit_code, exit_label=None if exit_code is not None else "<exit>"
    )
    if report.error is None:
        return None
    _warn(report.error, "the recording failed")
    return report.error.exit_code if report.fatal else None


def _activation_exit_code(session: Any) -> int | None:
    """The script's exit status as the CLI records it, when the script's run is over.

    Known only for a script (activation code) that has finished: 0 when it returned, the
    ``SystemExit`` status when it exited; ``None`` (recorded as ``"<exit>"``) when an
    exception escaped it, or when there is no activation code (``-c``, workers).
    """
    recorder = getattr(session, "recorder", None)
    if recorder is None or recorder.activation_code is None or not recorder.finished:
        return None
    exc = recorder.activation_exception
    if exc is None:
        return 0
    if isinstance(exc, SystemExit):
        from .runner import system_exit_status

        return system_exit_status(exc.code)[0]
    return None


# ----------------------------------------------------------------- failures


def _report_start_failure(exc: Exception, state: AutoProcess) -> None:
    err = exc if isinstance(exc, RecorderError) else from_exception(exc)
    state.session = None
    _warn(err, "the program runs untraced")
    policy = state.policy
    if policy is not None and policy.on_recorder_error == "abort":
        _flush_stdio()
        os._exit(err.exit_code)


def _warn(err: RecorderError, consequence: str) -> None:
    """One line on stderr: the recorder's own, never the program's stdout."""
    try:
        stream = sys.stderr
        if stream is not None:
            stream.write(
                f"recorder: WARNING: auto-start ({ENV_TRACE}): {err.code.value}: "
                f"{err.message}; {consequence}\n"
            )
            stream.flush()
    except Exception:  # a closed stderr must not break the program
        pass


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
