"""Output and environment faults that work as root (reliability.md §3, rows A8 and F1-F17).

chmod stops nothing for root, so permissions are taken away with capsh (dropping
CAP_DAC_OVERRIDE) and a directory owned by another uid; the disk fills in a 64 KiB tmpfs
inside ``unshare -m``; file size and fd limits come from setrlimit in the child; /dev/full
is reached by redirecting the staged event file at open time (sitecustomize injector).
Expected: Usage problems exit 2 before the program runs and create nothing; Environment
faults exit 10 under abort and leave the program untouched under disable; the destination
is never left with a half-written file and the staging area is cleaned.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import (
    HERE,
    Pair,
    assert_n1,
    assert_n1_prefix,
    assert_n2,
    assert_n3,
    assert_n4,
    assert_nothing_created,
    assert_program_files_identical,
    json_trailer,
    line_point,
    list_tree,
    recorder_lines,
    run_pair,
)

ENVIRONMENT = 10
USAGE = 2
POLICIES = ["abort", "disable"]


def assert_environment_fault(pair: Pair, policy: str) -> None:
    """Ab(10): exit 10, stdout a prefix of T's; Di: the program exactly as untraced."""
    if policy == "abort":
        assert_n2(pair, ENVIRONMENT)
        assert_n1_prefix(pair)
        trailer = json_trailer(pair.traced.stderr)
        assert trailer["kind"] == "Environment", trailer
    else:
        assert_n1(pair)
        assert_n2(pair)
        assert_n3(pair)
        assert recorder_lines(pair.traced.stderr), "disable must warn"


# --------------------------------------------------------------------------- A8, F1, F2


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    ("flags", "script"),
    [
        (["--no-such-flag"], "basic.py"),
        ([], "does_not_exist.py"),
        (["--format", "yaml"], "basic.py"),
        (["--trace-filter", "missing-filter.toml"], "basic.py"),
    ],
    ids=["unknown-flag", "missing-script", "bad-format", "missing-filter"],
)
def test_cli_misuse_is_usage_error_and_creates_nothing(
    tmp_path: Path, policy: str, flags: list[str], script: str
) -> None:
    """A8: Cfg2 under both policies: exit 2, stdout empty, no output dir created."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(HERE / "targets" / "basic.py", work / "basic.py")
    trace_dir = tmp_path / "out" / "trace"
    argv = [
        sys.executable,
        "-m",
        "recorder_runtime",
        "--trace-dir",
        str(trace_dir),
        "--on-recorder-error",
        policy,
        *flags,
        script,
    ]
    proc = subprocess.run(argv, cwd=work, capture_output=True, timeout=60, check=False)
    assert proc.returncode == USAGE, proc.stderr
    assert proc.stdout == b""
    assert not (tmp_path / "out").exists(), list_tree(tmp_path / "out")
    assert b"Traceback" not in proc.stderr


def test_bad_policy_value_is_usage_error(tmp_path: Path) -> None:
    """A8/issue 5: --on-recorder-error=maybe and a bad env value are ERR_INVALID_POLICY_VALUE."""
    pair = run_pair(
        "basic.py", tmp_path=tmp_path, policy="maybe", flags=["--json-errors"], untraced=False
    )
    assert pair.traced.rc == USAGE
    assert pair.traced.stdout == b""
    assert_nothing_created(pair)
    pair = run_pair(
        "basic.py",
        tmp_path=tmp_path,
        policy=None,
        flags=["--json-errors"],
        traced_env={"CODETRACER_REQUIRE_TRACE": "perhaps"},
        untraced=False,
    )
    assert pair.traced.rc == USAGE
    assert json_trailer(pair.traced.stderr)["error_code"] == "ERR_INVALID_POLICY_VALUE"
    assert_nothing_created(pair)


@pytest.mark.parametrize("policy", POLICIES)
def test_trace_dir_is_a_file(tmp_path: Path, policy: str) -> None:
    """F1: ENOTDIR is the caller's mistake: exit 2, program not run, nothing created."""
    (tmp_path / "out").mkdir()
    afile = tmp_path / "out" / "trace"
    afile.write_bytes(b"not a dir")
    pair = run_pair(
        "basic.py", tmp_path=tmp_path, policy=policy, untraced=False, flags=["--json-errors"]
    )
    assert pair.traced.rc == USAGE
    assert pair.traced.stdout == b""
    assert json_trailer(pair.traced.stderr)["error_code"] == "ERR_TRACE_DIR_CONFLICT"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["trace"]
    assert afile.read_bytes() == b"not a dir"


