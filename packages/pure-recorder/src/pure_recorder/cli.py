"""``pure-recorder`` / ``python -m pure_recorder``: the runtime's CLI with the settrace backend.

The fallback adds a backend, not a second recorder: this is the same command
line, options, exit statuses and diagnostics as ``recorder-runtime``, with
``--backend`` pinned to ``settrace`` (``--backend auto``/``settrace`` are
accepted; any other backend is a usage error).
"""

from __future__ import annotations

from collections.abc import Sequence

from recorder_runtime.cli import main as runtime_main

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the recorder CLI with the settrace backend forced; returns the exit status."""
    return runtime_main(argv, prog="pure-recorder", forced_backend="settrace")
