"""Code sets declared by other packages: same guarantees as ErrorCode, one owner per string."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

import recorder_errors
from recorder_errors import (
    CodeSet,
    ErrorCode,
    ErrorKind,
    InternalError,
    RecorderError,
    TargetError,
    UnknownCode,
    UsageError,
    bug,
    codes_table_markdown,
    ensure_env,
    ensure_internal,
    ensure_target,
    ensure_usage,
    enverr,
    exit_code_for,
    lookup_code,
    target,
    usage,
)


class ToolCode(CodeSet):
    """A downstream tool's codes, declared at module level like a real package would."""

    BAD_CONFIG = "ERR_TESTTOOL_BAD_CONFIG", ErrorKind.USAGE, "The tool's configuration is invalid."
    NO_INPUT = "ERR_TESTTOOL_NO_INPUT", ErrorKind.ENVIRONMENT, "The input file is missing."


CONSTRUCTORS: list[tuple[Callable[..., RecorderError], ErrorKind]] = [
    (usage, ErrorKind.USAGE),
    (enverr, ErrorKind.ENVIRONMENT),
    (target, ErrorKind.TARGET),
    (bug, ErrorKind.INTERNAL),
]
ENSURERS: list[tuple[Callable[..., None], ErrorKind]] = [
    (ensure_usage, ErrorKind.USAGE),
    (ensure_env, ErrorKind.ENVIRONMENT),
    (ensure_target, ErrorKind.TARGET),
    (ensure_internal, ErrorKind.INTERNAL),
]


def invalid_set_error(declare: Callable[[], object]) -> UsageError:
    with pytest.raises(UsageError) as info:
        declare()
    assert info.value.code is ErrorCode.INVALID_CODE_SET
    return info.value


# --- a declared set ------------------------------------------------------------


def test_a_member_carries_its_string_kind_description_and_exit_code() -> None:
    code = ToolCode.NO_INPUT
    assert code.value == "ERR_TESTTOOL_NO_INPUT"
    assert code.default_kind is ErrorKind.ENVIRONMENT
    assert code.description == "The input file is missing."
    assert code.exit_code == 10
    assert code.known


def test_a_member_is_its_string_for_str_format_and_equality() -> None:
    code = ToolCode.BAD_CONFIG
    assert str(code) == f"{code}" == "ERR_TESTTOOL_BAD_CONFIG"
    assert code == "ERR_TESTTOOL_BAD_CONFIG"
    assert isinstance(code, str)


def test_a_member_is_looked_up_by_its_set_and_by_lookup_code() -> None:
    assert ToolCode("ERR_TESTTOOL_BAD_CONFIG") is ToolCode.BAD_CONFIG
    assert lookup_code("ERR_TESTTOOL_BAD_CONFIG") is ToolCode.BAD_CONFIG
    assert lookup_code("ERR_IO") is ErrorCode.IO
    assert lookup_code("ERR_NOBODY_DECLARES_THIS") is None


def test_the_builtin_codes_are_a_code_set() -> None:
    assert issubclass(ErrorCode, CodeSet)
    assert all(code.known for code in ErrorCode)


@pytest.mark.parametrize(("make", "kind"), CONSTRUCTORS)
def test_helpers_accept_a_downstream_code(
    make: Callable[..., RecorderError], kind: ErrorKind
) -> None:
    err = make(ToolCode.BAD_CONFIG, "bad config", path="tool.toml")
    assert err.code is ToolCode.BAD_CONFIG
    assert err.kind is kind
    assert err.exit_code == kind.exit_code
    assert err.context == {"path": "tool.toml"}


@pytest.mark.parametrize(("ensure", "kind"), ENSURERS)
def test_ensure_helpers_accept_a_downstream_code(
    ensure: Callable[..., None], kind: ErrorKind
) -> None:
    with pytest.raises(RecorderError) as info:
        ensure(False, ToolCode.NO_INPUT, "no input")
    assert info.value.code is ToolCode.NO_INPUT
    assert info.value.kind is kind


def test_error_classes_accept_a_downstream_code_and_its_string() -> None:
    assert InternalError(ToolCode.NO_INPUT, "m").code is ToolCode.NO_INPUT
    err = RecorderError(ErrorKind.USAGE, "ERR_TESTTOOL_BAD_CONFIG", "m")  # type: ignore[arg-type]
    assert err.code is ToolCode.BAD_CONFIG


def test_an_undeclared_code_string_is_rejected_by_the_constructor() -> None:
    with pytest.raises(UsageError) as info:
        RecorderError(ErrorKind.USAGE, "ERR_NOBODY_DECLARES_THIS", "m")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_ARGUMENT
    assert info.value.context == {"error_code": "ERR_NOBODY_DECLARES_THIS"}


def test_a_code_that_is_not_a_string_is_rejected_by_the_constructor() -> None:
    with pytest.raises(UsageError) as info:
        UsageError(42, "m")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_ARGUMENT