@pytest.mark.parametrize("policy", POLICIES)
def test_trace_dir_parent_is_a_file(tmp_path: Path, policy: str) -> None:
    """F1: a parent of the trace dir is a regular file (ENOTDIR on mkdir): exit 2."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "afile").write_bytes(b"x")
    pair = run_pair(
        "basic.py",
        tmp_path=tmp_path,
        policy=policy,
        untraced=False,
        trace_dir=tmp_path / "out" / "afile" / "sub",
    )
    assert pair.traced.rc == USAGE
    assert pair.traced.stdout == b""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["afile"]


@pytest.mark.parametrize("policy", POLICIES)
def test_trace_file_name_is_a_directory(tmp_path: Path, policy: str) -> None:
    """F2: EISDIR: trace.json is a directory in the destination: exit 2, nothing else made."""
    trace_dir = tmp_path / "out" / "trace"
    (trace_dir / "trace.json").mkdir(parents=True)
    pair = run_pair("basic.py", tmp_path=tmp_path, policy=policy, untraced=False)
    assert pair.traced.rc == USAGE
    assert pair.traced.stdout == b""
    assert list_tree(tmp_path / "out") == ["trace", "trace/trace.json"]


# --------------------------------------------------------------------------- F3, F4, F5


@pytest.mark.usefixtures("capsh_ok")
@pytest.mark.parametrize("policy", POLICIES)
def test_permission_denied_without_dac_override(tmp_path: Path, policy: str) -> None:
    """F3: EACCES for root: the parent belongs to uid 65534 (0700) and capsh drops
    CAP_DAC_OVERRIDE. Ab(10) before the program runs; Di runs it untraced."""
    locked = tmp_path / "out"
    locked.mkdir()
    os.chown(locked, 65534, 65534)
    locked.chmod(0o700)
    wrap = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", 'exec "$0" "$@"']
    pair = run_pair(
        "basic.py", tmp_path=tmp_path, policy=policy, wrap=wrap, flags=["--json-errors"]
    )
    if pair.traced.rc == 127 or b"capsh" in pair.traced.stderr[:200]:
        pytest.skip(f"capsh wrapper failed: {pair.traced.stderr[:300]!r}")
    if policy == "abort":
        assert_n2(pair, ENVIRONMENT)
        assert pair.traced.stdout == b"", "startup failure under abort: program not run"
        assert json_trailer(pair.traced.stderr)["kind"] == "Environment"
    else:
        assert_n1(pair)
        assert_n2(pair)
        assert_n3(pair)
    assert list(locked.iterdir()) == []


def unshare_wrap(mount_setup: str, mountpoint: Path, copy_to: Path) -> list[str]:
    """Run the recorded command in a private mount namespace; copy what the mount holds
    afterwards to ``copy_to`` (the mount vanishes with the namespace)."""
    script = (
        f"{mount_setup} || exit 97\n"
        '"$@"; rc=$?\n'
        f"cp -a {shlex.quote(str(mountpoint))}/. {shlex.quote(str(copy_to))}/ 2>/dev/null\n"
        "exit $rc\n"
    )
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"]


@pytest.mark.usefixtures("unshare_ok")
@pytest.mark.parametrize("policy", POLICIES)
def test_read_only_filesystem(tmp_path: Path, policy: str) -> None:
    """F4: EROFS via a read-only bind mount of the output area: Ab(10) / Di untraced."""
    out = tmp_path / "out"
    out.mkdir()
    copy = tmp_path / "copy"
    copy.mkdir()
    q = shlex.quote(str(out))
    wrap = unshare_wrap(f"mount --bind {q} {q} && mount -o remount,bind,ro {q}", out, copy)
    pair = run_pair(
        "basic.py", tmp_path=tmp_path, policy=policy, wrap=wrap, flags=["--json-errors"]
    )
    if pair.traced.rc == 97:
        pytest.skip(f"read-only bind mount failed: {pair.traced.stderr!r}")
    if policy == "abort":
        assert_n2(pair, ENVIRONMENT)
        assert pair.traced.stdout == b""
        assert json_trailer(pair.traced.stderr)["kind"] == "Environment"
    else:
        assert_n1(pair)
        assert_n2(pair)
        assert_n3(pair)
    assert list(out.iterdir()) == []


@pytest.mark.usefixtures("unshare_ok")
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("keep", [False, True], ids=["no-keep", "keep"])
def test_disk_full_mid_write(tmp_path: Path, policy: str, keep: bool) -> None:
    """F5: ENOSPC in a 64 KiB tmpfs while the trace grows: Ab(10) / Di; no half file under the
    final name; staging removed (checked on a copy taken inside the namespace)."""
    out = tmp_path / "out"
    out.mkdir()
    copy = tmp_path / "copy"
    copy.mkdir()
    q = shlex.quote(str(out))
    wrap = unshare_wrap(f"mount -t tmpfs -o size=64k tmpfs {q}", out, copy)
    flags = ["--json-errors", *(["--keep-partial-trace"] if keep else [])]
    pair = run_pair("big_trace.py", tmp_path=tmp_path, policy=policy, wrap=wrap, flags=flags)
    if pair.traced.rc == 97:
        pytest.skip(f"tmpfs mount failed: {pair.traced.stderr!r}")
    assert_environment_fault(pair, policy)
    assert json_trailer(pair.traced.stderr)["error_code"] in ("ERR_NO_SPACE", "ERR_IO")
    copied = Pair(pair.untraced, pair.traced, copy / "trace", policy)
    # With --keep-partial-trace the longest complete prefix that fits is kept, marked partial
    # (durable_prefix.py); never half-written.
    assert_n4(copied, allowed=("partial",) if keep else ("absent",))


DEVFULL_INJECTOR = '''
"""Test-only sitecustomize: staged trace.json files are opened on /dev/full instead."""
import os
_real_os_open = os.open
def _redirect(path):
    p = os.fspath(path) if isinstance(path, (str, bytes, os.PathLike)) else path
    if isinstance(p, str) and ".staging-" in p and os.path.basename(p) == "trace.json":
        return "/dev/full"
    return path
def _os_open(path, flags, mode=0o777, *, dir_fd=None):
    new = _redirect(path)
    if new == "/dev/full":
        flags &= ~(os.O_EXCL | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0))
    return _real_os_open(new, flags, mode, dir_fd=dir_fd)
os.open = _os_open  # the writer creates trace.json with os.open (builtins.open is not
# patched: on 3.10 pathlib binds io.open as a method at import, and a Python function there
# would receive the accessor as its first argument)
'''


@pytest.mark.parametrize("policy", POLICIES)
def test_dev_full_as_the_event_sink(tmp_path: Path, policy: str) -> None:
    """F6: writes "succeed" and ENOSPC arrives at flush/close: the error is classified
    (Environment), not lost; nothing lands in the destination."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(DEVFULL_INJECTOR)
    pair = run_pair(
        "big_trace.py",
        tmp_path=tmp_path,
        policy=policy,
        flags=["--json-errors"],
        traced_env={"PYTHONPATH": str(site)},
    )
    assert_environment_fault(pair, policy)
    assert_n4(pair, allowed=("absent",))


