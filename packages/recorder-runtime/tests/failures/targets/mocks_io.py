# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""F11: the program mocks builtins.open, os.replace, os.path and json and never restores them."""

from unittest import mock


def compute(x):
    return x * 7


patches = [
    mock.patch("builtins.open", side_effect=OSError("mocked open")),
    mock.patch("os.replace", side_effect=RuntimeError("mocked replace")),
    mock.patch("os.path", mock.MagicMock()),
    mock.patch("json.dumps", side_effect=RuntimeError("mocked json")),
    mock.patch("os.fsync", side_effect=RuntimeError("mocked fsync")),
]
for p in patches:
    p.start()
print("value", compute(6))
