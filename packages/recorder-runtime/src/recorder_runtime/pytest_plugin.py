"""The pytest plugin (entry point ``pytest11: codetracer``): ``pytest --codetracer DIR``.

Why this module holds only options: pytest imports every installed plugin in
every run, this project's own test suites included. Without ``--codetracer``
the plugin adds its options and nothing else: no recorder module is imported,
no hook runs per test, nothing changes. With it, :mod:`.pytest_recording`
records each test and :mod:`.pytest_summary` reports where the traces are
(the README's "Recording tests with pytest" section describes the options).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

__all__ = [
    "KEEP_CHOICES",
    "ON_ERROR_CHOICES",
    "RECORDER_PLUGIN",
    "SUMMARY_PLUGIN",
    "pytest_addoption",
    "pytest_configure",
]

RECORDER_PLUGIN = "codetracer-recorder"
SUMMARY_PLUGIN = "codetracer-summary"
KEEP_CHOICES = ("all", "failed")
ON_ERROR_CHOICES = ("disable", "abort")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("codetracer", "recording tests into CodeTracer traces")
    group.addoption(
        "--codetracer",
        metavar="DIR",
        dest="codetracer_dir",
        default=None,
        help="record each test into its own trace directory under DIR (named from the test id)",
    )
    group.addoption(
        "--codetracer-keep",
        choices=KEEP_CHOICES,
        default="all",
        dest="codetracer_keep",
        help="which traces stay on disk: all (default), or only those of failed tests",
    )
    group.addoption(
        "--codetracer-fixtures",
        action="store_true",
        default=False,
        dest="codetracer_fixtures",
        help="record the fixtures' setup and teardown too, not only the test call",
    )
    group.addoption(
        "--codetracer-on-error",
        choices=ON_ERROR_CHOICES,
        default="disable",
        dest="codetracer_on_error",
        help="a recorder failure: disable (default: the test runs untraced, a warning in the "
        "summary) or abort (the test errors)",
    )
    group.addoption(
        "--codetracer-format",
        metavar="FORMAT",
        default="json",
        dest="codetracer_format",
        help="trace format: json (default) or binary",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the recording hooks, and the summary where reports arrive, when asked to."""
    if config.getoption("codetracer_dir", None) is None:
        return
    import pytest

    from recorder_errors import RecorderError

    from .pytest_recording import Options, TestRecorder, check_options
    from .pytest_summary import TraceSummary

    options = Options.from_config(config)
    try:
        check_options(options)
    except RecorderError as err:
        raise pytest.UsageError(f"--codetracer: {err.code.value}: {err.message}") from None
    config.pluginmanager.register(TestRecorder(options), RECORDER_PLUGIN)
    if not hasattr(config, "workerinput"):  # a pytest-xdist worker reports to its controller
        invocation_dir = str(config.invocation_params.dir)
        config.pluginmanager.register(TraceSummary(options, invocation_dir), SUMMARY_PLUGIN)
