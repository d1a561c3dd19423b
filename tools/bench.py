#!/usr/bin/env python3
"""Benchmark the recorder against the reference recorder and write docs/performance.md.

Run by ``nox -s bench`` (not part of ``tests``: speed is measured, never asserted). It

1. installs the reference recorder (``codetracer-python-recorder==0.3.0``) into a private venv
   under ``.nox/`` the first time;
2. runs the overhead harness (``tools/bench/run_overhead.py``, vendored from the project's
   shared material) with three contenders in the same interleaved rounds: our recorder on
   ``sys.monitoring``, our ``sys.settrace`` fallback, and the reference;
3. measures peak RSS of a recorded workload at 1x and 10x its size (flat memory), and trace
   bytes per Step for us and for the reference;
4. writes the tables, the machine, the Python version and the date to docs/performance.md.

Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tools" / "bench" / "run_overhead.py"
WORKLOADS = ROOT / "tools" / "bench" / "workloads"
REFERENCE = "codetracer-python-recorder==0.3.0"
OURS = "{python} -m recorder_runtime --trace-dir {out} --format json {script}"
SETTRACE = "{python} -m pure_recorder --trace-dir {out} --format json {script}"
BINARY = "{python} -m recorder_runtime --trace-dir {out} --format binary {script}"
GLOBALS_ALL = "{python} -m recorder_runtime --trace-dir {out} --format json --globals all {script}"
#: Columns of the overhead table, in order (the harness's contender names).
CONTENDERS = ("monitoring", "binary", "globals-all", "settrace", "ref-0.3.0")


def reference_recorder(python: str) -> str:
    """Path of the reference's console script, installing it into .nox/ on first use."""
    venv = ROOT / ".nox" / "reference-recorder-0.3.0"
    script = venv / "bin" / "codetracer-python-recorder"
    if not script.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", REFERENCE], check=True)
    return str(script)


def run_harness(python: str, ref: str, runs: int, workloads: str | None, out: Path) -> dict:
    cmd = [
        sys.executable,
        str(HARNESS),
        "--python",
        python,
        "--name",
        "monitoring",
        "--recorder",
        OURS,
        "--contender",
        f"settrace={SETTRACE}",
        "--contender",
        f"binary={BINARY}",
        "--contender",
        f"globals-all={GLOBALS_ALL}",
        "--ref",
        f"{ref} --trace-dir {{out}} --format json {{script}}",
        "--runs",
        str(runs),
        "--json",
        str(out),
    ]
    if workloads:
        cmd += ["--workloads", workloads]
    subprocess.run(cmd, check=False)
    result: dict = json.loads(out.read_text())
    return result


