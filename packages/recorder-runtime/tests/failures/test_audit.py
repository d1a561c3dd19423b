"""tools/audit.py: each rule fires on a synthetic library module, and the allowlist excuses.

The audit is CI's guardrail for the house rules (no builtin raises, no assert, no stdout, no
root logger, no bare except). These tests build a tiny ``packages/`` tree in tmp_path, so they
assert on exactly the code they show.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[4]
AUDIT_PATH = REPO / "tools" / "audit.py"


def load_audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("recorder_audit_tool", AUDIT_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


audit = load_audit()

EMPTY_ALLOWLIST = """
[entry_modules]
paths = ["packages/*/src/*/__main__.py", "packages/*/src/*/cli.py"]
reason = "entry points"
"""


def make_tree(tmp_path: Path, files: dict[str, str], allowlist: str = EMPTY_ALLOWLIST) -> Path:
    """packages/demo/src/demo/<name> for each file; returns the allowlist path."""
    for name, text in files.items():
        path = tmp_path / "packages" / "demo" / "src" / "demo" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    allow = tmp_path / "allow.toml"
    allow.write_text(textwrap.dedent(allowlist), encoding="utf-8")
    return allow


def run_audit(
    tmp_path: Path,
    files: dict[str, str],
    allowlist: str = EMPTY_ALLOWLIST,
    capsys: pytest.CaptureFixture[str] | None = None,
) -> tuple[int, list[str]]:
    allow = make_tree(tmp_path, files, allowlist)
    assert capsys is not None
    capsys.readouterr()
    rc = audit.main([str(tmp_path / "packages"), "--allowlist", str(allow)])
    out = capsys.readouterr().out
    return rc, [line for line in out.splitlines() if line]


@pytest.mark.parametrize(
    ("source", "rule", "fragment"),
    [
        ("def f():\n    raise ValueError('x')\n", "RAISE", "builtin ValueError"),
        ("def f():\n    raise RuntimeError\n", "RAISE", "builtin RuntimeError"),
        ("import builtins\ndef f():\n    raise builtins.KeyError(1)\n", "RAISE", "KeyError"),
        (
            "from recorder_errors import InternalError\ndef f():\n    raise InternalError('x')\n",
            "RAISE",
            "constructs InternalError directly",
        ),
        (
            "import recorder_errors\ndef f():\n    raise recorder_errors.UsageError('x')\n",
            "RAISE",
            "constructs UsageError directly",
        ),
        (
            "class Boom(Exception):\n    pass\ndef f():\n    raise Boom('x')\n",
            "RAISE",
            "constructs Boom directly",
        ),
        ("def f(x):\n    assert x, 'invariant'\n", "ASSERT", "assert"),
        ("def f():\n    print('hi')\n", "PRINT", "print() to stdout"),
        ("import sys\ndef f():\n    print('hi', file=sys.stderr)\n", "PRINT", "print()"),
        ("import sys\ndef f():\n    sys.stdout.write('x')\n", "PRINT", "sys.stdout.write"),
        ("import sys\ndef f():\n    sys.__stdout__.write('x')\n", "PRINT", "sys.__stdout__"),
        ("import sys\ndef f():\n    sys.stdout.buffer.write(b'x')\n", "PRINT", "stdout"),
        ("from sys import stdout\ndef f():\n    stdout.writelines(['x'])\n", "PRINT", "stdout"),
        ("import os\ndef f():\n    os.write(1, b'x')\n", "PRINT", "os.write(1"),
        ("import logging, sys\nh = logging.StreamHandler(sys.stdout)\n", "PRINT", "StreamHandler"),
        ("import logging\nlogging.basicConfig(level=10)\n", "ROOT_LOGGER", "basicConfig"),
        (
            "import logging\nlog = logging.getLogger()\nlog.setLevel(10)\n",
            "ROOT_LOGGER",
            "getLogger()",
        ),
        ("import logging\nlog = logging.getLogger('')\n", "ROOT_LOGGER", "getLogger()"),
        ("import logging\nlog = logging.getLogger('root')\n", "ROOT_LOGGER", "getLogger()"),
        ("import logging\nlogging.root.addHandler(None)\n", "ROOT_LOGGER", "logging.root"),
        ("from logging import root\nroot.setLevel(10)\n", "ROOT_LOGGER", "logging.root"),
        ("import logging as lg\nlg.warning('x')\n", "ROOT_LOGGER", "logging.warning()"),
        ("from logging import basicConfig\nbasicConfig()\n", "ROOT_LOGGER", "basicConfig"),
        (
            "def f():\n    try:\n        pass\n    except:\n        pass\n",
            "BARE_EXCEPT",
            "bare 'except:'",
        ),
    ],
)
def test_each_rule_fires_with_path_line_rule_detail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, rule: str, fragment: str
) -> None:
    rc, lines = run_audit(tmp_path, {"mod.py": source}, capsys=capsys)
    assert rc == 1
    assert len(lines) == 1, lines
    path, line, found_rule, detail = lines[0].split(":", 3)
    assert path == "packages/demo/src/demo/mod.py"
    assert int(line) >= 1
    assert found_rule.strip() == rule
    assert fragment in detail


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    try:\n        g()\n    except OSError:\n        raise\n",
        "def f():\n    try:\n        g()\n    except OSError as exc:\n        raise exc\n",
        "from recorder_errors import usage, ErrorCode\n"
        "def f():\n    raise usage(ErrorCode.UNKNOWN, 'x')\n",
        "from recorder_errors import from_exception\n"
        "def f():\n    try:\n        g()\n    except OSError as exc:\n"
        "        raise from_exception(exc) from exc\n",
        "def f(err):\n    raise err.with_context(event='line')\n",
        "import logging\nlog = logging.getLogger('recorder.writer')\nlog.warning('x')\n",
        "import logging\nlog = logging.getLogger(__name__)\n",
        "import sys\ndef f():\n    sys.stderr.write('x')\n",
        "def f():\n    try:\n        pass\n    except Exception:\n        pass\n",
        "def f(x):\n    if not x:\n        return None\n    return x\n",
    ],
)
def test_clean_idioms_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str) -> None:
    rc, lines = run_audit(tmp_path, {"mod.py": source}, capsys=capsys)
    assert (rc, lines) == (0, [])


def test_errors_package_may_construct_its_own_classes(tmp_path: Path) -> None:
    base = tmp_path / "packages" / "recorder-errors" / "src" / "recorder_errors"
    base.mkdir(parents=True)
    (base / "errors.py").write_text(
        "class RecorderError(Exception):\n    pass\n"
        "class EnvironmentError(RecorderError):\n    pass\n"
        "def enverr(m):\n    return EnvironmentError(m)\n"
        "def boom():\n    raise EnvironmentError('x')\n"
    )
    allow = tmp_path / "allow.toml"
    allow.write_text(EMPTY_ALLOWLIST)
    assert audit.main([str(tmp_path / "packages"), "--allowlist", str(allow)]) == 0


def test_builtin_raise_inside_errors_package_is_still_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "packages" / "recorder-errors" / "src" / "recorder_errors"
    base.mkdir(parents=True)
    (base / "helpers.py").write_text("def f():\n    raise TypeError('x')\n")
    allow = tmp_path / "allow.toml"
    allow.write_text(EMPTY_ALLOWLIST)
    assert audit.main([str(tmp_path / "packages"), "--allowlist", str(allow)]) == 1
    assert "RAISE: raises builtin TypeError" in capsys.readouterr().out


def test_entry_module_may_print_to_stderr_and_raise_systemexit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        "import sys\ndef main():\n    print('recorder: ERR_IO: x', file=sys.stderr)\n"
        "    return 10\nif __name__ == '__main__':\n    raise SystemExit(main())\n"
    )
    rc, lines = run_audit(tmp_path, {"cli.py": source, "__main__.py": source}, capsys=capsys)
    assert (rc, lines) == (0, [])


def test_entry_module_still_may_not_print_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, lines = run_audit(tmp_path, {"cli.py": "print('hello')\n"}, capsys=capsys)
    assert rc == 1
    assert [line.split(": ")[1] for line in lines] == ["PRINT"]


def test_allowlisted_finding_passes_and_others_remain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allowlist = (
        EMPTY_ALLOWLIST
        + """
    [[allow]]
    path = "packages/demo/src/demo/failpoints.py"
    rule = "RAISE"
    match = "InjectedFailure"
    reason = "failpoints simulate unexpected bugs"
    """
    )
    files = {
        "failpoints.py": "class InjectedFailure(RuntimeError):\n    pass\n"
        "def hit():\n    raise InjectedFailure('x')\n",
        "other.py": "class InjectedFailure(RuntimeError):\n    pass\n"
        "def hit():\n    raise InjectedFailure('x')\n",
    }
    rc, lines = run_audit(tmp_path, files, allowlist, capsys=capsys)
    assert rc == 1
    assert [line.split(":")[0] for line in lines] == ["packages/demo/src/demo/other.py"]


def test_allowlist_entry_without_reason_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allowlist = (
        EMPTY_ALLOWLIST
        + """
    [[allow]]
    path = "packages/demo/src/demo/mod.py"
    rule = "ASSERT"
    match = "assert"
    """
    )
    rc, _ = run_audit(tmp_path, {"mod.py": "assert True\n"}, allowlist, capsys=capsys)
    assert rc == 2


def test_stale_allowlist_entry_is_reported_but_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allowlist = (
        EMPTY_ALLOWLIST
        + """
    [[allow]]
    path = "packages/demo/src/demo/gone.py"
    rule = "PRINT"
    match = "stdout"
    reason = "was needed once"
    """
    )
    allow = make_tree(tmp_path, {"mod.py": "x = 1\n"}, allowlist)
    rc = audit.main([str(tmp_path / "packages"), "--allowlist", str(allow)])
    assert rc == 0
    assert "stale" in capsys.readouterr().err


def test_tests_and_tools_are_not_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow = make_tree(tmp_path, {"mod.py": "x = 1\n"})
    tests = tmp_path / "packages" / "demo" / "tests"
    tests.mkdir()
    (tests / "test_x.py").write_text("assert True\nprint('x')\n")
    assert audit.main([str(tmp_path / "packages"), "--allowlist", str(allow)]) == 0


def test_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    assert audit.main([str(tmp_path / "nope")]) == 2


def test_repository_library_code_passes_the_audit() -> None:
    """The real tree with the real allowlist: the nox `audit` session, as a test."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, str(AUDIT_PATH), "packages"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