# --------------------------------------------------------------------------- F7, F8, F9


def limit_fsize() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.parametrize("policy", POLICIES)
def test_file_size_limit(tmp_path: Path, policy: str) -> None:
    """F7: RLIMIT_FSIZE 4096 (EFBIG; SIGXFSZ is ignored by CPython): Ab(10) / Di; the process
    is not killed; staging removed."""
    pair = run_pair(
        "big_trace.py",
        tmp_path=tmp_path,
        policy=policy,
        preexec_fn=limit_fsize,
        flags=["--json-errors"],
    )
    assert pair.traced.rc >= 0, "killed by a signal (SIGXFSZ?)"
    assert_environment_fault(pair, policy)
    assert_n4(pair, allowed=("absent",))


def limit_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


@pytest.mark.parametrize("policy", POLICIES)
def test_fd_limit_recorder_holds_at_most_one_fd(tmp_path: Path, policy: str) -> None:
    """F8: RLIMIT_NOFILE: the program opens fds until EMFILE and works with all of them open.
    It must get at most one fd fewer than untraced, and its output is otherwise unchanged."""
    pair = run_pair(
        "fd_hog.py",
        tmp_path=tmp_path,
        policy=policy,
        preexec_fn=limit_nofile,
        preexec_untraced=True,
    )
    assert pair.untraced is not None and pair.untraced.rc == 0
    untraced = pair.untraced.stdout.splitlines()
    traced = pair.traced.stdout.splitlines()
    assert traced[:1] == untraced[:1], pair.describe()
    held_untraced = int(re.sub(rb"\D", b"", untraced[1]))
    held_traced = int(re.sub(rb"\D", b"", traced[1]))
    assert held_traced >= held_untraced - 1, (held_untraced, held_traced)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    assert_n4(pair, allowed=("complete",))


