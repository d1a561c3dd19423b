"""Every program the repository has runs the same recorded as untraced (issue 12).

The shared examples (tests/fixtures/examples/programs), the failure-suite targets and the
bench workloads (tools/bench/workloads, at one repetition) run untraced and then under
``python -m recorder_runtime --propagate-script-exit`` on each backend: stdout and the exit
status are identical, and stderr differs only by the recorder's own lines. Programs whose
output depends on timing, or that drive the recorder themselves, are skipped with the reason.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import (
    REPO,
    TARGETS,
    backend_params,
    base_env,
    program_stderr,
    recorder_argv,
    run_process,
)

EXAMPLES = REPO / "tests" / "fixtures" / "examples" / "programs"
WORKLOADS = REPO / "tools" / "bench" / "workloads"


@dataclass(frozen=True)
class Program:
    """One program, how it is run, and why it is skipped (if it is)."""

    folder: Path
    script: str
    args: tuple[str, ...] = ()
    stdin: bytes = b""
    env: tuple[tuple[str, str], ...] = ()
    policy: str = "abort"
    skip: str = ""

    @property
    def id(self) -> str:
        suffix = "-".join(self.args)
        return f"{self.folder.name}/{self.script}" + (f"[{suffix}]" if suffix else "")


SKIPPED_EXAMPLES = {
    "helper_mod.py": "a module imported by imports.py, not a program",
    "threads_interleaved.py": "its output order depends on thread timing",
}
SKIPPED_TARGETS = {
    "n5_api.py": "starts and stops the recorder itself through the API (argv: TRACE_DIR)",
    "threads_api.py": "starts and stops the recorder itself through the API (argv: TRACE_DIR)",
    "sigint_loop.py": "interrupted by a timer: where the interrupt lands depends on timing",
    "slots_full.py": "occupies every sys.monitoring tool slot to provoke the recorder's refusal",
    "fd_hog.py": "opens files until EMFILE: the recorder's trace file takes one of them "
    "(test_faults.py checks it gets at most one fewer)",
}
#: Programs that remove the recorder's hooks or close its file on purpose: under ``abort``
#: the recorder reports that (exit 20, test_process_state.py / test_faults.py); under
#: ``disable`` it steps aside and the program must run exactly as untraced.
DETACHING = {"detacher.py", "fd_games.py"}
TARGET_ARGS: dict[str, list[tuple[str, ...]]] = {
    "exits.py": [("normal",), ("exit3",), ("exitmsg",), ("raise",), ("atexit",)],
    "long_run.py": [("300",)],
    "threads_cli.py": [("3", "40")],
}


def programs() -> list[Program]:
    found = [
        Program(EXAMPLES, p.name, stdin=b"alice\n", skip=SKIPPED_EXAMPLES.get(p.name, ""))
        for p in sorted(EXAMPLES.glob("*.py"))
    ]
    for path in sorted(TARGETS.glob("*.py")):
        for args in TARGET_ARGS.get(path.name, [()]):
            policy = "disable" if path.name in DETACHING else "abort"
            skip = SKIPPED_TARGETS.get(path.name, "")
            found.append(Program(TARGETS, path.name, args, policy=policy, skip=skip))
    found += [
        Program(WORKLOADS, p.name, env=(("BENCH_REPS", "1"),))
        for p in sorted(WORKLOADS.glob("*.py"))
    ]
    return found


PROGRAMS = programs()
#: The untraced run of each program and the directory it ran in (paths in its output are
#: rewritten to the directory of the traced run before comparing).
UNTRACED: dict[Program, tuple[tuple[int, bytes, bytes], bytes]] = {}


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.id for p in PROGRAMS])
def test_recording_changes_no_output_and_no_exit_status(
    tmp_path: Path, program: Program, backend: str
) -> None:
    if program.skip:
        pytest.skip(program.skip)
    work = tmp_path / "work"
    shutil.copytree(program.folder, work, ignore=shutil.ignore_patterns("__pycache__"))
    env = base_env(dict(program.env))
    cached = UNTRACED.get(program)
    if cached is None:  # the same for both backends: run once
        cached = UNTRACED[program] = (
            run_process(
                [sys.executable, "-X", "faulthandler", program.script, *program.args],
                cwd=work,
                env=env,
                stdin=program.stdin,
            ),
            bytes(work),
        )
    (status, out, err), ran_in = cached
    plain = (status, out.replace(ran_in, bytes(work)), err.replace(ran_in, bytes(work)))
    flags = ["--propagate-script-exit"]
    argv = recorder_argv(backend, tmp_path / "trace", program.policy, flags)
    traced = run_process(
        [*argv, program.script, *program.args], cwd=work, env=env, stdin=program.stdin
    )
    assert traced[0] == plain[0], traced[2].decode(errors="replace")[-3000:]
    assert traced[1] == plain[1]
    assert program_stderr(traced[2]) == plain[2]
