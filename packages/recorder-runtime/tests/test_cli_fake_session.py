"""The CLI's decisions (exit status, diagnostics, flow) against a scripted fake session.

The real session is exercised end to end in ``test_cli.py`` and
``test_exit_table.py``; here each situation the session can report is
produced on demand, so every branch of the exit-status contract is pinned
without depending on how a real failure is provoked.
"""

from __future__ import annotations

import builtins
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from recorder_errors import ErrorCode, RecorderError, enverr, from_exception, usage
from recorder_runtime import cli
from recorder_runtime.policy import Policy, reset_policy


@dataclass(frozen=True)
class Report:
    state: str
    trace_dir: str
    error: RecorderError | None = None
    fatal: bool = False


@dataclass
class FakeSession:
    config: dict[str, object]
    start_error: RecorderError | None = None
    report: Report | None = None
    failure: RecorderError | None = None
    finish_raises: bool = False
    run_id: str = "run-fake"
    trace_id: str = "trace-fake"
    started: bool = False
    finished_with: dict[str, object] = field(default_factory=dict)

    def start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        self.started = True

    def finish(self, *, exit_code: int | None, exit_label: str | None = None) -> Report:
        self.finished_with = {"exit_code": exit_code, "exit_label": exit_label}
        if self.finish_raises:
            raise RuntimeError("finish broke its contract")
        return self.report or Report("complete", str(self.config["trace_dir"]))


@dataclass
class Harness:
    tmp_path: Path
    capsys: pytest.CaptureFixture[str]
    sessions: list[FakeSession] = field(default_factory=list)
    start_error: RecorderError | None = None
    report: Report | None = None
    failure: RecorderError | None = None
    finish_raises: bool = False

    def factory(self, **config: object) -> FakeSession:
        session = FakeSession(
            dict(config),
            start_error=self.start_error,
            report=self.report,
            failure=self.failure,
            finish_raises=self.finish_raises,
        )
        self.sessions.append(session)
        return session

    def script(self, name: str, body: str) -> str:
        path = self.tmp_path / name
        path.write_text(body, encoding="utf-8")
        return str(path)

    def run(self, *argv: str, prog: str = "recorder-runtime", forced: str | None = None) -> Run:
        status = cli.main(
            list(argv), prog=prog, forced_backend=forced, session_factory=self.factory
        )
        out, err = self.capsys.readouterr()
        return Run(status, out, err)


def policy_of(session: FakeSession) -> Policy:
    policy = session.config["policy"]
    assert isinstance(policy, Policy)
    return policy


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    def recorder_errors(self) -> list[str]:
        return [line for line in self.lines if line.startswith("recorder: ERR_")]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clean policy inputs; put back what the CLI leaves for the program's atexit handlers."""
    for var in list(os.environ):
        if var.startswith("CODETRACER_") or var == "RECORDER_FAILPOINTS":
            monkeypatch.delenv(var)
    reset_policy()
    saved = (sys.argv, list(sys.path), sys.modules["__main__"])
    yield
    sys.argv, sys.path[:], sys.modules["__main__"] = saved
    reset_policy()


