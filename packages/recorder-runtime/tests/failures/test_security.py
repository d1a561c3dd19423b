"""Security rows G1-G13: secrets, modes, planted symlinks, derived names, filter files."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from .harness import (
    all_bytes_under,
    assert_n1,
    assert_n2,
    assert_n4,
    json_trailer,
    list_tree,
    run_pair,
)

CANARY = b"CANARY-5ecr3t-9f1c2e"
USAGE = 2


@pytest.mark.parametrize("policy", ["abort", "disable"])
def test_secret_canary_absent_from_every_output_byte(tmp_path: Path, policy: str) -> None:
    """G1: secrets in locals, args, globals, attributes and returns never reach the disk or
    stderr (default redaction of secret-looking names, issue 9)."""
    pair = run_pair("secrets_prog.py", tmp_path=tmp_path, policy=policy)
    assert_n1(pair)
    assert_n4(pair, allowed=("complete",))
    assert CANARY not in all_bytes_under(tmp_path / "out")
    assert CANARY not in pair.traced.stderr


def test_innocent_names_stay_visible(tmp_path: Path) -> None:
    """G2: names a substring pattern would hide (company, span, expand, passenger, author,
    classname) are recorded as they are (issue 9 pins this list)."""
    pair = run_pair("false_positives.py", tmp_path=tmp_path)
    assert_n4(pair, allowed=("complete",))
    text = (pair.trace_dir / "trace.json").read_bytes()
    for name in (b"company", b"span", b"expand", b"passenger", b"author", b"classname"):
        assert b"VISIBLE-" + name in text, name


def test_final_names_planted_as_symlinks_are_replaced(tmp_path: Path) -> None:
    """G6: the final file names are symlinks to a victim: the links are replaced, the
    victim's bytes are unchanged."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    trace_dir = tmp_path / "out" / "trace"
    trace_dir.mkdir(parents=True)
    for name in ("trace.json", "trace_metadata.json", "trace_paths.json"):
        (trace_dir / name).symlink_to(victim)
    pair = run_pair("basic.py", tmp_path=tmp_path, trace_dir=trace_dir)
    assert_n1(pair)
    assert victim.read_bytes() == b"precious\n"
    for name in ("trace.json", "trace_metadata.json", "trace_paths.json"):
        assert not (trace_dir / name).is_symlink(), name
    assert_n4(pair, allowed=("complete",))


def test_staging_symlinks_planted_for_every_guessable_name_are_ignored(tmp_path: Path) -> None:
    """G5: links planted at predictable staging names (pids around ours) do not redirect any
    write: staging is created with mkdtemp (O_EXCL, random suffix, 0700)."""
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    base = os.getpid()
    for pid in range(base, base + 200):
        (out / f".trace.staging-{pid}").symlink_to(victim_dir)
        (out / f".trace.staging-{pid}-tmp").symlink_to(victim_dir)
    pair = run_pair("basic.py", tmp_path=tmp_path)
    assert list(victim_dir.iterdir()) == []
    assert_n4(pair, allowed=("complete",), staging_ok=True)
    staged = [p for p in out.iterdir() if p.name.startswith(".trace.staging-")]
    assert all(p.is_symlink() for p in staged), "a real staging dir was left behind"


def test_output_dir_symlink_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """G7: a symlink planted by uid 65534 in a world-writable sticky dir: exit 2, nothing
    written in the victim dir (S4)."""
    shared = tmp_path / "out"
    shared.mkdir()
    shared.chmod(0o1777)
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    link = shared / "trace"
    link.symlink_to(victim_dir)
    os.lchown(link, 65534, 65534)
    pair = run_pair("basic.py", tmp_path=tmp_path, untraced=False, flags=["--json-errors"])
    assert pair.traced.rc == USAGE, pair.describe()
    assert pair.traced.stdout == b""
    assert json_trailer(pair.traced.stderr)["error_code"] == "ERR_TRACE_DIR_CONFLICT"
    assert list(victim_dir.iterdir()) == []


