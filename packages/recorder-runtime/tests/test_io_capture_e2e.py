"""End to end: IO events in the trace, and the program's output unchanged, byte for byte.

Each program is run twice, plainly and under the recorder (``python -m recorder_runtime``),
with the same stdin and the same kind of stdout/stderr (pipes, or a pseudo-terminal for
the ``rich`` tests), and what reached the outside is compared byte for byte.
"""

from __future__ import annotations

import errno
import json
import os
import pty
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MODES = ["off", "proxies", "proxies+fd"]


def recorder_argv(trace_dir: Path, mode: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "recorder_runtime",
        "--trace-dir",
        str(trace_dir),
        "--format",
        "json",
        "--io-capture",
        mode,
    ]


def run_pipes(argv: list[str], cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env.pop("CODETRACER_TRACE_FILTER", None)
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=120, cwd=cwd, env=env)


def io_events(trace_dir: Path) -> list[tuple[int, str, list[str]]]:
    events = json.loads((trace_dir / "trace.json").read_text(encoding="utf-8"))
    found = []
    for event in events:
        if "Event" in event:
            body = event["Event"]
            found.append((body["kind"], body["content"], json.loads(body["metadata"])["flags"]))
    return found


def without_recorder_lines(stderr: bytes) -> bytes:
    """The recorder's own stderr lines (``recorder: ...``) are not the program's output."""
    return b"".join(
        line for line in stderr.splitlines(keepends=True) if not line.startswith(b"recorder: ")
    )


