"""The recorder's policy: one frozen object that says how a recording behaves.

This module is kept so that ``from recorder_runtime.policy import ...`` keeps
working; the policy now lives in :mod:`recorder_runtime.config`, where one
table of fields (``config/fields.py``) derives the environment variables, the
``pyproject.toml`` keys, the command-line options and the API keywords. The
precedence, later wins:

    built-in defaults  <  [tool.codetracer] in pyproject.toml  <  CODETRACER_* environment
                       <  configure_policy(...)  <  explicit overrides (start(**policy), flags)

See ``docs/adr/0010-one-table-of-policy-fields.md``.
"""

from __future__ import annotations

from .config import (
    BACKENDS,
    ENV_VARS,
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
    configure_policy,
    parse_bool,
    policy_snapshot,
    reset_policy,
    resolve_policy,
)

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
    "configure_policy",
    "parse_bool",
    "policy_snapshot",
    "reset_policy",
    "resolve_policy",
]
