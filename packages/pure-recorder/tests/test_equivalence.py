"""On 3.12+, the settrace backend tells the recorder exactly what the monitoring backend does.

Both backends drive the same fake recorder over the same code; the logs
(events, function names, line offsets, argument and return values) must be
identical. The stdlib-wide case records every file, so thousands of real
functions (loops, generators, try/finally, with, comprehensions, match,
asyncio) are compared, not only hand-written scenarios.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
import scenarios
from logrec import LogRecorder, normalized, record_call

from pure_recorder.backend import SettraceBackend

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="sys.monitoring exists on 3.12+ only"
)

# Known differences where the monitoring backend is wrong (strict expected failures, so a
# fix flips them). None at the moment: a throw() into a generator that never ran used to be
# dropped by the monitoring backend and is recorded since.
MONITORING_DEFECTS: dict[str, str] = {}


def both(fn: Callable[[], Any], files: set[str] | None) -> tuple[list[Any], list[Any]]:
    from recorder_runtime.monitoring import MonitoringBackend

    monitoring = LogRecorder(files)
    record_call(MonitoringBackend(), fn, monitoring)
    settrace = LogRecorder(files)
    record_call(SettraceBackend(), fn, settrace)
    return normalized(monitoring.log), normalized(settrace.log)


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(
            fn,
            marks=pytest.mark.xfail(reason=MONITORING_DEFECTS[fn.__name__], strict=True)
            if fn.__name__ in MONITORING_DEFECTS
            else (),
        )
        for fn in scenarios.SCENARIOS
    ],
    ids=lambda fn: fn.__name__,
)
def test_settrace_tells_the_recorder_what_monitoring_tells_it(
    scenario: Callable[[], Any],
) -> None:
    scenario()  # warm up: imports and lazy initialisation happen untraced
    monitoring, settrace = both(scenario, {scenarios.__file__})
    assert settrace == monitoring


def stdlib_workload() -> None:
    """A little of many standard-library modules, recorded file by file."""
    import argparse
    import ast
    import csv
    import dataclasses
    import difflib
    import email.parser
    import enum
    import fractions
    import io
    import json
    import pprint
    import re
    import statistics
    import textwrap
    import tokenize

    text = json.dumps({"a": [1, 2.5, None, {"b": "ccc"}], "d": (1, 2)}, indent=2, sort_keys=True)
    json.loads(text)
    textwrap.fill("hello world " * 20, width=30)
    list(difflib.unified_diff(["a\n", "b\n", "c\n"], ["a\n", "c\n", "d\n"]))
    difflib.SequenceMatcher(None, "abcdefgh", "abxdefzh").get_opcodes()
    re.compile(r"(?P<x>a+|b{2,3})\d*[^\s]?(?=q)" + str(len(text)))

    @dataclasses.dataclass
    class P:
        x: int
        y: int = 2

    dataclasses.asdict(P(3, 4))
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("rest", nargs="*")
    parser.parse_args(["--n", "4", "x"])
    email.parser.Parser().parsestr("From: a@b\nSubject: hi\n\nbody\n")["Subject"]
    fractions.Fraction(3, 4) + fractions.Fraction(1, 3)
    list(csv.reader(io.StringIO("a,b\n1,2\n")))
    pprint.pformat({"k": list(range(30))})

    class Color(enum.Enum):
        RED = 1
        BLUE = 2

    Color(1)
    try:
        Color(5)
    except ValueError:
        pass
    ast.dump(ast.parse("x = [i for i in range(3)]\nwhile x: x.pop()"))
    list(tokenize.generate_tokens(io.StringIO("a = 1\nif a: pass\n").readline))
    statistics.median([1, 3, 2, 5])


def shape(log: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
    """Events, names and lines; values only by argument name (stdlib values hold ids)."""
    return [
        (event, name, detail if event == "line" else None if event != "start" else len(detail))
        for event, name, detail in log
    ]


def test_settrace_agrees_with_monitoring_over_real_standard_library_code() -> None:
    stdlib_workload()
    monitoring, settrace = both(stdlib_workload, None)
    assert len(monitoring) > 2000  # the comparison covers a lot of code
    assert shape(settrace) == shape(monitoring)