def test_derived_names_stay_inside_the_output_dir(tmp_path: Path) -> None:
    """G8: thread names with '../', '/abs', NUL and 300 bytes create nothing outside out/."""
    before = set(list_tree(tmp_path))
    pair = run_pair("weird_names.py", tmp_path=tmp_path)
    assert_n1(pair)
    assert_n2(pair)
    assert_n4(pair, allowed=("complete",))
    created = set(list_tree(tmp_path)) - before
    outside = [p for p in created if not p.startswith(("out", "work"))]
    assert outside == [], outside
    for path in (tmp_path / "out").rglob("*"):
        real = os.path.realpath(path)
        assert os.path.commonpath([real, str(tmp_path / "out")]) == str(tmp_path / "out")


def test_files_and_dirs_are_private(tmp_path: Path) -> None:
    """G4 under the default umask: the trace files are 0600 and the trace dir 0700."""
    pair = run_pair("basic.py", tmp_path=tmp_path)
    assert_n4(pair, allowed=("complete",))
    assert stat.S_IMODE(pair.trace_dir.stat().st_mode) == 0o700
    for path in pair.trace_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


FILTERS = {
    "syntax": b"[scope\ndefault_exec = 'trace'\n",
    "duplicate-key": b"[scope]\ndefault_exec = 'trace'\ndefault_exec = 'skip'\n",
    "invalid-utf8": b"[meta]\nname = '\xff\xfe'\n",
    "deep-nesting": b"x = " + b"[" * 10000 + b"]" * 10000 + b"\n",
    "bom": b"\xef\xbb\xbf[scope]\ndefault_exec = 'trace'\n",
    "wrong-type": b"[scope]\ndefault_exec = 42\n",
    "bad-regex": b"[scope]\ndefault_exec = 'trace'\n[[scope.rules]]\n"
    b"selector = 'pkg:regex:(('\nexec = 'skip'\n",
    "bad-action": b"[scope]\ndefault_exec = 'maybe'\n",
}


@pytest.mark.parametrize("policy", ["abort", "disable"])
@pytest.mark.parametrize("case", sorted(FILTERS))
def test_bad_filter_file_is_a_usage_error(tmp_path: Path, case: str, policy: str) -> None:
    """G10/G11/G13: every filter load problem is exit 2 with one clear line (path, and
    line:col where the parser gives one), no traceback, never 70, nothing created."""
    bad = tmp_path / "filter.toml"
    bad.write_bytes(FILTERS[case])
    pair = run_pair(
        "basic.py",
        tmp_path=tmp_path,
        policy=policy,
        untraced=False,
        flags=["--trace-filter", str(bad), "--json-errors"],
    )
    assert pair.traced.rc == USAGE, pair.describe()
    assert pair.traced.stdout == b""
    assert b"Traceback" not in pair.traced.stderr
    assert json_trailer(pair.traced.stderr)["kind"] == "Usage"
    assert list_tree(tmp_path / "out") == []
    if case in ("syntax", "duplicate-key"):
        assert re.search(rb"line \d+|:\d+:\d+", pair.traced.stderr), pair.traced.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge"])
def test_unreadable_filter_paths_are_refused_before_reading(tmp_path: Path, kind: str) -> None:
    """G12: a FIFO, /dev/zero, or a file over 1 MiB is refused (stat first), exit 2, no hang."""
    if kind == "fifo":
        path = tmp_path / "filter.fifo"
        os.mkfifo(path)
    elif kind == "dev-zero":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "huge.toml"
        path.write_bytes(b"# padding\n" * 200_000)
    pair = run_pair(
        "basic.py",
        tmp_path=tmp_path,
        untraced=False,
        timeout=30,
        flags=["--trace-filter", str(path), "--json-errors"],
    )
    assert pair.traced.rc == USAGE, pair.describe()
    assert pair.traced.stdout == b""
    assert json_trailer(pair.traced.stderr)["kind"] == "Usage"


@pytest.mark.parametrize("flag", ["--max-depth", "--max-items", "--max-string-length"])
@pytest.mark.parametrize("value", ["-1", "99999999999999999999999", "ten"])
def test_capture_limits_out_of_range_are_usage_errors(
    tmp_path: Path, flag: str, value: str
) -> None:
    """G13: resource caps are validated at start: exit 2, program not run."""
    pair = run_pair("basic.py", tmp_path=tmp_path, untraced=False, flags=[flag, value])
    assert pair.traced.rc == USAGE, pair.describe()
    assert pair.traced.stdout == b""
