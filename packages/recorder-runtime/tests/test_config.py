"""The policy table (config/fields.py) and the layers derived from it, pyproject.toml included."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from recorder_errors import ErrorCode, UsageError
from recorder_runtime import config
from recorder_runtime.config import arguments, reference
from recorder_runtime.config.parsers import choice, parse_bool, parse_positive_int
from recorder_runtime.policy import Policy, configure_policy, reset_policy, resolve_policy

NO_ENV: dict[str, str] = {}
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(autouse=True)
def _clean_policy() -> Iterator[None]:
    reset_policy()
    yield
    reset_policy()


def write_pyproject(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pyproject.toml"
    path.write_text(body, encoding="utf-8")
    return path


# --- the table ---------------------------------------------------------------------


def test_every_policy_attribute_is_a_row_of_the_table() -> None:
    assert [row.name for row in config.rows()] == list(Policy.__dataclass_fields__)


def test_rows_have_distinct_codetracer_variables_and_flags() -> None:
    envs = [row.spec.env for row in config.rows()]
    flags = [row.spec.flag for row in config.rows()]
    assert all(env.startswith("CODETRACER_") for env in envs)
    assert all(flag.startswith("--") for flag in flags)
    assert len(set(envs)) == len(envs) and len(set(flags)) == len(flags)


def test_every_default_is_accepted_by_its_own_parser() -> None:
    for row in config.rows():
        if row.default is not None:
            assert row.spec.parse(row.default, "default") == row.default


@dataclass(frozen=True)
class Extra:
    """A table of two rows: what adding a field to Policy looks like."""

    colour: str = config.setting(
        "blue",
        choice(("blue", "red")),
        env="CODETRACER_TEST_COLOUR",
        flag="--colour",
        metavar="blue|red",
        values="`blue`, `red`",
        help="a colour",
    )
    verbose: bool = config.setting(
        False,
        parse_bool,
        env="CODETRACER_TEST_VERBOSE",
        flag="--verbose",
        values="bool",
        help="say more",
        api=False,
    )


def test_one_new_row_is_read_from_environment_pyproject_flags_and_the_api(
    tmp_path: Path,
) -> None:
    write_pyproject(tmp_path, "[tool.codetracer]\nverbose = true\n")
    from_file = config.resolve_table(Extra, environ=NO_ENV, cwd=tmp_path)
    from_env = config.resolve_table(Extra, environ={"CODETRACER_TEST_COLOUR": "red"}, cwd=tmp_path)
    from_api = config.resolve_table(Extra, {"colour": "red"}, environ=NO_ENV, cwd=tmp_path)
    parser = argparse.ArgumentParser()
    arguments.add_policy_arguments(parser, Extra)
    namespace = parser.parse_args(["--colour", "red", "--no-verbose"])
    from_flags = config.resolve_table(
        Extra, arguments.policy_overrides(namespace, Extra), cwd=tmp_path, command_line=True
    )
    assert from_file == Extra(colour="blue", verbose=True)
    assert from_env == Extra(colour="red", verbose=True)
    assert from_api == Extra(colour="red", verbose=True)
    assert from_flags == Extra(colour="red", verbose=False)


def test_a_row_marked_not_for_the_api_is_refused_there_but_taken_from_flags(
    tmp_path: Path,
) -> None:
    with pytest.raises(UsageError) as info:
        config.resolve_table(Extra, {"verbose": True}, environ=NO_ENV, cwd=tmp_path)
    assert info.value.code is ErrorCode.INVALID_POLICY_VALUE
    assert "--verbose" in info.value.message and "CODETRACER_TEST_VERBOSE" in info.value.message
    flags = config.resolve_table(
        Extra, {"verbose": True}, environ=NO_ENV, cwd=tmp_path, command_line=True
    )
    assert flags.verbose is True


# --- the new fields ------------------------------------------------------------------


def test_globals_defaults_to_referenced() -> None:
    assert resolve_policy(environ=NO_ENV).globals == "referenced"


@pytest.mark.parametrize("mode", ["referenced", "all", "none"])
def test_globals_is_read_from_the_environment_and_the_api(mode: str) -> None:
    assert resolve_policy(environ={"CODETRACER_GLOBALS": mode.upper()}).globals == mode
    assert resolve_policy({"globals": mode}, environ=NO_ENV).globals == mode


def test_invalid_globals_value_names_the_source_and_the_accepted_values() -> None:
    with pytest.raises(UsageError) as info:
        resolve_policy(environ={"CODETRACER_GLOBALS": "some"})
    assert "environment variable CODETRACER_GLOBALS" in info.value.message
    assert "referenced, all, none" in info.value.message


def test_quiet_defaults_to_false_and_is_read_from_the_environment() -> None:
    assert resolve_policy(environ=NO_ENV).quiet is False
    assert resolve_policy(environ={"CODETRACER_QUIET": "yes"}).quiet is True


def test_configure_policy_rejects_an_unknown_field_as_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        configure_policy(colour="blue")
    assert info.value.code is ErrorCode.INVALID_POLICY_VALUE
    assert "'colour'" in info.value.message and "globals" in info.value.message


def test_configure_policy_accepts_the_new_fields() -> None:
    configure_policy(globals="none", quiet=True)
    policy = resolve_policy(environ=NO_ENV)
    assert (policy.globals, policy.quiet) == ("none", True)


# --- pyproject.toml ------------------------------------------------------------------


def test_pyproject_table_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.codetracer]\non-recorder-error = "disable"\nmax_depth = 3\n')
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    policy = resolve_policy(environ=NO_ENV, cwd=nested)
    assert (policy.on_recorder_error, policy.max_depth) == ("disable", 3)


def test_the_nearest_pyproject_wins_even_without_the_table(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.codetracer]\nmax_depth = 3\n")
    inner = tmp_path / "inner"
    write_pyproject(inner, '[project]\nname = "inner"\n')
    assert resolve_policy(environ=NO_ENV, cwd=inner).max_depth == 10


def test_precedence_is_pyproject_then_environment_then_configure_then_overrides(
    tmp_path: Path,
) -> None:
    write_pyproject(
        tmp_path,
        "[tool.codetracer]\nmax_depth = 2\nmax_items = 2\nmax_string_length = 2\nquiet = true\n",
    )
    env = {"CODETRACER_MAX_ITEMS": "3", "CODETRACER_MAX_STRING_LENGTH": "3"}
    configure_policy(max_string_length=4)
    policy = resolve_policy({"quiet": False}, environ=env, cwd=tmp_path)
    assert (policy.max_depth, policy.max_items, policy.max_string_length) == (2, 3, 4)
    assert policy.quiet is False


def test_relative_paths_in_pyproject_are_relative_to_its_directory(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        '[tool.codetracer]\ntrace_filter = ["f.toml", "/abs/g.toml"]\nlog_file = "logs/r.log"\n',
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    policy = resolve_policy(environ=NO_ENV, cwd=sub)
    assert policy.trace_filter == (str(tmp_path / "f.toml"), "/abs/g.toml")
    assert policy.log_file == str(tmp_path / "logs" / "r.log")


def test_pyproject_values_may_be_the_words_the_environment_accepts(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.codetracer]\nrequire-trace = "yes"\nmax-items = "7"\n')
    policy = resolve_policy(environ=NO_ENV, cwd=tmp_path)
    assert (policy.require_trace, policy.max_items) == (True, 7)


def test_unknown_pyproject_key_is_a_usage_error_naming_file_and_key(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.codetracer]\ncolour = "blue"\n')
    with pytest.raises(UsageError) as info:
        resolve_policy(environ=NO_ENV, cwd=tmp_path)
    error = info.value
    assert (error.code, error.exit_code) == (ErrorCode.INVALID_POLICY_VALUE, 2)
    assert str(path) in error.message and "'colour'" in error.message
    assert (error.context["file"], error.context["key"]) == (str(path), "colour")


def test_invalid_pyproject_value_names_file_key_and_accepted_values(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.codetracer]\nbackend = "fast"\n')
    with pytest.raises(UsageError) as info:
        resolve_policy(environ=NO_ENV, cwd=tmp_path)
    assert f"{path} [tool.codetracer] backend" in info.value.message
    assert "auto, monitoring, settrace" in info.value.message


@pytest.mark.parametrize("value", ["true", "0", "-3", "[1]"])
def test_pyproject_limits_must_be_positive_integers(tmp_path: Path, value: str) -> None:
    write_pyproject(tmp_path, f"[tool.codetracer]\nmax_depth = {value}\n")
    with pytest.raises(UsageError):
        resolve_policy(environ=NO_ENV, cwd=tmp_path)


def test_malformed_pyproject_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, "[tool.codetracer\nmax_depth = 3\n")
    with pytest.raises(UsageError) as info:
        resolve_policy(environ=NO_ENV, cwd=tmp_path)
    assert info.value.code is ErrorCode.INVALID_POLICY_VALUE
    assert f"cannot parse {path}" in info.value.message


def test_tool_codetracer_that_is_not_a_table_is_a_usage_error(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool]\ncodetracer = "on"\n')
    with pytest.raises(UsageError) as info:
        resolve_policy(environ=NO_ENV, cwd=tmp_path)
    assert "is not a table" in info.value.message
    assert info.value.context["key"] == "tool.codetracer"


def test_a_key_spelled_both_ways_is_a_usage_error(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.codetracer]\nmax_depth = 3\nmax-depth = 4\n")
    with pytest.raises(UsageError) as info:
        resolve_policy(environ=NO_ENV, cwd=tmp_path)
    assert "twice" in info.value.message


def test_a_broken_pyproject_that_never_names_codetracer_is_ignored(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[project\nname = broken\n")
    assert resolve_policy(environ=NO_ENV, cwd=tmp_path) == Policy()


def test_undecodable_pyproject_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"[tool.codetracer]\nquiet = \xff\n")
    with pytest.raises(UsageError) as info:
        resolve_policy(environ=NO_ENV, cwd=tmp_path)
    assert f"cannot read {path}" in info.value.message


def test_resolve_policy_searches_from_the_current_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(tmp_path, '[tool.codetracer]\nglobals = "all"\n')
    monkeypatch.chdir(tmp_path)
    assert resolve_policy(environ=NO_ENV).globals == "all"


# --- derived documentation -----------------------------------------------------------


def test_readme_policy_table_matches_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert reference.replace_block(text) == text, "run: python tools/policy_table.py"


def test_generated_table_has_one_line_per_field_with_its_variable() -> None:
    lines = reference.markdown_table().splitlines()[2:]
    assert len(lines) == len(config.rows())
    for line, row in zip(lines, config.rows(), strict=True):
        assert line.startswith(f"| `{row.name}` |") and row.spec.env in line


def test_positive_int_parser_rejects_bool_even_though_bool_is_an_int() -> None:
    with pytest.raises(UsageError):
        parse_positive_int(True, "x")