@pytest.fixture
def h(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Harness:
    monkeypatch.chdir(tmp_path)
    return Harness(tmp_path, capsys)


# --- flow and configuration -----------------------------------------------------


def test_session_gets_absolute_paths_program_args_and_policy(h: Harness) -> None:
    script = h.script("ok.py", "print('ok')\n")
    run = h.run("--max-items", "5", "ok.py", "a", "--trace-dir", "x")
    assert run.status == 0
    config = h.sessions[0].config
    assert config["trace_dir"] == str(h.tmp_path / "trace-out")
    assert config["program"] == script
    assert config["activation_path"] == script
    assert config["args"] == ("a", "--trace-dir", "x")
    assert config["format"] == "json"
    assert policy_of(h.sessions[0]).max_items == 5


def test_explicit_trace_dir_and_activation_path_are_passed(h: Harness) -> None:
    h.script("ok.py", "")
    h.run("--trace-dir", "out", "--activation-path", "lib.py", "ok.py")
    config = h.sessions[0].config
    assert config["trace_dir"] == str(h.tmp_path / "out")
    assert config["activation_path"] == str(h.tmp_path / "lib.py")


def test_program_output_reaches_stdout_untouched(h: Harness) -> None:
    h.script("p.py", "print('hello')\n")
    run = h.run("p.py")
    assert run.stdout == "hello\n"


def test_success_says_where_the_trace_went_and_exits_0(h: Harness) -> None:
    h.script("ok.py", "")
    run = h.run("ok.py")
    assert run.status == 0
    assert len(run.lines) == 1
    assert run.lines[0].startswith(f"recorder: trace written to {h.tmp_path / 'trace-out'} (")


def test_normal_end_finishes_with_exit_code_0(h: Harness) -> None:
    h.script("ok.py", "")
    h.run("ok.py")
    assert h.sessions[0].finished_with == {"exit_code": 0, "exit_label": None}


def test_uncaught_exception_finishes_with_exit_label(h: Harness) -> None:
    h.script("boom.py", "raise ValueError('boom')\n")
    h.run("boom.py")
    assert h.sessions[0].finished_with == {"exit_code": None, "exit_label": "<exit>"}


def test_sys_exit_finishes_with_its_status(h: Harness) -> None:
    h.script("e.py", "import sys\nsys.exit(5)\n")
    h.run("e.py")
    assert h.sessions[0].finished_with == {"exit_code": 5, "exit_label": None}


def test_format_is_checked_before_a_session_exists(h: Harness) -> None:
    h.script("ok.py", "")
    for fmt in ("yaml", "capnp"):
        run = h.run("--format", fmt, "ok.py")
        assert run.status == 2
        assert run.recorder_errors()[0].startswith("recorder: ERR_UNSUPPORTED_FORMAT:")
    assert h.sessions == []


def test_missing_script_is_checked_before_a_session_exists(h: Harness) -> None:
    run = h.run("nope.py")
    assert run.status == 2
    assert run.recorder_errors() == [
        "recorder: ERR_SCRIPT_NOT_FOUND: script 'nope.py' does not exist "
        "(check the path, or use -m MODULE to record a module)"
    ]
    assert h.sessions == []
    assert not (h.tmp_path / "trace-out").exists()


def test_missing_module_is_module_not_found(h: Harness) -> None:
    run = h.run("-m", "no_such_module_xyz")
    assert run.status == 2
    assert run.recorder_errors()[0].startswith("recorder: ERR_MODULE_NOT_FOUND:")
    assert h.sessions == []


def test_disabled_environment_runs_the_program_without_a_session(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODETRACER_PYTHON_RECORDER_DISABLED", "1")
    h.script("e.py", "print('ran')\nimport sys\nsys.exit(3)\n")
    run = h.run("e.py")
    assert (run.status, run.stdout, run.stderr) == (3, "ran\n", "")
    assert h.sessions == []


def test_pure_recorder_forces_the_settrace_backend(h: Harness) -> None:
    h.script("ok.py", "")
    h.run("ok.py", prog="pure-recorder", forced="settrace")
    assert h.sessions[0].config["backend"] == "settrace"


def test_pure_recorder_rejects_another_backend(h: Harness) -> None:
    h.script("ok.py", "")
    run = h.run("--backend", "monitoring", "ok.py", prog="pure-recorder", forced="settrace")
    assert run.status == 2
    assert run.recorder_errors()[0].startswith("recorder: ERR_INVALID_ARGUMENT:")


# --- script status ---------------------------------------------------------------


def test_failed_script_gives_0_with_one_note(h: Harness) -> None:
    h.script("e.py", "import sys\nsys.exit(3)\n")
    run = h.run("e.py")
    assert run.status == 0
    assert run.lines[-1] == (
        "recorder: script exited with status 3; returning 0 "
        "(use --propagate-script-exit to mirror it)"
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("import sys\nsys.exit(3)\n", 3),
        ("import sys\nsys.exit()\n", 0),
        ("import sys\nsys.exit(None)\n", 0),
        ("import sys\nsys.exit('msg')\n", 1),
        ("raise ValueError('x')\n", 1),
    ],
)
def test_propagate_mirrors_the_script_status(h: Harness, body: str, status: int) -> None:
    h.script("e.py", body)
    run = h.run("--propagate-script-exit", "e.py")
    assert run.status == status
    assert not any("returning 0" in line for line in run.lines)


def test_no_propagate_flag_beats_the_environment(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODETRACER_PROPAGATE_SCRIPT_EXIT", "1")
    h.script("e.py", "import sys\nsys.exit(3)\n")
    assert h.run("e.py").status == 3
    assert h.run("--no-propagate-script-exit", "e.py").status == 0


def test_script_traceback_comes_first_and_has_no_recorder_frames(h: Harness) -> None:
    h.script("boom.py", "def f():\n    raise ValueError('boom')\nf()\n")
    run = h.run("boom.py")
    assert run.status == 0
    assert run.lines[0] == "Traceback (most recent call last):"
    assert "ValueError: boom" in run.lines
    assert not any("recorder_runtime" in line for line in run.lines)
    assert run.lines[-2].startswith("recorder: trace written to")
    assert "status 1" in run.lines[-1]


def test_exit_message_is_printed_like_python(h: Harness) -> None:
    h.script("m.py", "raise SystemExit('bye message')\n")
    run = h.run("m.py")
    assert run.lines[0] == "bye message"


# --- recorder failures ---------------------------------------------------------------


def test_usage_error_at_start_is_2_under_both_policies(h: Harness) -> None:
    h.start_error = usage(ErrorCode.TRACE_DIR_CONFLICT, "the trace directory is a file")
    h.script("p.py", "print('ran')\n")
    for policy in ("abort", "disable"):
        run = h.run("--on-recorder-error", policy, "p.py")
        assert run.status == 2
        assert run.stdout == ""
        assert run.recorder_errors() == [
            "recorder: ERR_TRACE_DIR_CONFLICT: the trace directory is a file "
            "(choose another --trace-dir)"
        ]


def test_environment_error_at_start_under_abort_exits_10_without_running(h: Harness) -> None:
    h.start_error = enverr(ErrorCode.TRACE_DIR_CREATE_FAILED, "cannot create the directory")
    h.script("p.py", "print('ran')\n")
    run = h.run("p.py")
    assert (run.status, run.stdout) == (10, "")
    assert len(run.recorder_errors()) == 1


def test_environment_error_at_start_under_disable_runs_untraced(h: Harness) -> None:
    h.start_error = enverr(ErrorCode.TRACE_DIR_CREATE_FAILED, "cannot create the directory")
    h.script("p.py", "print('ran')\nimport sys\nsys.exit(4)\n")
    run = h.run("--on-recorder-error", "disable", "p.py")
    assert (run.status, run.stdout) == (4, "ran\n")
    assert run.lines == [
        "recorder: no trace written",
        "recorder: ERR_TRACE_DIR_CREATE_FAILED: cannot create the directory (recording could "
        "not start; the program ran untraced (--on-recorder-error=disable))",
    ]


def test_start_failure_under_disable_ends_with_the_json_trailer(h: Harness) -> None:
    h.start_error = enverr(ErrorCode.TRACE_DIR_CREATE_FAILED, "cannot create the directory")
    h.script("p.py", "import sys\nprint('ran', file=sys.stderr)\n")
    run = h.run("--json-errors", "--on-recorder-error", "disable", "p.py")
    assert run.status == 0
    assert run.lines[0] == "ran"
    trailer = json.loads(run.lines[-1])
    assert (trailer["error_code"], trailer["trace_id"]) == (
        "ERR_TRACE_DIR_CREATE_FAILED",
        "trace-fake",
    )


def test_require_trace_after_an_untraced_run_is_trace_missing(h: Harness) -> None:
    h.start_error = enverr(ErrorCode.TRACE_DIR_CREATE_FAILED, "cannot create the directory")
    h.script("p.py", "print('ran')\n")
    run = h.run("--on-recorder-error", "disable", "--require-trace", "p.py")
    assert (run.status, run.stdout) == (10, "ran\n")
    assert run.lines == [
        "recorder: ERR_TRACE_MISSING: a trace was required but recording could not start "
        "(ERR_TRACE_DIR_CREATE_FAILED: cannot create the directory) "
        "(fix the cause, or drop --require-trace)"
    ]


def test_fatal_failure_wins_with_its_exit_code_and_one_line(h: Harness) -> None:
    error = enverr(ErrorCode.NO_SPACE, "the disk is full", hint="free some space")
    h.report = Report("absent", "", error, fatal=True)
    h.script("e.py", "import sys\nsys.exit(3)\n")
    run = h.run("--propagate-script-exit", "e.py")
    assert run.status == 10
    assert run.lines == ["recorder: ERR_NO_SPACE: the disk is full (free some space)"]


def test_abort_error_raised_into_the_program_is_not_printed_as_a_traceback(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = from_exception(RuntimeError("callback exploded"))
    monkeypatch.setattr(builtins, "_cli_test_failure", error, raising=False)
    h.failure = error
    h.report = Report("absent", "", error, fatal=True)
    h.script("a.py", "import builtins\nraise builtins._cli_test_failure\n")
    run = h.run("a.py")
    assert run.status == error.exit_code
    (line,) = run.lines
    assert line.startswith(f"recorder: {error.code.value}: {error.message}")


def test_fatal_failure_still_says_where_a_partial_trace_went(h: Harness) -> None:
    error = enverr(ErrorCode.IO, "write failed")
    h.report = Report("partial", str(h.tmp_path / "trace-out"), error, fatal=True)
    h.script("ok.py", "")
    run = h.run("--keep-partial-trace", "ok.py")
    assert run.status == 10
    assert run.lines[0].startswith(f"recorder: partial trace written to {h.tmp_path / 'trace-out'}")
    assert run.lines[1:] == ["recorder: ERR_IO: write failed"]


def test_non_fatal_failure_reports_partial_trace_and_keeps_status_0(h: Harness) -> None:
    error = enverr(ErrorCode.IO, "write failed")
    h.report = Report("partial", str(h.tmp_path / "trace-out"), error, fatal=False)
    h.script("ok.py", "")
    run = h.run("--on-recorder-error", "disable", "ok.py")
    assert run.status == 0
    assert run.lines[0].startswith(f"recorder: partial trace written to {h.tmp_path / 'trace-out'}")
    assert run.lines[1:] == [
        "recorder: ERR_IO: write failed (recording stopped under --on-recorder-error=disable; "
        "the program ran on untraced)",
    ]


def test_finish_breaking_its_contract_is_still_classified(h: Harness) -> None:
    h.finish_raises = True
    h.script("ok.py", "")
    run = h.run("ok.py")
    assert run.status == 70
    assert len(run.recorder_errors()) == 1
    assert "Traceback" not in run.stderr


# --- JSON errors ---------------------------------------------------------------------


def test_json_trailer_is_the_last_line_with_exact_keys(h: Harness) -> None:
    h.report = Report("absent", "", enverr(ErrorCode.NO_SPACE, "disk full", path="/x"), True)
    h.script("ok.py", "print('out')\n")
    run = h.run("--json-errors", "ok.py")
    assert run.status == 10
    trailer = json.loads(run.lines[-1])
    assert list(trailer) == ["run_id", "trace_id", "error_code", "kind", "message", "context"]
    assert trailer["run_id"] == "run-fake"
    assert trailer["trace_id"] == "trace-fake"
    assert (trailer["error_code"], trailer["kind"]) == ("ERR_NO_SPACE", "Environment")
    assert trailer["context"] == {"path": "/x"}
    assert run.stdout == "out\n"


def test_json_trailer_for_usage_errors_has_null_trace_id(h: Harness) -> None:
    run = h.run("--json-errors", "nope.py")
    assert run.status == 2
    assert len(run.lines) == 1
    trailer = json.loads(run.lines[0])
    assert trailer["trace_id"] is None
    assert trailer["error_code"] == "ERR_SCRIPT_NOT_FOUND"


def test_json_trailer_for_argparse_errors(h: Harness) -> None:
    run = h.run("--json-errors", "--bogus", "x.py")
    assert run.status == 2
    assert json.loads(run.lines[-1])["error_code"] == "ERR_INVALID_ARGUMENT"


def test_json_errors_from_environment_cover_policy_errors(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODETRACER_JSON_ERRORS", "1")
    run = h.run("--on-recorder-error=maybe", "x.py")
    trailer = json.loads(run.lines[-1])
    assert trailer["error_code"] == "ERR_INVALID_POLICY_VALUE"
    assert "--on-recorder-error" in trailer["message"]


def test_a_failure_about_a_file_names_it(h: Harness) -> None:
    error = enverr(ErrorCode.IO, "[Errno 27] File too large", path="/x/trace.json")
    h.report = Report("absent", "", error, fatal=True)
    h.script("ok.py", "")
    run = h.run("ok.py")
    assert run.lines[-1].startswith("recorder: ERR_IO: [Errno 27] File too large: /x/trace.json")


def test_json_trailer_after_non_fatal_failure_is_last(h: Harness) -> None:
    h.report = Report("absent", "", enverr(ErrorCode.IO, "write failed"), fatal=False)
    h.script("e.py", "import sys\nsys.exit(2)\n")
    run = h.run("--json-errors", "e.py")
    assert run.status == 0
    assert json.loads(run.lines[-1])["error_code"] == "ERR_IO"


# --- argument parsing ------------------------------------------------------------------


def test_recorder_looking_flags_after_the_script_belong_to_it(h: Harness) -> None:
    h.script("a.py", "import sys\nprint(sys.argv[1:])\n")
    run = h.run("a.py", "--format", "binary", "--json-errors", "--", "-m", "x")
    assert run.stdout == "['--format', 'binary', '--json-errors', '--', '-m', 'x']\n"
    assert h.sessions[0].config["format"] == "json"
    assert policy_of(h.sessions[0]).json_errors is False


def test_a_double_dash_right_after_the_script_separates_and_is_removed(h: Harness) -> None:
    """As in the reference (its --help documents ``SCRIPT -- ARGS``); later ones stay."""
    h.script("a.py", "import sys\nprint(sys.argv[1:])\n")
    run = h.run("a.py", "--", "--flag", "value", "--")
    assert run.stdout == "['--flag', 'value', '--']\n"


def test_a_double_dash_right_after_a_module_separates_and_is_removed(h: Harness) -> None:
    h.script("tool_mod.py", "import sys\nprint(sys.argv[1:])\n")
    run = h.run("-m", "tool_mod", "--", "--", "-x")
    assert run.stdout == "['--', '-x']\n"


def test_help_documents_the_double_dash_separator(h: Harness) -> None:
    run = h.run("--help")
    assert "SCRIPT [--] [ARGS...]" in run.stdout
    assert "one `--` right after" in run.stdout


def test_double_dash_ends_recorder_options(h: Harness) -> None:
    h.script("--weird.py", "import sys\nprint(sys.argv)\n")
    run = h.run("--", "--weird.py", "--help")
    assert run.stdout == "['--weird.py', '--help']\n"


def test_module_arguments_belong_to_the_module(h: Harness) -> None:
    h.script("modargs.py", "import sys\nprint(sys.argv[1:])\n")
    run = h.run("-m", "modargs", "--trace-dir", "y")
    assert run.stdout == "['--trace-dir', 'y']\n"
    assert h.sessions[0].config["trace_dir"] == str(h.tmp_path / "trace-out")


def test_unknown_option_is_one_line_exit_2(h: Harness) -> None:
    run = h.run("--bogus", "x.py")
    assert (run.status, run.stdout) == (2, "")
    assert run.lines == [
        "recorder: ERR_INVALID_ARGUMENT: unrecognized arguments: --bogus "
        "(see recorder-runtime --help)"
    ]


def test_abbreviated_options_are_not_accepted(h: Harness) -> None:
    assert h.run("--trace-d", "x", "ok.py").status == 2


def test_missing_script_argument_is_exit_2(h: Harness) -> None:
    run = h.run()
    assert run.status == 2
    assert run.recorder_errors()[0].startswith("recorder: ERR_INVALID_ARGUMENT: missing script")


def test_option_without_its_value_is_exit_2(h: Harness) -> None:
    run = h.run("--trace-dir")
    assert run.status == 2
    assert "expected one argument" in run.stderr


def test_help_goes_to_stdout_and_exits_0(h: Harness) -> None:
    run = h.run("--help")
    assert run.status == 0
    assert run.stdout.startswith("usage: recorder-runtime")
    assert "--propagate-script-exit" in run.stdout
    assert run.stderr == ""


def test_version_goes_to_stdout_and_exits_0(h: Harness) -> None:
    run = h.run("--version", prog="pure-recorder", forced="settrace")
    assert (run.status, run.stderr) == (0, "")
    assert run.stdout.startswith("pure-recorder ")


@pytest.mark.parametrize(
    ("flag", "value", "source"),
    [
        ("--on-recorder-error", "maybe", "--on-recorder-error"),
        ("--log-level", "loud", "--log-level"),
        ("--io-capture", "tee", "--io-capture"),
        ("--max-depth", "0", "--max-depth"),
        ("--backend", "jit", "--backend"),
    ],
)
def test_invalid_policy_flag_names_the_flag(h: Harness, flag: str, value: str, source: str) -> None:
    run = h.run(flag, value, "x.py")
    assert run.status == 2
    (line,) = run.recorder_errors()
    assert line.startswith("recorder: ERR_INVALID_POLICY_VALUE:")
    assert source in line
    assert h.sessions == []


def test_invalid_policy_environment_names_the_variable(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODETRACER_REQUIRE_TRACE", "perhaps")
    run = h.run("x.py")
    assert run.status == 2
    assert "environment variable CODETRACER_REQUIRE_TRACE" in run.stderr


def test_trace_filter_flags_accumulate_in_order(h: Harness) -> None:
    h.script("ok.py", "")
    h.run("--trace-filter", "a.toml::b.toml", "--trace-filter=c.toml", "ok.py")
    assert policy_of(h.sessions[0]).trace_filter == ("a.toml", "b.toml", "c.toml")


@pytest.mark.parametrize(
    ("argv", "options", "script", "module", "args"),
    [
        (["s.py"], [], "s.py", None, []),
        (["--trace-dir", "d", "s.py", "x"], ["--trace-dir", "d"], "s.py", None, ["x"]),
        (["--trace-dir=d", "s.py"], ["--trace-dir=d"], "s.py", None, []),
        (
            ["--json-errors", "s.py", "--json-errors"],
            ["--json-errors"],
            "s.py",
            None,
            ["--json-errors"],
        ),
        (["-m", "pkg.mod", "-m", "z"], [], None, "pkg.mod", ["-m", "z"]),
        (["-mpkg", "a"], [], None, "pkg", ["a"]),
        (["--", "-s.py", "--"], [], "-s.py", None, ["--"]),
        (["s.py", "--", "--x", "--"], [], "s.py", None, ["--x", "--"]),
        (["s.py", "a", "--", "b"], [], "s.py", None, ["a", "--", "b"]),
        (["-m", "pkg", "--"], [], None, "pkg", []),
        (["--bogus", "s.py"], ["--bogus"], "s.py", None, []),
        (["--trace-dir", "s.py"], ["--trace-dir", "s.py"], None, None, []),
    ],
)
def test_split_argv(
    argv: list[str], options: list[str], script: str | None, module: str | None, args: list[str]
) -> None:
    _, actions = cli._build_parser("recorder-runtime")
    split = cli._split_argv(argv, actions)
    assert (split.options, split.script, split.module, split.args) == (
        options,
        script,
        module,
        args,
    )


INTERRUPTED_FINISH_DRIVER = """
import sys
from recorder_runtime import cli

class Session:
    run_id = "r"
    trace_id = "t"
    failure = None
    def __init__(self, **config):
        pass
    def start(self):
        pass
    def finish(self, *, exit_code, exit_label=None):
        raise KeyboardInterrupt

sys.exit(cli.main(sys.argv[1:], session_factory=Session))
"""


def test_ctrl_c_while_finishing_dies_by_sigint_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("print('ran')\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODETRACER_")}
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_FINISH_DRIVER, "ok.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == -signal.SIGINT
    assert result.stdout == "ran\n"
    assert result.stderr == "recorder: interrupted\n"
