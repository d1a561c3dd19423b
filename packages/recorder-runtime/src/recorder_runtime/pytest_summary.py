"""The ``codetracer`` section of pytest's terminal summary.

It runs where the reports arrive: in the only process without pytest-xdist,
in the controller with it (the workers record; their teardown reports carry
``codetracer_trace`` and ``codetracer_warning``, see :mod:`.pytest_recording`).
It says how many traces are on disk and where, lists the trace of every
failed test, and groups recorder warnings by error code, so a run where
recording could not work at all (another tracer installed, say) says so in a
few lines instead of one line per test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

from .pytest_recording import TRACE_ATTR, WARNING_ATTR, Options

__all__ = ["TraceSummary"]

#: Test ids shown per warning group before "and N more".
SHOWN_PER_WARNING = 5


@dataclass
class TraceSummary:
    """Collects the annotated reports and writes the terminal section."""

    options: Options
    invocation_dir: str
    traces: dict[str, str] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and report.nodeid not in self.failed:
            self.failed.append(report.nodeid)
        if report.when != "teardown" or not hasattr(report, TRACE_ATTR):
            return
        trace = getattr(report, TRACE_ATTR)
        if isinstance(trace, str):
            self.traces[report.nodeid] = trace
        warning = getattr(report, WARNING_ATTR, None)
        if isinstance(warning, str):
            self.warnings.setdefault(warning, []).append(report.nodeid)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "codetracer")
        for line in self.lines():
            write(line)

    def lines(self) -> list[str]:
        """The section's text, one string per line."""
        root = self._shown(self.options.root)
        keep = self.options.keep
        count = len(self.traces)
        out = [f"{count} trace{'' if count == 1 else 's'} in {root} (keep: {keep})"]
        failed = [nodeid for nodeid in self.failed if nodeid in self.traces]
        if failed:
            out.append("traces of failed tests:")
            out.extend(f"  {nodeid} -> {self._shown(self.traces[nodeid])}" for nodeid in failed)
        if self.warnings:
            out.append("recorder warnings (test outcomes are not affected):")
            for text, nodeids in self.warnings.items():
                out.append(f"  {_tests(len(nodeids))}: {text}")
                shown = ", ".join(nodeids[:SHOWN_PER_WARNING])
                more = len(nodeids) - SHOWN_PER_WARNING
                out.append(f"    {shown}" + (f" and {more} more" if more > 0 else ""))
        return out

    def _shown(self, path: str) -> str:
        """``path`` relative to where pytest was started when it lies below, else absolute."""
        relative = os.path.relpath(path, self.invocation_dir)
        return path if relative.startswith(os.pardir) else relative


def _tests(count: int) -> str:
    return f"{count} test{'' if count == 1 else 's'}"