@pytest.mark.parametrize("policy", POLICIES)
def test_program_closing_all_fds_keeps_its_own_file_intact(tmp_path: Path, policy: str) -> None:
    """F9: os.closerange(3, 256) then writing a file: the program's file is byte-identical to
    the untraced run's (the recorder never writes into a reused fd)."""
    pair = run_pair("fd_games.py", tmp_path=tmp_path, policy=policy)
    assert_program_files_identical(pair)
    assert_n1(pair) if pair.traced.rc == 0 else assert_n1_prefix(pair)
    assert pair.traced.rc in (0, 20 if policy == "abort" else 0), pair.describe()
    assert_n4(pair)


# --------------------------------------------------------------------------- F10-F13


@pytest.mark.usefixtures("strace_ok")
def test_staging_is_next_to_the_destination(tmp_path: Path) -> None:
    """F10: every rename goes from the private staging dir next to the destination into the
    destination (same filesystem, no EXDEV copy)."""
    log = tmp_path / "strace.log"
    wrap = ["strace", "-f", "-qq", "-e", "trace=rename,renameat,renameat2", "-o", str(log)]
    pair = run_pair("basic.py", tmp_path=tmp_path, wrap=wrap)
    assert_n1(pair)
    renames = re.findall(r'rename(?:at2?)?\((?:[^"]*)"([^"]+)",(?:[^"]*)"([^"]+)"', log.read_text())
    assert renames, log.read_text()[-2000:]
    out = str(tmp_path / "out")
    for src, dst in renames:
        assert os.path.dirname(os.path.dirname(src)) == out, (src, dst)
        assert os.path.basename(os.path.dirname(src)).startswith(".trace.staging-"), src
        assert os.path.dirname(dst) == str(pair.trace_dir), (src, dst)


def test_program_mocking_io_does_not_break_finalize(tmp_path: Path) -> None:
    """F11: builtins.open, os.replace, os.path, os.fsync and json.dumps mocked (never
    restored): the recorder bound what it needs at import, so the trace is still complete."""
    pair = run_pair("mocks_io.py", tmp_path=tmp_path)
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    assert_n4(pair, allowed=("complete",))


def test_program_chdir_does_not_move_the_trace(tmp_path: Path) -> None:
    """F12: the trace path is resolved at start; a chdir by the program changes nothing."""
    pair = run_pair("chdir_prog.py", tmp_path=tmp_path)
    assert_n1(pair)
    assert_n2(pair)
    assert_n4(pair, allowed=("complete",))


