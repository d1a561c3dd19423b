"""The `native` policy field: which hot path records, and a clear error when one is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import recorder_runtime
from recorder_errors import ErrorCode, RecorderError
from recorder_runtime import native

# Runs the CLI with recorder_speedups made unimportable (as on a machine without a compiler).
WITHOUT_SPEEDUPS = (
    "import sys; sys.modules['recorder_speedups'] = None; "
    "from recorder_runtime.cli import main; sys.exit(main(sys.argv[1:]))"
)

CLI = (sys.executable, "-c", WITHOUT_SPEEDUPS)


def unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "accelerator", lambda: (None, "not built here"))


def test_native_on_without_the_accelerator_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unavailable(monkeypatch)
    with pytest.raises(RecorderError) as caught:
        recorder_runtime.start(str(tmp_path / "trace"), native="on")
    assert caught.value.code is ErrorCode.NATIVE_UNAVAILABLE
    assert caught.value.exit_code == 2
    assert not (tmp_path / "trace").exists()


def test_native_auto_without_the_accelerator_records_on_the_python_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unavailable(monkeypatch)
    recorder_runtime.start(str(tmp_path / "trace"), native="auto", io_capture="off")
    recorder_runtime.stop(exit_code=0)
    meta = json.loads((tmp_path / "trace" / "trace_metadata.json").read_text())
    assert meta["native"] == {"mode": "auto", "used": False}


def test_an_invalid_native_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecorderError) as caught:
        recorder_runtime.start(str(tmp_path / "trace"), native="fast")
    assert caught.value.code is ErrorCode.INVALID_POLICY_VALUE


def test_cli_native_on_without_the_accelerator_exits_2_with_the_code(tmp_path: Path) -> None:
    script = tmp_path / "prog.py"
    script.write_text("print('ran')\n")
    done = subprocess.run(
        [*CLI, "--trace-dir", str(tmp_path / "out"), "--native", "on", str(script)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"ERR_NATIVE_UNAVAILABLE" in done.stderr
    assert b"ran" not in done.stdout
    assert b"Traceback" not in done.stderr


def test_cli_default_without_the_accelerator_records_and_says_so(tmp_path: Path) -> None:
    script = tmp_path / "prog.py"
    script.write_text("x = 1\nprint('ran', x)\n")
    done = subprocess.run(
        [*CLI, "--trace-dir", str(tmp_path / "out"), str(script)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"ran 1\n"
    meta = json.loads((tmp_path / "out" / "trace_metadata.json").read_text())
    assert meta["native"] == {"mode": "auto", "used": False}
