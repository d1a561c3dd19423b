"""The CLI end to end with the real session: ``python -m recorder_runtime`` against plain Python.

What the user sees must be what plain ``python`` shows, plus only the
recorder's own ``recorder: ...`` lines on stderr: stdout byte for byte, the
traceback, the ``__main__`` facts, the exit status when it is propagated,
and the program's own logging (reliability E1-E10, F15, F16, P6).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT = 120


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CODETRACER_", "PYTHON", "RECORDER_", "COV_", "COVERAGE_"))
    }
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env


def plain(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, timeout=TIMEOUT
    )


NO_BACKEND = b"ERR_UNSUPPORTED_PYTHON"


def record(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, module: str = "recorder_runtime"
) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI; skip when this interpreter has no recording backend installed yet."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        timeout=TIMEOUT,
    )
    if NO_BACKEND in result.stderr:
        pytest.skip(f"no recording backend on this Python: {result.stderr.decode().strip()}")
    return result


def program_stderr(stderr: bytes) -> bytes:
    """stderr without the recorder's own lines."""
    lines = stderr.splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(b"recorder: "))


def recorder_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if line.startswith(("recorder: ", "{"))]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_stdout_is_byte_identical_to_plain_python(tmp_path: Path) -> None:
    write(
        tmp_path / "p.py",
        "import sys\nfor i in range(3):\n    print('line', i, 'é')\n"
        "sys.stdout.write('tail without newline')\n",
    )
    expected = plain(["p.py"], tmp_path)
    actual = record(["p.py"], tmp_path)
    assert actual.stdout == expected.stdout
    assert actual.returncode == 0


def test_success_prints_where_the_trace_went(tmp_path: Path) -> None:
    write(tmp_path / "ok.py", "x = 1\n")
    result = record(["ok.py"], tmp_path)
    assert result.returncode == 0
    lines = recorder_lines(result.stderr)
    assert len(lines) == 1
    assert lines[0].startswith(f"recorder: trace written to {tmp_path / 'trace-out'} (json, ")
    assert (tmp_path / "trace-out" / "trace.json").is_file()
    assert (tmp_path / "trace-out" / "trace_metadata.json").is_file()


def test_sibling_import_works(tmp_path: Path) -> None:
    write(tmp_path / "app" / "helper.py", "def value():\n    return 42\n")
    write(tmp_path / "app" / "main.py", "import helper\nprint(helper.value())\n")
    result = record(["--trace-dir", "out", "app/main.py"], tmp_path)
    assert (result.returncode, result.stdout) == (0, b"42\n")


def test_module_mode_records_a_module(tmp_path: Path) -> None:
    write(tmp_path / "pkgm" / "__init__.py", "")
    write(tmp_path / "pkgm" / "__main__.py", "import sys\nprint(__name__, sys.argv[1:])\n")
    result = record(["-m", "pkgm", "--trace-dir", "zzz"], tmp_path)
    assert result.stdout == b"__main__ ['--trace-dir', 'zzz']\n"
    assert result.returncode == 0
    assert (tmp_path / "trace-out" / "trace.json").is_file()
    assert not (tmp_path / "zzz").exists()


def test_recorder_looking_flags_after_the_script_pass_through(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "import sys\nprint(sys.argv[1:])\n")
    result = record(["a.py", "--format", "binary", "--trace-dir", "x", "--json-errors"], tmp_path)
    assert result.stdout == b"['--format', 'binary', '--trace-dir', 'x', '--json-errors']\n"
    assert result.returncode == 0
    assert (tmp_path / "trace-out").is_dir()
    assert not (tmp_path / "x").exists()


MAIN_FACTS = """
import sys
print(list(globals()))
print(__name__, __file__, __package__, __spec__, __cached__)
print(type(__loader__).__name__, __loader__.name, __loader__.path)
print(sys.argv)
print(sys.path[0])
"""


@pytest.mark.parametrize("spelling", ["facts.py", "./facts.py", "ABS"])
def test_main_module_facts_equal_plain_python(tmp_path: Path, spelling: str) -> None:
    write(tmp_path / "facts.py", MAIN_FACTS)
    arg = str(tmp_path / "facts.py") if spelling == "ABS" else spelling
    expected = plain([arg, "one", "-x"], tmp_path)
    actual = record([arg, "one", "-x"], tmp_path)
    assert actual.stdout == expected.stdout


def test_traceback_is_identical_to_plain_python(tmp_path: Path) -> None:
    write(
        tmp_path / "boom.py",
        "def parse(text):\n"
        "    return int(text)\n"
        "def main():\n"
        "    try:\n"
        "        parse('x')\n"
        "    except ValueError as exc:\n"
        "        raise RuntimeError('cannot parse') from exc\n"
        "main()\n",
    )
    expected = plain(["boom.py"], tmp_path)
    actual = record(["boom.py"], tmp_path)
    assert program_stderr(actual.stderr) == expected.stderr
    assert b"recorder_runtime" not in actual.stderr
    assert actual.returncode == 0
    assert recorder_lines(actual.stderr)[-1] == (
        "recorder: script exited with status 1; returning 0 "
        "(use --propagate-script-exit to mirror it)"
    )


