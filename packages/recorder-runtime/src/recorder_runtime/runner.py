"""Run the user's program exactly as ``python SCRIPT ARGS`` or ``python -m MODULE ARGS`` would.

Why this matters: a recorder that changes how the program runs records a
different program. Everything the program can observe is reproduced:

* ``sys.argv`` = ``[script as typed, *args]`` (``-m``: the module file's full path);
* ``sys.path[0]`` = the real directory of the script (``-m``: the current
  directory), so sibling modules import (the reference recorder's defect 1);
  left alone under ``-P``/``PYTHONSAFEPATH``/``-I``, as Python does;
* a fresh ``__main__`` module with the same names, values and order as
  Python's (``__file__`` absolute like Python 3.9+, ``__loader__``,
  ``__spec__`` None for a script, the module's spec for ``-m``);
* the code is compiled with the same absolute file name Python uses, so
  tracebacks name the same file and the recorder's activation path matches
  ``co_filename``;
* ``sys.exit`` semantics (``None`` -> 0, int -> int, anything else -> printed,
  then 1), an uncaught exception -> 1 with Python's own traceback stripped of
  every runner frame, ``KeyboardInterrupt`` -> death by SIGINT;
* like the interpreter at shutdown, non-daemon threads are joined before the
  outcome is returned.

The runner never prints while the recording is active: the outcome carries
what Python would print, and :meth:`ScriptOutcome.report` prints it once the
CLI has finished the trace. Model: coverage.py's ``execfile.py``.
"""

from __future__ import annotations

import atexit
import importlib.machinery
import importlib.util
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec
from typing import Literal

from recorder_errors import ErrorCode, usage

__all__ = [
    "SIGINT_STATUS",
    "OutcomeKind",
    "ScriptOutcome",
    "Target",
    "resolve_module",
    "resolve_script",
    "run_module",
    "run_script",
    "run_target",
    "system_exit_status",
]

OutcomeKind = Literal["normal", "exit", "exception", "interrupt"]

#: Shell-style status of a death by SIGINT (what ``$?`` shows after Ctrl-C).
SIGINT_STATUS = 128 + int(signal.SIGINT)

# Bound at import: these run after the program, which may have replaced the module
# attributes (reliability F11); Python's own exit path does not depend on them either.
_os_write = os.write
_os_kill = os.kill
_os_getpid = os.getpid
_signal_signal = signal.signal
_run_exitfuncs = atexit._run_exitfuncs


@dataclass(frozen=True)
class Target:
    """A program resolved and checked before anything is recorded.

    ``filename`` is the exact ``__file__``/``co_filename`` Python would use;
    ``argv0`` is ``sys.argv[0]``; ``path0`` is what goes to ``sys.path[0]``
    (``None``: leave ``sys.path`` alone).
    """

    kind: Literal["script", "module"]
    name: str
    filename: str
    argv0: str
    path0: str | None
    spec: ModuleSpec | None = None


@dataclass
class ScriptOutcome:
    """How the program ended, and what Python would still print about it.

    ``exit_status`` is the status plain Python would exit with (shell style:
    130 for ``KeyboardInterrupt``, whose real exit is death by SIGINT).
    """

    exit_status: int
    kind: OutcomeKind
    exception: BaseException | None = None
    _message: str | None = field(default=None, repr=False)

    @property
    def exit_code(self) -> int | None:
        """The status to record: ``None`` when an exception escaped the program."""
        return None if self.kind in ("exception", "interrupt") else self.exit_status

    @property
    def exit_label(self) -> str | None:
        """The trace's exit label: ``"<exit>"`` when an exception escaped, else ``None``."""
        return "<exit>" if self.exit_code is None else None

    def report(self) -> None:
        """Print what Python prints when the program ends this way (to ``sys.stderr``).

        An uncaught exception goes through ``sys.excepthook`` (the program may
        have installed its own), with the runner's frames already stripped; a
        ``sys.exit("msg")`` prints ``msg``. Normal ends print nothing.
        """
        if self.kind == "exit":
            if self._message is not None:
                _write_stderr(self._message + "\n")
            return
        exc = self.exception
        if exc is None or self.kind not in ("exception", "interrupt"):
            return
        _flush_stdout()
        _print_exception(exc)

    def reraise_interrupt(self) -> int:
        """End the process the way Python does after an uncaught ``KeyboardInterrupt``.

        Python runs the atexit handlers, then resets SIGINT to its default
        action and kills itself with it, so the parent sees a death by signal
        (status -2, or 130 in a shell). Returns :data:`SIGINT_STATUS` only if
        the signal did not end the process (a platform without ``kill``).
        """
        _flush_stdout()
        _run_exitfuncs()
        _flush_stdout()
        try:
            sys.stderr.flush()
        except Exception:  # a closed or broken stderr must not stop the exit
            pass
        if threading.current_thread() is threading.main_thread():
            _signal_signal(signal.SIGINT, signal.SIG_DFL)
            _os_kill(_os_getpid(), signal.SIGINT)
        return SIGINT_STATUS


