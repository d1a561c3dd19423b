"""Every way a filter can fail to load is one UsageError ERR_INVALID_FILTER with a location.

The CLI turns it into exit status 2 and one line (its own tests); here we pin the error
itself: class, code, and a message that starts with ``path:line:col`` when a position exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from recorder_errors import ErrorCode, ErrorKind, UsageError
from recorder_runtime.filters import MAX_FILTER_BYTES, TraceFilter

HEADER = '[meta]\nname = "t"\nversion = 1\n'


def load_error(path: Path | str) -> UsageError:
    with pytest.raises(UsageError) as info:
        TraceFilter.load(script_path=None, explicit=[str(path)], environ={})
    err = info.value
    assert err.code == ErrorCode.INVALID_FILTER
    assert err.kind == ErrorKind.USAGE and err.exit_code == 2
    assert "\n" not in err.message
    return err


def write(tmp_path: Path, text: str, name: str = "f.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- TOML syntax (S6)


def test_syntax_error_reports_path_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + '[scope]\ndefault_exec = "trace\n')
    err = load_error(path)
    assert err.message.startswith(f"{path}:5:")
    assert "invalid TOML" in err.message


def test_duplicate_key_reports_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + 'name = "again"\n')
    assert load_error(path).message.startswith(f"{path}:4:")


def test_unterminated_table_at_end_of_document_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "[scope")
    assert load_error(path).message.startswith(f"{path}:4:")


def test_invalid_utf8_reports_line_column_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_bytes(HEADER.encode() + b'description = "caf\xe9"\n')
    err = load_error(path)
    assert err.message.startswith(f"{path}:4:19:")
    assert "not valid UTF-8" in err.message and "0xe9" in err.message


def test_byte_order_mark_is_refused_at_1_1(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode())
    err = load_error(path)
    assert err.message.startswith(f"{path}:1:1:")
    assert "byte order mark" in err.message


@pytest.mark.parametrize(
    "nesting", ["[" * 10_000 + "]" * 10_000, "{a=" * 2_000 + "1" + "}" * 2_000]
)
def test_deep_nesting_is_a_usage_error_not_a_recursion_crash(tmp_path: Path, nesting: str) -> None:
    path = write(tmp_path, HEADER + f"[io]\nstreams = {nesting}\n")
    err = load_error(path)
    assert str(path) in err.message


# ----------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ("[scope]\nexex = 1\n", 5, "unknown key 'exex' in [scope]"),
        ('[[scope.rules]]\nselector = "pkg:a"\nexex = "skip"\n', 6, "unknown key 'exex'"),
        (
            '[[scope.rules]]\nselector = "pkg:a"\n[[scope.rules.value_patterns]]\n'
            'selector = "local:a"\naction = "drop"\nwhy = 1\n',
            9,
            "unknown key 'why'",
        ),
        ("[io]\nfiles = true\n", 5, "unknown key 'files'"),
        ("[other]\nx = 1\n", 4, "unknown key 'other'"),
    ],
)
def test_unknown_keys_are_refused_with_their_position(
    tmp_path: Path, body: str, line: int, needle: str
) -> None:
    path = write(tmp_path, HEADER + body)
    err = load_error(path)
    assert err.message.startswith(f"{path}:{line}:")
    assert needle in err.message


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ("[scope]\ndefault_exec = 1\n", 5, "must be a string, not an integer"),
        ('[scope]\ndefault_exec = "maybe"\n', 5, "unsupported value 'maybe'"),
        ('[scope]\ndefault_value_action = "hide"\n', 5, "unsupported value 'hide'"),
        ('[scope]\nrules = "x"\n', 5, "must be an array"),
        ('[[scope.rules]]\nexec = "skip"\n', 4, "needs a selector"),
        ("[[scope.rules]]\nselector = 3\n", 5, "must be a string"),
        ('[[scope.rules]]\nselector = "pkg:a"\nexec = "maybe"\n', 6, "unsupported value"),
        ('[[scope.rules]]\nselector = "pkg:a"\nvalue_default = true\n', 6, "must be a string"),
        (
            '[[scope.rules]]\nselector = "pkg:a"\n[[scope.rules.value_patterns]]\n'
            'selector = "local:a"\naction = "inherit"\n',
            8,
            "unsupported value 'inherit'",
        ),
        (
            '[[scope.rules]]\nselector = "pkg:a"\n[[scope.rules.value_patterns]]\n'
            'selector = "local:a"\n',
            6,
            "needs 'action'",
        ),
        ("[io]\ncapture = 1\n", 5, "must be a boolean"),
        ("[io]\ncapture = true\n", 4, "io.streams must be given"),
        ('[io]\nstreams = ["sockets"]\n', 5, "unsupported value 'sockets'"),
        ('[io]\nmodes = ["x"]\n', 5, "reserved"),
    ],
)
def test_wrong_types_and_values_are_refused_with_their_position(
    tmp_path: Path, body: str, line: int, needle: str
) -> None:
    path = write(tmp_path, HEADER + body)
    err = load_error(path)
    assert err.message.startswith(f"{path}:{line}:")
    assert needle in err.message


def test_the_second_rule_is_located_not_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + '[[scope.rules]]\nselector = "pkg:a"\nexec = "skip"\n\n'
        + '[[scope.rules]]\nselector = "pkg:b"\nexec = "nope"\n',
    )
    err = load_error(path)
    assert err.message.startswith(f"{path}:10:")
    assert "scope.rules[1].exec" in err.message


@pytest.mark.parametrize(
    ("meta", "needle"),
    [
        ("", "missing [meta]"),
        ("[meta]\nversion = 1\n", "missing meta.name"),
        ('[meta]\nname = "t"\n', "missing meta.version"),
        ('[meta]\nname = " "\nversion = 1\n', "must not be empty"),
        ('[meta]\nname = "t"\nversion = 0\n', "integer >= 1"),
        ('[meta]\nname = "t"\nversion = true\n', "integer >= 1"),
        ('[meta]\nname = "t"\nversion = 1\nlabels = [1]\n', "must be a string"),
        ("meta = 3\n", "must be a table"),
    ],
)
def test_meta_is_validated(tmp_path: Path, meta: str, needle: str) -> None:
    err = load_error(write(tmp_path, meta))
    assert needle in err.message


# ----------------------------------------------------------------------------- selectors (G11)


@pytest.mark.parametrize(
    ("selector", "needle"),
    [
        ("nope", "must be 'domain:pattern'"),
        ("module:x", "domain must be one of pkg, file, obj"),
        ("local:x", "'local' is a value domain"),
        ("pkg:fuzzy:x", "match kind 'fuzzy'"),
        ("pkg:", "empty pattern"),
        ("pkg:regex:", "empty pattern"),
        ("pkg:regex:((", "invalid regex '((': missing ), unterminated subpattern at position"),
        ("pkg:regex:a{2,1}", "invalid regex"),
        ("pkg:glob:{a,b", "unclosed '{'"),
    ],
)
def test_invalid_scope_selectors_are_refused(tmp_path: Path, selector: str, needle: str) -> None:
    path = write(tmp_path, HEADER + f"[[scope.rules]]\nselector = '{selector}'\n")
    err = load_error(path)
    assert err.message.startswith(f"{path}:5:")
    assert needle in err.message


def test_scope_domain_in_a_value_pattern_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + '[[scope.rules]]\nselector = "pkg:a"\n[[scope.rules.value_patterns]]\n'
        'selector = "pkg:a"\naction = "drop"\n',
    )
    err = load_error(path)
    assert err.message.startswith(f"{path}:7:")
    assert "'pkg' is a scope domain" in err.message


def test_catastrophic_regex_is_accepted_but_only_runs_once_per_name(tmp_path: Path) -> None:
    # Python's re has no timeout; we document it (ADR 0007). Decisions are cached per code
    # object and per (domain, name), so a slow pattern costs once per distinct name.
    path = write(
        tmp_path,
        HEADER + '[[scope.rules]]\nselector = "pkg:a"\n[[scope.rules.value_patterns]]\n'
        "selector = 'local:regex:(a+)+$'\naction = \"drop\"\n",
    )
    decision = TraceFilter.load(script_path=None, explicit=[str(path)], environ={}).decide(
        "/p/a.py", "a", "f"
    )
    assert decision.value_action("local", "aaaa") == "drop"


# ----------------------------------------------------------------------------- files (G12)


def test_missing_file(tmp_path: Path) -> None:
    err = load_error(tmp_path / "nope.toml")
    assert err.message == f"{tmp_path / 'nope.toml'}: trace filter does not exist"


def test_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in load_error(tmp_path).message


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILTER_BYTES + 1)
    assert "limited to 1 MiB" in load_error(path).message


def test_dev_zero_is_refused_without_reading() -> None:
    assert "is a character device" in load_error("/dev/zero").message


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "filter.toml"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            TraceFilter.load(script_path=None, explicit=[str(fifo)], environ={})
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock the reader so the test process can exit, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("loading a FIFO blocked")
    [err] = outcome
    assert isinstance(err, UsageError) and err.code == ErrorCode.INVALID_FILTER
    assert "is a FIFO" in err.message


def test_fifo_as_project_default_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / ".codetracer").mkdir()
    os.mkfifo(tmp_path / ".codetracer" / "trace-filter.toml")
    script = tmp_path / "main.py"
    script.write_text("pass\n")
    code = (
        "import sys\nfrom recorder_errors import UsageError\n"
        "from recorder_runtime.filters import TraceFilter\n"
        "try:\n    TraceFilter.load(script_path=sys.argv[1], environ={})\n"
        "except UsageError as e:\n    print(e.code, e.message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.startswith("ERR_INVALID_FILTER")
    assert "is a FIFO" in done.stdout


def test_unreadable_path_component_is_a_usage_error(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    err = load_error(afile / "f.toml")  # ENOTDIR
    assert "cannot read trace filter" in err.message


def test_load_error_messages_carry_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "[scope\n")
    err = load_error(path)
    assert err.__cause__ is None
    assert "Traceback" not in err.message


def test_permission_denied_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, HEADER)
    real_open = os.open

    def deny(file: object, flags: int, *args: object) -> int:
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", deny)
    err = load_error(path)
    assert err.message == f"{path}: cannot read trace filter: Permission denied"


def test_a_file_growing_past_the_cap_after_stat_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, HEADER)
    real_read = os.read

    def endless(fd: int, size: int) -> bytes:
        return b"#" * size if size else real_read(fd, size)

    monkeypatch.setattr(os, "read", endless)
    assert "larger than" in load_error(path).message