def test_exit_code_for_a_downstream_error_is_its_kinds() -> None:
    assert exit_code_for(target(ToolCode.BAD_CONFIG, "m")) == 20


def test_dict_and_json_round_trips_give_back_the_member() -> None:
    err = enverr(ToolCode.NO_INPUT, "no input", path="in.txt")
    data = err.to_dict()
    assert data["error_code"] == "ERR_TESTTOOL_NO_INPUT"
    assert RecorderError.from_dict(data).code is ToolCode.NO_INPUT
    rebuilt = RecorderError.from_json(err.to_json())
    assert rebuilt.code is ToolCode.NO_INPUT
    assert rebuilt.to_dict() == data


def test_pickle_round_trips_give_back_the_member() -> None:
    assert pickle.loads(pickle.dumps(ToolCode.BAD_CONFIG)) is ToolCode.BAD_CONFIG
    err = usage(ToolCode.BAD_CONFIG, "m")
    restored = pickle.loads(pickle.dumps(err))
    assert type(restored) is UsageError
    assert restored.code is ToolCode.BAD_CONFIG


def test_the_codes_table_renders_a_downstream_set() -> None:
    assert codes_table_markdown(ToolCode) == (
        "| Code | Kind | Exit | Description |\n"
        "|---|---|---|---|\n"
        "| `ERR_TESTTOOL_BAD_CONFIG` | Usage | 2 | The tool's configuration is invalid. |\n"
        "| `ERR_TESTTOOL_NO_INPUT` | Environment | 10 | The input file is missing. |\n"
    )


# --- the rules checked when a set is declared -----------------------------------


def test_a_second_set_cannot_claim_a_string_another_set_owns() -> None:
    def declare() -> object:
        class Thief(CodeSet):
            STOLEN = "ERR_TESTTOOL_BAD_CONFIG", ErrorKind.USAGE, "Someone else's code."

        return Thief

    err = invalid_set_error(declare)
    assert "ERR_TESTTOOL_BAD_CONFIG" in err.message
    assert f"{__name__}.ToolCode" in err.message
    assert err.context["code_set"].endswith("Thief")
    assert lookup_code("ERR_TESTTOOL_BAD_CONFIG") is ToolCode.BAD_CONFIG


def test_a_set_cannot_claim_a_builtin_code() -> None:
    def declare() -> object:
        class Shadow(CodeSet):
            IO = "ERR_IO", ErrorKind.TARGET, "Not the recorder's IO."

        return Shadow

    assert "recorder_errors.ErrorCode" in invalid_set_error(declare).message
    assert lookup_code("ERR_IO") is ErrorCode.IO


def test_a_failed_declaration_claims_none_of_its_strings() -> None:
    def declare() -> object:
        class Partly(CodeSet):
            FRESH = "ERR_TESTPARTLY_FRESH", ErrorKind.USAGE, "Would be new."
            TAKEN = "ERR_IO", ErrorKind.USAGE, "Already owned."

        return Partly

    invalid_set_error(declare)
    assert lookup_code("ERR_TESTPARTLY_FRESH") is None


def test_the_same_set_declared_again_keeps_its_strings() -> None:
    """A module run or reloaded twice re-declares its set under the same name."""

    def declare() -> Any:
        class Again(CodeSet):
            ONE = "ERR_TESTAGAIN_ONE", ErrorKind.TARGET, "Declared twice."

        return Again

    first = declare()
    second = declare()
    assert first is not second
    assert lookup_code("ERR_TESTAGAIN_ONE") is second.ONE


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("err_testshape_lower", "must be ERR_"),
        ("TESTSHAPE_NO_PREFIX", "must be ERR_"),
        ("ERR_TESTSHAPE__DOUBLE", "must be ERR_"),
        ("ERR_TESTSHAPE_TRAILING_", "must be ERR_"),
        ("ERR_TESTSHAPE SPACE", "must be ERR_"),
    ],
)
def test_a_code_string_must_have_the_err_shape(value: str, reason: str) -> None:
    def declare() -> object:
        class Shape(CodeSet):
            BAD = value, ErrorKind.USAGE, "Bad shape."

        return Shape

    assert reason in invalid_set_error(declare).message


def test_a_member_declared_as_a_bare_string_is_told_how_to_declare_it() -> None:
    def declare() -> object:
        class Bare(CodeSet):
            BARE = "ERR_TESTBARE_BARE"

        return Bare

    message = invalid_set_error(declare).message
    assert "ErrorKind" in message
    assert 'BARE = "ERR_...", ErrorKind.<KIND>, "description"' in message
    assert lookup_code("ERR_TESTBARE_BARE") is None