@pytest.mark.parametrize(
    "body",
    [
        "import sys\nsys.exit(3)\n",
        "import sys\nsys.exit('bye message')\n",
        "import sys\nsys.exit()\n",
        "import sys\nsys.exit(None)\n",
        "raise ValueError('boom')\n",
    ],
)
def test_propagated_status_and_stderr_equal_plain_python(tmp_path: Path, body: str) -> None:
    write(tmp_path / "e.py", "print('before')\n" + body)
    expected = plain(["e.py"], tmp_path)
    actual = record(["--propagate-script-exit", "e.py"], tmp_path)
    assert actual.returncode == expected.returncode
    assert actual.stdout == expected.stdout
    assert program_stderr(actual.stderr) == expected.stderr


def test_keyboard_interrupt_with_propagation_dies_by_sigint(tmp_path: Path) -> None:
    write(tmp_path / "k.py", "def f():\n    raise KeyboardInterrupt\nf()\n")
    expected = plain(["k.py"], tmp_path)
    actual = record(["--propagate-script-exit", "k.py"], tmp_path)
    assert actual.returncode == expected.returncode == -signal.SIGINT
    assert program_stderr(actual.stderr) == expected.stderr
    assert (tmp_path / "trace-out" / "trace.json").is_file()


def test_keyboard_interrupt_without_propagation_returns_0_with_a_note(tmp_path: Path) -> None:
    write(tmp_path / "k.py", "raise KeyboardInterrupt\n")
    actual = record(["k.py"], tmp_path)
    assert actual.returncode == 0
    assert "interrupted with status 130" in recorder_lines(actual.stderr)[-1]


def test_root_logging_of_the_program_is_unchanged(tmp_path: Path) -> None:
    write(
        tmp_path / "lg.py",
        "import logging\n"
        "logging.basicConfig(level=logging.DEBUG, format='%(name)s %(levelname)s %(message)s')\n"
        "logging.getLogger('app').info('started')\n"
        "logging.warning('careful')\n",
    )
    expected = plain(["lg.py"], tmp_path)
    actual = record(["--log-level", "debug", "--log-file", "rec.log", "lg.py"], tmp_path)
    assert program_stderr(actual.stderr) == expected.stderr
    log_text = (tmp_path / "rec.log").read_text(encoding="utf-8")
    assert "started" not in log_text
    assert all(line.startswith("recorder: ") for line in log_text.splitlines())


def test_usage_errors_create_nothing_and_write_nothing_to_stdout(tmp_path: Path) -> None:
    write(tmp_path / "ok.py", "print('ran')\n")
    cases = [
        ["--bogus", "ok.py"],
        ["--format", "yaml", "ok.py"],
        ["--on-recorder-error=maybe", "ok.py"],
        ["nope.py"],
        ["-m", "no_such_module_abc"],
        [],
    ]
    for args in cases:
        result = record(args, tmp_path)
        assert result.returncode == 2, args
        assert result.stdout == b"", args
        assert len(recorder_lines(result.stderr)) == 1, (args, result.stderr)
        assert b"Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.py"]


def test_trace_dir_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "ok.py", "print('ran')\n")
    write(tmp_path / "afile", "keep me")
    for policy in ("abort", "disable"):
        result = record(["--on-recorder-error", policy, "--trace-dir", "afile", "ok.py"], tmp_path)
        assert (result.returncode, result.stdout) == (2, b"")
        assert recorder_lines(result.stderr)[0].startswith("recorder: ERR_TRACE_DIR_CONFLICT:")
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "keep me"


def test_json_errors_last_line_is_the_trailer(tmp_path: Path) -> None:
    write(tmp_path / "afile", "")
    write(tmp_path / "ok.py", "")
    result = record(["--json-errors", "--trace-dir", "afile", "ok.py"], tmp_path)
    last = result.stderr.decode().splitlines()[-1]
    trailer = json.loads(last)
    assert list(trailer) == ["run_id", "trace_id", "error_code", "kind", "message", "context"]
    assert trailer["error_code"] == "ERR_TRACE_DIR_CONFLICT"
    assert trailer["kind"] == "Usage"


def test_disabled_environment_runs_untraced(tmp_path: Path) -> None:
    write(tmp_path / "e.py", "print('ran')\nraise SystemExit(3)\n")
    result = record(["e.py"], tmp_path, env={"CODETRACER_PYTHON_RECORDER_DISABLED": "1"})
    assert (result.returncode, result.stdout, result.stderr) == (3, b"ran\n", b"")
    assert not (tmp_path / "trace-out").exists()


