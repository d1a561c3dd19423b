"""Recording each test of a pytest run into its own trace (``pytest --codetracer DIR``).

This is the side of the plugin that runs tests (the only process without
pytest-xdist, each worker with it). For every test it starts one session
through the public API (``recorder_runtime.start``/``stop``), writes the trace
under ``DIR/<name from the node id>`` (:mod:`.pytest_names`), applies the keep
policy once the test's outcome is known, and leaves what happened on the
test's teardown report (``codetracer_trace``, ``codetracer_warning``), which
pytest-xdist carries to the controller, where :mod:`.pytest_summary` reports it.

What is recorded:

* by default the test call only: the session is started with the test
  function's file as activation path, so recording begins when the test
  function starts and ends when it returns (pytest's own frames around it
  are never recorded);
* with ``--codetracer-fixtures``, setup, call and teardown: one session from
  before the setup phase to after the teardown phase, pytest's machinery left
  out by the ``pytest_filter.toml`` filter.

Why ``disable`` is the plugin's default for recorder failures: a recording must
not change a test's outcome, so a failure to record becomes a warning in the
terminal summary and the test runs on untraced. ``--codetracer-on-error abort``
turns such a failure into an error of the test, for whoever prefers to know at
once.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest

import recorder_runtime as rr
from recorder_errors import ErrorCode, RecorderError, from_exception, usage

from .output import formats
from .pytest_names import trace_dir_name
from .staging import TRACE_FILES

__all__ = ["Options", "TestRecorder", "check_options"]

#: Report attributes (plain strings or None, so pytest-xdist can serialize them).
TRACE_ATTR = "codetracer_trace"
WARNING_ATTR = "codetracer_warning"


@dataclass(frozen=True)
class Options:
    """The plugin's command-line options, resolved once per process."""

    root: str
    keep: str = "all"
    fixtures: bool = False
    on_error: str = "disable"
    format: str = "json"

    @classmethod
    def from_config(cls, config: pytest.Config) -> Options:
        """Read the options; ``DIR`` is made absolute against pytest's invocation directory."""
        root = os.path.join(str(config.invocation_params.dir), config.getoption("codetracer_dir"))
        return cls(
            root=os.path.abspath(root),
            keep=config.getoption("codetracer_keep"),
            fixtures=bool(config.getoption("codetracer_fixtures")),
            on_error=config.getoption("codetracer_on_error"),
            format=config.getoption("codetracer_format"),
        )


def check_options(options: Options) -> None:
    """Refuse what cannot work before any test runs: an unknown format, DIR not a directory."""
    formats.lookup(options.format)
    if os.path.lexists(options.root) and not os.path.isdir(options.root):
        raise usage(
            ErrorCode.TRACE_DIR_CONFLICT,
            f"{options.root} exists and is not a directory",
            path=options.root,
        )


@dataclass
class _TestTrace:
    """One test's recording: where it goes and what happened to it so far."""

    path: str
    recording: bool = False
    written: bool = False
    failed: bool = False
    warning: str | None = None

    def warn(self, text: str) -> None:
        self.warning = text if self.warning is None else f"{self.warning}; {text}"


