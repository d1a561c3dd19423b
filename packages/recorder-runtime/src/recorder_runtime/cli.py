"""The command line: ``recorder-runtime [options] SCRIPT [ARGS...]`` / ``-m MODULE [ARGS...]``.

Why it is built this way:

* Everything after the script path (or after ``-m MODULE``) belongs to the
  script, even when it looks like a recorder flag. The reference recorder
  parses with ``parse_known_args`` and steals such flags (its defect 13), so
  we split ``argv`` ourselves at the first positional, using the option table
  that also builds the parser, and hand argparse only the recorder's part.
* The exit status is a contract (README "Exit status"): a fatal recorder
  failure exits with its kind's code (2/10/20/70); otherwise 0 when the
  recording succeeded, whatever the script did (with one stderr note), or
  the script's own status with ``--propagate-script-exit``.
* Nothing goes to stdout except ``--help`` and ``--version``, which the user
  asked for. A failure prints one line ``recorder: ERR_CODE: message (hint)``
  (tracebacks of recorder internals go to the log at debug level), or with
  ``--json-errors`` one JSON object as the last stderr line.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn, Protocol, TextIO

from recorder_errors import ErrorCode, RecorderError, enverr, from_exception, usage

from . import __version__
from .config.arguments import EPILOG as POLICY_EPILOG
from .config.arguments import FLAG_SOURCES, add_policy_arguments, policy_overrides
from .config.layers import early_value
from .logs import get_logger, install_cli_handler, remove_cli_handler, run_id, set_trace_id
from .notices import RunNotes, look_at_destination
from .output import formats
from .policy import Policy, parse_bool, resolve_policy
from .runner import (
    SIGINT_STATUS,
    ScriptOutcome,
    Target,
    resolve_module,
    resolve_script,
    run_target,
)

__all__ = ["DISABLED_ENV_VAR", "main"]

DISABLED_ENV_VAR = "CODETRACER_PYTHON_RECORDER_DISABLED"
DEFAULT_TRACE_DIR = "trace-out"
INSPECT_COMMAND = "inspect"

log = get_logger("cli")

# Bound at import: the CLI speaks after the program ran, and the program may have
# replaced these module attributes (a mock of json.dumps or os.write must not
# change or break the recorder's verdict; reliability F11).
_json_dumps = json.dumps
_os_write = os.write
_run_exitfuncs = atexit._run_exitfuncs


# --- the session contract (recorder_runtime.session) ----------------------------


class _Report(Protocol):
    @property
    def state(self) -> str: ...
    @property
    def trace_dir(self) -> str: ...
    @property
    def error(self) -> RecorderError | None: ...
    @property
    def fatal(self) -> bool: ...


class _Session(Protocol):
    run_id: str
    trace_id: str

    @property
    def failure(self) -> RecorderError | None: ...
    def start(self) -> None: ...
    def finish(self, *, exit_code: int | None, exit_label: str | None = None) -> _Report: ...


SessionFactory = Callable[..., _Session]


def _default_session_factory(**config: object) -> _Session:
    from .session import SessionConfig, TraceSession

    return TraceSession(SessionConfig(**config))  # type: ignore[arg-type]


# --- argument parsing -------------------------------------------------------------


class _ParserExit(Exception):
    """argparse wants to exit (``--help``, ``--version``): status 0, output already on stdout."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become classified usage errors, never ``SystemExit``."""

    def error(self, message: str) -> NoReturn:
        raise usage(
            ErrorCode.INVALID_ARGUMENT,
            message,
            hint=f"see {self.prog} --help",
        )

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _ParserExit(status)


