"""The recorder's configuration: one table of policy fields and everything derived from it.

Modules, one responsibility each:

* :mod:`.parsers` — how a raw value becomes a canonical one, or a classified error;
* :mod:`.fields` — the table itself (:class:`Policy`, one row per field);
* :mod:`.pyproject` — the ``[tool.codetracer]`` table of the project's ``pyproject.toml``;
* :mod:`.layers` — defaults < pyproject < environment < ``configure_policy`` < overrides;
* :mod:`.arguments` — the argparse options, their ``--help`` lines and the epilog;
* :mod:`.reference` — the README's table of fields, generated from the table.

``recorder_runtime.policy`` re-exports the public names for existing imports.
See ``docs/adr/0010-one-table-of-policy-fields.md``.
"""

from __future__ import annotations

from .fields import (
    BACKENDS,
    GLOBALS_MODES,
    IO_CAPTURE_MODES,
    LOG_LEVELS,
    ON_RECORDER_ERROR_VALUES,
    Backend,
    GlobalsMode,
    IoCapture,
    LogLevel,
    OnRecorderError,
    Policy,
    Row,
    Spec,
    rows,
    setting,
)
from .layers import (
    ENV_VARS,
    configure_policy,
    policy_snapshot,
    reset_policy,
    resolve_policy,
    resolve_table,
)
from .parsers import parse_bool

__all__ = [
    "BACKENDS",
    "ENV_VARS",
    "GLOBALS_MODES",
    "IO_CAPTURE_MODES",
    "LOG_LEVELS",
    "ON_RECORDER_ERROR_VALUES",
    "Backend",
    "GlobalsMode",
    "IoCapture",
    "LogLevel",
    "OnRecorderError",
    "Policy",
    "Row",
    "Spec",
    "configure_policy",
    "parse_bool",
    "policy_snapshot",
    "reset_policy",
    "resolve_policy",
    "resolve_table",
    "rows",
    "setting",
]
