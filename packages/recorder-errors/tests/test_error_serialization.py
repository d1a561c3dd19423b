"""Dict, JSON and pickle forms: round trips keep kind, subclass, code, context and cause."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

from recorder_errors import (
    ErrorCode,
    ErrorKind,
    RecorderError,
    RemoteCause,
    TargetError,
    UnknownCode,
    UsageError,
    error_class_for,
    from_exception,
)


def make(kind: ErrorKind, cause: BaseException | None = None) -> RecorderError:
    err = error_class_for(kind)(ErrorCode.IO, f"{kind.label} failed", {"path": "/x", "n": 1})
    err.__cause__ = cause
    return err


def test_to_dict_has_code_kind_message_and_context() -> None:
    err = UsageError(ErrorCode.SCRIPT_NOT_FOUND, "no such script", {"path": "a.py"})
    assert err.to_dict() == {
        "error_code": "ERR_SCRIPT_NOT_FOUND",
        "kind": "Usage",
        "message": "no such script",
        "context": {"path": "a.py"},
    }


def test_to_dict_adds_the_cause_text_when_there_is_a_cause() -> None:
    err = make(ErrorKind.ENVIRONMENT, cause=OSError(28, "No space left on device"))
    assert err.to_dict()["cause"] == "OSError: [Errno 28] No space left on device"


def test_to_dict_context_is_a_copy() -> None:
    err = make(ErrorKind.TARGET)
    err.to_dict()["context"]["extra"] = "x"
    assert "extra" not in err.context


def test_to_json_is_one_line_of_json_equal_to_to_dict() -> None:
    err = make(ErrorKind.INTERNAL, cause=ValueError("multi\nline"))
    err.with_context(note="a\nb")
    text = err.to_json()
    assert "\n" not in text
    assert json.loads(text) == err.to_dict()


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_from_dict_rebuilds_the_subclass_of_the_kind(kind: ErrorKind) -> None:
    original = make(kind)
    rebuilt = RecorderError.from_dict(original.to_dict())
    assert type(rebuilt) is type(original)
    assert rebuilt.to_dict() == original.to_dict()


def test_from_dict_on_a_subclass_still_follows_the_kind_in_the_data() -> None:
    data = make(ErrorKind.TARGET).to_dict()
    assert type(UsageError.from_dict(data)) is TargetError


def test_from_dict_restores_the_cause_as_remote_text() -> None:
    original = make(ErrorKind.ENVIRONMENT, cause=PermissionError(13, "Permission denied"))
    rebuilt = RecorderError.from_dict(original.to_dict())
    assert isinstance(rebuilt.__cause__, RemoteCause)
    assert rebuilt.cause_text == original.cause_text


def test_from_dict_without_cause_has_no_cause() -> None:
    assert RecorderError.from_dict(make(ErrorKind.USAGE).to_dict()).__cause__ is None


def test_from_dict_converts_context_values_to_strings() -> None:
    data = {"error_code": "ERR_IO", "kind": "Environment", "message": "m", "context": {"n": 1}}
    assert RecorderError.from_dict(data).context == {"n": "1"}


def test_from_dict_keeps_a_code_from_a_newer_version_with_its_string_kind_and_message() -> None:
    data = {"error_code": "ERR_FROM_THE_FUTURE", "kind": "Target", "message": "m", "context": {}}
    err = RecorderError.from_dict(data)
    assert type(err) is TargetError
    assert isinstance(err.code, UnknownCode)
    assert not err.code.known
    assert err.code.value == "ERR_FROM_THE_FUTURE"
    assert err.code.default_kind is ErrorKind.TARGET
    assert err.message == "m"
    assert err.context == {}


def test_an_unknown_code_is_written_back_unchanged() -> None:
    data = {"error_code": "ERR_FROM_THE_FUTURE", "kind": "Usage", "message": "m", "context": {}}
    assert RecorderError.from_dict(data).to_dict() == data
    text = RecorderError.from_dict(data).to_json()
    assert RecorderError.from_json(text).to_json() == text


def test_a_known_code_is_read_back_as_its_member() -> None:
    data = make(ErrorKind.USAGE).to_dict()
    code = RecorderError.from_dict(data).code
    assert code is ErrorCode.IO
    assert code.known


VALID = {"error_code": "ERR_IO", "kind": "Environment", "message": "m", "context": {}}


@pytest.mark.parametrize(
    "data",
    [
        ["not", "a", "mapping"],
        {k: v for k, v in VALID.items() if k != "error_code"},
        {**VALID, "error_code": 5},
        {**VALID, "kind": None},
        {**VALID, "kind": "Cosmic"},
        {**VALID, "message": b"bytes"},
        {**VALID, "context": ["a"]},
        {k: v for k, v in VALID.items() if k != "context"},
        {**VALID, "cause": 42},
    ],
    ids=[
        "not-mapping",
        "no-code",
        "code-not-str",
        "kind-missing",
        "kind-unknown",
        "message-not-str",
        "context-not-mapping",
        "no-context",
        "cause-not-str",
    ],
)
def test_from_dict_rejects_malformed_data_as_an_invalid_argument(data: object) -> None:
    with pytest.raises(UsageError) as info:
        RecorderError.from_dict(data)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_json_round_trip_keeps_everything_including_cause(kind: ErrorKind) -> None:
    original = make(kind, cause=KeyError("k"))
    rebuilt = RecorderError.from_json(original.to_json())
    assert type(rebuilt) is type(original)
    assert rebuilt.to_dict() == original.to_dict()
    assert RecorderError.from_json(rebuilt.to_json()).to_dict() == original.to_dict()


def test_from_json_rejects_text_that_is_not_json() -> None:
    with pytest.raises(UsageError) as info:
        RecorderError.from_json("{not json")
    assert info.value.code is ErrorCode.INVALID_ARGUMENT
    assert isinstance(info.value.__cause__, ValueError)


def roundtrip(err: RecorderError) -> RecorderError:
    restored = pickle.loads(pickle.dumps(err))
    assert isinstance(restored, RecorderError)
    return restored


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_pickle_keeps_subclass_kind_code_message_and_context(kind: ErrorKind) -> None:
    original = make(kind)
    restored = roundtrip(original)
    assert type(restored) is type(original)
    assert restored.kind is original.kind
    assert restored.code is original.code
    assert restored.message == original.message
    assert restored.context == original.context
    assert str(restored) == str(original)
    assert restored.args == original.args


def test_pickle_keeps_a_base_class_instance_and_its_kind() -> None:
    original = RecorderError(ErrorKind.TARGET, ErrorCode.TRACE_INCOMPLETE, "partial")
    restored = roundtrip(original)
    assert type(restored) is RecorderError
    assert restored.to_dict() == original.to_dict()


def test_pickle_carries_the_cause_as_text() -> None:
    original = from_exception(OSError(28, "No space left on device", "/t/trace.json"))
    restored = roundtrip(original)
    assert isinstance(restored.__cause__, RemoteCause)
    assert restored.cause_text == original.cause_text
    assert restored.to_dict() == original.to_dict()


def test_pickle_works_when_the_cause_itself_cannot_be_pickled() -> None:
    class LocalError(Exception):
        """Defined inside a function: pickle cannot find it by name."""

    original = from_exception(LocalError("from the program"))
    restored = roundtrip(original)
    assert restored.cause_text == "LocalError: from the program"


def test_pickle_keeps_extra_attributes_and_a_user_subclass() -> None:
    original = FatalUsage(ErrorCode.INVALID_ARGUMENT, "m")
    original.hint = "try --help"
    restored = roundtrip(original)
    assert type(restored) is FatalUsage
    assert isinstance(restored, FatalUsage)
    assert restored.hint == "try --help"


class FatalUsage(UsageError):
    hint: str


def test_pickle_round_trip_of_context_added_later() -> None:
    original = make(ErrorKind.INTERNAL).with_context(stage="flush")
    assert roundtrip(original).context["stage"] == "flush"


def test_pickled_error_unpickles_in_another_process() -> None:
    original = from_exception(OSError(13, "Permission denied", "/root/trace"))
    original.with_context(stage="start")
    child = (
        "import pickle, sys\n"
        "err = pickle.loads(sys.stdin.buffer.read())\n"
        "sys.stdout.write(type(err).__module__ + '.' + type(err).__name__ + '\\n')\n"
        "sys.stdout.write(err.to_json())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child],
        input=pickle.dumps(original),
        capture_output=True,
        timeout=60,
        check=True,
    )
    class_line, json_line = result.stdout.decode().splitlines()
    assert class_line == "recorder_errors.EnvironmentError"
    assert json.loads(json_line) == original.to_dict()


@pytest.mark.parametrize("value", [*ErrorKind, *ErrorCode])
def test_kinds_and_codes_pickle_to_themselves(value: object) -> None:
    assert pickle.loads(pickle.dumps(value)) is value


def test_remote_cause_pickles() -> None:
    restored = pickle.loads(pickle.dumps(RemoteCause("X: y")))
    assert str(restored) == "X: y"
