#!/usr/bin/env python3
"""Rewrite the policy table in packages/recorder-runtime/README.md from config/fields.py.

Usage:
    python tools/policy_table.py          # rewrite the block between the markers
    python tools/policy_table.py --check  # exit 1 when the README is out of date

The table is generated so that the README and the policy table cannot drift
(``tests/test_config.py`` fails when they differ).
"""

from __future__ import annotations

import sys
from pathlib import Path

from recorder_runtime.config.reference import replace_block

README = Path(__file__).resolve().parents[1] / "packages" / "recorder-runtime" / "README.md"


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    updated = replace_block(text)
    if "--check" in argv:
        if updated != text:
            sys.stderr.write(f"{README} is out of date: run python tools/policy_table.py\n")
            return 1
        return 0
    if updated != text:
        README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
