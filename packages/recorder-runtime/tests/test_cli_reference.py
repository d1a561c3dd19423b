"""``--help`` as a reference, and the CLI reading the policy table (flags and pyproject.toml)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from recorder_runtime import cli, config
from recorder_runtime.policy import Policy, reset_policy


@dataclass(frozen=True)
class Report:
    state: str
    trace_dir: str
    error: None = None
    fatal: bool = False


@dataclass
class FakeSession:
    """Records what the CLI hands a session; the program never runs under a recorder."""

    config: dict[str, object]
    run_id: str = "run-fake"
    trace_id: str = "trace-fake"
    failure: None = None

    def start(self) -> None:
        pass

    def finish(self, *, exit_code: int | None, exit_label: str | None = None) -> Report:
        return Report("complete", str(self.config["trace_dir"]))


@dataclass
class Cli:
    capsys: pytest.CaptureFixture[str]
    sessions: list[FakeSession] = field(default_factory=list)

    def factory(self, **settings: object) -> FakeSession:
        session = FakeSession(dict(settings))
        self.sessions.append(session)
        return session

    def run(self, *argv: str) -> tuple[int, str, str]:
        status = cli.main(list(argv), session_factory=self.factory)
        out, err = self.capsys.readouterr()
        return status, out, err

    def policy(self) -> Policy:
        policy = self.sessions[-1].config["policy"]
        assert isinstance(policy, Policy)
        return policy


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in list(os.environ):
        if var.startswith("CODETRACER_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    reset_policy()
    saved = (sys.argv, list(sys.path), sys.modules["__main__"])
    yield
    sys.argv, sys.path[:], sys.modules["__main__"] = saved
    reset_policy()


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


def help_text(run: Cli) -> str:
    status, out, err = run.run("--help")
    assert (status, err) == (0, "")
    return " ".join(out.split())  # argparse wraps lines: compare with spaces normalised


def test_help_names_the_default_and_variable_of_every_policy_option(run: Cli) -> None:
    text = help_text(run)
    for row in config.rows():
        assert f"(default: {row.shown_default}; env {row.spec.env})" in text, row.name


def test_help_shows_each_boolean_as_one_option_with_its_negation(run: Cli) -> None:
    _, out, _ = run.run("--help")
    for row in config.rows():
        if row.switch:
            flag = row.spec.flag
            assert re.search(rf"^  {flag}, --no-{flag[2:]}\b", out, re.MULTILINE), flag


def test_help_lists_the_exit_statuses_and_the_configuration_precedence(run: Cli) -> None:
    _, out, _ = run.run("--help")
    epilog = out[out.index("exit status:") :]
    for status in ("0", "N", "2", "10", "20", "70"):
        assert re.search(rf"^  {status} +\S", epilog, re.MULTILINE), status
    assert "[tool.codetracer] in the nearest pyproject.toml" in out
    assert "CODETRACER_PYTHON_RECORDER_DISABLED" in out


def test_globals_and_quiet_flags_reach_the_session_policy(run: Cli) -> None:
    status, _, _ = run.run("--globals", "all", "--quiet", "ok.py")
    assert status == 0
    assert (run.policy().globals, run.policy().quiet) == ("all", True)


def test_no_quiet_flag_beats_the_environment(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODETRACER_QUIET", "1")
    run.run("--no-quiet", "ok.py")
    assert run.policy().quiet is False


def test_invalid_globals_flag_is_exit_2_naming_the_flag(run: Cli) -> None:
    status, _, err = run.run("--globals", "some", "ok.py")
    assert status == 2
    assert err.startswith("recorder: ERR_INVALID_POLICY_VALUE: invalid value 'some' for --globals")
    assert run.sessions == []


def test_pyproject_settings_apply_below_environment_and_flags(
    run: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.codetracer]\nglobals = "none"\nmax-depth = 4\nmax-items = 4\n', encoding="utf-8"
    )
    monkeypatch.setenv("CODETRACER_MAX_ITEMS", "5")
    status, _, _ = run.run("--max-depth", "6", "ok.py")
    assert status == 0
    policy = run.policy()
    assert (policy.globals, policy.max_items, policy.max_depth) == ("none", 5, 6)


def test_unknown_pyproject_key_stops_the_cli_with_exit_2_naming_file_and_key(
    run: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.codetracer]\nmax_dept = 4\n", encoding="utf-8")
    status, out, err = run.run("--json-errors", "ok.py")
    assert (status, out, run.sessions) == (2, "", [])
    trailer = json.loads(err.splitlines()[-1])
    assert trailer["error_code"] == "ERR_INVALID_POLICY_VALUE"
    assert (trailer["context"]["file"], trailer["context"]["key"]) == (str(path), "max_dept")
    assert "Traceback" not in err


def _subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CODETRACER_", "PYTHON", "RECORDER_", "COV_", "COVERAGE_"))
    }
    return {**env, **extra}


def test_real_cli_run_obeys_pyproject_and_the_environment_beats_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        "[tool.codetracer]\npropagate-script-exit = true\n", encoding="utf-8"
    )
    (project / "src" / "exit3.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")

    def record(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "recorder_runtime", "--trace-dir", "out", "exit3.py"]
        return subprocess.run(
            command,
            cwd=project / "src",
            env=_subprocess_env(env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    from_file = record({})
    overridden = record({"CODETRACER_PROPAGATE_SCRIPT_EXIT": "0"})
    if "ERR_UNSUPPORTED_PYTHON" in from_file.stderr:
        pytest.skip("no recording backend on this Python")
    assert (from_file.returncode, overridden.returncode) == (3, 0), from_file.stderr
    assert (project / "src" / "out" / "trace_metadata.json").is_file()


def test_pyproject_json_errors_applies_to_an_option_error(run: Cli, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.codetracer]\njson-errors = true\n", encoding="utf-8"
    )
    status, _, err = run.run("--no-such-option", "ok.py")
    assert status == 2
    assert json.loads(err.splitlines()[-1])["error_code"] == "ERR_INVALID_ARGUMENT"


def test_pyproject_json_errors_applies_to_its_own_bad_key(run: Cli, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.codetracer]\njson-errors = true\nbackend = 3\n", encoding="utf-8"
    )
    status, _, err = run.run("ok.py")
    assert status == 2
    assert "backend" in json.loads(err.splitlines()[-1])["message"]
