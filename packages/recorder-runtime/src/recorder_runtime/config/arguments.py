"""The command line's view of the policy table: argparse options, their help, the epilog.

Why here and not in ``cli.py``: the options are derived from the table in
:mod:`.fields`, so a new field gets its flag, its ``--no-`` form, its help
line (default and environment variable included) and its error source without
touching the CLI. Every option's argparse default is ``None`` ("not given"),
so a flag overrides the lower layers only when it is typed; the real default
is shown in the help text instead.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from .fields import Policy, Row, rows
from .pyproject import FILE_NAME, TABLE

__all__ = [
    "EPILOG",
    "FLAG_SOURCES",
    "add_policy_arguments",
    "help_line",
    "policy_overrides",
]

#: Policy field -> the flag named in error messages.
FLAG_SOURCES: Mapping[str, str] = {row.name: row.spec.flag for row in rows()}

EPILOG = f"""\
configuration, later wins: built-in defaults
  < {TABLE} in the nearest {FILE_NAME}, from the current directory up
    (keys are the option names without "--": on-recorder-error = "disable")
  < CODETRACER_* environment variables < command-line options.
CODETRACER_PYTHON_RECORDER_DISABLED=1 runs the program with no recorder at all.

exit status:
  0    the recording succeeded, whatever the program did (one note if it failed)
  N    the program's own status, with --propagate-script-exit, or when nothing
       records (CODETRACER_PYTHON_RECORDER_DISABLED, or a start failure under
       --on-recorder-error=disable); an uncaught KeyboardInterrupt dies by SIGINT
  2    usage: options, script, format, policy values, {FILE_NAME}, trace directory
  10   environment: cannot write the trace, disk full, ERR_TRACE_MISSING
  20   target: the program broke the recorder's hooks
  70   internal: a recorder bug
"""


def help_line(row: Row) -> str:
    """The help of one option: what it does, its default and its environment variable."""
    return f"{row.spec.help} (default: {row.shown_default}; env {row.spec.env})"


def add_policy_arguments(
    parser: argparse.ArgumentParser, table: type = Policy
) -> list[argparse.Action]:
    """Add one option per row (booleans as ``--x``/``--no-x``); return the actions."""
    actions: list[argparse.Action] = []
    for row in rows(table):
        spec = row.spec
        text = help_line(row).replace("%", "%%")  # argparse %-formats help strings
        if row.switch:
            action = parser.add_argument(
                spec.flag,
                dest=row.name,
                default=None,
                help=text,
                action=argparse.BooleanOptionalAction,
            )
        else:
            action = parser.add_argument(
                spec.flag,
                dest=row.name,
                default=None,
                help=text,
                action="append" if spec.repeatable else "store",
                metavar=spec.metavar,
            )
        actions.append(action)
    return actions


def policy_overrides(namespace: argparse.Namespace, table: type = Policy) -> dict[str, object]:
    """The policy values typed on the command line (``None`` for those not given)."""
    return {row.name: getattr(namespace, row.name) for row in rows(table)}
