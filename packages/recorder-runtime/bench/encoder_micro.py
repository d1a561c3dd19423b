"""Nanoseconds per ``ValueEncoder.encode`` call, per kind of value (not a test).

Usage:
    python packages/recorder-runtime/bench/encoder_micro.py [--number N] [--repeat R]

Prints, for each value, the best of R timings of N calls of ``encode`` in ns per call, next to
``repr(value)`` (the floor of any recorder that renders values as text: issue 8, "reading and
repr-ing every local at every line") and ``json.dumps`` of the equivalent record built as a
dict (what a straightforward encoder would do). Encoding values is the whole time budget of a
recording, so these numbers bound the per-variable cost of a step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any

from recorder_runtime.encoder import ValueEncoder


class _Types:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {"None": 0}

    def type_id(self, kind: int, lang_type: str, fields: object = None) -> int:
        return self.ids.setdefault(lang_type, len(self.ids))


class Plain:
    def __init__(self) -> None:
        self.x = 1


class WithRepr:
    def __init__(self) -> None:
        self.x = 1

    def __repr__(self) -> str:
        return f"WithRepr(x={self.x})"


class Counter:
    """Yields a new int each call, so the int cache cannot help (a loop counter)."""

    def __init__(self) -> None:
        self.n = 10**6

    def __call__(self) -> int:
        self.n += 1
        return self.n


def _cases() -> list[tuple[str, Any]]:
    return [
        ("None", None),
        ("bool", True),
        ("int (cached)", 42),
        ("int (big, i64)", 123_456_789_012),
        ("float", 3.14159),
        ("str (short, cached)", "hello"),
        ("str (100 chars)", "lorem ipsum " * 8 + "dolor"),
        ("str (non-ASCII)", "naïve café"),
        ("list of 3 ints", [1, 2, 3]),
        ("list of 10 mixed", [1, "a", 2.5, None, True, 3, "bb", (1, 2), 4, 5]),
        ("dict of 3", {"a": 1, "b": "two", "c": 3.0}),
        ("tuple of 2", (1, "a")),
        ("list of 200 ints", list(range(200))),
        ("list of 10**6 ints", list(range(10**6))),
        ("instance (default repr)", Plain()),
        ("instance (own __repr__)", WithRepr()),
        ("function", _cases),
    ]


def _best(fn: Callable[[], object], number: int, repeat: int) -> float:
    # CPU time of this thread: far less sensitive than wall time to a loaded machine.
    timings = timeit.repeat(fn, number=number, repeat=repeat, timer=time.thread_time)
    return min(timings) / number * 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    encoder = ValueEncoder(_Types())
    encode = encoder.encode
    out = sys.stdout
    out.write(f"Python {sys.version.split()[0]}  (CPU ns per call, best of {args.repeat})\n")
    out.write(f"{'value':<26}{'encode':>10}{'repr':>10}{'dumps':>10}\n")
    for name, value in _cases():
        number = max(args.number // 200, 10) if "200" in name or "10**6" in name else args.number
        encode(value)  # first sight: registers types, classifies the class
        t_encode = _best(lambda v=value: encode(v), number, args.repeat)  # type: ignore[misc]
        t_repr = _best(lambda v=value: repr(v), number, args.repeat)  # type: ignore[misc]
        record = json.loads(encode(value))
        t_dumps = _best(lambda r=record: json.dumps(r), number, args.repeat)  # type: ignore[misc]
        out.write(f"{name:<26}{t_encode:>10.0f}{t_repr:>10.0f}{t_dumps:>10.0f}\n")
    counter = Counter()
    t_fresh = _best(lambda: encode(counter()), args.number, args.repeat)
    t_call = _best(counter, args.number, args.repeat)
    out.write(f"{'int (new each call)':<26}{t_fresh - t_call:>10.0f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
