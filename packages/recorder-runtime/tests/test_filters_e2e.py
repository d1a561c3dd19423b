"""End to end through the CLI: filters decide what is recorded; bad filters exit 2 cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HEADER = '[meta]\nname = "{name}"\nversion = 1\n'


def run(
    tmp_path: Path, *cli: str, script_args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CODETRACER_TRACE_FILTER", None)
    return subprocess.run(
        [sys.executable, "-m", "recorder_runtime", "--trace-dir", str(tmp_path / "trace"), *cli],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def events(tmp_path: Path) -> list[dict[str, object]]:
    data = json.loads((tmp_path / "trace" / "trace.json").read_text(encoding="utf-8"))
    return list(data)


def function_names(tmp_path: Path) -> set[str]:
    return {
        str(event["Function"]["name"])  # type: ignore[index]
        for event in events(tmp_path)
        if "Function" in event
    }


def variable_names(tmp_path: Path) -> set[str]:
    return {str(event["VariableName"]) for event in events(tmp_path) if "VariableName" in event}


def metadata(tmp_path: Path) -> dict[str, object]:
    data = json.loads((tmp_path / "trace" / "trace_metadata.json").read_text(encoding="utf-8"))
    return dict(data)


PROGRAM = """
import json
import helper

def noisy(n):
    return n * 2

def main():
    total = helper.work(3) + noisy(4)
    text = json.dumps({"total": total})
    return text

