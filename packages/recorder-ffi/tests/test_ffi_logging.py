"""Logging discipline: a named logger, a NullHandler, the root logger untouched."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_installs_a_null_handler_and_leaves_the_root_logger_alone() -> None:
    result = run_python(
        """
        import logging
        root_handlers = list(logging.getLogger().handlers)
        root_level = logging.getLogger().level
        import recorder_ffi
        recorder = logging.getLogger("recorder")
        assert any(isinstance(h, logging.NullHandler) for h in recorder.handlers)
        assert logging.getLogger().handlers == root_handlers
        assert logging.getLogger().level == root_level
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_disable_warning_does_not_reach_stdout_or_stderr_without_a_handler() -> None:
    # No handler configured by the application: the NullHandler keeps logging's
    # "last resort" handler from printing the recorder's warning on stderr.
    result = run_python(
        """
        from recorder_ffi import BoundaryGuard
        guard = BoundaryGuard(policy="disable")
        def callback(code, line):
            raise ValueError("boom")
        print(guard.guard_callback("line", callback)(None, 1))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "None\n"
    assert result.stderr == ""


def test_application_logging_still_works_after_a_failure() -> None:
    # reliability.md P6: a root-logger call before the app's basicConfig hides the app's logs.
    result = run_python(
        """
        import logging, sys
        from recorder_ffi import BoundaryGuard
        guard = BoundaryGuard(policy="disable")
        def callback(code, line):
            raise ValueError("boom")
        guard.guard_callback("line", callback)(None, 1)
        logging.basicConfig(stream=sys.stdout, format="%(name)s:%(message)s")
        logging.getLogger("app").warning("hello")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "app:hello\n"
