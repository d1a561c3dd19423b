"""ErrorKind: four kinds, each with its documented exit status and label."""

from __future__ import annotations

import pytest

from recorder_errors import ErrorKind

# The contract of issue 2 / ADR 0001: these numbers are what scripts rely on.
EXPECTED_EXIT_CODES = {"USAGE": 2, "ENVIRONMENT": 10, "TARGET": 20, "INTERNAL": 70}
EXPECTED_LABELS = {
    "USAGE": "Usage",
    "ENVIRONMENT": "Environment",
    "TARGET": "Target",
    "INTERNAL": "Internal",
}


def test_there_are_exactly_four_kinds() -> None:
    assert [kind.name for kind in ErrorKind] == ["USAGE", "ENVIRONMENT", "TARGET", "INTERNAL"]


@pytest.mark.parametrize("name", list(EXPECTED_EXIT_CODES))
def test_each_kind_has_its_documented_exit_code(name: str) -> None:
    assert ErrorKind[name].exit_code == EXPECTED_EXIT_CODES[name]


@pytest.mark.parametrize("name", list(EXPECTED_LABELS))
def test_each_kind_has_a_capitalised_label(name: str) -> None:
    assert ErrorKind[name].label == EXPECTED_LABELS[name]


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_a_kind_is_looked_up_by_its_label(kind: ErrorKind) -> None:
    assert ErrorKind(kind.label) is kind


def test_exit_codes_are_distinct_and_never_zero_or_one() -> None:
    codes = [kind.exit_code for kind in ErrorKind]
    assert len(set(codes)) == len(codes)
    assert not {0, 1} & set(codes)


def test_an_unknown_label_is_rejected() -> None:
    with pytest.raises(ValueError):
        ErrorKind("usage")
