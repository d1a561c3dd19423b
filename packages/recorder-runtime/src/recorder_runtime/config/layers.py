"""The layers of the policy and their merge: one order, computed in one place.

Why: every decision a user can script must be predictable and inspectable, so
the effective values are computed here, later wins:

    built-in defaults  <  [tool.codetracer] in pyproject.toml  <  CODETRACER_* environment
                       <  configure_policy(...)  <  explicit overrides (start(**policy), flags)

Every value is validated wherever it comes from (by the parser of its row in
:mod:`.fields`), and an invalid one is ``ERR_INVALID_POLICY_VALUE`` naming its
source. Nothing runs at import time: a bad environment variable or
``pyproject.toml`` is reported when a policy is resolved, never as an import
failure (the reference's defect).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from recorder_errors import ErrorCode, UsageError, usage

from .fields import Policy, Row, rows
from .pyproject import find_pyproject, peek_setting, read_settings

__all__ = [
    "ENV_VARS",
    "configure_policy",
    "early_value",
    "policy_snapshot",
    "reset_policy",
    "resolve_policy",
    "resolve_table",
]

#: Environment variable of each policy field (derived from the table).
ENV_VARS: Mapping[str, str] = {row.name: row.spec.env for row in rows()}

P = TypeVar("P")

_lock = threading.Lock()
_configured: dict[str, object] = {}


def _unknown(name: str, source: str, table_rows: Iterable[Row]) -> UsageError:
    known = ", ".join(row.name for row in table_rows)
    return usage(
        ErrorCode.INVALID_POLICY_VALUE,
        f"unknown policy field {name!r} in {source}; known fields: {known}",
        source=source,
        field=name,
    )


def _validated(
    fields: Mapping[str, object],
    source_of: Callable[[str], str],
    table_rows: tuple[Row, ...],
    *,
    api: bool,
) -> dict[str, object]:
    """Parse every non-None value; all are checked before anything is applied."""
    by_name = {row.name: row for row in table_rows}
    values: dict[str, object] = {}
    for name, value in fields.items():
        if value is None:
            continue
        row = by_name.get(name)
        if row is None:
            raise _unknown(name, source_of(name), table_rows)
        if api and not row.spec.api:
            raise usage(
                ErrorCode.INVALID_POLICY_VALUE,
                f"{name!r} is not accepted by {source_of(name)}: set it with {row.spec.flag}, "
                f"{row.spec.env} or [tool.codetracer] in pyproject.toml",
                source=source_of(name),
                field=name,
            )
        if row.spec.repeatable:
            value = _as_list_if_iterable(value)
        values[name] = row.spec.parse(value, source_of(name))
    return values


def _as_list_if_iterable(value: object) -> object:
    # A generator or set of paths is accepted by the API; the parser wants a list.
    if isinstance(value, (str, os.PathLike, list, tuple)):
        return value
    if isinstance(value, Iterable):
        return list(value)
    return value


def _from_environment(environ: Mapping[str, str], table_rows: tuple[Row, ...]) -> dict[str, object]:
    """Values from ``CODETRACER_*`` variables; an empty or blank variable counts as unset."""
    values: dict[str, object] = {}
    for row in table_rows:
        raw = environ.get(row.spec.env)
        if raw is None or not raw.strip():
            continue
        values[row.name] = row.spec.parse(raw, f"environment variable {row.spec.env}")
    return values


def _from_pyproject(
    cwd: str | os.PathLike[str] | None, table_rows: tuple[Row, ...]
) -> dict[str, object]:
    try:
        path = find_pyproject(os.getcwd() if cwd is None else cwd)
    except OSError:  # the current directory was removed: there is no project to read
        path = None
    return {} if path is None else read_settings(path, table_rows)


def early_value(
    name: str,
    environ: Mapping[str, str],
    cwd: str | os.PathLike[str] | None = None,
) -> object | None:
    """A field's value from pyproject and environment alone, never raising (``None`` if unset).

    The CLI needs ``json_errors`` before it can resolve the policy (an argparse
    error must already be reported in the requested form); an invalid value here
    counts as unset, and the strict resolution reports it afterwards.
    """
    row = next(r for r in rows() if r.name == name)
    value: object | None = None
    try:
        path = find_pyproject(os.getcwd() if cwd is None else cwd)
    except OSError:
        path = None
    if path is not None:
        value = peek_setting(path, row)
    raw = environ.get(row.spec.env)
    if raw is not None and raw.strip():
        try:
            value = row.spec.parse(raw, row.spec.env)
        except UsageError:
            pass
    return value


def configure_policy(**fields: object) -> None:
    """Set process-wide policy values (the API layer, above the environment).

    The keywords are the policy fields (see ``recorder_runtime.policy.Policy``
    and the README's table). ``None`` leaves a field unchanged. The call is
    all-or-nothing: if one value is invalid or one name unknown, nothing is
    applied and ``ERR_INVALID_POLICY_VALUE`` names it as
    ``configure_policy(field=...)``.
    """
    values = _validated(fields, lambda name: f"configure_policy({name}=...)", rows(), api=True)
    with _lock:
        _configured.update(values)


def reset_policy() -> None:
    """Forget every ``configure_policy`` value (for tests and long-lived hosts)."""
    with _lock:
        _configured.clear()


def resolve_table(
    table: type[P],
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    configured: Mapping[str, object] | None = None,
    command_line: bool = False,
) -> P:
    """Resolve any table declared with :func:`.fields.setting` (``Policy``, or one in a test).

    ``command_line`` says the overrides are command-line flags, which may set
    every field; otherwise they come from the API and fields marked
    ``api=False`` are refused.
    """
    table_rows = rows(table)
    project = _from_pyproject(cwd, table_rows)
    env_values = _from_environment(os.environ if environ is None else environ, table_rows)
    names = dict(sources or {})
    explicit = _validated(
        dict(overrides or {}),
        lambda name: names.get(name, f"policy argument {name}"),
        table_rows,
        api=not command_line,
    )
    merged: dict[str, object] = {**project, **env_values, **dict(configured or {}), **explicit}
    return table(**merged)


def resolve_policy(
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    command_line: bool = False,
) -> Policy:
    """The effective policy: defaults < pyproject < environment < ``configure_policy`` < overrides.

    ``overrides`` holds explicit values (``start(..., **policy)`` or CLI flags,
    with ``command_line=True``); ``None`` values are ignored. ``sources`` names
    where each override came from for error messages (the CLI passes
    ``{"on_recorder_error": "--on-recorder-error", ...}``); the default is
    ``policy argument NAME``. ``environ`` defaults to ``os.environ``; ``cwd``
    (where the ``pyproject.toml`` search starts) to the current directory.
    """
    with _lock:
        configured = dict(_configured)
    return resolve_table(
        Policy,
        overrides,
        environ=environ,
        sources=sources,
        cwd=cwd,
        configured=configured,
        command_line=command_line,
    )


def policy_snapshot(*, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The effective values (pyproject, environment and ``configure_policy``), as plain data."""
    return resolve_policy(environ=environ).to_dict()
