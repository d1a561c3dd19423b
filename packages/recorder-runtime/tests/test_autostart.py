"""Process-wide auto-start: ``CODETRACER_TRACE=DIR python prog.py`` (issue 16 item 6).

These run real interpreters with the start-up hook that the installed package puts in
site-packages (``zz_recorder_runtime_autostart.pth``; editable installs made by
``uv sync`` carry it too), and compare every run with the same program run untraced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import pytest
from conformance import clean_env, trace_check, trace_diff
from tracefile import load

from recorder_runtime import cli
from recorder_runtime.autostart import DISABLED_ENV_VAR, REGISTRY_FILE, is_recorder_cli

HOOK = Path(sysconfig.get_paths()["purelib"]) / "zz_recorder_runtime_autostart.pth"
pytestmark = pytest.mark.skipif(
    not HOOK.exists(), reason=f"the auto-start hook is not installed in {HOOK.parent}"
)

TREE = textwrap.dedent(
    """
    import json, multiprocessing, os, subprocess, sys

    def work(x):
        y = x * 2
        print("work", x, y, flush=True)
        return y

    if __name__ == "__main__":
        pids = {}
        print("parent", work(1), flush=True)
        pid = os.fork()
        if pid == 0:  # the classic idiom: ends with os._exit, so its trace is lost
            work(20)
            os._exit(0)
        os.waitpid(pid, 0)
        pids["os.fork"] = pid
        for method in ("fork", "spawn", "forkserver"):
            process = multiprocessing.get_context(method).Process(target=work, args=(10,))
            process.start()
            process.join()
            pids[method] = process.pid
            print(method, process.exitcode, flush=True)
        child = subprocess.run([sys.executable, "-c", "print('sub', 6 * 7)"])
        with open(sys.argv[1], "w") as side:
            json.dump(pids, side)
        sys.exit(3)
    """
)


def run(
    args: list[str], cwd: Path, trace: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = clean_env() | env
    if trace is not None:
        environ["CODETRACER_TRACE"] = str(trace)
    return subprocess.run(
        args, cwd=cwd, env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def wait_for_every_process(trace: Path) -> list[dict[str, object]]:
    """Helpers such as the forkserver finish after the program: wait for their traces."""
    deadline = time.monotonic() + 60
    while True:
        entries = [json.loads(line) for line in (trace / REGISTRY_FILE).read_text().splitlines()]
        done = all(
            (trace / f"{order:04d}-{entry['pid']}" / "trace_metadata.json").exists()
            or not alive(entry["pid"])
            for order, entry in enumerate(entries, start=1)
        )
        staging = [p for p in trace.iterdir() if p.name.startswith(".")]
        if (done and not staging) or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(sys.platform != "linux", reason="fork and forkserver are POSIX start methods")
def test_a_process_tree_records_each_python_process_into_its_own_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "tree.py").write_text(TREE)
    plain = run([sys.executable, "tree.py", "plain.json"], tmp_path)
    traced = run([sys.executable, "tree.py", "pids.json"], tmp_path, trace=tmp_path / "out")
    # The program is unchanged: same status, stdout and (empty) stderr.
    assert (traced.returncode, traced.stdout, traced.stderr) == (
        plain.returncode,
        plain.stdout,
        plain.stderr,
    )
    assert traced.returncode == 3
    out = tmp_path / "out"
    entries = wait_for_every_process(out)
    pids = json.loads((tmp_path / "pids.json").read_text())
    by_pid = {entry["pid"]: order for order, entry in enumerate(entries, start=1)}
    parent = entries[0]
    assert parent["program"] == str(tmp_path / "tree.py")
    lost = pids["os.fork"]
    for order, entry in enumerate(entries, start=1):
        directory = out / f"{order:04d}-{entry['pid']}"
        if entry["pid"] == lost:
            assert not directory.exists()
            continue
        assert trace_check(directory).returncode == 0, directory
        meta = load(directory).metadata
        assert meta["partial"] is False
        assert meta["process"]["pid"] == entry["pid"]
        listed = {child["pid"] for child in meta["process"]["children"]}
        assert listed == {e["pid"] for e in entries if e["ppid"] == entry["pid"]}
    parent_trace = load(out / f"0001-{parent['pid']}")
    assert parent_trace.returns()[-1] == 3  # the script's sys.exit(3), as the CLI records it
    states = {
        child["pid"]: child["state"] for child in parent_trace.metadata["process"]["children"]
    }
    parent_children = set(states)
    assert {pids["fork"], pids["spawn"]} <= parent_children  # direct children
    assert (states[lost], states[pids["fork"]]) == ("lost", "recorded")
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no staging left
    forkserver_worker = entries[by_pid[pids["forkserver"]] - 1]
    assert forkserver_worker["ppid"] in parent_children  # a child of the forkserver process
    # Each worker recorded its own call; the parent recorded only its own (no child event).
    for method in ("fork", "spawn", "forkserver"):
        worker = load(out / f"{by_pid[pids[method]]:04d}-{pids[method]}")
        assert [c.args for c in worker.calls() if c.name == "work"] == [[("x", 10)]], method
    assert [c.args for c in load(out / f"0001-{parent['pid']}").calls() if c.name == "work"] == [
        [("x", 1)]
    ]
    # The subprocess running `python -c ...` is a direct child with its own trace.
    ran_c = [
        entry
        for order, entry in enumerate(entries, start=1)
        if entry["pid"] != lost
        and load(out / f"{order:04d}-{entry['pid']}").metadata["args"]
        == ["-c", "print('sub', 6 * 7)"]
    ]
    assert [entry["ppid"] for entry in ran_c] == [parent["pid"]]


def test_a_script_recorded_by_auto_start_equals_the_cli_recording(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(
        "def add(a, b):\n    return a + b\n\nvalues = [add(i, i) for i in range(3)]\n"
        "print(values)\n"
    )
    auto = run([sys.executable, "prog.py"], tmp_path, trace=tmp_path / "auto")
    cli = run([sys.executable, "-m", "recorder_runtime", "--trace-dir", "cli", "prog.py"], tmp_path)
    assert auto.returncode == cli.returncode == 0
    assert auto.stdout == cli.stdout == "[0, 2, 4]\n"
    (recorded,) = (tmp_path / "auto").glob("0001-*")
    agreement = trace_diff(recorded, tmp_path / "cli")
    assert agreement == dict.fromkeys(agreement, 100.0)
    assert set(agreement) >= {"steps", "calls", "args", "returns", "variables", "output"}


def test_a_recorder_that_cannot_start_warns_once_and_the_program_runs(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text("import sys\nprint('ran')\nsys.exit(4)\n")
    (tmp_path / "afile").write_text("not a directory")
    done = run([sys.executable, "prog.py"], tmp_path, trace=tmp_path / "afile")
    assert (done.returncode, done.stdout) == (4, "ran\n")
    (line,) = done.stderr.splitlines()
    assert line.startswith("recorder: WARNING: auto-start (CODETRACER_TRACE): ERR_")
    assert line.endswith("the program runs untraced")


def test_an_explicit_abort_stops_before_the_program_when_recording_cannot_start(
    tmp_path: Path,
) -> None:
    (tmp_path / "prog.py").write_text("print('ran')\n")
    (tmp_path / "afile").write_text("not a directory")
    done = run(
        [sys.executable, "prog.py"],
        tmp_path,
        trace=tmp_path / "afile",
        CODETRACER_ON_RECORDER_ERROR="abort",
    )
    assert done.stdout == ""
    assert done.returncode in (2, 10)  # the classified kind's status, never 1
    assert len(done.stderr.splitlines()) == 1


def test_the_recorder_cli_records_through_its_own_trace_dir_only(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text("print('ran')\n")
    done = run(
        [sys.executable, "-m", "recorder_runtime", "--trace-dir", "cli", "prog.py"],
        tmp_path,
        trace=tmp_path / "auto",
    )
    assert done.returncode == 0
    assert (tmp_path / "cli" / "trace.json").exists()
    assert not (tmp_path / "auto").exists()


def test_the_cli_switch_turns_auto_start_off_too(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text("print('ran')\n")
    done = run(
        [sys.executable, "prog.py"],
        tmp_path,
        trace=tmp_path / "auto",
        CODETRACER_PYTHON_RECORDER_DISABLED="1",
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "ran\n", "")
    assert not (tmp_path / "auto").exists()
    assert DISABLED_ENV_VAR == cli.DISABLED_ENV_VAR


@pytest.mark.parametrize(
    ("argv", "orig_argv", "expected"),
    [
        (["/venv/bin/recorder-runtime", "s.py"], ["/venv/bin/python", "/venv/bin/x"], True),
        (["-m", "s.py"], ["python", "-X", "dev", "-m", "recorder_runtime", "s.py"], True),
        (["-m"], ["python", "-m", "pure_recorder"], True),
        (["prog.py"], ["python", "prog.py", "-m", "recorder_runtime"], False),
        (["-c"], ["python", "-c", "-m recorder_runtime"], False),
        (["-m"], ["python", "-m", "json.tool"], False),
    ],
)
def test_only_the_recorders_own_command_lines_skip_auto_start(
    argv: list[str], orig_argv: list[str], expected: bool
) -> None:
    assert is_recorder_cli(argv, orig_argv) is expected
