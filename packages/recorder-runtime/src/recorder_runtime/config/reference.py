"""The README's table of policy fields, generated from the table so the two cannot drift.

``tools/policy_table.py`` rewrites the block between the markers in
``packages/recorder-runtime/README.md``; a test fails when they differ.
"""

from __future__ import annotations

from .fields import Policy, rows

__all__ = ["BEGIN", "END", "markdown_table", "replace_block"]

BEGIN = "<!-- policy-table: generated from recorder_runtime/config/fields.py -->"
END = "<!-- /policy-table -->"


def markdown_table(table: type = Policy) -> str:
    """One Markdown row per field: name (the pyproject key), default, variable, flag, values."""
    lines = [
        "| field / `pyproject.toml` key | default | environment variable | CLI | API "
        "| values | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows(table):
        spec = row.spec
        flag = f"`{spec.flag}` / `--no-{spec.flag[2:]}`" if row.switch else f"`{spec.flag}`"
        cells = [
            f"`{row.name}`",
            f"`{row.shown_default}`",
            f"`{spec.env}`",
            flag,
            "yes" if spec.api else "no",
            spec.values,
            spec.help,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, table: type = Policy) -> str:
    """``text`` with the generated table between :data:`BEGIN` and :data:`END`."""
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END, start)
    return text[:start] + "\n" + markdown_table(table) + text[end:]
