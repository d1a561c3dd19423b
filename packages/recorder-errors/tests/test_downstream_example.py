"""The worked example: a downstream tool (tests/downstream_example) built on the wheel alone.

Both wheels (recorder-errors and the example ``tinytool``) are built with ``uv build`` and
installed into a fresh venv (``python -m venv``; ``uv pip install --no-index``, much faster
than bootstrapping pip into it): the tool must find everything it needs in the
recorder-errors wheel. There it defines two codes, raises, serialises and
exits with the kinds' statuses, and ``mypy --strict`` checks it against the installed
wheel (``--python-executable``: the workspace's own source is not on mypy's path).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
EXAMPLE = Path(__file__).resolve().parent / "downstream_example"


def run(
    args: list[str | Path], *, cwd: Path | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run outside any activated environment; return the result, whatever its status."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["UV_OFFLINE"] = "1"
    return subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
        input=input,
    )


def ok(args: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = run(args, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the two wheels and nothing else of ours; its python."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to build the wheels (as in nox -s wheels)")
    root = tmp_path_factory.mktemp("downstream")
    house = root / "wheels"
    made = run([sys.executable, "-m", "venv", "--without-pip", root / "venv"])
    if made.returncode != 0:
        pytest.skip(f"cannot create a virtual environment here: {made.stderr.strip()}")
    with ThreadPoolExecutor(2) as pool:
        builds = [
            pool.submit(ok, [uv, "build", "--wheel", source, "--out-dir", house])
            for source in (PACKAGE, EXAMPLE)
        ]
        for build in builds:
            build.result()
    python = root / "venv" / "bin" / "python"
    ok(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            python,
            "--no-index",
            "--find-links",
            house,
            "tinytool",
        ]
    )
    return python


def tinytool(python: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run([python, "-m", "tinytool", *args])


def trailer(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    (line,) = result.stderr.splitlines()
    data: dict[str, object] = json.loads(line)
    return data


def test_the_tool_and_the_errors_package_come_from_the_fresh_venv(venv: Path) -> None:
    where = ok([venv, "-c", "import recorder_errors, tinytool; print(recorder_errors.__file__)"])
    assert Path(where.stdout.strip()).is_relative_to(venv.parents[1])


def test_success_exits_zero_with_the_count(venv: Path, tmp_path: Path) -> None:
    source = tmp_path / "three.txt"
    source.write_text("a\nb\nc\n")
    result = tinytool(venv, source, "10")
    assert (result.returncode, result.stdout, result.stderr) == (0, "3\n", "")


def test_a_downstream_usage_code_exits_2_with_its_json_line(venv: Path, tmp_path: Path) -> None:
    result = tinytool(venv, tmp_path / "any.txt", "many")
    assert result.returncode == 2
    assert trailer(result) == {
        "error_code": "ERR_TINYTOOL_BAD_LIMIT",
        "kind": "Usage",
        "message": "--limit must be a positive integer, not 'many'",
        "context": {"limit": "many"},
    }
    # The README's "Using it in your own tool" shows this very line.
    assert result.stderr in (PACKAGE / "README.md").read_text(encoding="utf-8")


def test_a_downstream_target_code_exits_20(venv: Path, tmp_path: Path) -> None:
    source = tmp_path / "long.txt"
    source.write_text("x\n" * 5)
    result = tinytool(venv, source, "2")
    assert result.returncode == 20
    data = trailer(result)
    assert (data["error_code"], data["kind"]) == ("ERR_TINYTOOL_TOO_LONG", "Target")


def test_a_builtin_code_raised_by_the_tool_exits_10(venv: Path, tmp_path: Path) -> None:
    result = tinytool(venv, tmp_path / "missing.txt", "2")
    assert result.returncode == 10
    data = trailer(result)
    assert (data["error_code"], data["kind"]) == ("ERR_NOT_FOUND", "Environment")
    assert str(data["cause"]).startswith("FileNotFoundError")


def test_the_tool_prints_its_own_codes_table(venv: Path) -> None:
    table = tinytool(venv, "--codes").stdout.splitlines()
    assert table[2].startswith("| `ERR_TINYTOOL_BAD_LIMIT` | Usage | 2 |")
    assert table[3].startswith("| `ERR_TINYTOOL_TOO_LONG` | Target | 20 |")


READ_BACK = """
import pickle, sys
from recorder_errors import RecorderError, UnknownCode
line = sys.stdin.readline()
err = RecorderError.from_json(line)
if "--with-tool" in sys.argv:
    from tinytool import TinyCode
    err = RecorderError.from_json(line)
    assert err.code is TinyCode.BAD_LIMIT, err.code
    assert pickle.loads(pickle.dumps(err)).code is TinyCode.BAD_LIMIT
else:
    assert isinstance(err.code, UnknownCode) and not err.code.known, err.code
print(err.code.value, err.kind.label, err.exit_code, err.to_json() == line.strip())
"""


@pytest.mark.parametrize("with_tool", [True, False], ids=["tool-imported", "tool-unknown"])
def test_a_consumer_reads_the_json_line_back(venv: Path, tmp_path: Path, with_tool: bool) -> None:
    line = tinytool(venv, tmp_path / "any.txt", "zero").stderr
    flags = ["--with-tool"] if with_tool else []
    result = ok([venv, "-c", READ_BACK, *flags], input=line)
    assert result.stdout == "ERR_TINYTOOL_BAD_LIMIT Usage 2 True\n"


MISUSE = """
from recorder_errors import usage
from tinytool import TinyCode

usage("ERR_TINYTOOL_BAD_LIMIT", "a plain string is not a code")
TinyCode.NO_SUCH_MEMBER
"""


@pytest.fixture(scope="module")
def mypy_report(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``mypy --strict`` on the example and a misuse file, imports resolved in the fresh venv.

    One run for both (mypy starts slowly); its output lines, the summary last.
    """
    where = tmp_path_factory.mktemp("mypy")
    (where / "misuse.py").write_text(MISUSE)
    result = run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            f"--cache-dir={where / 'cache'}",
            f"--python-executable={venv}",
            EXAMPLE / "src" / "tinytool",
            "misuse.py",
        ],
        cwd=where,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.stdout.splitlines()


def test_the_example_type_checks_strictly_against_the_installed_wheel(
    mypy_report: list[str],
) -> None:
    assert [line for line in mypy_report if "tinytool" in line] == []
    assert mypy_report[-1].startswith("Found 2 errors in 1 file (checked 6 source files)")


def test_mypy_rejects_a_plain_string_code_and_a_missing_member(mypy_report: list[str]) -> None:
    errors = [line for line in mypy_report if line.startswith("misuse.py:")]
    assert len(errors) == 2, mypy_report
    assert 'incompatible type "str"; expected "CodeSet"' in errors[0]
    assert '"type[TinyCode]" has no attribute "NO_SUCH_MEMBER"' in errors[1]
