"""Output under real machine faults, as root (reliability plan §3, matrix F3-F8, E11).

Each test produces the fault with a method that works for root (chmod does not): /dev/full,
a 64 KiB tmpfs or a read-only bind mount in a private mount namespace (``unshare -m``), a child
that drops to an unprivileged uid, resource limits, and SIGKILL.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from recorder_errors import ErrorCode, ErrorKind, RecorderError
from recorder_runtime.staging import OutputStaging, staging_prefix
from recorder_runtime.writer import BoundOS, TraceWriter

UNSHARE = shutil.which("unshare")


def _python(code: str, cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )


def _in_mount_namespace(setup: str, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``setup`` (shell) then ``code`` (Python) inside a private mount namespace."""
    script = cwd / "probe.py"
    script.write_text(textwrap.dedent(code))
    proc = subprocess.run(
        [
            UNSHARE or "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            f'{setup} && exec "{sys.executable}" "{script}"',
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode == 97 or "unshare failed" in proc.stderr or "mount:" in proc.stderr:
        pytest.skip(f"mount namespace not available here: {proc.stderr.strip()[:200]}")
    return proc


# ---------------------------------------------------------------- ENOSPC


def test_dev_full_as_the_sink_is_a_classified_no_space_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def to_dev_full(path: Any, flags: int, mode: int = 0o777) -> int:
        return real_open("/dev/full", os.O_WRONLY | os.O_CLOEXEC)

    monkeypatch.setattr(BoundOS, "open", to_dev_full)
    with pytest.raises(RecorderError) as info:
        TraceWriter(str(tmp_path / "trace.json"))
    assert info.value.code is ErrorCode.NO_SPACE
    assert info.value.exit_code == 10
    assert info.value.context["op"] == "open"


@pytest.mark.skipif(UNSHARE is None, reason="needs unshare(1)")
def test_a_full_disk_mid_run_leaves_no_half_file_anywhere(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    proc = _in_mount_namespace(
        f"mount -t tmpfs -o size=64k tmpfs '{small}' || exit 97",
        f"""
        import json, os
        from recorder_errors import RecorderError
        from recorder_runtime.staging import OutputStaging
        from recorder_runtime.writer import TraceWriter
        st = OutputStaging({str(small / "out")!r})
        st.prepare()
        w = TraceWriter(st.file("trace.json"), buffer_limit=4096)
        error = None
        try:
            for i in range(100_000):
                w.step(0, i + 1)
            w.close()
        except RecorderError as err:
            error = err
        w.abandon()
        st.discard()
        print(json.dumps({{
            "code": error.code.value if error else None,
            "exit": error.exit_code if error else None,
            "left": os.listdir({str(small)!r}),
        }}))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result == {"code": "ERR_NO_SPACE", "exit": 10, "left": []}


# ---------------------------------------------------------------- EROFS / EACCES


@pytest.mark.skipif(UNSHARE is None, reason="needs unshare(1)")
def test_a_read_only_filesystem_is_an_environment_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    proc = _in_mount_namespace(
        f"mount --bind '{ro}' '{ro}' && mount -o remount,bind,ro '{ro}' || exit 97",
        f"""
        from recorder_errors import RecorderError
        from recorder_runtime.staging import OutputStaging
        try:
            OutputStaging({str(ro / "out")!r}).prepare()
        except RecorderError as err:
            print(err.code.value, err.exit_code, err.context.get("errno"))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ERR_TRACE_DIR_CREATE_FAILED", "10", "EROFS"]


@pytest.mark.skipif(not hasattr(os, "fork") or os.getuid() != 0, reason="needs root and fork")
def test_permission_denied_for_an_unprivileged_user_is_an_environment_error(
    tmp_path: Path,
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(read_fd)
            os.setgid(65534)
            os.setuid(65534)
            try:
                OutputStaging(str(locked / "out")).prepare()
                result = "prepared"
            except RecorderError as err:
                result = f"{err.code.value} {err.exit_code} {err.context.get('errno')}"
            os.write(write_fd, result.encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        result = pipe.read()
    os.waitpid(pid, 0)
    assert result == "ERR_TRACE_DIR_CREATE_FAILED 10 EACCES"
    assert os.listdir(locked) == []


# ---------------------------------------------------------------- resource limits


def test_too_many_open_files_is_an_environment_error(tmp_path: Path) -> None:
    proc = _python(
        """
        import os, resource
        from recorder_errors import RecorderError
        from recorder_runtime.staging import OutputStaging
        from recorder_runtime.writer import TraceWriter
        st = OutputStaging("out")
        st.prepare()
        limits = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (3, limits[1]))  # stdin/out/err only
        try:
            TraceWriter(st.file("trace.json"))
        except RecorderError as err:
            print(err.code.value, err.exit_code, err.context["op"], err.context["errno"])
        st.discard()  # still under the limit: cleaning up must not need a descriptor
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)
        print(sorted(os.listdir(".")))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert first.split() == ["ERR_TOO_MANY_OPEN_FILES", "10", "open", str(errno.EMFILE)]
    assert second == "[]"


def test_the_recorder_holds_one_descriptor_at_rest(tmp_path: Path) -> None:
    from recorder_runtime.metadata import write_json_file, write_paths

    def open_fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    before = open_fds()
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    assert open_fds() == before
    w = TraceWriter(st.file("trace.json"))
    assert len(open_fds() - before) == 1
    w.step(0, 1)
    w.close()
    write_paths(st.file("trace_paths.json"), w.paths)
    write_json_file(st.file("trace_metadata.json"), {"workdir": "/", "program": "p", "args": []})
    st.commit(["trace.json", "trace_paths.json", "trace_metadata.json"])
    assert open_fds() == before


# ---------------------------------------------------------------- SIGKILL (E11)


def test_sigkill_leaves_only_a_staging_dir_which_the_next_run_sweeps(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from recorder_runtime.staging import OutputStaging
        from recorder_runtime.writer import TraceWriter
        st = OutputStaging("out")
        st.prepare()
        w = TraceWriter(st.file("trace.json"), buffer_limit=1024)
        w.path_id("/p/main.py")
        w.flush()
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        i = 0
        while True:
            i += 1
            w.step(0, i % 1000 + 1)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "out").exists()  # never a half trace under the final name
    stale = [n for n in os.listdir(tmp_path) if n.startswith(staging_prefix("out"))]
    assert len(stale) == 1
    assert (tmp_path / stale[0] / "trace.json").stat().st_size > 0
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    assert st.swept == [str(tmp_path / stale[0])]
    st.discard()
    assert os.listdir(tmp_path) == []


def test_a_kind_conversion_never_hides_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(tmp_path / "file" / "out")).prepare()
    assert info.value.kind is ErrorKind.USAGE


# ---------------------------------------------------------------- F11


def test_finalizing_works_when_the_program_mocked_os_and_json(tmp_path: Path) -> None:
    proc = _python(
        """
        import json, os
        from unittest import mock
        from recorder_runtime.metadata import build_metadata, write_json_file, write_paths
        from recorder_runtime.staging import OutputStaging
        from recorder_runtime.writer import TraceWriter
        st = OutputStaging("out")
        st.prepare()
        w = TraceWriter(st.file("trace.json"), buffer_limit=64)
        w.path_id("/p/main.py")
        w.call(w.function_id("top", 0, 1, "<toplevel>"), [])
        w.type_id(30, "None")
        # what the program does (F11), never undone:
        for p in (
            mock.patch("builtins.open", side_effect=OSError("mocked open")),
            mock.patch("os.replace", side_effect=RuntimeError("mocked replace")),
            mock.patch("os.path", mock.MagicMock()),
            mock.patch("json.dumps", side_effect=RuntimeError("mocked json")),
            mock.patch("os.fsync", side_effect=RuntimeError("mocked fsync")),
            mock.patch("os.write", side_effect=RuntimeError("mocked write")),
            mock.patch("os.unlink", side_effect=RuntimeError("mocked unlink")),
        ):
            p.start()
        for i in range(100):
            w.step(0, i + 1)
        w.finish('{"kind":"None","type_id":0}')
        write_paths(st.file("trace_paths.json"), w.paths)
        meta = build_metadata(workdir="/w", program="/p/main.py", args=[], recorder_name="r",
            recorder_version="0", python_version="3", exit_status={"code": 0, "label": None},
            limits={}, counters={}, partial=False)
        write_json_file(st.file("trace_metadata.json"), meta)
        st.commit(["trace.json", "trace_paths.json", "trace_metadata.json"])
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []
    trace_check = Path("/work/shared/tools/trace_check.py")
    if not trace_check.exists():
        pytest.skip("shared trace_check tool not available")
    check = subprocess.run(
        [sys.executable, str(trace_check), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
