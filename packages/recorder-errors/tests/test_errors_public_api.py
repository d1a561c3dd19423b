"""The package's public surface: exports, public module paths, no dependencies."""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest

import recorder_errors

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def test_every_name_in_all_is_importable() -> None:
    for name in recorder_errors.__all__:
        assert hasattr(recorder_errors, name), name


def test_all_lists_the_contract_names() -> None:
    contract = {
        "ErrorKind",
        "ErrorCode",
        "RecorderError",
        "UsageError",
        "EnvironmentError",
        "TargetError",
        "InternalError",
        "usage",
        "enverr",
        "target",
        "bug",
        "ensure_usage",
        "ensure_env",
        "ensure_target",
        "ensure_internal",
        "from_exception",
        "exit_code_for",
        "codes_table_markdown",
    }
    assert contract <= set(recorder_errors.__all__)


@pytest.mark.parametrize(
    "name",
    [
        name
        for name in recorder_errors.__all__
        # ErrorDict is a TypedDict: a plain dict at runtime, never in a traceback.
        if inspect.isclass(getattr(recorder_errors, name)) and name != "ErrorDict"
    ],
)
def test_public_classes_show_the_public_module_path(name: str) -> None:
    cls = getattr(recorder_errors, name)
    assert cls.__module__ == "recorder_errors"


def test_version_has_one_source_the_package_attribute() -> None:
    # hatchling reads the version from __init__.py (dynamic): pyproject must not repeat it.
    pyproject = (PACKAGE_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.MULTILINE)
    assert re.search(r'^path = "src/recorder_errors/__init__.py"$', pyproject, re.MULTILINE)
    assert not re.search(r"^version = ", pyproject, re.MULTILINE)


def test_version_matches_the_installed_distribution() -> None:
    assert recorder_errors.__version__ == importlib.metadata.version("recorder-errors")


def test_package_declares_no_runtime_dependencies() -> None:
    pyproject = (PACKAGE_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r"^dependencies = \[\]$", pyproject, re.MULTILINE)