def _build_parser(prog: str) -> tuple[_Parser, list[argparse.Action]]:
    """The parser for the recorder's own options, and its actions (for the argv splitter).

    The policy options come from the table in ``config/fields.py``.
    """
    parser = _Parser(
        prog=prog,
        usage=(
            f"{prog} [options] SCRIPT [--] [ARGS...] | {prog} [options] -m MODULE [--] [ARGS...]"
        ),
        description=(
            "Record a Python program into a CodeTracer trace. Everything after SCRIPT\n"
            "(or -m MODULE) is passed to the program untouched, except one `--` right after\n"
            "SCRIPT or MODULE: it separates the program's arguments, as in the reference\n"
            "recorder, and is removed (`prog.py -- --flag` gives the program ['--flag']).\n"
            f"Reading traces: `{prog} inspect TRACE_DIR` summarises one (steps, calls, top\n"
            f"functions; --json), `{prog} convert SRC DST` converts one; see their --help."
        ),
        epilog=POLICY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
        add_help=False,
    )
    add = parser.add_argument
    actions = [
        add("-h", "--help", action="help", help="show this help and exit"),
        add("--version", action="version", version=f"%(prog)s {__version__}"),
        add("-m", dest="module", metavar="MODULE", help="record a module, as python -m does"),
        add(
            "--trace-dir", metavar="DIR", help=f"output directory (default: ./{DEFAULT_TRACE_DIR})"
        ),
        add(
            "--format",
            default=formats.DEFAULT_FORMAT,
            help="trace format: "
            + "; ".join(f"{f.name} = {f.events_file}" for f in formats.FORMATS.values())
            + f" (default: {formats.DEFAULT_FORMAT}; `convert` turns one into the other)",
        ),
        add(
            "--activation-path",
            metavar="PATH",
            help="start recording when this file runs (default: the script)",
        ),
        *add_policy_arguments(parser),
    ]
    return parser, actions


@dataclass
class _CommandLine:
    """``argv`` split into the recorder's options and the program with its arguments."""

    options: list[str] = field(default_factory=list)
    script: str | None = None
    module: str | None = None
    args: list[str] = field(default_factory=list)


def _split_argv(argv: Sequence[str], actions: Sequence[argparse.Action]) -> _CommandLine:
    """Split at the first positional (the script), ``-m MODULE`` or ``--``.

    Only tokens before that point are the recorder's; the rest goes to the
    program as typed. An option that takes a value consumes the next token
    (argparse then reports a value that looks like a flag).
    """
    takes_value = {
        option: action.nargs != 0 for action in actions for option in action.option_strings
    }
    result = _CommandLine()
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            if index + 1 < len(argv):
                result.script = argv[index + 1]
                result.args = list(argv[index + 2 :])  # after `--` SCRIPT: all as typed
            return result
        if token == "-m" or (token.startswith("-m") and not token.startswith("--")):
            name = token[2:] or (argv[index + 1] if index + 1 < len(argv) else None)
            if name is None:
                result.options.append(token)  # argparse reports the missing value
                return result
            result.module = name
            result.args = _program_args(argv[index + (1 if token[2:] else 2) :])
            return result
        if token.startswith("-") and token != "-":
            result.options.append(token)
            option = token.split("=", 1)[0]
            if "=" not in token and takes_value.get(option, False) and index + 1 < len(argv):
                result.options.append(argv[index + 1])
                index += 1
            index += 1
            continue
        result.script = token
        result.args = _program_args(argv[index + 1 :])
        return result
    return result


def _program_args(args: Sequence[str]) -> list[str]:
    """The program's arguments: one ``--`` right after the script or module is a separator.

    The reference recorder documents ``SCRIPT -- ARGS`` and tools drive it that way, so that
    ``--`` is dropped; every other argument (a second ``--`` too) reaches the program as typed.
    After ``-- SCRIPT`` (the separator already used) nothing is dropped, as in the reference.
    """
    if args and args[0] == "--":
        return list(args[1:])
    return list(args)


