"""Failpoints: parsing RECORDER_FAILPOINTS and firing."""

from __future__ import annotations

import pytest

from recorder_errors import ErrorCode, RecorderError, UsageError
from recorder_ffi import CALLBACK_EVENTS, KNOWN_FAILPOINTS, Failpoints, InjectedFailure


def test_known_failpoints_are_the_documented_list() -> None:
    expected = {
        "session.start",
        "session.finish",
        "writer.write",
        "writer.commit",
        "encoder.encode",
        "callback.py_start",
        "callback.py_resume",
        "callback.py_return",
        "callback.py_yield",
        "callback.py_unwind",
        "callback.py_throw",
        "callback.line",
        "callback.trace",
    }
    assert expected == KNOWN_FAILPOINTS
    assert {f"callback.{event}" for event in CALLBACK_EVENTS} <= KNOWN_FAILPOINTS


def test_unset_variable_gives_no_failpoints() -> None:
    failpoints = Failpoints.from_env({})
    assert not failpoints
    assert failpoints.names == frozenset()


def test_empty_and_blank_values_give_no_failpoints() -> None:
    assert not Failpoints.from_env({"RECORDER_FAILPOINTS": ""})
    assert not Failpoints.from_env({"RECORDER_FAILPOINTS": " , ,"})


def test_comma_separated_names_are_enabled_and_others_are_not() -> None:
    failpoints = Failpoints.from_env({"RECORDER_FAILPOINTS": "session.start, callback.line"})
    assert failpoints
    assert failpoints.names == {"session.start", "callback.line"}
    assert failpoints.enabled("callback.line")
    assert not failpoints.enabled("writer.write")


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORDER_FAILPOINTS", "writer.commit")
    assert Failpoints.from_env().enabled("writer.commit")


def test_unknown_name_is_a_usage_error_naming_the_accepted_points() -> None:
    with pytest.raises(UsageError) as caught:
        Failpoints.from_env({"RECORDER_FAILPOINTS": "session.start,callback.call"})
    err = caught.value
    assert err.code is ErrorCode.INVALID_POLICY_VALUE
    assert err.exit_code == 2
    assert "'callback.call'" in err.message
    for name in KNOWN_FAILPOINTS:
        assert name in err.message
    assert err.context["variable"] == "RECORDER_FAILPOINTS"


@pytest.mark.parametrize("suffix", ["0", "-1", "x", "", "²"])
def test_invalid_hit_number_is_a_usage_error(suffix: str) -> None:
    with pytest.raises(UsageError) as caught:
        Failpoints.parse(f"callback.line:{suffix}")
    assert caught.value.code is ErrorCode.INVALID_POLICY_VALUE


def test_fire_raises_injected_failure_when_enabled() -> None:
    failpoints = Failpoints.parse("writer.write")
    with pytest.raises(InjectedFailure) as caught:
        failpoints.fire("writer.write")
    assert caught.value.failpoint == "writer.write"
    assert "writer.write" in str(caught.value)


def test_injected_failure_is_unexpected_not_a_recorder_error() -> None:
    assert issubclass(InjectedFailure, RuntimeError)
    assert not issubclass(InjectedFailure, RecorderError)


def test_fire_is_a_no_op_when_disabled() -> None:
    Failpoints.parse("writer.write").fire("session.finish")
    Failpoints().fire("writer.write")


def test_hit_number_delays_the_first_failure_then_keeps_firing() -> None:
    failpoints = Failpoints.parse("encoder.encode:3")
    failpoints.fire("encoder.encode")
    failpoints.fire("encoder.encode")
    for _ in range(2):
        with pytest.raises(InjectedFailure):
            failpoints.fire("encoder.encode")


def test_failpoints_compare_by_configuration() -> None:
    assert Failpoints.parse("session.start") == Failpoints.parse(" session.start ,")
    assert Failpoints.parse("session.start") != Failpoints.parse("session.start:2")


def test_equal_failpoints_hash_alike() -> None:
    assert hash(Failpoints.parse("session.start")) == hash(Failpoints.parse("session.start"))
