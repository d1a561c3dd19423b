"""The name of a test's trace directory, derived from its pytest node id.

Why a readable part plus a hash: people find a test's trace by its name
(``test_shop.py__TestCart__test_total-1-2-3f09c1a2b4``), but a node id may hold
path separators, ``::``, brackets, spaces, any unicode and be thousands of
characters long. Every character outside ``[A-Za-z0-9._-]`` becomes ``_`` and the
readable part is cut to :data:`MAX_READABLE` characters; that mapping loses
information (``a[x y]`` and ``a[x_y]`` meet, so do ``Test`` and ``test`` on a
case-insensitive file system), so a hash of the whole node id always follows.
The name depends on the node id only: it is the same on every run, in every
pytest-xdist worker, and two different tests never share a directory.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["HASH_CHARS", "MAX_READABLE", "trace_dir_name"]

#: Characters of the readable part (a directory name stays far below NAME_MAX = 255 bytes,
#: with room for the recorder's staging prefix and suffix).
MAX_READABLE = 100
#: Hex digits of the node id's SHA-256 kept as the suffix.
HASH_CHARS = 10

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def trace_dir_name(nodeid: str) -> str:
    """``<readable>-<hash>`` for the test ``nodeid`` (a single path component, ASCII only)."""
    readable = nodeid.replace("::", "__").replace("[", "-").replace("]", "")
    readable = _UNSAFE.sub("_", readable)
    # No hidden names (".x"), no "." or "..", no leading dash (read as an option by tools).
    readable = readable[:MAX_READABLE].lstrip("._-") or "test"
    digest = hashlib.sha256(nodeid.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{readable}-{digest[:HASH_CHARS]}"
