"""``recorder-runtime inspect TRACE_DIR``: a streaming summary of a trace, and its bad inputs.

Traces are recorded in-process through ``cli.main`` (fast); two end-to-end tests run the real
command in a subprocess, including the rule that tells the subcommand from a script that is
literally named ``inspect``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from recorder_errors import RecorderError
from recorder_runtime import cli
from recorder_runtime.tools.inspect import inspect_trace, main, render_text
from recorder_runtime.tools.jsonstream import iter_array

PROGRAM = """\
def square(x):
    password = "hunter2"
    return x * x

def total(n):
    acc = 0
    for i in range(n):
        acc += square(i)
    return acc

print(total(4))
"""


def record(tmp_path: Path, source: str = PROGRAM, *flags: str) -> Path:
    """Record ``source`` in this process with the real session; returns the trace dir."""
    script = tmp_path / "prog.py"
    script.write_text(source, encoding="utf-8")
    trace_dir = tmp_path / "trace"
    argv = ["--trace-dir", str(trace_dir), "--io-capture", "off", *flags, str(script)]
    assert cli.main(argv) == 0
    return trace_dir


def whole(trace_dir: Path) -> list[Any]:
    return json.loads((trace_dir / "trace.json").read_text(encoding="utf-8"))


# --- the streaming reader ------------------------------------------------------------------


EVENTS: list[Any] = [
    {"Path": '/tmp/a "quoted" \\ path.py'},
    {"Step": {"path_id": 0, "line": 12345678901}},
    "DropLastStep",
    {"Value": {"variable_id": 0, "value": {"kind": "String", "text": "\u00e9\u2603\U0001f600"}}},
    {"Value": {"variable_id": 1, "value": {"kind": "Float", "f": -1.5e-300}}},
    {"Call": {"function_id": 0, "args": [{"variable_id": 2, "value": {"kind": "None"}}]}},
    {"Event": {"kind": 0, "metadata": '{"a":[1,2]}', "content": "x" * 300}},
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_reader_yields_what_json_loads_gives_whatever_the_chunk_size(chunk: int) -> None:
    text = json.dumps(EVENTS, ensure_ascii=False, indent=1)
    assert list(iter_array(io.StringIO(text), chunk=chunk)) == json.loads(text)


def test_reader_reads_a_compact_array_and_an_empty_one() -> None:
    compact = json.dumps(EVENTS, separators=(",", ":"))
    assert list(iter_array(io.StringIO(compact), chunk=5)) == EVENTS
    assert list(iter_array(io.StringIO(" [ ] \n"))) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[{"Step":{"path_id":0,"line":1}},{"Step":{"path_', "ends inside an element"),
        ('[{"Step":{"path_id":0,"line":1}},', "truncated"),
        ('[{"Step":{"path_id":0,"line":1}}', "truncated"),
        ('{"Step":1}', "does not start with '['"),
        ('[{"Step":1}] trailing', "after the closing"),
        ('[{"Step":1} {"Step":2}]', "expected ',' or ']'"),
        ('[{"Value":{"value":NaN}}]', "NaN"),
        ("", "does not start with '['"),
    ],
)
def test_reader_classifies_malformed_input(text: str, says: str) -> None:
    with pytest.raises(RecorderError) as caught:
        list(iter_array(io.StringIO(text), chunk=4))
    assert caught.value.exit_code == 2
    assert says in caught.value.message


def test_reader_reports_a_syntax_error_without_reading_the_rest_of_the_file() -> None:
    good = '{"Step":{"path_id":0,"line":1}}'
    text = "[" + good + ',{"Step":{"path_id":0 "line":1}},' + ",".join([good] * 10_000) + "]"
    stream = io.StringIO(text)
    with pytest.raises(RecorderError) as caught:
        list(iter_array(stream, chunk=256))
    assert caught.value.context["offset"] == str(text.index(' "line":1}},') + 1)
    assert stream.tell() <= 1024


def test_reader_memory_stays_bounded_on_a_large_stream(tmp_path: Path) -> None:
    event = '{"Value":{"variable_id":3,"value":{"kind":"String","text":"%s","type_id":1}}}'
    path = tmp_path / "trace.json"
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        out.write(",".join(event % ("v" * (i % 97)) for i in range(40_000)))
        out.write("]")
    assert path.stat().st_size > 4_000_000
    tracemalloc.start()
    try:
        with path.open(encoding="utf-8") as stream:
            count = sum(1 for _ in iter_array(stream, chunk=16 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40_000
    assert peak < 512 * 1024


# --- the summary ---------------------------------------------------------------------------


def test_summary_counts_agree_with_the_recorder_and_the_stream(tmp_path: Path) -> None:
    trace_dir = record(tmp_path)
    report = inspect_trace(str(trace_dir))
    events = whole(trace_dir)
    metadata = json.loads((trace_dir / "trace_metadata.json").read_text(encoding="utf-8"))
    assert report["steps"] == metadata["counters"]["steps"]
    assert report["calls"] == sum(1 for e in events if "Call" in e) - 1  # not the top level
    assert report["values"] == sum(1 for e in events if "Value" in e)
    assert report["events"] == len(events)
    assert report["functions"] == 3  # <__main__>, total, square
    assert report["program"] == str(tmp_path / "prog.py")
    assert report["state"] == "complete"
    assert report["size_bytes"] == sum(p.stat().st_size for p in trace_dir.iterdir())


def test_summary_ranks_functions_and_files_by_line_steps(tmp_path: Path) -> None:
    report = inspect_trace(str(record(tmp_path)), top=2)
    names = [(row["name"], row["steps"]) for row in report["top_functions"]]
    # total: 2 + 2*4 (loop header and body) + 1 (return) lines; square: 2 lines per call.
    assert names == [("total", 11), ("square", 8)]
    assert report["top_files"] == [{"path": str(tmp_path / "prog.py"), "steps": report["steps"]}]


def test_summary_counts_redacted_values(tmp_path: Path) -> None:
    report = inspect_trace(str(record(tmp_path)))
    assert report["redactions"] == 4  # `password` once bound: line 3 of each square() call


def test_partial_trace_is_shown_with_its_reason(tmp_path: Path) -> None:
    trace_dir = record(tmp_path)
    meta_path = trace_dir / "trace_metadata.json"
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    metadata["partial"] = True
    metadata["partial_reason"] = {"error_code": "ERR_CALLBACK_FAILED", "message": "boom"}
    meta_path.write_text(json.dumps(metadata), encoding="utf-8")
    report = inspect_trace(str(trace_dir))
    assert (report["state"], report["partial_reason"]["error_code"]) == (
        "partial",
        "ERR_CALLBACK_FAILED",
    )
    assert "partial, exit status <disabled> (ERR_CALLBACK_FAILED: boom)" in render_text(
        {**report, "exit_status": {"code": None, "label": "<disabled>"}}
    )


def test_trace_without_metadata_is_incomplete(tmp_path: Path) -> None:
    trace_dir = record(tmp_path)
    (trace_dir / "trace_metadata.json").unlink()
    report = inspect_trace(str(trace_dir))
    assert report["state"] == "incomplete"
    assert report["program"] is None


def test_text_output_names_every_fact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace_dir = record(tmp_path)
    capsys.readouterr()  # the program's own output
    assert main([str(trace_dir)]) == 0
    out = capsys.readouterr().out
    for label in ("trace ", "format ", "program ", "python ", "state ", "steps ", "calls "):
        assert f"\n{label}" in "\n" + out
    assert "top functions by steps:" in out
    assert "monitoring" in out or "settrace" in out


def test_json_output_is_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace_dir = record(tmp_path)
    capsys.readouterr()  # the program's own output
    assert main(["--json", str(trace_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == inspect_trace(str(trace_dir))


# --- bad input -----------------------------------------------------------------------------


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()  # output of a recording made before
    status = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.out == ""
    return status, captured.err


def test_missing_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run_main([str(tmp_path / "nope")], capsys)
    assert status == 2
    assert err.startswith("recorder: ERR_INVALID_ARGUMENT:") and "does not exist" in err


def test_directory_without_a_trace_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    status, err = run_main([str(tmp_path)], capsys)
    assert status == 2
    assert "holds no trace" in err


def test_corrupt_trace_is_a_usage_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_dir = record(tmp_path)
    events_file = trace_dir / "trace.json"
    events_file.write_bytes(events_file.read_bytes()[:-100])
    status, err = run_main([str(trace_dir)], capsys)
    assert status == 2
    assert "trace.json is not a valid trace" in err


def test_non_utf8_trace_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_dir = record(tmp_path)
    (trace_dir / "trace.json").write_bytes(b'[{"Path":"\xff"}]')
    status, err = run_main([str(trace_dir)], capsys)
    assert status == 2
    assert "not UTF-8" in err


def test_unreadable_metadata_is_an_environment_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_dir = record(tmp_path)
    (trace_dir / "trace_metadata.json").unlink()
    (trace_dir / "trace_metadata.json").mkdir()
    status, err = run_main([str(trace_dir)], capsys)
    assert status == 10
    assert err.startswith("recorder: ERR_")


def test_bad_option_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run_main(["--top", "many", str(tmp_path)], capsys)
    assert status == 2
    assert "ERR_INVALID_ARGUMENT" in err


# --- end to end ------------------------------------------------------------------------------


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODETRACER_", "PYTHON"))}
    return subprocess.run(
        [sys.executable, "-m", "recorder_runtime", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_inspect_subcommand_end_to_end(tmp_path: Path) -> None:
    trace_dir = record(tmp_path)
    result = _cli(["inspect", "--json", str(trace_dir)], tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout)["steps"] == inspect_trace(str(trace_dir))["steps"]


def test_a_script_named_inspect_is_still_recorded(tmp_path: Path) -> None:
    (tmp_path / "inspect").write_text("print('I am the script')\n", encoding="utf-8")
    result = _cli(["inspect", "arg"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "I am the script\n"
    assert (tmp_path / "trace-out" / "trace.json").is_file()


def test_json_and_binary_traces_of_one_program_summarise_alike(tmp_path: Path) -> None:
    summaries = {}
    for fmt in ("json", "binary"):
        (tmp_path / fmt).mkdir()
        trace_dir = record(tmp_path / fmt, PROGRAM, "--format", fmt)
        summaries[fmt] = inspect_trace(str(trace_dir))
    differ = {"trace_dir", "format", "size_bytes", "program", "workdir", "top_files"}
    json_side = {k: v for k, v in summaries["json"].items() if k not in differ}
    binary_side = {k: v for k, v in summaries["binary"].items() if k not in differ}
    for side in (json_side, binary_side):
        for row in side["top_functions"]:
            row.pop("path")
    assert json_side == binary_side
    assert summaries["binary"]["format"] == "binary"