def system_exit_status(code: object) -> tuple[int, str | None]:
    """Python's reading of ``SystemExit.code``: ``(status, text to print or None)``."""
    if code is None:
        return 0, None
    if isinstance(code, int):
        return int(code), None
    try:
        text = str(code)
    except Exception:
        text = object.__repr__(code)
    return 1, text


# --- resolution (before any trace directory exists) --------------------------


def _python_abspath(path: str) -> str:
    """``path`` made absolute the way CPython does it for ``__file__``: no normalisation.

    CPython joins the working directory and the path as typed (``./s.py`` gives
    ``/cwd/./s.py``, and from ``/`` even ``//tmp/s.py``), and tracebacks show
    exactly that string, so we must too.
    """
    if os.path.isabs(path) or not path:
        return path
    return os.getcwd() + os.sep + path


def _safe_path() -> bool:
    """True when Python would not put the script's directory on ``sys.path``."""
    return bool(getattr(sys.flags, "safe_path", False) or sys.flags.isolated)


def resolve_script(path: str) -> Target:
    """Check that ``path`` is a runnable script file; ``ERR_SCRIPT_NOT_FOUND`` otherwise."""
    if not os.path.exists(path):
        raise usage(
            ErrorCode.SCRIPT_NOT_FOUND,
            f"script {path!r} does not exist",
            path=path,
            hint="check the path, or use -m MODULE to record a module",
        )
    if not os.path.isfile(path):
        raise usage(
            ErrorCode.SCRIPT_NOT_FOUND,
            f"script {path!r} is not a regular file",
            path=path,
            hint="directories and zip applications are not supported; use -m MODULE",
        )
    filename = _python_abspath(path)
    path0 = None if _safe_path() else os.path.dirname(os.path.realpath(path))
    return Target(kind="script", name=path, filename=filename, argv0=path, path0=path0)


def resolve_module(name: str) -> Target:
    """Find ``name`` as ``python -m`` would (a package runs its ``__main__``).

    Finding a submodule imports its parent packages, as ``python -m`` does;
    any failure on the way is ``ERR_MODULE_NOT_FOUND`` with the cause.
    """
    path0 = None if _safe_path() else os.getcwd()
    saved = list(sys.path)
    if path0 is not None:
        _set_path0(path0)
    try:
        spec = _find_spec(name)
        if spec.submodule_search_locations is not None:
            main_name = f"{name}.__main__"
            main_spec = _find_spec(main_name)
            spec = main_spec
    finally:
        sys.path[:] = saved
    if spec.loader is None or spec.origin is None or not spec.has_location:
        raise usage(
            ErrorCode.MODULE_NOT_FOUND,
            f"module {name!r} has no code that can be run",
            module=name,
        )
    origin = spec.origin
    return Target(kind="module", name=name, filename=origin, argv0=origin, path0=path0, spec=spec)


def _find_spec(name: str) -> ModuleSpec:
    try:
        spec = importlib.util.find_spec(name)
    except Exception as exc:  # parent package failed to import: program code, any error
        raise usage(
            ErrorCode.MODULE_NOT_FOUND,
            f"cannot find module {name!r} ({type(exc).__name__}: {exc})",
            module=name,
        ) from exc
    if spec is None:
        parent, _, last = name.rpartition(".")
        hint = "check the module name and the current directory"
        if last == "__main__" and parent:
            message = f"no module named {name!r}; {parent!r} is a package without __main__"
        else:
            message = f"no module named {name!r}"
        raise usage(ErrorCode.MODULE_NOT_FOUND, message, module=name, hint=hint)
    return spec