@pytest.mark.parametrize("policy", POLICIES)
def test_output_area_deleted_mid_run(tmp_path: Path, policy: str) -> None:
    """F12: the program deletes the output area (and the staging dir in it): Ab(10) / Di."""
    out = tmp_path / "out"
    pair = run_pair(
        "chdir_prog.py",
        [str(out)],
        tmp_path=tmp_path,
        policy=policy,
        flags=["--json-errors"],
        untraced=True,
    )
    assert_n4(pair, allowed=("absent",))
    if policy == "abort":
        assert_n2(pair, ENVIRONMENT)
        assert_n1_prefix(pair)
        assert json_trailer(pair.traced.stderr)["kind"] == "Environment"
    else:
        assert_n1(pair)
        assert_n2(pair)


def umask_zero() -> None:
    os.umask(0)


@pytest.mark.parametrize("backend", ["auto"])
def test_modes_under_umask_zero(tmp_path: Path, backend: str) -> None:
    """F13/G4: under umask 000 trace files are 0600 and created directories 0700."""
    trace_dir = tmp_path / "out" / "deep" / "trace"
    pair = run_pair("basic.py", tmp_path=tmp_path, preexec_fn=umask_zero, trace_dir=trace_dir)
    assert_n1(pair)
    assert_n4(pair, allowed=("complete",))
    for path in [tmp_path / "out" / "deep", trace_dir, *trace_dir.iterdir()]:
        mode = path.stat().st_mode & 0o777
        want = 0o700 if path.is_dir() else 0o600
        assert mode == want, f"{path}: {oct(mode)}"


# --------------------------------------------------------------------------- F15-F17


def close_stdout() -> None:
    os.close(1)


@pytest.mark.parametrize("fail", [False, True], ids=["ok", "failure"])
def test_recorder_survives_closed_stdout(tmp_path: Path, fail: bool) -> None:
    """F15: with fd 1 closed the recorder still works, and its failure diagnostics go to
    stderr (it never needs stdout)."""
    pair = run_pair(
        "canary.py",
        tmp_path=tmp_path,
        preexec_fn=close_stdout,
        policy="disable",
        failpoints=line_point(5) if fail else None,
        untraced=False,
    )
    assert_n4(pair, allowed=("absent",) if fail else ("complete",))
    if fail:
        assert recorder_lines(pair.traced.stderr)


@pytest.mark.parametrize("fail", [False, True], ids=["ok", "disabled-after-failure"])
def test_recorder_logging_leaves_the_root_logger_alone(tmp_path: Path, fail: bool) -> None:
    """F16: the app configures logging after the recorder started (and after a recorder
    warning under disable): its log lines are exactly as untraced (P6: a root-logger call by
    the recorder would make them disappear)."""
    pair = run_pair(
        "logging_app.py",
        tmp_path=tmp_path,
        policy="disable",
        failpoints=line_point(2) if fail else None,
    )
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=1 if fail else 0)


@pytest.mark.parametrize(
    ("python_flags", "env"),
    [
        (["-W", "error"], {}),
        ([], {"PYTHONWARNINGS": "error"}),
        (["-X", "dev"], {}),
        (["-I"], {}),
    ],
    ids=["W-error", "PYTHONWARNINGS", "X-dev", "isolated"],
)
def test_strict_interpreter_modes(
    tmp_path: Path, python_flags: list[str], env: dict[str, str]
) -> None:
    """F17: under -W error, PYTHONWARNINGS=error, -X dev and -I the recorder emits no warning
    and the program behaves as untraced (N1-N3), trace complete."""
    pair = run_pair("basic.py", tmp_path=tmp_path, env=env, python_flags=python_flags)
    assert_n1(pair)
    assert_n2(pair)
    assert_n3(pair, max_diagnostics=0)
    assert_n4(pair, allowed=("complete",))
