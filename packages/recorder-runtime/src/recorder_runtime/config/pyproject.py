"""The ``[tool.codetracer]`` table of the project's ``pyproject.toml``: the layer above defaults.

Which file: the nearest ``pyproject.toml`` in the current working directory or
one of its parents (the directory the recording is started from, not the
script's: one project, one answer, whatever script runs). The search stops at
the first ``pyproject.toml`` found, with or without the table, as tools that
read ``[tool.*]`` tables usually do; a file that does not mention
``codetracer`` at all is not even parsed, so a project's unrelated (or broken)
``pyproject.toml`` costs one read and never fails a recording.

Keys are the policy field names; ``-`` and ``_`` are interchangeable
(``on-recorder-error`` or ``on_recorder_error``). Values are TOML values of the
field's type (``true``, ``10``, ``"disable"``, a list of paths), or the same
words the environment accepts. Relative paths (``log_file``,
``trace_filter``) are relative to the file's directory. An unreadable or
malformed file, a ``tool.codetracer`` that is not a table, an unknown key and
an invalid value are all ``ERR_INVALID_POLICY_VALUE`` (exit 2) naming the file
and the key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from recorder_errors import ErrorCode, UsageError, usage

from .fields import Row

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["FILE_NAME", "TABLE", "find_pyproject", "peek_setting", "read_settings"]

FILE_NAME = "pyproject.toml"
TABLE = "[tool.codetracer]"


def find_pyproject(start: str | os.PathLike[str]) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or a parent directory, if any."""
    here = Path(os.path.abspath(start))
    for directory in (here, *here.parents):
        candidate = directory / FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def read_settings(path: Path, table_rows: Sequence[Row]) -> dict[str, object]:
    """The validated values of ``[tool.codetracer]`` in ``path`` (empty when there is none)."""
    text = _read_text(path)
    if "codetracer" not in text:
        return {}
    table = _codetracer_table(path, text)
    by_name = {row.name: row for row in table_rows}
    values: dict[str, object] = {}
    for key, raw in table.items():
        name = key.replace("-", "_")
        row = by_name.get(name)
        if row is None:
            raise _config_error(
                path,
                key,
                f"unknown key {key!r} in {TABLE} of {path}; known keys: {', '.join(by_name)}",
            )
        if name in values:
            raise _config_error(path, key, f"{TABLE} of {path} sets {name!r} twice")
        source = f"{path} {TABLE} {key}"
        value = row.spec.parse(_relative_to(path, raw) if row.spec.paths else raw, source)
        values[name] = value
    return values


def peek_setting(path: Path, row: Row) -> object | None:
    """One field's value from ``path``, or ``None`` when absent or anything is wrong.

    For decisions needed before the policy is resolved (should a usage error be
    reported as JSON?): the full, strict read still happens afterwards and reports
    what is wrong with the file.
    """
    try:
        text = _read_text(path)
        if "codetracer" not in text:
            return None
        table = _codetracer_table(path, text)
        for key in (row.name, row.name.replace("_", "-")):
            if key in table:
                return row.spec.parse(table[key], f"{path} {TABLE} {key}")
    except UsageError:
        return None
    return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _config_error(path, None, f"cannot read {path}: {exc}") from exc


def _codetracer_table(path: Path, text: str) -> Mapping[str, object]:
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
        raise _config_error(path, None, f"cannot parse {path}: {exc}") from exc
    tool = data.get("tool", {})
    table = tool.get("codetracer", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise _config_error(path, "tool.codetracer", f"{TABLE} of {path} is not a table")
    return table


def _relative_to(path: Path, raw: object) -> object:
    """Relative paths (a string, ``a::b``, or a list) made relative to ``path``'s directory."""
    base = path.parent
    if isinstance(raw, str):
        return "::".join(_join(base, part) for part in raw.split("::"))
    if isinstance(raw, list):
        return [_join(base, item) if isinstance(item, str) else item for item in raw]
    return raw


def _join(base: Path, part: str) -> str:
    if not part.strip() or os.path.isabs(part):
        return part
    return str(base / part)


def _config_error(path: Path, key: str | None, message: str) -> UsageError:
    context: dict[str, object] = {"file": str(path), "source": f"{path} {TABLE}"}
    if key is not None:
        context["key"] = key
    return usage(ErrorCode.INVALID_POLICY_VALUE, message, **context)
