"""Recorder logging: its own hierarchy, one CLI handler, context fields, root logger untouched."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from recorder_runtime import logs


@pytest.fixture(autouse=True)
def _no_cli_handler() -> Iterator[None]:
    logs.remove_cli_handler()
    logs.set_trace_id(None)
    yield
    logs.remove_cli_handler()
    logs.set_trace_id(None)


class _Stderr:
    """What the test wrote to ``sys.stderr`` (pytest's capsys stream, bound at install time)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> _Stderr:
    return _Stderr(capsys)


def test_get_logger_lives_under_recorder() -> None:
    assert logs.get_logger("session").name == "recorder.session"


def test_library_installs_only_a_null_handler() -> None:
    handlers = logging.getLogger("recorder").handlers
    assert handlers and all(isinstance(h, logging.NullHandler) for h in handlers)
    assert logging.getLogger("recorder").propagate is True


def test_run_id_is_a_uuid4_stable_for_the_process() -> None:
    assert uuid.UUID(logs.run_id()).version == 4
    assert logs.run_id() == logs.run_id()


def test_cli_handler_writes_one_line_with_context_fields(stderr: _Stderr) -> None:
    logs.install_cli_handler("info", None)
    logs.set_trace_id("trace-123")
    logs.get_logger("test").warning("disk %s", "full", extra={"error_code": "ERR_NO_SPACE"})
    line = stderr.getvalue()
    assert line.count("\n") == 1
    assert line.startswith("recorder: WARNING: disk full [")
    assert f"run_id={logs.run_id()}" in line
    assert "trace_id=trace-123" in line
    assert "error_code=ERR_NO_SPACE" in line


def test_missing_context_fields_are_dashes(stderr: _Stderr) -> None:
    logs.install_cli_handler("info", None)
    logs.get_logger("test").info("hello")
    assert "trace_id=- error_code=-" in stderr.getvalue()


def test_records_below_the_level_are_not_written(stderr: _Stderr) -> None:
    logs.install_cli_handler("error", None)
    logs.get_logger("test").warning("quiet")
    assert stderr.getvalue() == ""


def test_multiline_messages_and_tracebacks_stay_on_one_line(stderr: _Stderr) -> None:
    logs.install_cli_handler("debug", None)
    try:
        raise ValueError("inner")
    except ValueError:
        logs.get_logger("test").debug("first\nsecond", exc_info=True)
    text = stderr.getvalue()
    assert text.count("\n") == 1
    assert "first\\nsecond" in text
    assert 'traceback="Traceback (most recent call last):\\n' in text


def test_cli_handler_does_not_reach_the_root_logger(stderr: _Stderr) -> None:
    root = logging.getLogger()
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    collector = Collect()
    root.addHandler(collector)
    try:
        logs.install_cli_handler("warning", None)
        logs.get_logger("test").warning("only ours")
    finally:
        root.removeHandler(collector)
    assert seen == []
    assert "only ours" in stderr.getvalue()


def test_install_leaves_root_logger_handlers_and_level_unchanged() -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    logs.install_cli_handler("debug", None)
    assert (list(root.handlers), root.level) == before


def test_installing_twice_keeps_exactly_one_cli_handler(stderr: _Stderr) -> None:
    logs.install_cli_handler("warning", None)
    logs.install_cli_handler("warning", None)
    logs.get_logger("test").warning("once")
    assert stderr.getvalue().count("once") == 1


def test_remove_cli_handler_restores_propagation() -> None:
    logs.install_cli_handler("warning", None)
    logs.remove_cli_handler()
    base = logging.getLogger("recorder")
    assert base.propagate is True
    assert all(isinstance(h, logging.NullHandler) for h in base.handlers)


def test_log_file_is_appended(tmp_path: Path, stderr: _Stderr) -> None:
    path = tmp_path / "rec.log"
    path.write_text("earlier line\n", encoding="utf-8")
    logs.install_cli_handler("info", str(path))
    logs.get_logger("test").info("new line")
    logs.remove_cli_handler()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "earlier line"
    assert lines[1].startswith("recorder: INFO: new line")
    assert stderr.getvalue() == ""


def test_unopenable_log_file_falls_back_to_stderr_with_one_warning(
    tmp_path: Path, stderr: _Stderr
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("", encoding="utf-8")
    logs.install_cli_handler("warning", str(not_a_dir / "rec.log"))
    logs.get_logger("test").warning("after fallback")
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 2
    assert "cannot open log file" in lines[0] and "error_code=ERR_IO" in lines[0]
    assert "after fallback" in lines[1]


def test_failure_records_are_folded_on_stderr_at_warning_level(stderr: _Stderr) -> None:
    logs.install_cli_handler("warning", None)
    log = logs.get_logger("test")
    log.warning("detached", extra={"error_code": "ERR_CALLBACK_FAILED"})
    log.warning("plain warning")
    log.warning("not folded", extra={"error_code": "ERR_IO", "standalone": True})
    lines = stderr.getvalue().splitlines()
    assert [line.split(" [")[0] for line in lines] == [
        "recorder: WARNING: plain warning",
        "recorder: WARNING: not folded",
    ]


def test_failure_records_show_on_stderr_at_info_level(stderr: _Stderr) -> None:
    logs.install_cli_handler("info", None)
    logs.get_logger("test").warning("detached", extra={"error_code": "ERR_CALLBACK_FAILED"})
    assert "detached" in stderr.getvalue()


def test_failure_records_always_reach_the_log_file(tmp_path: Path) -> None:
    path = tmp_path / "rec.log"
    logs.install_cli_handler("warning", str(path))
    logs.get_logger("test").warning("detached", extra={"error_code": "ERR_CALLBACK_FAILED"})
    logs.remove_cli_handler()
    assert "error_code=ERR_CALLBACK_FAILED" in path.read_text(encoding="utf-8")
