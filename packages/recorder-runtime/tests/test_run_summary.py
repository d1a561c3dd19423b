"""The end of a run: one summary line, the JSON trailer's trace fields, and the warnings.

Recorded in-process through ``cli.main`` with the real session (fast); the lines are read
from the captured stderr. The counts are checked against ``inspect`` and the files on disk.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from recorder_runtime import cli
from recorder_runtime.notices import WarningCode, human_size
from recorder_runtime.tools.inspect import inspect_trace

PROGRAM = "def f(x):\n    return x + 1\n\nfor i in range(3):\n    f(i)\n"
SUMMARY = re.compile(
    r"recorder: (?P<partial>partial )?trace written to (?P<dir>.+) \((?P<format>\w+), "
    r"(?P<backend>\w+), (?P<steps>\d+) steps?, (?P<calls>\d+) calls?, (?P<size>[\d.]+ \w+)"
    r"(?P<mark>, partial)?\)$"
)
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CODETRACER_QUIET", "CODETRACER_JSON_ERRORS", "RECORDER_FAILPOINTS"):
        monkeypatch.delenv(name, raising=False)


def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str, source: str = PROGRAM
) -> tuple[int, list[str]]:
    """Record ``source`` with ``flags``; the exit status and the recorder's stderr lines."""
    script = tmp_path / "prog.py"
    script.write_text(source, encoding="utf-8")
    capsys.readouterr()
    status = cli.main(["--io-capture", "off", *flags, str(script)])
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.startswith(("recorder:", "{"))]


def test_summary_line_says_what_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_dir = tmp_path / "trace"
    status, lines = run(tmp_path, capsys, "--trace-dir", str(trace_dir))
    assert status == 0
    assert len(lines) == 1
    match = SUMMARY.match(lines[0])
    assert match is not None, lines
    report = inspect_trace(str(trace_dir))
    assert match["dir"] == str(trace_dir)
    assert match["format"] == "json"
    assert match["backend"] == report["backend"]
    assert int(match["steps"]) == report["steps"] > 0
    assert int(match["calls"]) == report["calls"] == 4  # <__main__> and f three times
    assert match["size"] == human_size(sum(p.stat().st_size for p in trace_dir.iterdir()))
    assert match["partial"] is None and match["mark"] is None


def test_quiet_silences_the_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = run(tmp_path, capsys, "--quiet", "--trace-dir", str(tmp_path / "t"))
    assert (status, lines) == (0, [])
    assert (tmp_path / "t" / "trace.json").is_file()


def test_json_trailer_of_a_successful_run_carries_the_summary_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = run(tmp_path, capsys, "--json-errors", "--trace-dir", str(tmp_path / "t"))
    assert status == 0
    trailer = json.loads(lines[-1])
    assert (trailer["error_code"], trailer["kind"]) == (None, None)
    match = SUMMARY.match(lines[0])
    assert match is not None
    trace = trailer["trace"]
    assert (trace["trace_dir"], trace["format"], trace["backend"]) == (
        match["dir"],
        match["format"],
        match["backend"],
    )
    assert (trace["steps"], trace["calls"]) == (int(match["steps"]), int(match["calls"]))
    assert trace["state"] == "complete" and trace["partial"] is False
    assert human_size(trace["size_bytes"]) == match["size"]


def test_partial_trace_is_marked_in_the_line_and_the_trailer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORDER_FAILPOINTS", "callback.py_return")
    flags = ["--json-errors", "--keep-partial-trace", "--on-recorder-error", "disable"]
    status, lines = run(tmp_path, capsys, *flags, "--trace-dir", str(tmp_path / "t"))
    assert status == 0
    match = SUMMARY.match(lines[0])
    assert match is not None and match["partial"] and match["mark"], lines
    trailer = json.loads(lines[-1])
    assert trailer["error_code"] == "ERR_CALLBACK_FAILED"
    assert trailer["trace"]["partial"] is True
    assert trailer["trace"]["partial_reason"] == "ERR_CALLBACK_FAILED"


def test_overwriting_a_trace_warns_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace_dir = str(tmp_path / "t")
    _, first = run(tmp_path, capsys, "--trace-dir", trace_dir)
    _, second = run(tmp_path, capsys, "--trace-dir", trace_dir)
    code = WarningCode.TRACE_OVERWRITTEN.value
    assert not any(code in line for line in first)
    assert (
        second[0]
        == f"recorder: warning: {code}: replaced the trace that was already in {trace_dir}"
    )
    assert len(second) == 2


def test_writing_beside_other_files_warns_and_keeps_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_dir = tmp_path / "t"
    trace_dir.mkdir()
    (trace_dir / "notes.txt").write_text("mine", encoding="utf-8")
    _, lines = run(tmp_path, capsys, "--trace-dir", str(trace_dir))
    assert lines[0].startswith(f"recorder: warning: {WarningCode.DIR_NOT_EMPTY.value}: ")
    assert "1 entry that is not a trace file" in lines[0]
    assert (trace_dir / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_an_empty_existing_directory_gives_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t").mkdir()
    _, lines = run(tmp_path, capsys, "--trace-dir", str(tmp_path / "t"))
    assert len(lines) == 1 and "warning" not in lines[0]


def test_zero_steps_of_a_filtered_module_warns_with_the_cause(tmp_path: Path) -> None:
    """End to end (json.tool closes stdout, so not in-process): ``-m json.tool`` is stdlib."""
    data = tmp_path / "data.json"
    data.write_text('{"a": 1}', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODETRACER_", "PYTHON"))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "recorder_runtime",
            "--trace-dir",
            "t",
            "-m",
            "json.tool",
            "data.json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    err = result.stderr.splitlines()
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{\n    "a": 1\n}\n'
    warning = next(line for line in err if WarningCode.NO_STEPS.value in line)
    assert "json" in warning and "excluded by the trace filter" in warning
    assert SUMMARY.match(err[-1]) and " 0 steps" in err[-1]


def test_zero_steps_of_an_unreached_activation_path_warns_with_the_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = str(tmp_path / "elsewhere.py")
    _, lines = run(
        tmp_path, capsys, "--trace-dir", str(tmp_path / "t"), "--activation-path", elsewhere
    )
    assert lines[0] == (
        f"recorder: warning: {WarningCode.NO_STEPS.value}: no steps were recorded: the "
        f"activation path {elsewhere} was never reached (check --activation-path)"
    )


def test_every_warning_code_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for code in WarningCode:
        assert f"`{code.value}`" in text, code
