"""trace_metadata.json / trace_paths.json: shape and safe writing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from recorder_errors import ErrorCode, ErrorKind, RecorderError
from recorder_runtime.metadata import build_metadata, write_json_file, write_paths
from recorder_runtime.writer import BoundOS


def sample(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "workdir": "/work",
        "program": "/work/main.py",
        "args": ["--flag", "x"],
        "recorder_name": "recorder-runtime",
        "recorder_version": "0.1.0",
        "python_version": "3.12.1",
        "exit_status": {"code": 0, "label": None},
        "limits": {"max_depth": 8},
        "counters": {"callbacks_failed": 0},
        "partial": False,
        "partial_reason": None,
        "extra": {"trace_filter": {"filters": []}},
    }
    kwargs.update(overrides)
    return build_metadata(**kwargs)


def test_complete_metadata_has_the_contract_keys_in_order() -> None:
    meta = sample()
    assert list(meta) == [
        "workdir",
        "program",
        "args",
        "process_exit_status",
        "recorder",
        "limits",
        "counters",
        "partial",
        "trace_filter",
    ]
    assert meta["process_exit_status"] == {"code": 0, "label": None}
    assert meta["recorder"] == {
        "name": "recorder-runtime",
        "version": "0.1.0",
        "target_script": "/work/main.py",
        "python": "3.12.1",
        "backend": "sys.monitoring",
    }
    assert meta["partial"] is False
    assert "partial_reason" not in meta


def test_partial_metadata_carries_the_reason() -> None:
    meta = sample(
        partial=True,
        partial_reason={"error_code": "ERR_NO_SPACE", "message": "disk full"},
        exit_status={"code": None, "label": "<disabled>"},
    )
    assert meta["partial"] is True
    assert meta["partial_reason"] == {"error_code": "ERR_NO_SPACE", "message": "disk full"}


def test_a_reason_for_a_complete_trace_is_a_bug() -> None:
    with pytest.raises(RecorderError) as info:
        sample(partial_reason={"error_code": "ERR_IO", "message": "x"})
    assert info.value.kind is ErrorKind.INTERNAL


def test_extra_cannot_replace_a_core_key() -> None:
    with pytest.raises(RecorderError) as info:
        sample(extra={"partial": False})
    assert info.value.kind is ErrorKind.INTERNAL


def test_backend_is_recorded() -> None:
    assert sample(backend="sys.settrace")["recorder"]["backend"] == "sys.settrace"


def test_written_file_is_compact_ascii_private_and_parses(tmp_path: Path) -> None:
    path = tmp_path / "trace_metadata.json"
    meta = sample(args=["caf\u00e9", "\udcff"])
    old = os.umask(0)
    try:
        write_json_file(str(path), meta)
    finally:
        os.umask(old)
    raw = path.read_bytes()
    assert raw.isascii()
    assert b" " not in raw.replace(b"sys.monitoring", b"")
    loaded = json.loads(raw)
    # the lone surrogate of a surrogateescape'd argument is visible text, as in the events
    assert loaded["args"] == ["caf\u00e9", "\\udcff"]
    assert {k: v for k, v in loaded.items() if k != "args"} == {
        k: v for k, v in meta.items() if k != "args"
    }
    assert path.stat().st_mode & 0o777 == 0o600


def test_paths_file_matches_the_path_events_for_any_file_name(tmp_path: Path) -> None:
    from recorder_runtime.writer import TraceWriter

    w = TraceWriter(str(tmp_path / "trace.json"))
    for p in ("/p/plain.py", "/p/caf\u00e9.py", "/p/bad\udcff.py"):
        w.path_id(p)
    w.close()
    write_paths(str(tmp_path / "trace_paths.json"), w.paths)
    events = json.loads((tmp_path / "trace.json").read_text())
    assert json.loads((tmp_path / "trace_paths.json").read_text()) == [e["Path"] for e in events]


def test_write_paths_is_the_plain_array(tmp_path: Path) -> None:
    path = tmp_path / "trace_paths.json"
    write_paths(str(path), ["/a.py", "/b.py"])
    assert path.read_text() == '["/a.py","/b.py"]'


def test_an_existing_file_or_link_is_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "trace_paths.json"
    link.symlink_to(victim)
    with pytest.raises(RecorderError) as info:
        write_paths(str(link), [])
    assert info.value.kind is ErrorKind.ENVIRONMENT
    assert info.value.context["op"] == "open"
    assert victim.read_text() == "precious"


def test_nan_in_metadata_is_a_bug_not_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(RecorderError) as info:
        write_json_file(str(tmp_path / "m.json"), {"x": float("nan")})
    assert info.value.kind is ErrorKind.INTERNAL
    assert not (tmp_path / "m.json").exists()


def test_write_failure_is_classified_and_removes_the_half_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def enospc(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(BoundOS, "write", enospc)
    path = tmp_path / "trace_metadata.json"
    with pytest.raises(RecorderError) as info:
        write_json_file(str(path), sample())
    assert info.value.code is ErrorCode.NO_SPACE
    assert info.value.context == {**info.value.context, "path": str(path), "op": "write"}
    assert not path.exists()
