"""OutputStaging: private staging next to the destination, atomic commit, discard, sweep."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recorder_errors import ErrorCode, ErrorKind, RecorderError
from recorder_runtime.metadata import write_json_file
from recorder_runtime.staging import METADATA_FILE, OutputStaging, staging_prefix
from recorder_runtime.writer import BoundOS

FILES = ("trace.json", "trace_paths.json", METADATA_FILE)


def stage_trace(st: OutputStaging, content: str = "[]") -> list[str]:
    """Write the three files of a (tiny) trace into staging; return their paths."""
    paths = []
    for name in FILES:
        path = st.file(name)
        write_json_file(path, [] if name != METADATA_FILE else {"content": content})
        paths.append(path)
    return paths


def leftovers(parent: Path, dest_name: str) -> list[str]:
    return [n for n in os.listdir(parent) if n.startswith(staging_prefix(dest_name))]


@pytest.fixture
def umask0() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# ---------------------------------------------------------------- prepare


def test_staging_dir_is_private_and_next_to_the_destination(tmp_path: Path) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    staging = Path(st.staging_dir)
    assert staging.parent == tmp_path
    assert staging.name.startswith(f".out.staging-{os.getpid()}-")
    assert staging.stat().st_mode & 0o777 == 0o700
    assert not (tmp_path / "out").exists()  # the destination appears only on commit
    st.discard()


def test_relative_destination_is_resolved_once_so_chdir_does_not_matter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    st = OutputStaging("out")
    st.prepare()
    paths = stage_trace(st)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    st.commit(paths)
    assert sorted(os.listdir(tmp_path / "out")) == sorted(FILES)
    assert os.listdir(elsewhere) == []


def test_destination_that_is_a_file_is_a_usage_conflict(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.write_text("not a dir")
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(dest)).prepare()
    assert info.value.code is ErrorCode.TRACE_DIR_CONFLICT
    assert info.value.exit_code == 2
    assert leftovers(tmp_path, "out") == []


def test_a_file_where_a_parent_directory_is_expected_is_a_usage_conflict(
    tmp_path: Path,
) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(tmp_path / "afile" / "sub" / "out")).prepare()
    assert info.value.code is ErrorCode.TRACE_DIR_CONFLICT
    assert info.value.kind is ErrorKind.USAGE


def test_a_directory_in_place_of_a_trace_file_is_a_usage_conflict(tmp_path: Path) -> None:
    (tmp_path / "out" / "trace.json").mkdir(parents=True)
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(tmp_path / "out")).prepare()
    assert info.value.code is ErrorCode.TRACE_DIR_CONFLICT


def test_missing_parents_are_created_0700_even_under_umask_0(tmp_path: Path, umask0: None) -> None:
    st = OutputStaging(str(tmp_path / "a" / "b" / "out"))
    st.prepare()
    st.commit(stage_trace(st))
    for d in ("a", "a/b", "a/b/out"):
        assert (tmp_path / d).stat().st_mode & 0o777 == 0o700, d
    for name in FILES:
        assert (tmp_path / "a/b/out" / name).stat().st_mode & 0o777 == 0o600


def test_parents_created_for_a_failed_run_are_removed_on_discard(tmp_path: Path) -> None:
    st = OutputStaging(str(tmp_path / "a" / "b" / "out"))
    st.prepare()
    stage_trace(st)
    st.discard()
    assert os.listdir(tmp_path) == []


def test_directory_creation_failure_is_an_environment_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: str, mode: int = 0o777) -> None:
        raise OSError(errno.EROFS, "Read-only file system", path)

    monkeypatch.setattr(BoundOS, "mkdir", refuse)
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(tmp_path / "new" / "out")).prepare()
    assert info.value.code is ErrorCode.TRACE_DIR_CREATE_FAILED
    assert info.value.exit_code == 10
    assert info.value.context["errno"] == "EROFS"


def test_a_conflict_names_the_trace_directory(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.write_text("not a dir")
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(dest)).prepare()
    assert str(dest) in info.value.message


def refuse_mkdir(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    def refuse(path: str, mode: int = 0o777) -> None:
        raise OSError(number, os.strerror(number), path)

    monkeypatch.setattr(BoundOS, "mkdir", refuse)


def test_a_create_failure_names_the_directory_it_could_not_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_mkdir(monkeypatch, errno.EACCES)
    dest = tmp_path / "new" / "out"
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(dest)).prepare()
    assert str(tmp_path / "new") in info.value.message
    assert str(dest) in info.value.message
    assert info.value.context["hint"] == f"check that {tmp_path} is writable"


def test_a_create_failure_below_a_missing_parent_does_not_blame_its_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_mkdir(monkeypatch, errno.ENOENT)  # the parent vanished, or was never creatable
    dest = tmp_path / "gone" / "deeper" / "out"
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(dest)).prepare()
    hint = str(info.value.context["hint"])
    assert "writable" not in hint
    assert "does not exist" in hint


def test_symlink_destination_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.mkdir()
    link = shared / "out"
    link.symlink_to(victim)
    os.lchown(link, 65534, 65534)
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(link)).prepare()
    assert info.value.code is ErrorCode.TRACE_DIR_CONFLICT
    assert os.listdir(victim) == []
    assert leftovers(shared, "out") == []


def test_own_symlink_to_a_directory_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "out").symlink_to(real)
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    st.commit(stage_trace(st))
    assert sorted(os.listdir(real)) == sorted(FILES)


# ---------------------------------------------------------------- file names


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "/abs", "a/b", "nul\0"])
def test_staged_names_cannot_escape_the_staging_dir(tmp_path: Path, name: str) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    with pytest.raises(RecorderError) as info:
        st.file(name)
    assert info.value.kind is ErrorKind.INTERNAL
    st.discard()


def test_staging_dir_before_prepare_is_a_bug(tmp_path: Path) -> None:
    with pytest.raises(RecorderError) as info:
        _ = OutputStaging(str(tmp_path / "out")).staging_dir
    assert info.value.kind is ErrorKind.INTERNAL


# ---------------------------------------------------------------- commit


def test_commit_moves_files_with_metadata_last_and_removes_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    paths = stage_trace(st)
    moves: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        moves.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(BoundOS, "replace", spy)
    final = st.commit([paths[2], paths[0], paths[1]])  # metadata given first on purpose
    assert [os.path.basename(p) for p in final] == ["trace.json", "trace_paths.json", METADATA_FILE]
    assert [os.path.basename(d) for _, d in moves] == [os.path.basename(p) for p in final]
    # same directory as the destination's parent: a rename, never a cross-device copy (F10)
    assert all(os.path.dirname(os.path.dirname(s)) == str(tmp_path) for s, _ in moves)
    assert leftovers(tmp_path, "out") == []
    assert st.committed


def test_commit_accepts_plain_names(tmp_path: Path) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    stage_trace(st)
    st.commit(list(FILES))
    assert sorted(os.listdir(tmp_path / "out")) == sorted(FILES)


def test_a_symlink_at_the_final_name_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "trace.json").symlink_to(victim)
    st = OutputStaging(str(dest))
    st.prepare()
    st.commit(stage_trace(st))
    assert victim.read_text() == "precious"
    assert not (dest / "trace.json").is_symlink()
    assert (dest / "trace.json").read_text() == "[]"


def test_other_files_in_the_destination_survive(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    st = OutputStaging(str(dest))
    st.prepare()
    st.commit(stage_trace(st))
    assert (dest / "notes.txt").read_text() == "mine"


def test_a_stale_trace_of_the_other_format_is_removed(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "trace.bin").write_bytes(b"old run")
    st = OutputStaging(str(dest))
    st.prepare()
    st.commit(stage_trace(st))
    assert sorted(os.listdir(dest)) == sorted(FILES)


def test_a_previous_trace_is_replaced(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    for run in ("first", "second"):
        st = OutputStaging(str(dest))
        st.prepare()
        st.commit(stage_trace(st, content=run))
    assert (dest / METADATA_FILE).read_text() == '{"content":"second"}'


def test_a_failed_commit_leaves_no_marker_and_no_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    (dest / METADATA_FILE).write_text('{"old":true}')
    st = OutputStaging(str(dest))
    st.prepare()
    paths = stage_trace(st)
    real_replace = os.replace

    def fail_on_paths(src: str, dst: str) -> None:
        if dst.endswith("trace_paths.json"):
            raise OSError(errno.ENOSPC, "No space left on device", dst)
        real_replace(src, dst)

    monkeypatch.setattr(BoundOS, "replace", fail_on_paths)
    with pytest.raises(RecorderError) as info:
        st.commit(paths)
    assert info.value.code is ErrorCode.NO_SPACE
    assert info.value.exit_code == 10
    assert sorted(os.listdir(dest)) == ["notes.txt"]
    assert leftovers(tmp_path, "out") == []


def test_an_fsync_failure_aborts_the_commit_before_anything_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    paths = stage_trace(st)

    def eio(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(BoundOS, "fsync", eio)
    with pytest.raises(RecorderError) as info:
        st.commit(paths)
    assert info.value.code is ErrorCode.IO
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path, "out") == []


def test_an_unexpected_exception_during_commit_is_classified_internal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    paths = stage_trace(st)

    def bug(src: str, dst: str) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(BoundOS, "replace", bug)
    with pytest.raises(RecorderError) as info:
        st.commit(paths)
    assert info.value.kind is ErrorKind.INTERNAL
    assert info.value.context["op"] == "commit"
    assert leftovers(tmp_path, "out") == []


def test_keyboard_interrupt_during_commit_leaves_no_trace_and_propagates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    paths = stage_trace(st)
    real_replace = os.replace

    def interrupted(src: str, dst: str) -> None:
        if dst.endswith(METADATA_FILE):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(BoundOS, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        st.commit(paths)
    assert os.listdir(tmp_path) == []  # the destination commit() created is gone too
    assert leftovers(tmp_path, "out") == []


def test_commit_survives_a_cross_device_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    paths = stage_trace(st)
    real_replace = os.replace

    def exdev_from_staging(src: str, dst: str) -> None:
        if os.path.dirname(src) == st.staging_dir:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(BoundOS, "replace", exdev_from_staging)
    st.commit(paths)
    assert sorted(os.listdir(tmp_path / "out")) == sorted(FILES)
    assert (tmp_path / "out" / "trace.json").stat().st_mode & 0o777 == 0o600


# ---------------------------------------------------------------- discard / sweep


def test_discard_leaves_nothing(tmp_path: Path) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    stage_trace(st)
    st.discard()
    st.discard()
    assert os.listdir(tmp_path) == []


def test_discard_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    stage_trace(st)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cleanup exploded")

    monkeypatch.setattr(BoundOS, "unlink", boom)
    monkeypatch.setattr(BoundOS, "rmtree", boom)
    st.discard()


def test_discard_removes_unexpected_content_too(tmp_path: Path) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    stage_trace(st)
    (Path(st.staging_dir) / "stray").mkdir()
    st.discard()
    assert os.listdir(tmp_path) == []


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(proc.stdout)


def test_stale_staging_of_a_dead_process_is_swept(tmp_path: Path) -> None:
    stale = tmp_path / f".out.staging-{_dead_pid()}-abc123"
    stale.mkdir()
    (stale / "trace.json").write_text("[")
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    assert not stale.exists()
    assert st.swept == [str(stale)]
    st.discard()


def test_staging_of_a_live_process_and_other_names_are_kept(tmp_path: Path) -> None:
    live = tmp_path / f".out.staging-{os.getppid()}-abc123"
    live.mkdir()
    other = tmp_path / f".other.staging-{_dead_pid()}-abc"
    other.mkdir()
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    st.discard()
    assert live.exists() and other.exists()


def test_a_stale_name_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("x")
    (tmp_path / f".out.staging-{_dead_pid()}-zz").symlink_to(victim)
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    st.discard()
    assert (victim / "keep").exists()


# ---------------------------------------------------------------- end to end


TRACE_CHECK = Path("/work/shared/tools/trace_check.py")


def _record_synthetic(dest: Path, *, partial: bool) -> OutputStaging:
    """A small trace written the way the session does: writer + paths + metadata + commit."""
    from recorder_runtime.metadata import build_metadata, write_paths
    from recorder_runtime.writer import TraceWriter

    st = OutputStaging(str(dest))
    st.prepare()
    w = TraceWriter(st.file("trace.json"), buffer_limit=128)
    pid = w.path_id("/p/main.py")
    w.call(w.function_id(("<toplevel>",), pid, 1, "<toplevel>"), [])
    w.type_id(30, "None")
    int_t = w.type_id(7, "int")
    w.step(pid, 1)
    x = w.variable_id("x")
    w.value(x, f'{{"kind":"Int","i":1,"type_id":{int_t}}}')
    fid = w.function_id(("/p/main.py", 3, "f"), pid, 3, "f")
    w.step(pid, 4)
    w.call(fid, [(x, f'{{"kind":"Int","i":1,"type_id":{int_t}}}')])
    w.step(pid, 4)
    w.io_event(0, '{"stream":"stdout"}', "hello\n")
    if partial:
        w.close_partial('{"kind":"Error","msg":"ERR_NO_SPACE","type_id":0}')
    else:
        w.ret('{"kind":"None","type_id":0}')
        w.ret('{"kind":"None","type_id":0}')
        w.close()
    write_paths(st.file("trace_paths.json"), w.paths)
    meta = build_metadata(
        workdir=str(dest.parent),
        program="/p/main.py",
        args=[],
        recorder_name="recorder-runtime",
        recorder_version="0.1.0",
        python_version="3.12",
        exit_status={"code": None, "label": "<disabled>"}
        if partial
        else {"code": 0, "label": None},
        limits={},
        counters={},
        partial=partial,
        partial_reason={"error_code": "ERR_NO_SPACE", "message": "disk full"} if partial else None,
    )
    write_json_file(st.file(METADATA_FILE), meta)
    st.commit([st.file(n) for n in FILES])
    return st


@pytest.mark.skipif(not TRACE_CHECK.exists(), reason="shared trace_check tool not available")
@pytest.mark.parametrize("partial", [False, True], ids=["complete", "partial"])
def test_a_committed_trace_passes_trace_check(tmp_path: Path, partial: bool) -> None:
    dest = tmp_path / "out"
    _record_synthetic(dest, partial=partial)
    proc = subprocess.run(
        [sys.executable, str(TRACE_CHECK), str(dest), "--strict"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 open at end" in proc.stdout


def test_a_staging_dir_deleted_by_the_program_is_an_environment_error(tmp_path: Path) -> None:
    st = OutputStaging(str(tmp_path / "out"))
    st.prepare()
    paths = stage_trace(st)
    shutil.rmtree(st.staging_dir)  # the program cleaned "its" directory mid-run (F12)
    with pytest.raises(RecorderError) as info:
        st.commit(paths)
    assert info.value.kind is ErrorKind.ENVIRONMENT
    assert not (tmp_path / "out").exists()


def test_a_dangling_symlink_destination_is_a_usage_conflict(tmp_path: Path) -> None:
    (tmp_path / "out").symlink_to(tmp_path / "nowhere")
    with pytest.raises(RecorderError) as info:
        OutputStaging(str(tmp_path / "out")).prepare()
    assert info.value.code is ErrorCode.TRACE_DIR_CONFLICT
    assert not (tmp_path / "nowhere").exists()