def test_a_default_kind_must_be_an_error_kind() -> None:
    def declare() -> object:
        class Kindless(CodeSet):
            ODD = "ERR_TESTKIND_ODD", "Usage", "A label is not a kind."

        return Kindless

    assert "must be an ErrorKind" in invalid_set_error(declare).message


@pytest.mark.parametrize("description", ["", " padded ", "two\nlines", None])
def test_a_description_must_be_one_non_empty_line(description: object) -> None:
    def declare() -> object:
        class Described(CodeSet):
            ODD = "ERR_TESTDESC_ODD", ErrorKind.USAGE, description

        return Described

    assert "one non-empty line" in invalid_set_error(declare).message


def test_a_description_cannot_break_the_codes_table() -> None:
    def declare() -> object:
        class Piped(CodeSet):
            ODD = "ERR_TESTPIPE_ODD", ErrorKind.USAGE, "a | b"

        return Piped

    assert "'|'" in invalid_set_error(declare).message


def test_an_empty_intermediate_base_claims_nothing_and_can_be_subclassed() -> None:
    class ToolBase(CodeSet):
        """Shared behaviour for a tool's sets (an enum with members cannot be subclassed)."""

    class Derived(ToolBase):
        ONE = "ERR_TESTDERIVED_ONE", ErrorKind.INTERNAL, "From a derived set."

    assert lookup_code("ERR_TESTDERIVED_ONE") is Derived.ONE


# --- codes this process does not know ----------------------------------------------


def test_an_unknown_code_keeps_its_string_and_the_errors_kind() -> None:
    code = UnknownCode("ERR_LATER_THING", ErrorKind.TARGET)
    assert code.value == str(code) == f"{code}" == "ERR_LATER_THING"
    assert code == "ERR_LATER_THING"
    assert not code.known
    assert code.default_kind is ErrorKind.TARGET
    assert code.exit_code == 20
    assert "does not know" in code.description
    assert repr(code) == "UnknownCode('ERR_LATER_THING', 'Target')"


def test_an_error_with_an_unknown_code_pickles_with_it() -> None:
    err = RecorderError.from_dict(
        {"error_code": "ERR_LATER_THING", "kind": "Internal", "message": "m", "context": {}}
    )
    restored = pickle.loads(pickle.dumps(err))
    assert isinstance(restored.code, UnknownCode)
    assert restored.to_dict() == err.to_dict()


def test_an_unknown_code_becomes_the_member_once_a_set_declares_it() -> None:
    data = pickle.dumps(UnknownCode("ERR_TESTLATE_NOW", ErrorKind.USAGE))

    class Late(CodeSet):
        NOW = "ERR_TESTLATE_NOW", ErrorKind.USAGE, "Declared after the pickle was made."

    assert pickle.loads(data) is Late.NOW


class _GoneSetMember:
    """Pickles exactly like a member of a set whose module no longer exists."""

    def __reduce__(self) -> tuple[Any, ...]:
        member_reduce = ToolCode.NO_INPUT.__reduce_ex__(4)
        return (member_reduce[0], ("ERR_GONE_CODE", "no_such_module_for_recorder_tests", "Usage"))


def test_unpickling_a_code_whose_set_cannot_be_imported_gives_an_unknown_code() -> None:
    code = pickle.loads(pickle.dumps(_GoneSetMember()))
    assert isinstance(code, UnknownCode)
    assert code.value == "ERR_GONE_CODE"
    assert code.default_kind is ErrorKind.USAGE


def test_an_error_from_a_process_with_more_codes_is_read_back_in_every_form() -> None:
    """A newer producer (here: a child declaring a set in ``__main__``) reports to us."""
    child = (
        "import pickle, sys\n"
        "from recorder_errors import CodeSet, ErrorKind, target\n"
        "class Newer(CodeSet):\n"
        "    LATER = 'ERR_NEWER_LATER', ErrorKind.TARGET, 'Only the child knows it.'\n"
        "err = target(Newer.LATER, 'from the child', stage='run')\n"
        "sys.stdout.buffer.write(err.to_json().encode() + b'\\n' + pickle.dumps(err))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, timeout=60, check=True
    )
    json_line, pickled = result.stdout.split(b"\n", 1)
    from_json = RecorderError.from_json(json_line.decode())
    from_pickle = pickle.loads(pickled)
    for err in (from_json, from_pickle):
        assert type(err) is TargetError
        assert isinstance(err.code, UnknownCode)
        assert err.code.value == "ERR_NEWER_LATER"
        assert err.kind is ErrorKind.TARGET
        assert err.message == "from the child"
        assert err.context == {"stage": "run"}
    assert json.loads(from_pickle.to_json()) == json.loads(json_line)


def test_code_set_classes_show_the_public_module_path() -> None:
    assert CodeSet.__module__ == "recorder_errors"
    assert UnknownCode.__module__ == "recorder_errors"
    assert recorder_errors.Code == CodeSet | UnknownCode
