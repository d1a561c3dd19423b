"""ErrorCode: the pinned catalogue, descriptions, default kinds, string forms, the table."""

from __future__ import annotations

import pytest

from recorder_errors import ErrorCode, ErrorKind, codes_table_markdown

# The full set of stable codes. Removing or renaming one must fail this file:
# codes are grep-able contracts for logs, JSON trailers and outside tools.
# Adding a code means adding it here (and to the CHANGELOG).
PINNED_CODES = {
    "ERR_UNKNOWN": ErrorKind.INTERNAL,
    "ERR_CALLBACK_FAILED": ErrorKind.INTERNAL,
    "ERR_ALREADY_TRACING": ErrorKind.USAGE,
    "ERR_NOT_TRACING": ErrorKind.USAGE,
    "ERR_TRACE_DIR_CONFLICT": ErrorKind.USAGE,
    "ERR_UNSUPPORTED_FORMAT": ErrorKind.USAGE,
    "ERR_SCRIPT_NOT_FOUND": ErrorKind.USAGE,
    "ERR_MODULE_NOT_FOUND": ErrorKind.USAGE,
    "ERR_INVALID_POLICY_VALUE": ErrorKind.USAGE,
    "ERR_INVALID_FILTER": ErrorKind.USAGE,
    "ERR_INVALID_ARGUMENT": ErrorKind.USAGE,
    "ERR_INVALID_CODE_SET": ErrorKind.USAGE,
    "ERR_NATIVE_UNAVAILABLE": ErrorKind.USAGE,
    "ERR_TRACE_DIR_CREATE_FAILED": ErrorKind.ENVIRONMENT,
    "ERR_IO": ErrorKind.ENVIRONMENT,
    "ERR_NO_SPACE": ErrorKind.ENVIRONMENT,
    "ERR_PERMISSION_DENIED": ErrorKind.ENVIRONMENT,
    "ERR_TRACER_INSTALL_CONFLICT": ErrorKind.ENVIRONMENT,
    "ERR_TRACE_MISSING": ErrorKind.ENVIRONMENT,
    "ERR_UNSUPPORTED_PYTHON": ErrorKind.ENVIRONMENT,
    "ERR_FRAME_INTROSPECTION_FAILED": ErrorKind.ENVIRONMENT,
    "ERR_GLOBALS_INTROSPECTION_FAILED": ErrorKind.ENVIRONMENT,
    "ERR_NOT_FOUND": ErrorKind.ENVIRONMENT,
    "ERR_NOT_A_DIRECTORY": ErrorKind.ENVIRONMENT,
    "ERR_IS_A_DIRECTORY": ErrorKind.ENVIRONMENT,
    "ERR_READ_ONLY_FILESYSTEM": ErrorKind.ENVIRONMENT,
    "ERR_TOO_MANY_OPEN_FILES": ErrorKind.ENVIRONMENT,
    "ERR_FILE_TOO_LARGE": ErrorKind.ENVIRONMENT,
    "ERR_BROKEN_PIPE": ErrorKind.ENVIRONMENT,
    "ERR_INTERRUPTED": ErrorKind.ENVIRONMENT,
    "ERR_TIMEOUT": ErrorKind.ENVIRONMENT,
    "ERR_OUT_OF_MEMORY": ErrorKind.ENVIRONMENT,
    "ERR_VALUE_CAPTURE_FAILED": ErrorKind.TARGET,
    "ERR_MISSING_POSITIONAL_ARG": ErrorKind.TARGET,
    "ERR_MISSING_KEYWORD_ARG": ErrorKind.TARGET,
    "ERR_TARGET_DETACHED": ErrorKind.TARGET,
    "ERR_TRACE_INCOMPLETE": ErrorKind.TARGET,
}


def test_the_set_of_code_strings_is_pinned() -> None:
    assert {code.value for code in ErrorCode} == set(PINNED_CODES)


@pytest.mark.parametrize("value", sorted(PINNED_CODES))
def test_each_pinned_code_has_its_documented_default_kind(value: str) -> None:
    assert ErrorCode(value).default_kind is PINNED_CODES[value]


@pytest.mark.parametrize("code", list(ErrorCode))
def test_member_name_is_the_code_without_its_err_prefix(code: ErrorCode) -> None:
    assert code.value == f"ERR_{code.name}"


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_has_a_one_line_description(code: ErrorCode) -> None:
    description = code.description
    assert description.strip() == description
    assert description
    assert "\n" not in description
    # The description is a cell of the README's Markdown table.
    assert "|" not in description


@pytest.mark.parametrize("code", list(ErrorCode))
def test_code_exit_code_is_its_default_kinds_exit_code(code: ErrorCode) -> None:
    assert code.exit_code == code.default_kind.exit_code


@pytest.mark.parametrize("code", list(ErrorCode))
def test_str_and_format_give_the_code_string(code: ErrorCode) -> None:
    assert str(code) == code.value
    assert f"{code}" == code.value
    assert f"[{code}]" == f"[{code.value}]"


@pytest.mark.parametrize("code", list(ErrorCode))
def test_a_code_compares_equal_to_its_string(code: ErrorCode) -> None:
    assert code == code.value
    assert ErrorCode(code.value) is code


def test_an_unknown_code_string_is_rejected() -> None:
    with pytest.raises(ValueError):
        ErrorCode("ERR_DOES_NOT_EXIST")


def test_table_has_a_header_and_one_row_per_code_in_declaration_order() -> None:
    lines = codes_table_markdown().splitlines()
    assert lines[0] == "| Code | Kind | Exit | Description |"
    assert lines[1] == "|---|---|---|---|"
    rows = lines[2:]
    assert [row.split("|")[1].strip().strip("`") for row in rows] == [c.value for c in ErrorCode]


@pytest.mark.parametrize("code", list(ErrorCode))
def test_table_row_shows_kind_exit_and_description(code: ErrorCode) -> None:
    row = f"| `{code.value}` | {code.default_kind.label} | {code.exit_code} | {code.description} |"
    assert row in codes_table_markdown().splitlines()


def test_table_ends_with_a_newline() -> None:
    assert codes_table_markdown().endswith("|\n")
