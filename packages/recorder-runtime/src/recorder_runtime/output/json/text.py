"""The one escaping rule for every string in ``trace.json``."""

from __future__ import annotations

import re
from json.encoder import encode_basestring_ascii as _escape
from typing import Final

__all__ = ["json_string", "json_text"]

_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def json_string(text: str) -> str:
    """A JSON string literal for ``text``: ASCII only, valid for any ``str``.

    Non-ASCII characters are ``\\uXXXX`` escapes, so the output is valid UTF-8 whatever the
    text holds. A lone surrogate (from ``surrogateescape`` decoding) would become a lone
    ``\\udcff`` escape, which strict readers such as serde_json (CodeTracer's) reject; it is
    rendered as the visible text ``\\udcff`` instead.
    """
    if not text.isascii() and _SURROGATE.search(text) is not None:
        text = _unsurrogate(text)
    return _escape(text)


def json_text(text: str) -> str:
    """:func:`json_string` without the surrogate check for the common (ASCII) case."""
    if text.isascii():
        return _escape(text)
    return json_string(text)


def _unsurrogate(text: str) -> str:
    """Replace each lone surrogate by its backslash escape as text (``'\\udcff'``)."""
    return str.encode(text, "utf-8", "backslashreplace").decode("utf-8")
