"""The script runner, in process: resolution, outcomes, interpreter state restored."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from recorder_errors import ErrorCode, UsageError
from recorder_runtime.runner import (
    resolve_module,
    resolve_script,
    run_module,
    run_script,
    system_exit_status,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_script_is_script_not_found(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        resolve_script(str(tmp_path / "nope.py"))
    assert info.value.code is ErrorCode.SCRIPT_NOT_FOUND
    assert info.value.exit_code == 2


def test_directory_is_not_a_script(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        resolve_script(str(tmp_path))
    assert info.value.code is ErrorCode.SCRIPT_NOT_FOUND


def test_missing_module_is_module_not_found() -> None:
    with pytest.raises(UsageError) as info:
        resolve_module("surely_no_such_module_here")
    assert info.value.code is ErrorCode.MODULE_NOT_FOUND


def test_package_without_main_is_module_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg_without_main").mkdir()
    write(tmp_path / "pkg_without_main" / "__init__.py", "")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as info:
        resolve_module("pkg_without_main")
    assert info.value.code is ErrorCode.MODULE_NOT_FOUND
    assert "__main__" in info.value.message


def test_module_resolution_failure_in_parent_package_is_module_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_parent").mkdir()
    write(tmp_path / "broken_parent" / "__init__.py", "raise ValueError('no')\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as info:
        resolve_module("broken_parent.child")
    assert info.value.code is ErrorCode.MODULE_NOT_FOUND
    assert "ValueError" in info.value.message


def test_resolve_module_leaves_sys_path_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "plain_mod_for_resolve.py", "")
    monkeypatch.chdir(tmp_path)
    before = list(sys.path)
    target = resolve_module("plain_mod_for_resolve")
    assert sys.path == before
    assert target.filename == str(tmp_path / "plain_mod_for_resolve.py")
    assert target.path0 == str(tmp_path)


def test_script_file_name_is_made_absolute_like_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "s.py", "")
    monkeypatch.chdir(tmp_path)
    target = resolve_script("./s.py")
    assert target.filename == os.getcwd() + os.sep + "./s.py"
    assert target.argv0 == "./s.py"
    assert target.path0 == os.path.realpath(str(tmp_path))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (None, (0, None)),
        (0, (0, None)),
        (3, (3, None)),
        (True, (1, None)),
        ("bye", (1, "bye")),
        ((1, 2), (1, "(1, 2)")),
    ],
)
def test_system_exit_status_follows_python(code: object, expected: tuple[int, str | None]) -> None:
    assert system_exit_status(code) == expected


def test_normal_script_outcome(tmp_path: Path) -> None:
    script = write(tmp_path / "ok.py", "x = 1\n")
    outcome = run_script(str(script), [])
    assert (outcome.kind, outcome.exit_status, outcome.exception) == ("normal", 0, None)
    assert (outcome.exit_code, outcome.exit_label) == (0, None)


def test_sys_exit_outcome(tmp_path: Path) -> None:
    script = write(tmp_path / "ex.py", "import sys\nsys.exit(4)\n")
    outcome = run_script(str(script), [])
    assert (outcome.kind, outcome.exit_status, outcome.exit_code) == ("exit", 4, 4)


def test_uncaught_exception_outcome_has_only_script_frames(tmp_path: Path) -> None:
    script = write(tmp_path / "boom.py", "def f():\n    raise ValueError('x')\nf()\n")
    outcome = run_script(str(script), [])
    assert (outcome.kind, outcome.exit_status) == ("exception", 1)
    assert (outcome.exit_code, outcome.exit_label) == (None, "<exit>")
    exc = outcome.exception
    assert isinstance(exc, ValueError)
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert frames == [str(script), str(script)]


def test_keyboard_interrupt_outcome(tmp_path: Path) -> None:
    script = write(tmp_path / "intr.py", "raise KeyboardInterrupt\n")
    outcome = run_script(str(script), [])
    assert (outcome.kind, outcome.exit_status, outcome.exit_label) == ("interrupt", 130, "<exit>")


def test_syntax_error_is_an_exception_outcome_without_frames(tmp_path: Path) -> None:
    script = write(tmp_path / "bad.py", "x = (\n")
    outcome = run_script(str(script), [])
    assert outcome.kind == "exception"
    assert isinstance(outcome.exception, SyntaxError)
    assert outcome.exception.__traceback__ is None


def test_report_prints_the_exit_message_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write(tmp_path / "msg.py", "raise SystemExit('bye now')\n")
    outcome = run_script(str(script), [])
    assert capsys.readouterr().err == ""
    outcome.report()
    assert capsys.readouterr().err == "bye now\n"


def test_runner_prints_nothing_until_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write(tmp_path / "boom.py", "raise RuntimeError('later')\n")
    outcome = run_script(str(script), [])
    assert capsys.readouterr().err == ""
    outcome.report()
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.endswith("RuntimeError: later\n")
    assert "runner.py" not in err


def test_state_is_restored_after_the_run(tmp_path: Path) -> None:
    script = write(
        tmp_path / "state.py",
        "import sys\nseen = (sys.argv[:], sys.path[0], sys.modules['__main__'].__name__)\n",
    )
    argv, path0, main = sys.argv, sys.path[0], sys.modules["__main__"]
    run_script(str(script), ["a"])
    assert (sys.argv, sys.path[0], sys.modules["__main__"]) == (argv, path0, main)


def test_program_sees_its_own_argv_path_and_main(tmp_path: Path) -> None:
    script = write(
        tmp_path / "see.py",
        "import sys\n"
        "assert sys.argv == [__file__.rsplit('/', 1)[0] + '/see.py', '--trace-dir', 'x']\n"
        "assert sys.path[0] == sys.argv[0].rsplit('/', 1)[0]\n"
        "assert sys.modules['__main__'].__dict__ is globals()\n"
        "assert __name__ == '__main__' and __spec__ is None and __package__ is None\n",
    )
    outcome = run_script(str(script), ["--trace-dir", "x"])
    assert outcome.kind == "normal", outcome.exception


def test_on_started_runs_before_the_program(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = write(tmp_path / "touch.py", f"open({str(marker)!r}, 'w').close()\n")
    seen: list[bool] = []
    run_script(str(script), [], on_started=lambda: seen.append(marker.exists()))
    assert seen == [False]
    assert marker.exists()


def test_failing_on_started_stops_the_program_and_restores_state(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = write(tmp_path / "touch.py", f"open({str(marker)!r}, 'w').close()\n")
    main = sys.modules["__main__"]

    def refuse() -> None:
        raise RuntimeError("cannot start")

    with pytest.raises(RuntimeError):
        run_script(str(script), [], on_started=refuse)
    assert not marker.exists()
    assert sys.modules["__main__"] is main


def test_run_module_sets_spec_and_argv0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "runnable_mod_for_test.py",
        "import sys\n"
        "assert __spec__.name == 'runnable_mod_for_test', __spec__\n"
        "assert sys.argv[0] == __file__\n"
        "assert sys.argv[1:] == ['-x']\n",
    )
    monkeypatch.chdir(tmp_path)
    outcome = run_module("runnable_mod_for_test", ["-x"])
    assert outcome.kind == "normal", outcome.exception


def test_non_daemon_threads_finish_before_the_outcome(tmp_path: Path) -> None:
    marker = tmp_path / "thread-done"
    script = write(
        tmp_path / "thr.py",
        "import threading, time\n"
        "def work():\n"
        "    time.sleep(0.2)\n"
        f"    open({str(marker)!r}, 'w').close()\n"
        "threading.Thread(target=work).start()\n",
    )
    run_script(str(script), [])
    assert marker.exists()