def script(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


PRINTS = """
import sys
print("hello")
print("a\\nb", end="")
print(" and more")
sys.stdout.write("partial")
sys.stdout.flush()
print("x" * 10000)
print("héllo ✓", 42, sep=" | ")
print("to stderr", file=sys.stderr)
sys.stdout.writelines(["l1\\n", "l2\\n"])
sys.stdout.buffer.write(b"bytes\\n")
sys.stdout.flush()
print("end")
"""


@pytest.mark.parametrize("mode", MODES)
def test_output_through_sys_streams_is_unchanged_in_every_mode(tmp_path: Path, mode: str) -> None:
    prog = script(tmp_path, PRINTS)
    plain = run_pipes([sys.executable, str(prog)], tmp_path)
    traced = run_pipes([*recorder_argv(tmp_path / "t", mode), str(prog)], tmp_path)
    assert traced.returncode == plain.returncode == 0, traced.stderr
    assert traced.stdout == plain.stdout
    assert without_recorder_lines(traced.stderr) == plain.stderr


def test_proxies_mode_records_one_event_per_line(tmp_path: Path) -> None:
    prog = script(tmp_path, PRINTS)
    traced = run_pipes([*recorder_argv(tmp_path / "t", "proxies"), str(prog)], tmp_path)
    assert traced.returncode == 0, traced.stderr
    events = io_events(tmp_path / "t")
    contents = [content for _, content, _ in events]
    # a partial line is cut at the next Step (its print ran on another line)
    assert events[:4] == [
        (0, "hello\n", ["newline"]),
        (0, "a\n", ["newline"]),
        (0, "b", ["step_boundary"]),
        (0, " and more\n", ["newline"]),
    ]
    assert ("partial" in contents) and ("x" * 10000 + "\n" in contents)
    assert (2, "to stderr\n", ["newline"]) in events
    assert (0, "bytes\n", ["newline"]) in events
    assert events[-1] == (0, "end\n", ["newline"])
    assert all("mirror" not in flags for _, _, flags in events)


def test_off_mode_records_no_io_events(tmp_path: Path) -> None:
    prog = script(tmp_path, PRINTS)
    traced = run_pipes([*recorder_argv(tmp_path / "t", "off"), str(prog)], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert io_events(tmp_path / "t") == []


def test_input_becomes_a_read_event(tmp_path: Path) -> None:
    prog = script(tmp_path, 'name = input("Name? ")\nprint("hi", name)\n')
    plain = run_pipes([sys.executable, str(prog)], tmp_path, stdin=b"alice\n")
    traced = run_pipes(
        [*recorder_argv(tmp_path / "t", "proxies"), str(prog)], tmp_path, stdin=b"alice\n"
    )
    assert traced.stdout == plain.stdout == b"Name? hi alice\n"
    events = io_events(tmp_path / "t")
    assert (3, "alice\n", ["input"]) in events
    assert (0, "hi alice\n", ["newline"]) in events


RAW = """
import os, subprocess, sys
print("proxied 1")
os.write(1, b"raw out\\n")
print("proxied 2", flush=True)
os.write(2, b"raw err\\n")
print("proxied err", file=sys.stderr)
subprocess.run([sys.executable, "-c", "print('from a child')"])
sys.stdout.buffer.write(b"buffer\\n")
print("end")
"""


def test_fd_mode_records_raw_writes_once_and_proxied_writes_once(tmp_path: Path) -> None:
    prog = script(tmp_path, RAW)
    plain = run_pipes([sys.executable, str(prog)], tmp_path)
    traced = run_pipes([*recorder_argv(tmp_path / "t", "proxies+fd"), str(prog)], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout == plain.stdout
    assert without_recorder_lines(traced.stderr) == plain.stderr
    events = io_events(tmp_path / "t")

    def text(kind: int, mirror: bool) -> str:
        # chunks may be cut at any Step while bytes are still on their way: compare the text
        return "".join(c for k, c, flags in events if k == kind and ("mirror" in flags) == mirror)

    # Every byte the program wrote is recorded exactly once per stream: nothing lost, nothing
    # duplicated. Which flag a byte gets is not asserted exactly: the forwarder tells raw
    # bytes from proxied ones by matching, and how the pipe splits a proxied write decides
    # whether part of it is attributed to the mirror (README, "IO capture").
    for kind, stream in ((0, plain.stdout), (2, plain.stderr)):
        recorded = text(kind, mirror=True) + text(kind, mirror=False)
        assert sorted(recorded) == sorted(stream.decode()), (kind, events)
    # Raw fd writes (the program's and a child's) are recorded as mirror chunks.
    for line in ("raw out\n", "from a child\n"):
        assert line in text(0, mirror=True)
    assert "raw err\n" in text(2, mirror=True)


def test_proxies_mode_does_not_record_raw_fd_writes_but_passes_them_through(
    tmp_path: Path,
) -> None:
    prog = script(tmp_path, RAW)
    plain = run_pipes([sys.executable, str(prog)], tmp_path)
    traced = run_pipes([*recorder_argv(tmp_path / "t", "proxies"), str(prog)], tmp_path)
    assert traced.stdout == plain.stdout
    contents = [content for _, content, _ in io_events(tmp_path / "t")]
    assert "raw out\n" not in contents and "proxied 1\n" in contents


def test_fd_mode_output_written_just_before_os_exit_still_arrives(tmp_path: Path) -> None:
    prog = script(
        tmp_path,
        'import os\nprint("buffered", flush=True)\nos.write(1, b"last words\\n")\nos._exit(3)\n',
    )
    plain = run_pipes([sys.executable, str(prog)], tmp_path)
    traced = run_pipes([*recorder_argv(tmp_path / "t", "proxies+fd"), str(prog)], tmp_path)
    assert plain.stdout == b"buffered\nlast words\n"
    assert traced.stdout == plain.stdout


def test_fd_mode_a_child_outliving_the_program_can_still_write(tmp_path: Path) -> None:
    marker = tmp_path / "child-done"
    prog = script(
        tmp_path,
        f"""
        import subprocess, sys
        code = "import time, pathlib; time.sleep(0.5); print('late child'); "
        code += "pathlib.Path({str(marker)!r}).write_text('ok')"
        subprocess.Popen([sys.executable, "-c", code])
        print("parent done")
        """,
    )
    traced = run_pipes([*recorder_argv(tmp_path / "t", "proxies+fd"), str(prog)], tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert b"parent done\n" in traced.stdout
    # run() returned once every holder of the pipe closed it, child included
    assert marker.read_text() == "ok"
    assert b"late child\n" in traced.stdout


# ----------------------------------------------------------------------------- terminals


def run_in_pty(argv: list[str], cwd: Path, columns: int = 100, rows: int = 30) -> bytes:
    """Run ``argv`` with stdout and stderr on a fresh pseudo-terminal; return what it showed."""
    master, slave = pty.openpty()
    import fcntl
    import termios
    import tty

    tty.setraw(slave)  # no \n -> \r\n translation: the bytes as the program wrote them
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = dict(os.environ)
    env.pop("CODETRACER_TRACE_FILTER", None)
    env.update({"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)})
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError as exc:  # EIO: every slave end is closed
            if exc.errno != errno.EIO:
                raise
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    process.wait(timeout=120)
    return b"".join(chunks)


RICH_TABLE = """
import sys
from rich.console import Console
from rich.table import Table

table = Table(title="Recorded")
table.add_column("name", style="cyan")
table.add_column("value", justify="right", style="magenta")
for i in range(5):
    table.add_row(f"row {i}", str(i * i))
console = Console()
print("isatty", sys.stdout.isatty(), console.is_terminal, console.width)
console.print(table)
console.print("[bold red]done[/bold red]")
"""


def skip_rich(tmp_path: Path) -> list[str]:
    """Recording all of rich takes ~20 s; most tests skip its code (its output is the point)."""
    path = tmp_path / "skip-rich.toml"
    path.write_text(
        '[meta]\nname = "skip-rich"\nversion = 1\n'
        '[[scope.rules]]\nselector = "pkg:regex:^(rich|markdown_it|pygments)(\\\\.|$)"\n'
        'exec = "skip"\n',
        encoding="utf-8",
    )
    return ["--trace-filter", str(path)]


def test_rich_table_on_a_terminal_fully_recorded_is_byte_for_byte_the_same(
    tmp_path: Path,
) -> None:
    pytest.importorskip("rich")
    prog = script(tmp_path, RICH_TABLE)
    plain = run_in_pty([sys.executable, str(prog)], tmp_path)
    traced = run_in_pty([*recorder_argv(tmp_path / "t", "proxies"), str(prog)], tmp_path)
    assert without_recorder_lines(traced) == plain
    events = io_events(tmp_path / "t")
    text = "".join(content for _, content, _ in events)
    assert "Recorded" in text and "row 4" in text and "done" in text


@pytest.mark.parametrize("mode", MODES)
def test_rich_table_on_a_terminal_is_byte_for_byte_the_same(tmp_path: Path, mode: str) -> None:
    pytest.importorskip("rich")
    prog = script(tmp_path, RICH_TABLE)
    plain = run_in_pty([sys.executable, str(prog)], tmp_path)
    argv = [*recorder_argv(tmp_path / "t", mode), *skip_rich(tmp_path), str(prog)]
    traced = run_in_pty(argv, tmp_path)
    assert b"isatty True True 100" in plain
    assert b"\x1b[" in plain  # colours: rich saw a terminal
    assert without_recorder_lines(traced) == plain


def test_rich_table_through_pipes_is_byte_for_byte_the_same(tmp_path: Path) -> None:
    pytest.importorskip("rich")
    prog = script(tmp_path, RICH_TABLE)
    plain = run_pipes([sys.executable, str(prog)], tmp_path)
    for mode in MODES:
        trace_dir = tmp_path / mode.replace("+", "_")
        argv = [*recorder_argv(trace_dir, mode), *skip_rich(tmp_path), str(prog)]
        traced = run_pipes(argv, tmp_path)
        assert traced.stdout == plain.stdout, mode


def test_click_echo_keeps_working(tmp_path: Path) -> None:
    pytest.importorskip("click")
    prog = script(
        tmp_path,
        """
        import click
        click.echo("plain")
        click.echo("to err", err=True)
        click.secho("styled", fg="green")
        """,
    )
    plain = run_pipes([sys.executable, str(prog)], tmp_path)
    for mode in MODES:
        traced = run_pipes(
            [*recorder_argv(tmp_path / mode.replace("+", "_"), mode), str(prog)], tmp_path
        )
        assert traced.stdout == plain.stdout, mode
        assert without_recorder_lines(traced.stderr) == plain.stderr, mode


def test_output_printed_after_a_call_returns_is_attributed_to_the_printing_line(
    tmp_path: Path,
) -> None:
    prog = script(
        tmp_path,
        """
        def value():
            result = 42
            return result

        print(value())
        done = True
        """,
    )
    traced = run_pipes([*recorder_argv(tmp_path / "t", "proxies"), str(prog)], tmp_path)
    assert traced.returncode == 0, traced.stderr
    events = json.loads((tmp_path / "t" / "trace.json").read_text(encoding="utf-8"))
    [printed] = [e["Event"] for e in events if "Event" in e and e["Event"]["content"] == "42\n"]
    printing_line = prog.read_text(encoding="utf-8").splitlines().index("print(value())") + 1
    assert json.loads(printed["metadata"])["line"] == printing_line
