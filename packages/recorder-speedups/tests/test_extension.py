"""The extension itself: built in the workspace, typed for the guard, safe when misused.

That it records exactly what the Python reference records is tested where the recorder is:
packages/recorder-runtime/tests/test_native_differential.py.
"""

from __future__ import annotations

import inspect
import sys

import pytest

import recorder_speedups


def test_the_extension_is_built_in_the_workspace() -> None:
    assert recorder_speedups.line_recorder_class() is not None
    assert recorder_speedups.unavailable_reason() is None


def test_version_is_the_package_version() -> None:
    assert recorder_speedups.__version__ == "0.1.0"


def test_callbacks_declare_their_positional_arity_for_the_guard() -> None:
    """recorder_ffi's guard picks its fixed-arity wrapper from the signature."""
    cls = recorder_speedups.line_recorder_class()
    assert cls is not None
    instance = cls.__new__(cls)
    assert list(inspect.signature(instance.line).parameters) == ["code", "lineno"]
    assert list(inspect.signature(instance.on_line).parameters) == ["code", "frame", "line"]


def test_an_uninitialised_instance_refuses_events_instead_of_crashing() -> None:
    cls = recorder_speedups.line_recorder_class()
    assert cls is not None
    instance = cls.__new__(cls)
    frame = sys._getframe()
    with pytest.raises(RuntimeError, match="before __init__"):
        instance.on_line(frame.f_code, frame, 1)


def test_binding_to_something_that_is_not_a_recorder_fails_cleanly() -> None:
    cls = recorder_speedups.line_recorder_class()
    assert cls is not None
    with pytest.raises(AttributeError):
        cls(object(), print, object())
