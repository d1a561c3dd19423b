"""How settrace events become recorder calls (start/resume/throw, return/yield/unwind, line).

The backend is driven with a fake recorder that logs what it is told; the
expectations are the sys.monitoring semantics (trace-format.md §10.3), on
every supported Python.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
import scenarios
from logrec import LogRecorder, balanced, record_call

from pure_recorder.backend import SettraceBackend

FILE = scenarios.__file__
INLINED_COMPREHENSIONS = sys.version_info >= (3, 12)
CLOSE_SKIPS_FRAME = sys.version_info >= (3, 13)


def run(fn: Callable[[], Any]) -> tuple[Any, list[tuple[str, str, object]]]:
    recorder = LogRecorder({FILE, __file__})
    result = record_call(SettraceBackend(), fn, recorder)
    return result, recorder.log


def frames_of(log: list[tuple[str, str, object]], name: str) -> list[tuple[str, object]]:
    """The non-line events of one function (by qualname suffix)."""
    return [
        (event, detail)
        for event, qualname, detail in log
        if event != "line" and qualname.split(".")[-1] == name
    ]


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda fn: fn.__name__)
def test_every_scenario_is_balanced_and_returns_what_it_returns_untraced(
    scenario: Callable[[], Any],
) -> None:
    expected = scenario()
    result, log = run(scenario)
    assert result == expected
    assert balanced(log), log


def test_nested_calls_start_and_return_innermost_first() -> None:
    _, log = run(scenarios.plain_calls)
    calls = [(event, name.split(".")[-1], detail) for event, name, detail in log if event != "line"]
    assert calls == [
        ("start", "plain_calls", ()),
        ("start", "add", (("a", "1"), ("b", "2"))),
        ("return", "add", "3"),
        ("start", "add", (("a", "3"), ("b", "10"))),
        ("return", "add", "13"),
        ("return", "plain_calls", "13"),
    ]


def test_lines_are_reported_once_per_line_reached() -> None:
    _, log = run(scenarios.plain_calls)
    lines = [(name.split(".")[-1], detail) for event, name, detail in log if event == "line"]
    assert lines == [
        ("plain_calls", 1),
        ("plain_calls", 5),
        ("add", 1),
        ("add", 2),
        ("plain_calls", 6),
        ("add", 1),
        ("add", 2),
        ("plain_calls", 7),
    ]


def test_generator_suspensions_are_yields_and_continuations_are_resumes() -> None:
    _, log = run(scenarios.generators)
    assert frames_of(log, "gen") == [
        ("start", ()),
        ("yield", "1"),
        ("resume", None),
        ("yield", "3"),
        ("throw", "ValueError('v')"),
        ("yield", "5"),
        # 3.13 closes a generator suspended outside any try block without running it.
        *(
            []
            if CLOSE_SKIPS_FRAME
            else [("throw", "GeneratorExit()"), ("unwind", "GeneratorExit()")]
        ),
    ]


def test_close_of_a_generator_suspended_in_try_is_a_throw_then_an_unwind() -> None:
    result, log = run(scenarios.generator_close_in_try)
    assert result == ["closed"]
    assert frames_of(log, "gen") == [
        ("start", ()),
        ("yield", "1"),
        ("throw", "GeneratorExit()"),
        ("unwind", "GeneratorExit()"),
    ]


def test_yield_from_suspends_and_resumes_both_generators() -> None:
    _, log = run(scenarios.yield_from)
    assert frames_of(log, "sub") == [
        ("start", ()),
        ("yield", "1"),
        ("resume", None),
        ("yield", "4"),
        ("resume", None),
        ("return", "7"),
    ]
    assert frames_of(log, "deleg")[:4] == [
        ("start", ()),
        ("yield", "1"),
        ("resume", None),
        ("yield", "4"),
    ]


def test_throw_into_a_generator_that_never_ran_is_a_throw_then_an_unwind() -> None:
    _, log = run(scenarios.throw_into_fresh_generator)
    assert frames_of(log, "gen") == [
        ("throw", "TypeError('fresh')"),
        ("unwind", "TypeError('fresh')"),
    ]


def test_an_exception_leaving_a_frame_is_an_unwind_with_that_exception() -> None:
    _, log = run(scenarios.caught_in_caller)
    assert frames_of(log, "fail") == [
        ("start", ()),
        ("unwind", "KeyError('k')"),
        ("start", ()),
        ("unwind", "KeyError('k')"),
    ]
    # caller catches the first KeyError and goes on, then lets the second one out.
    assert frames_of(log, "caller") == [("start", ()), ("unwind", "KeyError('k')")]
    assert frames_of(log, "caught_in_caller")[-1] == ("return", "\"KeyError('k')\"")


def test_a_reraise_from_finally_or_a_bare_raise_unwinds_with_the_original_exception() -> None:
    _, log = run(scenarios.finally_reraise)
    assert frames_of(log, "fin") == [("start", ()), ("unwind", "ValueError('a')")]
    assert frames_of(log, "bare_raise") == [("start", ()), ("unwind", "ValueError('b')")]
    assert frames_of(log, "chained") == [("start", ()), ("unwind", "TypeError('d')")]


def test_a_function_returning_none_after_handling_an_exception_returns() -> None:
    def handles() -> None:
        try:
            raise KeyError("handled")
        except KeyError:
            pass

    _, log = run(handles)
    assert frames_of(log, "handles") == [("start", ()), ("return", "None")]


def test_a_generator_yielding_none_yields() -> None:
    def gen():  # type: ignore[no-untyped-def]
        yield
        yield None

    def drive() -> list[None]:
        return list(gen())

    _, log = run(drive)
    assert frames_of(log, "gen") == [
        ("start", ()),
        ("yield", "None"),
        ("resume", None),
        ("yield", "None"),
        ("resume", None),
        ("return", "None"),
    ]


def test_a_one_line_loop_reports_its_line_once_per_arrival() -> None:
    _, log = run(scenarios.loops_on_one_line)
    lines = [detail for event, _, detail in log if event == "line"]
    assert lines == [1, 2, 3, 4, 5]


def test_comprehension_frames_exist_only_before_pep_709() -> None:
    _, log = run(scenarios.comprehensions)
    names = {name.split(".")[-1] for event, name, _ in log if event == "start"}
    assert ("<listcomp>" in names) is not INLINED_COMPREHENSIONS
    assert "<genexpr>" in names


def test_coroutines_suspend_at_await_and_resume() -> None:
    result, log = run(scenarios.async_program)
    assert result == [2, 4, -1, 0, 1]
    leaf = frames_of(log, "leaf")
    assert leaf[0] == ("start", (("n", "1"),))
    assert ("yield", "None") in leaf
    assert ("resume", None) in leaf
    assert frames_of(log, "failing")[-1] == ("unwind", "ValueError('async')")


def test_cancelling_a_task_throws_cancelled_error_into_the_coroutine() -> None:
    result, log = run(scenarios.async_cancel)
    assert result == "cancelled"
    assert ("throw", "CancelledError()") in frames_of(log, "sleeper")


def test_only_recorded_frames_get_the_local_trace_function() -> None:
    def recorded() -> tuple[object, object]:
        return sys._getframe().f_trace, scenarios.own_trace_function()

    recorder = LogRecorder({__file__})  # the scenarios module is skipped code here
    mine, skipped = record_call(SettraceBackend(), recorded, recorder)
    assert mine is not None
    assert skipped is None
    assert [name for event, name, _ in recorder.log if event == "start"] == [
        recorded.__qualname__ if sys.version_info >= (3, 11) else "recorded"
    ]