def test_help_and_version_go_to_stdout(tmp_path: Path) -> None:
    help_run = record(["--help"], tmp_path)
    assert (help_run.returncode, help_run.stderr) == (0, b"")
    assert help_run.stdout.startswith(b"usage: recorder-runtime")
    version_run = record(["--version"], tmp_path)
    assert (version_run.returncode, version_run.stderr) == (0, b"")
    assert version_run.stdout.startswith(b"recorder-runtime ")


def test_console_script_is_installed_and_equivalent(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("recorder-runtime")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    write(tmp_path / "ok.py", "print('ok')\n")
    result = subprocess.run(
        [str(script), "ok.py"], cwd=tmp_path, env=_env(), capture_output=True, timeout=TIMEOUT
    )
    if NO_BACKEND in result.stderr:
        pytest.skip("no recording backend on this Python")
    assert (result.returncode, result.stdout) == (0, b"ok\n")


def test_pure_recorder_module_is_the_same_cli(tmp_path: Path) -> None:
    write(tmp_path / "p.py", "print('hi')\n")
    result = record(["--backend", "monitoring", "p.py"], tmp_path, module="pure_recorder")
    assert result.returncode == 2
    assert recorder_lines(result.stderr)[0].startswith("recorder: ERR_INVALID_ARGUMENT:")
    help_run = record(["--help"], tmp_path, module="pure_recorder")
    assert help_run.stdout.startswith(b"usage: pure-recorder")


def test_pure_recorder_records_with_settrace(tmp_path: Path) -> None:
    pytest.importorskip("pure_recorder.backend", reason="the settrace backend has not landed")
    write(tmp_path / "p.py", "print('hi')\n")
    result = record(["p.py"], tmp_path, module="pure_recorder")
    assert (result.returncode, result.stdout) == (0, b"hi\n")
    assert (tmp_path / "trace-out" / "trace.json").is_file()


def test_program_atexit_output_comes_before_the_json_trailer(tmp_path: Path) -> None:
    write(
        tmp_path / "ae.py",
        "import atexit, sys\natexit.register(lambda: print('atexit says bye', file=sys.stderr))\n",
    )
    args = ["--json-errors", "--require-trace", "--activation-path", "elsewhere.py", "ae.py"]
    result = record(args, tmp_path)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 10
    assert lines[0] == "atexit says bye"
    assert json.loads(lines[-1])["error_code"] == "ERR_TRACE_MISSING"


def test_program_atexit_handlers_run_exactly_once(tmp_path: Path) -> None:
    write(
        tmp_path / "ae.py",
        "import atexit\natexit.register(print, 'bye')\nprint('main')\n",
    )
    expected = plain(["ae.py"], tmp_path)
    actual = record(["ae.py"], tmp_path)
    assert actual.stdout == expected.stdout == b"main\nbye\n"
    assert recorder_lines(actual.stderr)[-1].startswith("recorder: trace written to")


def test_log_records_and_json_trailer_share_run_and_trace_ids(tmp_path: Path) -> None:
    write(tmp_path / "ok.py", "print('ok')\n")
    args = ["--json-errors", "--log-level", "debug", "--log-file", "rec.log"]
    args += ["--require-trace", "--activation-path", "elsewhere.py", "ok.py"]
    result = record(args, tmp_path)
    trailer = json.loads(result.stderr.decode().splitlines()[-1])
    log_lines = (tmp_path / "rec.log").read_text(encoding="utf-8").splitlines()
    failure_lines = [line for line in log_lines if "error_code=ERR_TRACE_MISSING" in line]
    assert failure_lines
    for line in failure_lines:
        assert f"run_id={trailer['run_id']}" in line
        assert f"trace_id={trailer['trace_id']}" in line


def test_exit_handlers_run_in_python_order(tmp_path: Path) -> None:
    write(
        tmp_path / "ta.py",
        "import atexit, threading\n"
        "atexit.register(print, 'atexit handler')\n"
        "threading._register_atexit(print, 'threading atexit')\n"
        "print('end')\n",
    )
    expected = plain(["ta.py"], tmp_path)
    actual = record(["ta.py"], tmp_path)
    assert actual.stdout == expected.stdout == b"end\nthreading atexit\natexit handler\n"


def test_program_mocking_json_and_os_write_does_not_change_the_trailer(tmp_path: Path) -> None:
    write(
        tmp_path / "mock.py",
        "import json, os\njson.dumps = lambda *a, **k: 'MOCKED'\nos.write = lambda *a: 0\n",
    )
    args = ["--json-errors", "--require-trace", "--activation-path", "elsewhere.py", "mock.py"]
    result = record(args, tmp_path)
    assert result.returncode == 10
    assert json.loads(result.stderr.decode().splitlines()[-1])["error_code"] == "ERR_TRACE_MISSING"