# --- running ------------------------------------------------------------------


def _set_path0(path0: str) -> None:
    if sys.path:
        sys.path[0] = path0
    else:
        sys.path.insert(0, path0)


def _main_module(target: Target) -> types.ModuleType:
    """A ``__main__`` module with Python's names, in Python's order."""
    module = types.ModuleType("__main__")
    namespace = module.__dict__
    if target.kind == "script":
        namespace["__loader__"] = importlib.machinery.SourceFileLoader("__main__", target.filename)
        namespace["__annotations__"] = {}
        namespace["__builtins__"] = sys.modules["builtins"]
        namespace["__file__"] = target.filename
        namespace["__cached__"] = None
        return module
    spec = target.spec
    namespace["__package__"] = spec.parent if spec is not None else None
    namespace["__loader__"] = spec.loader if spec is not None else None
    namespace["__spec__"] = spec
    namespace["__annotations__"] = {}
    namespace["__builtins__"] = sys.modules["builtins"]
    namespace["__file__"] = target.filename
    namespace["__cached__"] = spec.cached if spec is not None else None
    return module


def _compile(target: Target) -> types.CodeType:
    """The program's code object, named with the file name Python would use."""
    if target.kind == "module" and target.spec is not None and target.spec.loader is not None:
        loader = target.spec.loader
        get_code = getattr(loader, "get_code", None)
        if get_code is not None:
            code = get_code(target.spec.name)
            if isinstance(code, types.CodeType):
                return code
    with open(target.filename, "rb") as source_file:
        source = source_file.read()
    return compile(source, target.filename, "exec", dont_inherit=True)


def run_target(
    target: Target,
    argv: Sequence[str],
    *,
    on_started: Callable[[], None] | None = None,
    restore: bool = True,
    interpreter_exit: bool = False,
) -> ScriptOutcome:
    """Run a resolved program with ``argv`` (its arguments after ``argv[0]``).

    ``on_started`` is called once ``__main__``, ``sys.argv`` and ``sys.path``
    are in place, just before the program's code is compiled and run; if it
    raises, the program does not run and the exception propagates (after the
    interpreter state is restored). With ``restore`` (the default) ``sys.argv``,
    ``sys.path[0]`` and ``sys.modules["__main__"]`` are put back afterwards; the
    CLI passes ``False`` so that the program's atexit handlers still see its
    own ``__main__`` and ``sys.argv``, as they would under plain Python.
    ``interpreter_exit`` (only for a caller that owns the process and is about
    to exit) runs the interpreter's thread shutdown, see :func:`_join_threads`.
    """
    saved_argv = sys.argv
    saved_main = sys.modules.get("__main__")
    saved_path0 = sys.path[0] if sys.path else None
    module = _main_module(target)
    sys.modules["__main__"] = module
    sys.argv = [target.argv0, *argv]
    if target.path0 is not None:
        _set_path0(target.path0)
    try:
        if on_started is not None:
            on_started()
        return _execute(target, module, interpreter_exit)
    finally:
        if restore:
            sys.argv = saved_argv
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
            if target.path0 is not None and sys.path and sys.path[0] == target.path0:
                if saved_path0 is None:
                    del sys.path[0]
                else:
                    sys.path[0] = saved_path0


def _execute(
    target: Target, module: types.ModuleType, interpreter_exit: bool = False
) -> ScriptOutcome:
    code: types.CodeType | None = None
    try:
        code = _compile(target)
        exec(code, module.__dict__)
    except SystemExit as exc:
        status, message = system_exit_status(exc.code)
        outcome = ScriptOutcome(status, "exit", exc, message)
    except KeyboardInterrupt as exc:
        outcome = ScriptOutcome(SIGINT_STATUS, "interrupt", _strip(exc, code))
    except BaseException as exc:
        outcome = ScriptOutcome(1, "exception", _strip(exc, code))
    else:
        outcome = ScriptOutcome(0, "normal")
    return _join_threads(outcome, interpreter_exit)


