"""The policy field ``json_errors`` holds for API sessions: one JSON line per failure on stderr.

The API raises the classified error as well; the line is what tools watching stderr read (the
reference writes it for ``start(..., json_errors=True)`` and ``configure_policy`` too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import recorder_runtime as rr
from recorder_errors import RecorderError
from recorder_runtime.policy import reset_policy


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    """A trace directory that cannot be one: an existing regular file."""
    path = tmp_path / "taken"
    path.write_text("not a directory\n", encoding="utf-8")
    return path


@pytest.fixture
def policy_layer() -> Iterator[None]:
    """The process-wide policy layer, cleared afterwards."""
    reset_policy()
    yield
    reset_policy()


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_start_with_json_errors_prints_the_failure_as_json(
    a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(RecorderError) as raised:
        rr.start(str(a_file), json_errors=True)
    [line] = json_lines(capsys.readouterr().err)
    assert line["error_code"] == raised.value.code.value
    assert line["kind"] == raised.value.kind.label


def test_configure_policy_json_errors_applies_to_api_sessions(
    a_file: Path, capsys: pytest.CaptureFixture[str], policy_layer: None
) -> None:
    rr.configure_policy(json_errors=True)
    with pytest.raises(RecorderError) as raised:
        with rr.trace(str(a_file)):
            pass
    [line] = json_lines(capsys.readouterr().err)
    assert line["error_code"] == raised.value.code.value


def test_without_json_errors_the_api_prints_nothing(
    a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(RecorderError):
        rr.start(str(a_file), json_errors=False)
    assert json_lines(capsys.readouterr().err) == []
