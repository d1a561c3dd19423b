"""Shared fixtures for recorder-ffi tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recorder_errors import RecorderError
from recorder_ffi import BoundaryGuard, Failpoints


class DetachSpy:
    """A detach function that records every call."""

    def __init__(self) -> None:
        self.calls: list[RecorderError] = []

    def __call__(self, err: RecorderError) -> None:
        self.calls.append(err)


@pytest.fixture
def detach() -> DetachSpy:
    return DetachSpy()


@pytest.fixture
def make_guard(detach: DetachSpy) -> Iterator[object]:
    """Build a guard wired to the ``detach`` spy; deactivates every guard it built."""
    built: list[BoundaryGuard] = []

    def make(policy: str = "abort", failpoints: str = "") -> BoundaryGuard:
        guard = BoundaryGuard(policy=policy, failpoints=Failpoints.parse(failpoints))
        guard.set_detach(detach)
        built.append(guard)
        return guard

    yield make
    for guard in built:
        guard.deactivate()
