"""Walk the README's exit-status table: every row is run as written and must hold.

The table (between the ``exit-table`` markers in ``README.md``) is the
documentation users read, so it is also the specification: each row's
command runs in a scratch directory holding the fixture files the README
lists, and the exit status, what ``./trace-out`` holds, and the snippets the
row promises on stderr are checked. Two promises are checked on every row:
nothing of the recorder's reaches stdout, and no staging directory is left.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TIMEOUT = 120

FIXTURES = {
    "ok.py": 'print("ok")\n',
    "loop.py": "total = 0\nfor i in range(20000):\n    total += i\nprint(total)\n",
    "fail.py": 'raise ValueError("boom")\n',
    "exit3.py": "import sys\nsys.exit(3)\n",
    "exitmsg.py": 'import sys\nsys.exit("bye")\n',
    "exitnone.py": "import sys\nsys.exit()\n",
    "intr.py": "raise KeyboardInterrupt\n",
    "afile": "a regular file\n",
}


@dataclass(frozen=True)
class Row:
    ident: str
    situation: str
    command: str
    exit: int
    trace: str
    shows: tuple[str, ...]


def _cells(line: str) -> list[str]:
    # Split on pipes that are not escaped (a "\|" belongs to the cell).
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _code_spans(cell: str) -> tuple[str, ...]:
    return tuple(re.findall(r"`([^`]+)`", cell))


def load_rows() -> list[Row]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- exit-table:start -->", 1)[1].split("<!-- exit-table:end -->", 1)[0]
    lines = [line for line in block.strip().splitlines() if line.startswith("|")]
    header = _cells(lines[0])
    assert header == ["#", "Situation", "Command", "Exit", "Trace", "stderr shows"], header
    rows = []
    for line in lines[2:]:
        ident, situation, command, exit_status, trace, shows = _cells(line)
        (cmd,) = _code_spans(command)
        rows.append(Row(ident, situation, cmd, int(exit_status), trace, _code_spans(shows)))
    return rows


ROWS = load_rows()


def test_table_covers_every_kind_of_situation() -> None:
    idents = {row.ident[0] for row in ROWS}
    assert idents == {"U", "E", "I", "S"}
    assert {row.exit for row in ROWS} >= {0, 1, 2, 3, 10, 70, 130}
    assert len({row.ident for row in ROWS}) == len(ROWS)


def _shims(bin_dir: Path) -> None:
    """``recorder-runtime`` and ``pure-recorder`` as the README uses them, on this interpreter."""
    bin_dir.mkdir()
    for name, module in (
        ("recorder-runtime", "recorder_runtime"),
        ("pure-recorder", "pure_recorder"),
    ):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n', encoding="utf-8")
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)


def _env(bin_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CODETRACER_", "PYTHON", "RECORDER_", "COV_", "COVERAGE_"))
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _metadata(trace_dir: Path) -> dict[str, object]:
    data = json.loads((trace_dir / "trace_metadata.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("row", ROWS, ids=[row.ident for row in ROWS])
def test_exit_table_row(row: Row, tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("the table's commands use Linux paths and bash's ulimit")
    bin_dir = tmp_path / "bin"
    _shims(bin_dir)
    work = tmp_path / "work"
    work.mkdir()
    for name, body in FIXTURES.items():
        (work / name).write_text(body, encoding="utf-8")

    result = subprocess.run(
        ["bash", "-c", row.command],
        cwd=work,
        env=_env(bin_dir),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if "ERR_UNSUPPORTED_PYTHON" in result.stderr:
        pytest.skip(f"no recording backend on this Python: {result.stderr.strip()}")
    status = result.returncode if result.returncode >= 0 else 128 - result.returncode
    context = f"{row.ident} {row.situation}\nstdout: {result.stdout!r}\nstderr: {result.stderr}"

    assert status == row.exit, context
    for snippet in row.shows:
        assert snippet in result.stderr, context
    assert "recorder:" not in result.stdout, context
    if "--json-errors" in row.command:
        json.loads(result.stderr.splitlines()[-1])

    trace_dir = work / "trace-out"
    left = {p.name for p in work.iterdir()} - set(FIXTURES)
    assert left <= {"trace-out"}, (left, context)
    if row.trace == "none":
        assert not trace_dir.exists() or not any(trace_dir.iterdir()), context
    elif row.trace == "complete":
        assert (trace_dir / "trace.json").is_file(), context
        assert _metadata(trace_dir).get("partial") in (None, False), context
    elif row.trace == "partial":
        assert _metadata(trace_dir).get("partial") is True, context
    else:
        pytest.fail(f"unknown Trace value {row.trace!r} in README row {row.ident}")
