"""The policy object: defaults, environment, configure_policy, overrides, and validation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recorder_errors import ErrorCode, UsageError
from recorder_runtime.policy import (
    ENV_VARS,
    Policy,
    configure_policy,
    policy_snapshot,
    reset_policy,
    resolve_policy,
)

NO_ENV: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _clean_policy() -> Iterator[None]:
    reset_policy()
    yield
    reset_policy()


def test_defaults_match_the_documented_values() -> None:
    policy = resolve_policy(environ=NO_ENV)
    assert policy == Policy(
        on_recorder_error="abort",
        require_trace=False,
        keep_partial_trace=False,
        log_level="warning",
        log_file=None,
        json_errors=False,
        propagate_script_exit=False,
        io_capture="proxies",
        max_depth=10,
        max_items=200,
        max_string_length=10000,
        trace_filter=(),
        backend="auto",
    )


def test_every_field_has_an_environment_variable() -> None:
    assert set(ENV_VARS) == set(Policy.__dataclass_fields__)
    assert all(var.startswith("CODETRACER_") for var in ENV_VARS.values())


@pytest.mark.parametrize(
    ("var", "raw", "field", "expected"),
    [
        ("CODETRACER_ON_RECORDER_ERROR", " Disable ", "on_recorder_error", "disable"),
        ("CODETRACER_REQUIRE_TRACE", "yes", "require_trace", True),
        ("CODETRACER_KEEP_PARTIAL_TRACE", "ON", "keep_partial_trace", True),
        ("CODETRACER_LOG_LEVEL", "DEBUG", "log_level", "debug"),
        ("CODETRACER_LOG_LEVEL", "warn", "log_level", "warning"),
        ("CODETRACER_LOG_FILE", "/tmp/rec.log", "log_file", "/tmp/rec.log"),
        ("CODETRACER_JSON_ERRORS", "t", "json_errors", True),
        ("CODETRACER_PROPAGATE_SCRIPT_EXIT", "1", "propagate_script_exit", True),
        ("CODETRACER_CAPTURE_IO", "off", "io_capture", "off"),
        ("CODETRACER_CAPTURE_IO", "proxies+fd", "io_capture", "proxies+fd"),
        ("CODETRACER_CAPTURE_IO", "proxy,mirror", "io_capture", "proxies+fd"),
        ("CODETRACER_CAPTURE_IO", "enabled", "io_capture", "proxies"),
        ("CODETRACER_TRACE_FILTER", "a.toml::b.toml", "trace_filter", ("a.toml", "b.toml")),
        ("CODETRACER_MAX_DEPTH", "3", "max_depth", 3),
        ("CODETRACER_MAX_ITEMS", " 50 ", "max_items", 50),
        ("CODETRACER_MAX_STRING_LENGTH", "80", "max_string_length", 80),
        ("CODETRACER_BACKEND", "settrace", "backend", "settrace"),
    ],
)
def test_environment_variable_sets_its_field(
    var: str, raw: str, field: str, expected: object
) -> None:
    policy = resolve_policy(environ={var: raw})
    assert getattr(policy, field) == expected


@pytest.mark.parametrize("word", ["0", "false", "F", "no", "n", "OFF", " False "])
def test_false_words_are_accepted_case_insensitively(word: str) -> None:
    env = {"CODETRACER_PROPAGATE_SCRIPT_EXIT": word}
    assert resolve_policy(environ=env).propagate_script_exit is False


def test_blank_environment_variable_counts_as_unset() -> None:
    env = {"CODETRACER_LOG_LEVEL": "  ", "CODETRACER_REQUIRE_TRACE": ""}
    policy = resolve_policy(environ=env)
    assert (policy.log_level, policy.require_trace) == ("warning", False)


@pytest.mark.parametrize(
    ("var", "raw", "accepted_fragment"),
    [
        ("CODETRACER_REQUIRE_TRACE", "perhaps", "yes"),
        ("CODETRACER_ON_RECORDER_ERROR", "explode", "abort, disable"),
        ("CODETRACER_CAPTURE_IO", "bogus", "off, proxies, proxies+fd"),
        ("CODETRACER_LOG_LEVEL", "chatty", "debug, info, warning, error, critical"),
        ("CODETRACER_MAX_DEPTH", "0", "positive integer"),
        ("CODETRACER_MAX_ITEMS", "many", "positive integer"),
        ("CODETRACER_BACKEND", "fast", "auto, monitoring, settrace"),
    ],
)
def test_invalid_environment_value_names_the_variable_and_accepted_values(
    var: str, raw: str, accepted_fragment: str
) -> None:
    with pytest.raises(UsageError) as info:
        resolve_policy(environ={var: raw})
    error = info.value
    assert error.code is ErrorCode.INVALID_POLICY_VALUE
    assert error.exit_code == 2
    assert f"environment variable {var}" in error.message
    assert accepted_fragment in error.message
    assert error.context["source"] == f"environment variable {var}"


def test_configure_policy_overrides_the_environment() -> None:
    configure_policy(on_recorder_error="disable", max_items=7)
    policy = resolve_policy(environ={"CODETRACER_ON_RECORDER_ERROR": "abort"})
    assert (policy.on_recorder_error, policy.max_items) == ("disable", 7)


def test_overrides_win_over_configure_policy_and_environment() -> None:
    configure_policy(log_level="info")
    env = {"CODETRACER_LOG_LEVEL": "error"}
    assert resolve_policy({"log_level": "debug"}, environ=env).log_level == "debug"


def test_none_in_overrides_leaves_the_lower_layer_value() -> None:
    env = {"CODETRACER_PROPAGATE_SCRIPT_EXIT": "1"}
    policy = resolve_policy({"propagate_script_exit": None}, environ=env)
    assert policy.propagate_script_exit is True


def test_explicit_false_override_beats_a_true_environment_value() -> None:
    env = {"CODETRACER_PROPAGATE_SCRIPT_EXIT": "1"}
    assert (
        resolve_policy({"propagate_script_exit": False}, environ=env).propagate_script_exit is False
    )


def test_configure_policy_none_leaves_the_field_unchanged() -> None:
    configure_policy(require_trace=True)
    configure_policy(require_trace=None, json_errors=True)
    policy = resolve_policy(environ=NO_ENV)
    assert (policy.require_trace, policy.json_errors) == (True, True)


def test_invalid_configure_policy_value_names_the_call_and_applies_nothing() -> None:
    with pytest.raises(UsageError) as info:
        configure_policy(max_depth=3, on_recorder_error="explode")
    assert info.value.code is ErrorCode.INVALID_POLICY_VALUE
    assert "configure_policy(on_recorder_error=...)" in info.value.message
    assert resolve_policy(environ=NO_ENV).max_depth == 10


def test_override_errors_name_the_source_the_caller_gives() -> None:
    with pytest.raises(UsageError) as info:
        resolve_policy(
            {"on_recorder_error": "maybe"},
            environ=NO_ENV,
            sources={"on_recorder_error": "--on-recorder-error"},
        )
    assert "--on-recorder-error" in info.value.message
    assert "abort, disable" in info.value.message


def test_unknown_override_field_is_an_invalid_policy_value() -> None:
    with pytest.raises(UsageError) as info:
        resolve_policy({"colour": "blue"}, environ=NO_ENV)
    assert info.value.code is ErrorCode.INVALID_POLICY_VALUE
    assert "colour" in info.value.message


@pytest.mark.parametrize("value", [True, 2.5, "3x", -1])
def test_limits_reject_non_positive_integers(value: object) -> None:
    with pytest.raises(UsageError):
        resolve_policy({"max_depth": value}, environ=NO_ENV)


def test_api_booleans_must_be_booleans_or_boolean_words() -> None:
    assert resolve_policy({"require_trace": "yes"}, environ=NO_ENV).require_trace is True
    with pytest.raises(UsageError):
        resolve_policy({"require_trace": 1}, environ=NO_ENV)


def test_trace_filter_accepts_a_list_with_double_colon_entries() -> None:
    policy = resolve_policy({"trace_filter": ["a.toml::b.toml", "c.toml"]}, environ=NO_ENV)
    assert policy.trace_filter == ("a.toml", "b.toml", "c.toml")


def test_trace_filter_from_overrides_replaces_the_environment_chain() -> None:
    env = {"CODETRACER_TRACE_FILTER": "env.toml"}
    assert resolve_policy({"trace_filter": ["cli.toml"]}, environ=env).trace_filter == ("cli.toml",)


def test_empty_log_file_means_stderr() -> None:
    configure_policy(log_file="/tmp/x.log")
    assert resolve_policy({"log_file": ""}, environ=NO_ENV).log_file is None


def test_policy_snapshot_reports_effective_values_as_plain_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CODETRACER_KEEP_PARTIAL_TRACE", "1")
    configure_policy(trace_filter="x.toml")
    snapshot = policy_snapshot()
    assert snapshot["keep_partial_trace"] is True
    assert snapshot["trace_filter"] == ["x.toml"]
    assert set(snapshot) == set(Policy.__dataclass_fields__)


def test_reset_policy_forgets_configured_values() -> None:
    configure_policy(backend="settrace")
    reset_policy()
    assert resolve_policy(environ=NO_ENV).backend == "auto"


def test_resolve_policy_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODETRACER_MAX_ITEMS", "12")
    assert resolve_policy().max_items == 12


def test_importing_with_an_invalid_environment_does_not_raise() -> None:
    import subprocess
    import sys

    env = {"CODETRACER_ON_RECORDER_ERROR": "explode", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import recorder_runtime.policy, recorder_runtime.cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("value", [3, ["ok.toml", 4], b"bytes.toml"])
def test_trace_filter_rejects_non_paths(value: object) -> None:
    with pytest.raises(UsageError) as info:
        resolve_policy({"trace_filter": value}, environ=NO_ENV)
    assert info.value.code is ErrorCode.INVALID_POLICY_VALUE


def test_configure_policy_accepts_any_iterable_of_paths(tmp_path: Path) -> None:
    paths: list[str | Path] = [tmp_path / "a.toml", "b.toml"]
    configure_policy(trace_filter=(p for p in paths))
    assert resolve_policy(environ=NO_ENV).trace_filter == (str(tmp_path / "a.toml"), "b.toml")


def test_log_file_accepts_a_path_object_and_rejects_other_types(tmp_path: Path) -> None:
    assert resolve_policy({"log_file": tmp_path / "x.log"}, environ=NO_ENV).log_file == str(
        tmp_path / "x.log"
    )
    with pytest.raises(UsageError):
        resolve_policy({"log_file": 12}, environ=NO_ENV)