main()
done = True
"""


def make_project(tmp_path: Path) -> Path:
    write(tmp_path / "helper.py", "def work(n):\n    inner = n + 1\n    return inner\n")
    return write(tmp_path / "main.py", PROGRAM)


def test_skipped_code_produces_no_events(tmp_path: Path) -> None:
    script = make_project(tmp_path)
    user = write(
        tmp_path / "filters" / "skip.toml",
        HEADER.format(name="skip")
        + '[[scope.rules]]\nselector = "pkg:helper"\nexec = "skip"\n'
        + '[[scope.rules]]\nselector = "obj:__main__.noisy"\nexec = "skip"\n',
    )
    done = run(tmp_path, "--format", "json", "--trace-filter", str(user), str(script))
    assert done.returncode == 0, done.stderr
    names = function_names(tmp_path)
    assert "main" in names
    assert not names & {"work", "noisy", "dumps", "encode", "iterencode"}
    paths = json.loads((tmp_path / "trace" / "trace_paths.json").read_text())
    assert paths == [str(script)]
    assert "inner" not in variable_names(tmp_path)


def test_without_a_filter_user_modules_are_recorded_and_the_stdlib_is_not(tmp_path: Path) -> None:
    script = make_project(tmp_path)
    done = run(tmp_path, "--format", "json", str(script))
    assert done.returncode == 0, done.stderr
    names = function_names(tmp_path)
    assert {"main", "work", "noisy"} <= names
    assert not names & {"dumps", "encode", "iterencode"}


def test_project_default_filter_is_discovered_next_to_the_script(tmp_path: Path) -> None:
    script = make_project(tmp_path)
    write(
        tmp_path / ".codetracer" / "trace-filter.toml",
        HEADER.format(name="project")
        + '[[scope.rules]]\nselector = "file:helper.py"\nexec = "skip"\n',
    )
    done = run(tmp_path, "--format", "json", str(script))
    assert done.returncode == 0, done.stderr
    assert "work" not in function_names(tmp_path)
    chain = metadata(tmp_path)["trace_filter"]["filters"]  # type: ignore[index]
    assert [entry["name"] for entry in chain] == ["builtin-default", "project"]


def test_dropped_values_are_omitted_and_a_dropped_return_is_marked(tmp_path: Path) -> None:
    script = make_project(tmp_path)
    user = write(
        tmp_path / "drop.toml",
        HEADER.format(name="drop")
        + '[[scope.rules]]\nselector = "obj:__main__.main"\n'
        + '[[scope.rules.value_patterns]]\nselector = "local:text"\naction = "drop"\n'
        + '[[scope.rules.value_patterns]]\nselector = "ret:main"\naction = "drop"\n',
    )
    done = run(tmp_path, "--format", "json", "--trace-filter", str(user), str(script))
    assert done.returncode == 0, done.stderr
    assert "text" not in variable_names(tmp_path)
    assert '"<dropped>"' in (tmp_path / "trace" / "trace.json").read_text()
    stats = metadata(tmp_path)["trace_filter"]["stats"]  # type: ignore[index]
    assert stats["value_drops"]["local"] >= 1
    assert stats["value_drops"]["return"] >= 1
    assert stats["scopes_skipped"] >= 1


def test_a_redaction_rule_applies_to_code_run_through_run_path(tmp_path: Path) -> None:
    """Its frames are named ``<run_path>``: the module name comes from the file path."""
    write(
        tmp_path / "tools" / "job.py",
        """
        def work():
            canary = "c4n4ry-run-path-value"
            return len(canary)

        result = work()
        """,
    )
    script = write(tmp_path / "main.py", "import runpy\nrunpy.run_path('tools/job.py')\n")
    user = write(
        tmp_path / "redact.toml",
        HEADER.format(name="redact")
        + '[[scope.rules]]\nselector = "pkg:tools.job"\n'
        + '[[scope.rules.value_patterns]]\nselector = "local:canary"\naction = "redact"\n',
    )
    done = run(tmp_path, "--format", "json", "--trace-filter", str(user), str(script))
    assert done.returncode == 0, done.stderr
    assert "work" in function_names(tmp_path)
    trace = (tmp_path / "trace" / "trace.json").read_text(encoding="utf-8")
    assert "c4n4ry-run-path-value" not in trace
    assert "<redacted>" in trace


def test_redaction_and_drop_counters_count_every_recorded_value(tmp_path: Path) -> None:
    calls = 5
    script = write(
        tmp_path / "prog.py",
        f"""
        def get_token(password, tmp):
            return password + "-t"

        for i in range({calls}):
            get_token("pw-%d" % i, i)
        """,
    )
    user = write(
        tmp_path / "drop.toml",
        HEADER.format(name="drop")
        + '[[scope.rules]]\nselector = "pkg:*"\n'
        + '[[scope.rules.value_patterns]]\nselector = "arg:tmp"\naction = "drop"\n',
    )
    done = run(tmp_path, "--format", "json", "--trace-filter", str(user), str(script))
    assert done.returncode == 0, done.stderr
    stats = metadata(tmp_path)["trace_filter"]["stats"]  # type: ignore[index]
    assert stats["value_redactions"]["argument"] == calls  # password, once per call
    assert stats["value_redactions"]["return"] == calls  # get_token's return value
    assert stats["value_drops"]["argument"] == calls  # tmp
    assert stats["value_redactions"]["local"] >= calls  # password at each step inside


def test_metadata_records_the_chain_with_paths_and_hashes(tmp_path: Path) -> None:
    script = make_project(tmp_path)
    user = write(tmp_path / "mine.toml", HEADER.format(name="mine"))
    done = run(tmp_path, "--format", "json", "--trace-filter", str(user), str(script))
    assert done.returncode == 0, done.stderr
    chain = metadata(tmp_path)["trace_filter"]["filters"]  # type: ignore[index]
    assert chain[0]["path"] == "<inline:builtin-default>"
    assert chain[1]["path"] == str(user)
    assert len(chain[1]["sha256"]) == 64


def test_a_bad_filter_exits_2_with_one_located_line_and_no_traceback(tmp_path: Path) -> None:
    script = make_project(tmp_path)
    bad = write(
        tmp_path / "bad.toml", HEADER.format(name="bad") + '[scope]\ndefault_exec = "maybe"\n'
    )
    done = run(tmp_path, "--format", "json", "--trace-filter", str(bad), str(script))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{bad}:5:" in done.stderr
    assert "ERR_INVALID_FILTER" in done.stderr
    assert done.stdout == ""


def test_a_fifo_filter_exits_2_without_blocking(tmp_path: Path) -> None:
    script = make_project(tmp_path)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    done = run(tmp_path, "--format", "json", "--trace-filter", str(fifo), str(script))
    assert done.returncode == 2
    assert "is a FIFO" in done.stderr
    assert "Traceback" not in done.stderr