class TestRecorder:
    """The hooks that record each test (registered only when ``--codetracer`` is given)."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, options: Options) -> None:
        self.options = options
        self.filters = _filter_chain()
        self._tests: dict[str, _TestTrace] = {}

    # ------------------------------------------------------------------ phases

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """With ``--codetracer-fixtures``: start before the first fixture is set up."""
        if self.options.fixtures and _records(item):
            self._start(item, activation_path=None)
        return (yield)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """Without ``--codetracer-fixtures``: record the test call, from the test function on.

        ``trylast`` makes this the innermost wrapper: the recorder's output proxies sit
        inside pytest's capture, so the test's output reaches both.
        """
        if self.options.fixtures or not _records(item):
            return (yield)
        self._start(item, activation_path=_test_file(item))
        return (yield from self._stop_after(item))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """With ``--codetracer-fixtures``: stop after the last finalizer ran."""
        if not (self.options.fixtures and item.nodeid in self._tests):
            return (yield)
        return (yield from self._stop_after(item))

    def _stop_after(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """Run the phase, then stop; a phase that raised keeps its exception (never replaced
        by a recorder failure, which is then a warning whatever ``--codetracer-on-error``)."""
        try:
            result = yield
        except BaseException:
            self._stop(item, exit_code=1, may_fail=False)
            raise
        self._stop(item, exit_code=1 if self._tests[item.nodeid].failed else 0, may_fail=True)
        return result

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Note failures of every phase; after teardown apply the keep policy and annotate.

        ``tryfirst`` makes this the outermost wrapper: it sees the final report (after
        pytest's xfail handling has rewritten it).
        """
        report = yield
        test = self._tests.get(item.nodeid)
        if test is None:
            return report
        test.failed = test.failed or report.failed
        if report.when == "teardown":
            del self._tests[item.nodeid]
            self._settle(test)
            setattr(report, TRACE_ATTR, test.path if test.written else None)
            setattr(report, WARNING_ATTR, test.warning)
        return report

    # --------------------------------------------------------------- sessions

    def _start(self, item: pytest.Item, activation_path: str | None) -> None:
        test = _TestTrace(os.path.join(self.options.root, trace_dir_name(item.nodeid)))
        self._tests[item.nodeid] = test
        failure: RecorderError | None = None
        try:
            rr.start(
                test.path,
                format=self.options.format,
                activation_path=activation_path,
                on_recorder_error=self.options.on_error,
                trace_filter=self.filters,
            )
        except RecorderError as err:
            failure = err  # reported outside the handler: no chained traceback under abort
        if failure is None:
            test.recording = True
        else:
            self._failed(test, f"not recorded: {_describe(failure)}", may_fail=True)

    def _stop(self, item: pytest.Item, exit_code: int, *, may_fail: bool) -> None:
        test = self._tests.get(item.nodeid)
        if test is None or not test.recording:
            return
        test.recording = False
        failure: RecorderError | None = None
        try:
            failure = rr.stop(exit_code=exit_code).error
        except RecorderError as err:
            failure = err  # fatal under abort or require_trace; reported outside the handler
        test.written = _is_trace(test.path)
        if failure is not None:
            state = "trace partial" if test.written else "not recorded"
            self._failed(test, f"{state}: {_describe(failure)}", may_fail)

    def _failed(self, test: _TestTrace, text: str, may_fail: bool) -> None:
        """A recorder failure: a warning, or under ``abort`` the phase fails with it (one line,
        no traceback through the recorder)."""
        if may_fail and self.options.on_error == "abort":
            pytest.fail(f"codetracer: {text}", pytrace=False)
        test.warn(text)

    def _settle(self, test: _TestTrace) -> None:
        """``--codetracer-keep failed``: remove the trace of a test that did not fail."""
        if self.options.keep == "all" or test.failed or not test.written:
            return
        try:
            _remove_trace(test.path)
        except OSError as exc:
            test.warn(f"trace not removed: {_describe(from_exception(exc))}")
            return
        test.written = False


def _records(item: pytest.Item) -> bool:
    """Only Python test functions are recorded (not doctests or other collected items)."""
    return isinstance(item, pytest.Function)


def _test_file(item: pytest.Item) -> str:
    """The file whose code starts the recording: the test function's own (decorators unwrapped)."""
    function: object = getattr(item, "obj", None)
    with contextlib.suppress(ValueError):  # a __wrapped__ cycle: keep the outermost
        function = inspect.unwrap(function)  # type: ignore[arg-type]
    code = getattr(function, "__code__", None)
    filename = getattr(code, "co_filename", None)
    return filename if isinstance(filename, str) else str(item.path)


def _filter_chain() -> tuple[str, ...]:
    """The plugin's filter, then the user's filters (environment or pyproject.toml, later wins).

    An explicit ``trace_filter`` replaces the configured chain, so the configured one is
    read here and kept after the plugin's own. An invalid configuration is left for
    ``start`` to report (once per test, as a warning or an error).
    """
    try:
        configured = rr.policy_snapshot()["trace_filter"]
    except RecorderError:
        configured = []
    own = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytest_filter.toml")
    user = [str(path) for path in configured] if isinstance(configured, list) else []
    return (own, *user)


def _describe(err: RecorderError) -> str:
    hint = err.context.get("hint")
    return f"{err.code.value}: {err.message}" + (f" (hint: {hint})" if hint else "")


def _is_trace(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "trace_metadata.json"))


def _remove_trace(path: str) -> None:
    """Remove the recorder's files from ``path``, then ``path`` itself if nothing else is left."""
    for name in TRACE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(path, name))
    with contextlib.suppress(OSError):  # not empty: someone else's files stay
        os.rmdir(path)
