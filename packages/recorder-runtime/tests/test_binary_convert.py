"""``recorder-runtime convert``: every shared example round-trips json -> binary -> json.

The binary side is read back with the independent reader (struct + zstandard + cbor2); the
JSON side is checked with the vendored ``trace_check.py`` and compared with ``trace_diff.py``
and event for event with the original recording.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from binary_support import read_bin
from conformance import REFERENCE, TRACE_CHECK, TRACE_DIFF, clean_env, copy_programs, record

from recorder_runtime.cli import main
from recorder_runtime.output.convert import convert

EXAMPLES = sorted(p.name for p in REFERENCE.iterdir() if (p / "trace.json").exists())


def load_tool(path: Path) -> ModuleType:
    """A vendored tool as a module: run in-process (a subprocess per example is slow)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses of the tool look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tools() -> tuple[ModuleType, ModuleType]:
    return load_tool(TRACE_CHECK), load_tool(TRACE_DIFF)


def json_events(trace_dir: Path) -> list[object]:
    return json.loads((trace_dir / "trace.json").read_text())


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_example_round_trips_through_binary(
    tmp_path: Path,
    name: str,
    tools: tuple[ModuleType, ModuleType],
    capsys: pytest.CaptureFixture[str],
) -> None:
    original = REFERENCE / name
    binary, back = tmp_path / "bin", tmp_path / "json"
    to_binary = convert(str(original), str(binary))
    to_json = convert(str(binary), str(back))
    events = json_events(original)
    assert (to_binary.target_format, to_json.target_format) == ("binary", "json")
    assert to_binary.events == to_json.events == len(events)
    assert read_bin(binary / "trace.bin").events() == events
    assert json_events(back) == events
    trace_check, trace_diff = tools
    assert trace_check.main([str(back)]) == 0, capsys.readouterr().out
    assert trace_diff.main([str(original), str(back)]) == 0, capsys.readouterr().out
    assert "IDENTICAL" in capsys.readouterr().out


def test_side_files_are_copied_and_the_metadata_names_the_format(tmp_path: Path) -> None:
    original = REFERENCE / "simple"
    convert(str(original), str(tmp_path / "bin"))
    meta = json.loads((tmp_path / "bin" / "trace_metadata.json").read_text())
    source_meta = json.loads((original / "trace_metadata.json").read_text())
    assert meta == {**source_meta, "format": "binary"}
    paths = json.loads((tmp_path / "bin" / "trace_paths.json").read_text())
    assert paths == json.loads((original / "trace_paths.json").read_text())
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == [
        "trace.bin",
        "trace_metadata.json",
        "trace_paths.json",
    ]


def test_format_can_name_the_same_format(tmp_path: Path) -> None:
    result = convert(str(REFERENCE / "simple"), str(tmp_path / "again"), "json")
    assert result.target_format == "json"
    assert json_events(tmp_path / "again") == json_events(REFERENCE / "simple")


def test_the_cli_converts_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["convert", str(REFERENCE / "simple"), str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out == ""
    assert "json -> binary" in captured.err
    assert (tmp_path / "out" / "trace.bin").is_file()


def bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], int]]:
    """Named bad command lines and the exit status each must give."""
    good = tmp_path / "good"
    convert(str(REFERENCE / "simple"), str(good))
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    data = (good / "trace.bin").read_bytes()
    (truncated / "trace.bin").write_bytes(data[: len(data) - 20])
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "trace.bin").write_bytes(data[:20] + b"\xff" * 30 + data[50:])
    cut_json = tmp_path / "cut_json"
    cut_json.mkdir()
    (cut_json / "trace.json").write_text((REFERENCE / "simple" / "trace.json").read_text()[:500])
    empty = tmp_path / "empty"
    empty.mkdir()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("")
    out = str(tmp_path / "out")
    return {
        "missing source": ([str(tmp_path / "nope"), out], 2),
        "not a trace directory": ([str(empty), out], 2),
        "a file as source": ([str(good / "trace.bin"), out], 2),
        "truncated trace.bin": ([str(truncated), out], 2),
        "corrupt frame": ([str(corrupt), out], 2),
        "truncated trace.json": ([str(cut_json), out], 2),
        "destination not empty": ([str(good), str(busy)], 2),
        "unknown format": ([str(good), out, "--format", "capnp"], 2),
        "missing argument": ([str(good)], 2),
    }


CASES = [
    "missing source",
    "not a trace directory",
    "a file as source",
    "truncated trace.bin",
    "corrupt frame",
    "truncated trace.json",
    "destination not empty",
    "unknown format",
    "missing argument",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_a_clear_classified_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    argv, expected = bad_inputs(tmp_path)[case]
    capsys.readouterr()
    status = main(["convert", *argv])
    err = capsys.readouterr().err
    assert status == expected
    assert err.startswith("recorder: ERR_"), err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "trace.json").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_failed_conversion_leaves_no_destination_behind(tmp_path: Path) -> None:
    argv, _ = bad_inputs(tmp_path)["truncated trace.bin"]
    assert main(["convert", *argv]) == 2
    assert not (tmp_path / "out").exists()


def test_python_dash_m_runs_convert(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "recorder_runtime", "convert", str(REFERENCE / "io_prog"), "b"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert read_bin(tmp_path / "b" / "trace.bin").events() == json_events(REFERENCE / "io_prog")


def test_a_binary_recording_converts_to_the_json_recording_of_the_same_run(
    tmp_path: Path, tools: tuple[ModuleType, ModuleType], capsys: pytest.CaptureFixture[str]
) -> None:
    progs = copy_programs(tmp_path)
    for fmt in ("json", "binary"):
        proc = record(progs, "values.py", tmp_path / fmt, "--format", fmt)
        assert proc.returncode == 0, proc.stderr
    convert(str(tmp_path / "binary"), str(tmp_path / "back"))
    trace_check, trace_diff = tools
    assert trace_check.main([str(tmp_path / "back")]) == 0, capsys.readouterr().out
    assert trace_diff.main([str(tmp_path / "json"), str(tmp_path / "back")]) == 0, (
        capsys.readouterr().out
    )
    assert read_bin(tmp_path / "binary" / "trace.bin").events() == json_events(tmp_path / "back")
