"""RecorderError and its four subclasses: attributes, str/repr, context, causes."""

from __future__ import annotations

import builtins

import pytest

import recorder_errors
from recorder_errors import (
    ErrorCode,
    ErrorKind,
    InternalError,
    RecorderError,
    RemoteCause,
    TargetError,
    UsageError,
    error_class_for,
)

SUBCLASSES = {
    ErrorKind.USAGE: UsageError,
    ErrorKind.ENVIRONMENT: recorder_errors.EnvironmentError,
    ErrorKind.TARGET: TargetError,
    ErrorKind.INTERNAL: InternalError,
}


class Unprintable:
    """A value from a misbehaving program: its __str__ raises."""

    def __str__(self) -> str:
        raise RuntimeError("broken __str__")


def test_base_class_keeps_kind_code_message_and_context() -> None:
    err = RecorderError(ErrorKind.TARGET, ErrorCode.VALUE_CAPTURE_FAILED, "bad repr", {"k": "v"})
    assert err.kind is ErrorKind.TARGET
    assert err.code is ErrorCode.VALUE_CAPTURE_FAILED
    assert err.message == "bad repr"
    assert err.context == {"k": "v"}


def test_base_class_accepts_the_wire_forms_of_kind_and_code() -> None:
    err = RecorderError("Usage", "ERR_IO", "m")  # type: ignore[arg-type]
    assert err.kind is ErrorKind.USAGE
    assert err.code is ErrorCode.IO


def test_context_defaults_to_an_empty_dict() -> None:
    assert UsageError(ErrorCode.INVALID_ARGUMENT, "m").context == {}


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_each_subclass_has_its_kind_and_exit_code(kind: ErrorKind) -> None:
    err = SUBCLASSES[kind](ErrorCode.UNKNOWN, "m")
    assert err.kind is kind
    assert err.exit_code == kind.exit_code
    assert isinstance(err, RecorderError)


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_error_class_for_gives_the_subclass_of_the_kind(kind: ErrorKind) -> None:
    assert error_class_for(kind) is SUBCLASSES[kind]


def test_subclasses_are_ordinary_exceptions_not_oserrors() -> None:
    err = recorder_errors.EnvironmentError(ErrorCode.IO, "m")
    assert isinstance(err, Exception)
    assert not isinstance(err, OSError)
    builtin: object = builtins.EnvironmentError
    assert recorder_errors.EnvironmentError is not builtin


def test_str_is_the_message() -> None:
    assert str(UsageError(ErrorCode.NOT_TRACING, "no session", {"a": "b"})) == "no session"


def test_repr_shows_class_kind_code_and_message() -> None:
    text = repr(TargetError(ErrorCode.TARGET_DETACHED, "hooks removed"))
    assert text.startswith("TargetError(")
    assert "'Target'" in text
    assert "'ERR_TARGET_DETACHED'" in text
    assert "'hooks removed'" in text


def test_context_values_and_keys_become_strings() -> None:
    err = UsageError(ErrorCode.INVALID_ARGUMENT, "m", {"count": 3, "path": None})
    assert err.context == {"count": "3", "path": "None"}


def test_context_value_whose_str_raises_is_described_not_propagated() -> None:
    err = UsageError(ErrorCode.INVALID_ARGUMENT, "m", {"value": Unprintable()})
    assert err.context == {"value": "<unprintable Unprintable>"}


def test_context_is_copied_not_shared_with_the_caller() -> None:
    given = {"a": "1"}
    err = UsageError(ErrorCode.INVALID_ARGUMENT, "m", given)
    given["b"] = "2"
    assert err.context == {"a": "1"}


def test_with_context_adds_string_entries_and_returns_the_same_error() -> None:
    err = UsageError(ErrorCode.INVALID_ARGUMENT, "m", {"a": "1"})
    returned = err.with_context(b=2, a="replaced")
    assert returned is err
    assert err.context == {"a": "replaced", "b": "2"}


def test_with_context_converts_unprintable_values() -> None:
    err = UsageError(ErrorCode.INVALID_ARGUMENT, "m").with_context(v=Unprintable())
    assert err.context == {"v": "<unprintable Unprintable>"}


def test_cause_text_is_none_without_a_cause() -> None:
    assert UsageError(ErrorCode.IO, "m").cause_text is None


def test_cause_text_names_the_cause_type_and_message() -> None:
    err = InternalError(ErrorCode.UNKNOWN, "m")
    err.__cause__ = KeyError("missing")
    assert err.cause_text == "KeyError: 'missing'"


def test_cause_text_of_a_cause_without_message_is_its_type_name() -> None:
    err = InternalError(ErrorCode.UNKNOWN, "m")
    err.__cause__ = StopIteration()
    assert err.cause_text == "StopIteration"


def test_cause_text_survives_a_cause_whose_str_raises() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    err = InternalError(ErrorCode.UNKNOWN, "m")
    err.__cause__ = Broken()
    assert err.cause_text == "Broken: <unprintable Broken>"


def test_cause_text_of_a_remote_cause_is_its_text_verbatim() -> None:
    err = InternalError(ErrorCode.UNKNOWN, "m")
    err.__cause__ = RemoteCause("OSError: [Errno 5] boom")
    assert err.cause_text == "OSError: [Errno 5] boom"


def test_remote_cause_str_is_its_text() -> None:
    cause = RemoteCause("ValueError: x")
    assert str(cause) == "ValueError: x"
    assert cause.text == "ValueError: x"


def test_raised_from_sets_the_standard_cause() -> None:
    original = ValueError("inner")
    with pytest.raises(UsageError) as info:
        raise UsageError(ErrorCode.INVALID_ARGUMENT, "outer") from original
    assert info.value.__cause__ is original
    assert info.value.cause_text == "ValueError: inner"
