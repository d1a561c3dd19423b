"""Value parsers of the policy table: one function per kind of value.

Why a parser takes ``(value, source)``: the same field arrives as text (an
environment variable, a flag) or typed (the API, a ``pyproject.toml`` value),
and an invalid value must be reported with where it came from. Every parser
returns the canonical value or raises ``ERR_INVALID_POLICY_VALUE`` naming the
source and the accepted values; none has side effects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from recorder_errors import ErrorCode, UsageError, usage

__all__ = [
    "BOOL_ACCEPTED",
    "Parser",
    "choice",
    "invalid",
    "parse_bool",
    "parse_io_capture",
    "parse_optional_path",
    "parse_path_list",
    "parse_positive_int",
]

#: ``parser(value, source) -> canonical value``.
Parser = Callable[[object, str], object]

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})
BOOL_ACCEPTED = "1, true, t, yes, y, on / 0, false, f, no, n, off"


def invalid(source: str, value: object, accepted: str) -> UsageError:
    """The one error every parser raises: the source, the value and what is accepted."""
    return usage(
        ErrorCode.INVALID_POLICY_VALUE,
        f"invalid value {value!r} for {source}; accepted: {accepted}",
        source=source,
        value=repr(value),
        accepted=accepted,
    )


def parse_bool(value: object, source: str) -> bool:
    """A boolean from ``True``/``False`` or the usual words (trimmed, case-insensitive)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise invalid(source, value, BOOL_ACCEPTED)


def choice(canonical: Iterable[str], aliases: Mapping[str, str] | None = None) -> Parser:
    """A parser for a closed set of words; ``aliases`` map extra spellings to canonical ones."""
    values = tuple(canonical)
    table = {v: v for v in values} | dict(aliases or {})

    def parse(value: object, source: str) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in table:
                return table[word]
        raise invalid(source, value, ", ".join(values))

    return parse


def parse_io_capture(value: object, source: str) -> object:
    """``off|proxies|proxies+fd``, plus the reference recorder's spellings.

    The reference accepts ``0/off/false/disable/disabled/none``,
    ``1/on/true/enable/enabled`` and ``,``/``+``-separated tokens
    ``proxies|proxy`` and ``fd|mirror|fallback`` (fd implies proxies); we keep
    accepting them so existing environments do not break.
    """
    if isinstance(value, str):
        word = value.strip().lower()
        if word in {"0", "off", "false", "disable", "disabled", "none"}:
            return "off"
        if word in {"1", "on", "true", "enable", "enabled"}:
            return "proxies"
        tokens = [t.strip() for t in word.replace(",", "+").split("+")]
        if tokens and all(t in {"proxies", "proxy", "fd", "mirror", "fallback"} for t in tokens):
            has_fd = any(t in {"fd", "mirror", "fallback"} for t in tokens)
            return "proxies+fd" if has_fd else "proxies"
    raise invalid(source, value, "off, proxies, proxies+fd")


def parse_positive_int(value: object, source: str) -> object:
    """An ``int`` (not a ``bool``) or decimal text, at least 1."""
    accepted = "a positive integer"
    if isinstance(value, bool):
        raise invalid(source, value, accepted)
    number: int
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value.strip(), 10)
        except ValueError:
            raise invalid(source, value, accepted) from None
    else:
        raise invalid(source, value, accepted)
    if number < 1:
        raise invalid(source, value, accepted)
    return number


def parse_optional_path(value: object, source: str) -> object:
    """A path (text or ``os.PathLike``); blank text means "none" (``None``)."""
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, str):
            return text if text.strip() else None
    raise invalid(source, value, "a file path")


def parse_path_list(value: object, source: str) -> object:
    """Paths: one string (``a.toml::b.toml``) or a sequence of them, in order, as a tuple."""
    accepted = "a path, 'a.toml::b.toml', or a list of paths"
    items: list[object]
    if isinstance(value, (str, os.PathLike)):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise invalid(source, value, accepted)
    paths: list[str] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise invalid(source, value, accepted)
        text = os.fspath(item)
        if not isinstance(text, str):
            raise invalid(source, value, accepted)
        paths.extend(part for part in text.split("::") if part.strip())
    return tuple(paths)