def _json_errors_requested(options: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether failures before the policy is resolved should be reported as JSON.

    From ``pyproject.toml`` and the environment as far as they can be read, then the flags.
    """
    wanted = early_value("json_errors", environ) is True
    for token in options:
        if token == "--json-errors":
            wanted = True
        elif token == "--no-json-errors":
            wanted = False
    return wanted


# --- diagnostics -------------------------------------------------------------------


_HINTS: dict[str, str] = {
    ErrorCode.TRACE_DIR_CONFLICT.value: "choose another --trace-dir",
    ErrorCode.TRACE_DIR_CREATE_FAILED.value: "check that the parent directory is writable",
    ErrorCode.NO_SPACE.value: "free disk space, or write the trace elsewhere with --trace-dir",
    ErrorCode.TRACE_MISSING.value: "check --activation-path, or drop --require-trace",
    ErrorCode.UNSUPPORTED_FORMAT.value: "use --format json or --format binary",
    ErrorCode.CALLBACK_FAILED.value: "a recorder bug; --on-recorder-error=disable "
    "keeps the program running without the recorder",
    ErrorCode.UNKNOWN.value: "a recorder bug; please report it with the log from "
    "--log-level debug --log-file FILE",
}


_NON_FATAL_HINT = "recording stopped under --on-recorder-error=disable; the program ran on untraced"


_INCOMPLETE_HINT = "the program ran to its end; the trace is kept and marked partial"
_INCOMPLETE_CODES = (ErrorCode.TRACE_INCOMPLETE, ErrorCode.TARGET_DETACHED)


_UNTRACED_HINT = "recording could not start; the program ran untraced (--on-recorder-error=disable)"


class _Diagnostics:
    """Writes the recorder's own lines to the stderr captured at start-up."""

    def __init__(self, stream: TextIO, json_errors: bool) -> None:
        self.stream = stream
        self.json_errors = json_errors
        self.trace: dict[str, object] | None = None  # the written trace, for the trailer

    def line(self, text: str) -> None:
        """One plain line on stderr; never raises (a closed stderr falls back to fd 2)."""
        data = text + "\n"
        try:
            self.stream.write(data)
            self.stream.flush()
        except Exception:
            try:
                _os_write(2, data.encode("utf-8", "backslashreplace"))
            except OSError:
                pass

    def failure(
        self, error: RecorderError, session: _Session | None, hint: str | None = None
    ) -> None:
        """The one line (or JSON trailer) that tells a person or a CI job what went wrong."""
        log.debug(
            "recorder failure: %s",
            error.message,
            exc_info=(type(error), error, error.__traceback__),
            extra={"error_code": error.code.value},
        )
        if self.json_errors:
            self.line(_json_trailer(error, session, self.trace))
        else:
            text = hint or error.context.get("hint") or _HINTS.get(error.code.value)
            suffix = f" ({text})" if text else ""
            self.line(f"recorder: {error.code.value}: {_naming_its_path(error)}{suffix}")


def _naming_its_path(error: RecorderError) -> str:
    """The message, followed by the file or directory it is about when it does not name it
    (an OSError's text, such as ``[Errno 27] File too large``, names no file)."""
    path = error.context.get("path")
    if isinstance(path, str) and path and path not in error.message:
        return f"{error.message}: {path}"
    return error.message


def _success_trailer(session: _Session | None, trace: dict[str, object] | None) -> str:
    """The ``--json-errors`` trailer of a run without failure: null error fields, the trace."""
    trailer: dict[str, object] = {
        "run_id": session.run_id if session is not None else run_id(),
        "trace_id": session.trace_id if session is not None else None,
        "error_code": None,
        "kind": None,
        "message": "trace written" if trace is not None else "no trace written",
        "context": {},
    }
    if trace is not None:
        trailer["trace"] = trace
    return _json_dumps(trailer, ensure_ascii=True)


def _json_trailer(
    error: RecorderError, session: _Session | None, trace: dict[str, object] | None = None
) -> str:
    data = error.to_dict()
    context = dict(data["context"])
    cause = data.get("cause")
    if cause is not None and "cause" not in context:
        context["cause"] = cause
    trailer: dict[str, object] = {
        "run_id": session.run_id if session is not None else run_id(),
        "trace_id": session.trace_id if session is not None else None,
        "error_code": data["error_code"],
        "kind": data["kind"],
        "message": data["message"],
        "context": context,
    }
    if trace is not None:  # a trace was written (partial): the summary line's fields
        trailer["trace"] = trace
    return _json_dumps(trailer, ensure_ascii=True)


# --- the run ---------------------------------------------------------------------------


@dataclass
class _Run:
    """State of one CLI invocation."""

    prog: str
    forced_backend: str | None
    session_factory: SessionFactory
    diagnostics: _Diagnostics
    owns_process: bool = False
    session: _Session | None = None
    notes: RunNotes | None = None
    quiet: bool = False

    # ------------------------------------------------------------------ flow

    def execute(self, argv: Sequence[str]) -> int:
        parser, actions = _build_parser(self.prog)
        command = _split_argv(argv, actions)
        self.diagnostics.json_errors = _json_errors_requested(command.options, os.environ)
        namespace = parser.parse_args(command.options)
        if command.module is None and namespace.module is not None:
            command.module = namespace.module
        if command.script is None and command.module is None:
            raise usage(
                ErrorCode.INVALID_ARGUMENT,
                "missing script to execute",
                hint=f"usage: {self.prog} [options] SCRIPT [ARGS...] or -m MODULE",
            )
        trace_format = _check_format(namespace.format)
        policy = self._policy(namespace)
        self.diagnostics.json_errors = policy.json_errors
        install_cli_handler(policy.log_level, policy.log_file)
        if _recorder_disabled():
            log.info("%s is set: running the program without recording", DISABLED_ENV_VAR)
            return self._program_status(self._run_untraced(self._resolve(command), command.args))
        target = self._resolve(command)
        return self._record(namespace, policy, trace_format, target, command.args)

    def _policy(self, namespace: argparse.Namespace) -> Policy:
        overrides = policy_overrides(namespace)
        sources = dict(FLAG_SOURCES)
        forced = self.forced_backend
        if forced is not None:
            given = namespace.backend
            if given is not None and given.strip().lower() not in ("auto", forced):
                raise usage(
                    ErrorCode.INVALID_ARGUMENT,
                    f"{self.prog} always uses the {forced} backend; --backend {given} conflicts",
                    hint=f"use recorder-runtime --backend {given}",
                )
            overrides["backend"] = forced
            sources["backend"] = self.prog
        return resolve_policy(overrides, sources=sources, command_line=True)

    @staticmethod
    def _resolve(command: _CommandLine) -> Target:
        if command.module is not None:
            return resolve_module(command.module)
        if command.script is None:  # pragma: no cover - execute() checked it
            raise usage(ErrorCode.INVALID_ARGUMENT, "missing script to execute")
        return resolve_script(command.script)

    # --------------------------------------------------------------- recording

    def _record(
        self,
        namespace: argparse.Namespace,
        policy: Policy,
        trace_format: str,
        target: Target,
        args: list[str],
    ) -> int:
        trace_dir = os.path.abspath(namespace.trace_dir or DEFAULT_TRACE_DIR)
        self.notes = RunNotes(
            look_at_destination(trace_dir),
            trace_format,
            os.path.abspath(namespace.activation_path or target.filename),
            explicit_activation=bool(namespace.activation_path),
        )
        self.quiet = policy.quiet
        session = self.session_factory(
            trace_dir=trace_dir,
            policy=policy,
            format=trace_format,
            activation_path=(
                os.path.abspath(namespace.activation_path)
                if namespace.activation_path
                else target.filename
            ),
            program=target.filename,
            args=tuple(args),
            backend=policy.backend,
        )
        self.session = session
        set_trace_id(session.trace_id)
        try:
            session.start()
        except Exception as exc:
            return self._start_failed(_classify(exc), policy, target, args)
        # From here on an ``abort`` may surface in the CLI's own frames as well as in the
        # program's (a callback fires on every function start): the session is finished
        # whatever happens. The guard detaches before raising, so a second attempt is quiet.
        try:
            outcome = self._run_program(target, args)
        except RecorderError as exc:
            outcome = ScriptOutcome(1, "exception", exc)
        try:
            report = self._finish(session, outcome)
        except RecorderError:
            report = self._finish(session, outcome)
        return self._conclude(policy, outcome, report)

    def _start_failed(
        self, error: RecorderError, policy: Policy, target: Target, args: list[str]
    ) -> int:
        """Usage errors stop the run under any policy; others obey ``on_recorder_error``.

        Under ``disable`` the program runs without the recorder and the CLI is
        transparent: the exit status is the program's, and the failure is the
        last line (or JSON trailer) once the program is done. ``--require-trace``
        still holds: no trace then means ``ERR_TRACE_MISSING``.
        """
        if error.kind.exit_code == 2 or policy.on_recorder_error != "disable":
            raise error
        log.debug("start failed", exc_info=error, extra={"error_code": error.code.value})
        set_trace_id(None)
        outcome = self._run_untraced(target, args)
        if policy.require_trace:
            raise enverr(
                ErrorCode.TRACE_MISSING,
                f"a trace was required but recording could not start ({error.code.value}: "
                f"{error.message})",
                cause=error.code.value,
                hint="fix the cause, or drop --require-trace",
            )
        self.diagnostics.line("recorder: no trace written")
        self.diagnostics.failure(error, self.session, hint=_UNTRACED_HINT)
        return self._program_status(outcome)

    def _run_program(self, target: Target, args: list[str]) -> ScriptOutcome:
        try:
            return run_target(target, args, restore=False, interpreter_exit=self.owns_process)
        except Exception as exc:  # the runner itself failed: a recorder bug
            error = _classify(exc)
            log.debug("runner failed", exc_info=exc, extra={"error_code": error.code.value})
            return ScriptOutcome(1, "exception", error)

    def _finish(self, session: _Session, outcome: ScriptOutcome) -> _Report:
        try:
            return session.finish(exit_code=outcome.exit_code, exit_label=outcome.exit_label)
        except Exception as exc:  # the contract says finish never raises; be safe anyway
            error = _classify(exc)
            return _FallbackReport("absent", "", error, True)

    def _conclude(self, policy: Policy, outcome: ScriptOutcome, report: _Report) -> int:
        session = self.session
        failure = session.failure if session is not None else None
        stopped_by_recorder = outcome.exception is not None and (
            outcome.exception is failure or outcome.exception is report.error
        )
        if not stopped_by_recorder:
            outcome.report()
        self._program_epilogue()
        error = report.error
        if error is not None and report.fatal:
            if report.state == "partial":
                self._say_where(report)
            self.diagnostics.failure(error, session)
            return error.exit_code
        self._say_where(report)
        self._note_script_status(policy, outcome)
        if error is not None:
            # A partial trace of a run that was never detached (events lost at the recursion
            # limit, or a trace function removed) versus a disable-policy detach.
            incomplete = error.code in _INCOMPLETE_CODES and report.state == "partial"
            hint = _INCOMPLETE_HINT if incomplete else _NON_FATAL_HINT
            self.diagnostics.failure(error, session, hint=hint)
        elif self.diagnostics.json_errors:
            self.diagnostics.line(_success_trailer(session, self.diagnostics.trace))
        if policy.propagate_script_exit:
            return self._program_status(outcome)
        return 0

    def _say_where(self, report: _Report) -> None:
        """Warnings (notices.WarningCode), then the summary line; ``--quiet`` drops the latter."""
        notes = self.notes
        summary = notes.summary(report, self.session) if notes is not None else None
        if notes is not None:
            for warning in notes.warnings(report, self.session):
                self.diagnostics.line(warning)
        if summary is not None:
            self.diagnostics.trace = summary.as_dict()
            if not self.quiet:
                self.diagnostics.line(summary.line())
        elif report.state in ("complete", "partial"):  # pragma: no cover - notes always set
            self.diagnostics.line(f"recorder: trace written to {report.trace_dir}")
        else:
            self.diagnostics.line("recorder: no trace written")

    def _note_script_status(self, policy: Policy, outcome: ScriptOutcome) -> None:
        if outcome.exit_status == 0 or policy.propagate_script_exit:
            return
        what = "was interrupted" if outcome.kind == "interrupt" else "exited"
        self.diagnostics.line(
            f"recorder: script {what} with status {outcome.exit_status}; returning 0 "
            "(use --propagate-script-exit to mirror it)"
        )

    # --------------------------------------------------------------- untraced

    def _run_untraced(self, target: Target, args: list[str]) -> ScriptOutcome:
        """Run the program with no recorder at all and print what Python would print."""
        outcome = run_target(target, args, restore=False, interpreter_exit=self.owns_process)
        outcome.report()
        self._program_epilogue()
        return outcome

    def _program_epilogue(self) -> None:
        """Run the program's atexit handlers now, as the interpreter would at exit.

        Python runs them after the traceback and before the process ends; running
        them here, after the trace is finished and before the recorder's own
        lines, keeps the program's output together and the recorder's verdict
        (and the JSON trailer) the last thing on stderr. Only when the CLI owns
        the process (called as the entry point), never for an in-process caller.
        """
        if not self.owns_process:
            return
        try:
            _run_exitfuncs()
        except Exception:  # the interpreter only reports atexit failures too
            log.debug("an atexit handler of the program failed", exc_info=True)
        _flush(sys.stdout)

    @staticmethod
    def _program_status(outcome: ScriptOutcome) -> int:
        """The program's own status; an interrupt ends the process by SIGINT, like Python."""
        if outcome.kind == "interrupt":
            remove_cli_handler()
            return outcome.reraise_interrupt()
        return outcome.exit_status


@dataclass(frozen=True)
class _FallbackReport:
    state: str
    trace_dir: str
    error: RecorderError | None
    fatal: bool


def _classify(exc: BaseException) -> RecorderError:
    return exc if isinstance(exc, RecorderError) else from_exception(exc)


def _check_format(value: str) -> str:
    """The registry's name of the format asked for (usage error if it is unknown)."""
    return formats.lookup(value).name


def _recorder_disabled() -> bool:
    raw = os.environ.get(DISABLED_ENV_VAR)
    if raw is None or not raw.strip():
        return False
    return parse_bool(raw, f"environment variable {DISABLED_ENV_VAR}")


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "recorder-runtime",
    forced_backend: str | None = None,
    session_factory: SessionFactory | None = None,
) -> int:
    """Run the CLI and return the exit status (``sys.exit(main())`` is the entry point).

    ``forced_backend`` is how ``pure-recorder`` pins the settrace backend;
    ``session_factory`` replaces :class:`recorder_runtime.session.TraceSession`
    (tests). A ``KeyboardInterrupt`` that the script did not catch ends the
    process by SIGINT when its status is propagated, as plain Python does.
    Called without ``argv`` (the entry points), the CLI owns the process and
    runs the program's atexit handlers before its own final lines.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if _is_inspect_command(arguments):
        from .tools.inspect import main as inspect_main

        return inspect_main(arguments[1:], prog=f"{prog} inspect")
    if arguments[:1] == ["convert"] and not os.path.exists("convert"):  # as for inspect
        from .output.convert import main as convert_main

        return convert_main(arguments[1:], prog=f"{prog} convert")
    diagnostics = _Diagnostics(sys.stderr, json_errors=False)
    run = _Run(prog, forced_backend, session_factory or _default_session_factory, diagnostics)
    run.owns_process = argv is None
    try:
        return run.execute(arguments)
    except _ParserExit as done:
        return done.status
    except KeyboardInterrupt:  # Ctrl-C outside the program (e.g. while finishing)
        diagnostics.line("recorder: interrupted")
        remove_cli_handler()
        return ScriptOutcome(SIGINT_STATUS, "interrupt").reraise_interrupt()
    except RecorderError as error:
        diagnostics.failure(error, run.session)
        return error.exit_code
    except Exception as exc:  # a bug in the CLI itself: classified, never a raw traceback
        unexpected = from_exception(exc)
        diagnostics.failure(unexpected, run.session)
        return unexpected.exit_code
    finally:
        _flush(sys.stdout)
        remove_cli_handler()
        set_trace_id(None)


def _is_inspect_command(arguments: Sequence[str]) -> bool:
    """``inspect TRACE_DIR``: the first argument is exactly ``inspect`` and no such file exists.

    A script literally named ``inspect`` in the current directory is still recorded as
    before (``recorder-runtime inspect``); ``./inspect`` or ``-- inspect`` always mean the
    script.
    """
    return (
        bool(arguments) and arguments[0] == INSPECT_COMMAND and not os.path.exists(INSPECT_COMMAND)
    )


def _flush(stream: TextIO | None) -> None:
    try:
        if stream is not None:
            stream.flush()
    except Exception:
        pass