def peak_rss_mb(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    """Peak RSS of one child process (its own rusage, via wait4)."""
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return float(usage.ru_maxrss) / 1024.0


def workload_reps(name: str) -> int:
    for line in (WORKLOADS / f"{name}.py").read_text().splitlines():
        if line.startswith("TRACE_REPS"):
            return int(line.split("=")[1])
    return 1


def count_steps(trace: Path) -> int:
    count = 0
    tail = b""
    with open(trace, "rb") as fh:
        while chunk := fh.read(1 << 22):
            data = tail + chunk
            count += data.count(b'{"Step":')
            tail = data[-8:]
            count -= tail.count(b'{"Step":')
    return count + tail.count(b'{"Step":')


def record_once(command: list[str], workload: str, reps: int, work: Path) -> tuple[int, int, float]:
    """Record one workload; return (trace bytes, steps, peak RSS MB); steps of JSON only."""
    out = work / f"{workload}-{reps}-{len(list(work.iterdir()))}"
    env = dict(os.environ, BENCH_REPS=str(reps))
    cmd = [part.format(out=out, script=WORKLOADS / f"{workload}.py") for part in command]
    rss = peak_rss_mb(cmd, env, str(work))
    trace = out / "trace.json"
    binary = out / "trace.bin"
    if binary.exists():
        size = binary.stat().st_size
        shutil.rmtree(out, ignore_errors=True)
        return size, 0, rss
    size = trace.stat().st_size if trace.exists() else 0
    steps = count_steps(trace) if trace.exists() else 0
    shutil.rmtree(out, ignore_errors=True)
    return size, steps, rss


def memory_and_size(python: str, ref: str, workloads: list[str]) -> tuple[list[str], list[str]]:
    ours = [
        python,
        "-m",
        "recorder_runtime",
        "--trace-dir",
        "{out}",
        "--format",
        "json",
        "{script}",
    ]
    theirs = [ref, "--trace-dir", "{out}", "--format", "json", "{script}"]
    binary = [*ours[:-2], "binary", "{script}"]
    globals_all = [*ours[:-1], "--globals", "all", "{script}"]
    memory_rows, size_rows = [], []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        for name in workloads:
            reps = workload_reps(name)
            size, steps, rss1 = record_once(ours, name, reps, work)
            _, _, rss10 = record_once(ours, name, reps * 10, work)
            ref_size, ref_steps, ref_rss = record_once(theirs, name, reps, work)
            bin_size, _, _ = record_once(binary, name, reps, work)
            all_size, all_steps, _ = record_once(globals_all, name, reps, work)
            memory_rows.append(
                f"| {name} | {reps} | {rss1:.0f} | {reps * 10} | {rss10:.0f} | {ref_rss:.0f} |"
            )
            ours_bps = size / steps if steps else 0.0
            ref_bps = ref_size / ref_steps if ref_steps else 0.0
            bin_bps = bin_size / steps if steps else 0.0
            all_bps = all_size / all_steps if all_steps else 0.0
            size_rows.append(
                f"| {name} | {steps} | {size / 1e6:.1f} | {ours_bps:.0f} | {bin_size / 1e6:.2f} | "
                f"{bin_bps:.1f} | {all_bps:.0f} | {ref_steps} | {ref_size / 1e6:.1f} | "
                f"{ref_bps:.0f} |"
            )
    return memory_rows, size_rows


def overhead_rows(result: dict) -> list[str]:
    rows = []
    for name, data in result["workloads"].items():
        cells = [name]
        for contender in CONTENDERS:
            c = data["contenders"].get(contender, {})
            net = c.get("net_ratio")
            vs = c.get("vs_ref")
            cells.append(f"{net:.0f}" if net else c.get("status", "-"))
            cells.append(f"{vs:.3f}" if vs else "-")
        rows.append("| " + " | ".join(cells) + " |")
    geo = result.get("geomean", {})
    cells = ["**geometric mean**"]
    for contender in CONTENDERS:
        g = geo.get(contender, {})
        net, vs = g.get("net", g.get("net_ratio")), g.get("vs_ref")
        cells.append(f"**{net:.0f}**" if net else "-")
        cells.append(f"**{vs:.3f}**" if vs else "-")
    rows.append("| " + " | ".join(cells) + " |")
    return rows


def write_report(path: Path, result: dict, memory: list[str], sizes: list[str], runs: int) -> None:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = platform.processor() or platform.machine()
    text = (
        f"""# Performance

Written by `nox -s bench` (`tools/bench.py`) on {now}: {os.cpu_count()} cores ({cpu}),
{platform.system()} {platform.release()}, CPython {result.get("python_version")}, {runs} interleaved
round(s) of the overhead harness (`tools/bench/run_overhead.py`). Speed is measured here, never
asserted in tests; the deterministic guard against hot-path regressions is
`packages/recorder-runtime/tests/test_hot_path_budget.py` (values encoded and written per step).

## Net overhead

`net` = how many times slower the recorded code runs than untraced (start-up subtracted);
`vs-ref` = our net overhead / the reference recorder's, measured in the same rounds (below 1 is
faster than the reference). `monitoring` is the default (JSON, globals a step's code names),
`binary` the same with `--format binary`, `globals-all` the reference's content
(`--globals all`), `settrace` the fallback backend. The goal (issues 8 and 14) is a
geometric-mean `vs-ref` of at most 0.10.

"""
        + "| workload | monitoring net | vs-ref | binary net | vs-ref | globals-all net | vs-ref "
        + "| settrace net | vs-ref | reference net | vs-ref |\n"
        + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        + "\n".join(overhead_rows(result))
        + """

## Memory: peak RSS does not grow with the length of the run

Peak resident memory (MB) of one recorded run at the traced size and at ten times that size.
Events stream to disk through a bounded buffer; the reference holds the whole trace in memory.

| workload | reps | ours (MB) | reps | ours (MB) | reference at 1x (MB) |
|---|---:|---:|---:|---:|---:|
"""
        + "\n".join(memory)
        + """

## Trace size

Ours: JSON (default content), `trace.bin` of the same run (`--format binary`), and JSON with
the reference's content (`--globals all`), bytes per step of each.

"""
        + "| workload | our steps | JSON MB | JSON bytes/step | binary MB | binary bytes/step "
        + "| globals-all bytes/step | reference steps | reference MB | ref bytes/step |\n"
        + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        + "\n".join(sizes)
        + "\n"
    )
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", default=None, help="comma-separated subset")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the recorder")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--json", default=str(ROOT / ".nox" / "bench.json"))
    args = parser.parse_args()
    ref = os.environ.get("REF_RECORDER") or reference_recorder(args.python)
    json_path = Path(args.json)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    result = run_harness(args.python, ref, args.runs, args.workloads, json_path)
    names = list(result["workloads"])
    memory, sizes = memory_and_size(args.python, ref, names)
    write_report(Path(args.out), result, memory, sizes, args.runs)
    sys.stderr.write(f"bench: wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
