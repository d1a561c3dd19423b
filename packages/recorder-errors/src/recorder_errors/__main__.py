"""``python -m recorder_errors``: print the table of error codes (Markdown)."""

from __future__ import annotations

import sys

from recorder_errors.codes import codes_table_markdown


def main() -> int:
    """Write the codes table to stdout; this is a CLI, so stdout is its output."""
    sys.stdout.write(codes_table_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
