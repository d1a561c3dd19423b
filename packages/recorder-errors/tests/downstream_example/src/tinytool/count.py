"""The work, raising classified errors: tinytool's codes and the recorder's alike."""

from pathlib import Path

from recorder_errors import ensure_usage, from_exception, target
from tinytool.codes import TinyCode


def count_lines(path: str, limit: str) -> int:
    """Lines of ``path``; at most ``limit`` of them, or a classified error."""
    ensure_usage(
        limit.isdigit() and int(limit) > 0,
        TinyCode.BAD_LIMIT,
        f"--limit must be a positive integer, not {limit!r}",
        limit=limit,
    )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:  # a built-in code: ERR_NOT_FOUND, ERR_PERMISSION_DENIED, ...
        raise from_exception(exc).with_context(path=path) from exc
    count = len(text.splitlines())
    if count > int(limit):
        raise target(TinyCode.TOO_LONG, f"{path} has {count} lines", path=path, limit=limit)
    return count
