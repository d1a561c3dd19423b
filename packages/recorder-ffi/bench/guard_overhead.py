"""Benchmark (not a test): the cost of the boundary guard on the recorder's hot path.

Run with the dev venv::

    .venv/bin/python packages/recorder-ffi/bench/guard_overhead.py [--iterations N] [--repeats R]

A loop of N iterations produces about 2N LINE events. Each variant installs a
different callback; the figure reported is the best of R runs (the minimum is
the least noisy estimate of a cost), minus the untraced loop, divided by the
number of events. Variants are measured in interleaved rounds (one run of each
per round) so that a burst of load on a shared machine hits them alike.

``sys.monitoring`` (3.12+), a LINE callback set as a local event on the loop:

- ``no-op``: ``def cb(code, line): return None``, unguarded and guarded;
- ``no-op, guarded by the generic *args wrapper``: the same no-op behind the
  wrapper the guard falls back to for callbacks it cannot specialise, to show
  what specialising by arity saves;
- ``light work``: the least a recorder does per LINE event (look the code
  object up in a dict, format one event, append it to a buffer);
- ``typical work``: light work plus what the runtime's ``on_line`` does next,
  reading the frame's locals and encoding each one (here with ``repr``).

``sys.settrace`` (every version), a trace function that returns itself:

- ``no-op`` unguarded, guarded, and guarded with ``exclusive=True`` (the
  re-entrancy and detached checks the settrace backend uses).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from recorder_ffi import BoundaryGuard
from recorder_ffi.guard import _plain_wrapper

TOOL_NAME = "recorder-ffi-bench"


def workload(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


# --- sys.monitoring -----------------------------------------------------------


def free_tool_id() -> int:
    for tool_id in (3, 4, 2, 5, 1, 0):
        if sys.monitoring.get_tool(tool_id) is None:
            return tool_id
    raise SystemExit("no free sys.monitoring tool id")


def time_monitoring(tool_id: int, callback: Callable[..., Any] | None, n: int) -> int:
    """Time one call of ``workload(n)`` with ``callback`` on LINE (None = untraced)."""
    mon = sys.monitoring
    code = workload.__code__
    if callback is not None:
        mon.register_callback(tool_id, mon.events.LINE, callback)
        mon.set_local_events(tool_id, code, mon.events.LINE)
    try:
        start = time.perf_counter_ns()
        workload(n)
        return time.perf_counter_ns() - start
    finally:
        mon.set_local_events(tool_id, code, 0)
        mon.register_callback(tool_id, mon.events.LINE, None)


def monitoring_variants(guard: BoundaryGuard) -> dict[str, Callable[..., Any]]:
    def noop(code: object, line: int) -> None:
        return None

    code_ids: dict[object, int] = {workload.__code__: 1}
    buffer: list[str] = []

    def light_work(code: object, line: int) -> None:
        path_id = code_ids.get(code)
        buffer.append(f'{{"Step":{{"path_id":{path_id},"line":{line}}}}}')
        if len(buffer) > 4096:
            buffer.clear()

    def typical_work(depth: int) -> Callable[..., None]:
        # The runtime reads the instrumented frame at a fixed depth, as here:
        # depth 1 unguarded, 2 under the guard's wrapper. (Walking f_back from
        # depth 1 instead would materialise a frame object for the wrapper on
        # every event, about 100 ns more.)
        def on_line(code: object, line: int) -> None:
            path_id = code_ids.get(code)
            buffer.append(f'{{"Step":{{"path_id":{path_id},"line":{line}}}}}')
            for name, value in sys._getframe(depth).f_locals.items():
                buffer.append(f'{{"Value":{{"name":"{name}","repr":{value!r}}}}}')
            if len(buffer) > 4096:
                buffer.clear()

        return on_line

    return {
        "no-op, unguarded": noop,
        "no-op, guarded": guard.guard_callback("line", noop),
        "no-op, guarded by the generic *args wrapper": _plain_wrapper(
            guard._callback_failed, "line", noop, None
        ),
        "light work, unguarded": light_work,
        "light work, guarded": guard.guard_callback("line", light_work),
        "typical work, unguarded": typical_work(1),
        "typical work, guarded": guard.guard_callback("line", typical_work(2)),
    }


# --- sys.settrace -------------------------------------------------------------


def time_settrace(trace: Callable[..., Any] | None, n: int) -> int:
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        start = time.perf_counter_ns()
        workload(n)
        return time.perf_counter_ns() - start
    finally:
        sys.settrace(previous)


def settrace_variants(guard: BoundaryGuard) -> dict[str, Callable[..., Any]]:
    def noop(frame: object, event: str, arg: object) -> Any:
        return noop

    def guarded_noop(frame: object, event: str, arg: object) -> Any:
        return guarded

    def plain_noop(frame: object, event: str, arg: object) -> Any:
        return plain

    guarded = guard.guard_callback("trace", guarded_noop, exclusive=True)
    plain = guard.guard_callback("trace", plain_noop)
    return {
        "no-op, unguarded": noop,
        "no-op, guarded (not exclusive)": plain,
        "no-op, guarded exclusive": guarded,
    }


# --- report -------------------------------------------------------------------


def best_per_variant(
    measure: Callable[[Callable[..., Any] | None], int],
    variants: dict[str, Callable[..., Any]],
    repeats: int,
) -> tuple[int, dict[str, int]]:
    """Best time of the untraced loop and of each variant, over interleaved rounds."""
    baseline = sys.maxsize
    times = dict.fromkeys(variants, sys.maxsize)
    for _ in range(repeats):
        baseline = min(baseline, measure(None))
        for name, callback in variants.items():
            times[name] = min(times[name], measure(callback))
    return baseline, times


def report(title: str, baseline: float, per_event: dict[str, float]) -> None:
    print(f"\n{title} (untraced loop: {baseline:.1f} ns per line)\n")
    print("| callback | ns/event | guard cost (ns) | guard overhead |")
    print("|---|---:|---:|---:|")
    for name, cost in per_event.items():
        reference = name.split(",")[0] + ", unguarded"
        if name == reference:
            print(f"| {name} | {cost:.1f} | | |")
            continue
        extra = cost - per_event[reference]
        share = 100 * extra / per_event[reference]
        print(f"| {name} | {cost:.1f} | {extra:.1f} | {share:+.1f}% |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Boundary guard overhead benchmark")
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args(argv)
    n, repeats = args.iterations, args.repeats
    guard = BoundaryGuard(policy="disable")
    events = 2 * n + 1  # loop header and body per iteration, plus the header's last test
    print(f"Python {sys.version.split()[0]}, {events} LINE events per run, best of {repeats}")

    if sys.version_info >= (3, 12):
        tool_id = free_tool_id()
        sys.monitoring.use_tool_id(tool_id, TOOL_NAME)
        try:
            baseline, times = best_per_variant(
                lambda cb: time_monitoring(tool_id, cb, n), monitoring_variants(guard), repeats
            )
        finally:
            sys.monitoring.set_events(tool_id, 0)
            sys.monitoring.free_tool_id(tool_id)
        per_event = {name: (t - baseline) / events for name, t in times.items()}
        report("sys.monitoring LINE callback", baseline / events, per_event)

    baseline, times = best_per_variant(
        lambda tr: time_settrace(tr, n), settrace_variants(guard), repeats
    )
    per_event = {name: (t - baseline) / events for name, t in times.items()}
    report("sys.settrace trace function", baseline / events, per_event)
    return 0


if __name__ == "__main__":
    sys.exit(main())
