"""Process-wide auto-start (``CODETRACER_TRACE=DIR python prog.py``): work in progress."""

from __future__ import annotations


def start_from_env() -> None:
    """Called by ``zz_recorder_runtime_autostart.pth`` when ``CODETRACER_TRACE`` is set."""