def _strip(exc: BaseException, code: types.CodeType | None) -> BaseException:
    """Drop the leading traceback entries that belong to the runner, not the program.

    Python's ``sys.excepthook`` prints ``exc.__traceback__`` when it is set
    (ignoring its ``tb`` argument), so the exception itself gets the stripped
    traceback. A failure before the program's first frame (a ``SyntaxError``
    from compiling it) keeps no frames at all, exactly as Python shows it.
    """
    tb = exc.__traceback__
    while tb is not None and (code is None or tb.tb_frame.f_code is not code):
        tb = tb.tb_next
    return exc.with_traceback(tb)


def _join_threads(outcome: ScriptOutcome, interpreter_exit: bool) -> ScriptOutcome:
    """Wait for non-daemon threads, as the interpreter does before it exits.

    Their work belongs to the program, so it must happen before the trace is
    finished. With ``interpreter_exit`` (the CLI, which owns the process) this
    is the interpreter's own shutdown step, ``threading._shutdown``: it also
    runs the ``threading`` atexit callbacks (``concurrent.futures`` uses them)
    first, in Python's order; later, the real shutdown finds it done. A
    ``KeyboardInterrupt`` while waiting ends the wait and, if the program had
    ended normally, becomes the outcome.
    """
    try:
        shutdown = getattr(threading, "_shutdown", None)
        on_main = threading.current_thread() is threading.main_thread()
        if interpreter_exit and on_main and callable(shutdown):
            shutdown()
        else:
            _join_non_daemon_threads()
    except KeyboardInterrupt as exc:
        if outcome.kind == "normal":
            return ScriptOutcome(SIGINT_STATUS, "interrupt", exc.with_traceback(None))
    return outcome


def _join_non_daemon_threads() -> None:
    current = threading.current_thread()
    while True:
        pending = [
            t for t in threading.enumerate() if t is not current and not t.daemon and t.is_alive()
        ]
        if not pending:
            return
        for thread in pending:
            thread.join()


def run_script(
    path: str,
    argv: Sequence[str],
    *,
    on_started: Callable[[], None] | None = None,
    restore: bool = True,
    interpreter_exit: bool = False,
) -> ScriptOutcome:
    """Run ``path`` as ``python path *argv`` would (see :func:`run_target`)."""
    return run_target(
        resolve_script(path),
        argv,
        on_started=on_started,
        restore=restore,
        interpreter_exit=interpreter_exit,
    )


def run_module(
    name: str,
    argv: Sequence[str],
    *,
    on_started: Callable[[], None] | None = None,
    restore: bool = True,
    interpreter_exit: bool = False,
) -> ScriptOutcome:
    """Run module ``name`` as ``python -m name *argv`` would (see :func:`run_target`)."""
    return run_target(
        resolve_module(name),
        argv,
        on_started=on_started,
        restore=restore,
        interpreter_exit=interpreter_exit,
    )


# --- printing like the interpreter ---------------------------------------------


def _flush_stdout() -> None:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except Exception:  # Python ignores a failing flush here too
        pass


def _write_stderr(text: str) -> None:
    """Write to ``sys.stderr``, or straight to fd 2 when it is gone or broken (as Python does)."""
    stream = sys.stderr
    if stream is not None:
        try:
            stream.write(text)
            stream.flush()
            return
        except Exception:  # a closed or replaced stream: fall back to the descriptor
            pass
    try:
        _os_write(2, text.encode("utf-8", "backslashreplace"))
    except OSError:
        pass


def _print_exception(exc: BaseException) -> None:
    """What the interpreter does with an uncaught exception: ``sys.excepthook``, safely."""
    exc_type = type(exc)
    tb = exc.__traceback__
    sys.last_type, sys.last_value, sys.last_traceback = exc_type, exc, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = exc
    hook = sys.excepthook
    try:
        hook(exc_type, exc, tb)
    except BaseException as hook_exc:  # Python's own fallback when the hook fails
        _write_stderr("Error in sys.excepthook:\n")
        sys.__excepthook__(type(hook_exc), hook_exc, hook_exc.__traceback__)
        _write_stderr("\nOriginal exception was:\n")
        sys.__excepthook__(exc_type, exc, tb)
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except Exception:
        pass
