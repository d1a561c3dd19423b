"""Trace filters: which code is recorded, and which values are hidden from the trace.

The filter language is the reference recorder's TOML DSL (``reference-recorder.md`` §1.6), so
files written for CodeTracer keep working. A *chain* of filters is composed, later rules
winning:

1. the built-in default (``filter_default.toml``, rendered for this interpreter);
2. the project default: the first ``.codetracer/trace-filter.toml`` found walking up from the
   script's directory (none when there is no script);
3. the explicit filters (``--trace-filter``, the API's ``trace_filter=``), each entry possibly
   ``a.toml::b.toml``; when there are none, ``CODETRACER_TRACE_FILTER`` instead. An explicit
   list *replaces* the environment variable (the reference prepends it): a flag beats the
   environment everywhere else in the policy, and here too.

Per code object the recorder asks :meth:`TraceFilter.decide` once (it caches the answer); per
value name it asks :meth:`ScopeDecision.value_action`, which caches per ``(domain, name)``.
Redaction happens in the trace only: the program's values are never touched.

Semantics, including where we differ from the reference on purpose, are in
``docs/adr/0007-filters-and-redaction.md``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import stat
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Final

from recorder_errors import ErrorCode, UsageError, bug, usage

from .logs import get_logger

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "ENV_VAR",
    "MAX_FILTER_BYTES",
    "PROJECT_FILTER",
    "REDACTED",
    "SCOPE_DOMAINS",
    "VALUE_DOMAINS",
    "FilterSource",
    "ScopeDecision",
    "TraceFilter",
    "is_module_name",
    "is_secret_name",
    "module_name_under",
    "redact_argv",
    "render_default_filter",
    "secret_name_regex",
]

log = get_logger("filters")

ENV_VAR: Final = "CODETRACER_TRACE_FILTER"
PROJECT_FILTER: Final = os.path.join(".codetracer", "trace-filter.toml")

# Bound at import: decide() runs inside interpreter callbacks, where the traced program may
# have mocked ``os.path`` (reliability.md F11; coverage.py issues #416, #2083).
_isabs = os.path.isabs
_abspath = os.path.abspath
_normpath = os.path.normpath
_SEP: Final = os.sep
#: Source suffixes a module name can be derived from (``pkg/mod.py`` -> ``pkg.mod``).
_SOURCE_SUFFIXES: Final = (".py", ".pyw", ".pyc")
BUILTIN_PATH: Final = "<inline:builtin-default>"
#: Filter files are read whole; anything bigger is refused before reading (reliability G12).
MAX_FILTER_BYTES: Final = 1 << 20
#: What :meth:`TraceFilter.scrub` puts in place of a remembered secret.
REDACTED: Final = "<redacted>"
#: Secrets shorter than this are not remembered: replacing every "ab" in a trace hides nothing.
MIN_SECRET_LENGTH: Final = 4
#: Remembered secrets are capped so that a program minting tokens in a loop cannot make
#: scrubbing quadratic; past the cap new secrets are not scrubbed (and a warning is logged).
MAX_SECRETS: Final = 1024
#: New secrets are compiled into the scrub regex in batches of this many.
_FRESH_SECRETS: Final = 32

SCOPE_DOMAINS: Final = ("pkg", "file", "obj")
VALUE_DOMAINS: Final = ("local", "global", "arg", "ret", "attr")
MATCH_KINDS: Final = ("glob", "regex", "literal")
EXEC_VALUES: Final = ("trace", "skip")
VALUE_ACTIONS: Final = ("allow", "redact", "drop")
_ACTION_ALIASES: Final = {"deny": "redact"}
IO_STREAMS: Final = ("stdout", "stderr", "stdin", "files")
#: Metadata labels of the value domains, as the reference writes them in trace_metadata.json.
STAT_LABELS: Final = {
    "arg": "argument",
    "attr": "attribute",
    "global": "global",
    "local": "local",
    "ret": "return",
}

_BOM: Final = b"\xef\xbb\xbf"
_TOML_POSITION = re.compile(
    r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$", re.S
)
_TOML_AT_END = re.compile(r"^(?P<msg>.*?)\s*\(at end of document\)$", re.S)

Matcher = Callable[[str], bool]


# --------------------------------------------------------------------------- secret names

# Words that make a name secret when they are a whole *token* of it (snake_case, camelCase,
# kebab-case and UPPER_CASE split into tokens): "token" hides `access_token` and `apiToken`
# but not `tokenizer`; "auth" hides `auth_header` but not `author`.
_SECRET_WORDS: Final = (
    "password",
    "passwords",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "auth",
    "authn",
    "authz",
    "authorization",
    "cookie",
    "cookies",
    "session",
    "sessionid",
    "credential",
    "credentials",
    "creds",
    "bearer",
    "jwt",
    "otp",
    "ssn",
    "cvv",
    "cvc",
    "iban",
    "csrf",
    "xsrf",
    "apikey",
    "privatekey",
)
# Two tokens in a row (with or without a separator): neither word is secret on its own.
_SECRET_PAIRS: Final = (
    ("api", "key"),
    ("private", "key"),
    ("access", "key"),
    ("ssh", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("credit", "card"),
    ("card", "number"),
    ("security", "code"),
)
# Run-together spellings found anywhere, in any case (`dbpassword`, `MYAPIKEY`): these letter
# sequences do not occur inside innocent English words.
_SECRET_SUBSTRINGS: Final = (
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "accesstoken",
    "refreshtoken",
    "authtoken",
    "clientsecret",
    "creditcard",
    "sessionid",
)


def _token_forms(words: Iterable[str]) -> str:
    """A regex matching any of ``words`` as a whole name token, in lower, Title or UPPER case.

    Token boundaries: a lower-case word must not touch a letter on its left nor a lower-case
    letter on its right (``my_token``, ``token2``, ``tokenValue``); a Title word starts a
    camelCase token anywhere (``apiToken``, ``HTTPToken``); an UPPER word must not touch an
    upper-case letter on its left, and ends where the next token starts (``API_KEY``,
    ``APIKey``) but not inside a longer UPPER run (``APIKEYS``).
    """
    ordered = sorted(set(words), key=len, reverse=True)
    lower = "|".join(ordered)
    title = "|".join(word.capitalize() for word in ordered)
    upper = "|".join(word.upper() for word in ordered)
    return (
        f"(?<![A-Za-z])(?:{lower})(?![a-z])"
        f"|(?:{title})(?![a-z])"
        f"|(?<![A-Z])(?:{upper})(?![a-z])(?![A-Z](?![a-z]))"
    )


def secret_name_regex() -> str:
    """The regex (for ``re.search``) of the built-in redaction rule; see ADR 0007."""
    substrings = "|".join(sorted(_SECRET_SUBSTRINGS, key=len, reverse=True))
    parts = [f"(?i:{substrings})", _token_forms(_SECRET_WORDS)]
    for first, second in _SECRET_PAIRS:
        parts.append(f"(?:{_token_forms([first])})[-_. ]?(?:{_token_forms([second])})")
    return "|".join(parts)


_SECRET_NAME = re.compile(secret_name_regex())


def is_secret_name(name: str) -> bool:
    """True when the built-in default would redact a value called ``name``."""
    return _SECRET_NAME.search(name) is not None


def redact_argv(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """``args`` with the values of secret-named options replaced by ``<redacted>``.

    Returns the redacted list and the secrets found. Recognised forms, where NAME is a name
    the built-in rule hides (:func:`is_secret_name`): ``--NAME=value``, ``-NAME=value`` and
    ``NAME=value`` (the value is redacted), and ``--NAME value`` / ``-NAME value`` (the next
    argument is redacted, whatever it looks like). The program itself still gets its
    arguments unchanged; this is what ``trace_metadata.json`` shows.
    """
    redacted: list[str] = []
    secrets: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            hide_next = False
            secrets.append(arg)
            redacted.append(REDACTED)
            continue
        name, equals, value = arg.partition("=")
        bare = name.lstrip("-")
        if not bare or not is_secret_name(bare):
            redacted.append(arg)
        elif equals:
            secrets.append(value)
            redacted.append(f"{name}={REDACTED}")
        else:
            redacted.append(arg)
            hide_next = name.startswith("-")
    return redacted, [secret for secret in secrets if secret]


# --------------------------------------------------------------------------- built-in default


def _dir_alternatives(directories: Iterable[str]) -> str:
    """``^(?:dir1|dir2)[\\/]``: anything below one of ``directories`` (as given and resolved)."""
    seen: list[str] = []
    for directory in directories:
        for variant in (os.path.normpath(directory), os.path.realpath(directory)):
            variant = variant.rstrip("/\\")
            if variant and variant not in seen:
                seen.append(variant)
    if not seen:
        return "(?!)"  # matches nothing
    alternatives = "|".join(re.escape(item) for item in seen)
    return f"^(?:{alternatives})[\\\\/]"


def _stdlib_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    return [paths[key] for key in ("stdlib", "platstdlib") if paths.get(key)]


def _recorder_dirs() -> list[str]:
    """Package directories of the recorder's own distributions (whichever are installed)."""
    found: list[str] = []
    for name in ("recorder_errors", "recorder_ffi", "recorder_runtime", "pure_recorder"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            found.extend(str(location) for location in spec.submodule_search_locations)
    return found


def _toml_basic(text: str) -> str:
    """Escape ``text`` for the inside of a TOML basic (double-quoted) string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_default_filter() -> str:
    """The built-in default filter as TOML text, with this interpreter's paths filled in."""
    template = resources.files(__package__ or "recorder_runtime").joinpath("filter_default.toml")
    text = template.read_text(encoding="utf-8")
    replacements = {
        "@STDLIB@": _dir_alternatives(_stdlib_dirs()),
        "@RECORDER@": _dir_alternatives(_recorder_dirs()),
        "@SECRET@": secret_name_regex(),
    }
    for placeholder, regex in replacements.items():
        text = text.replace(placeholder, _toml_basic(regex))
    return text


# --------------------------------------------------------------------------- errors


def _invalid(where: str, message: str, **context: object) -> UsageError:
    """The single error type of every load problem: ``ERR_INVALID_FILTER``, exit 2."""
    return usage(ErrorCode.INVALID_FILTER, f"{where}: {message}", **context)


class _Locator:
    """Finds the line and column of a key in TOML text, for schema error messages.

    tomllib reports positions only for syntax errors; a schema error ("unknown key", "wrong
    type") is found afterwards in plain data. This line scanner maps key paths such as
    ``("scope", "rules", 2, "exec")`` back to where they were written. It understands table
    headers, arrays of tables and ``key = value`` lines, which is how filter files are
    written; anything fancier (inline tables, dotted keys) falls back to the enclosing table.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]")
    _KEY = re.compile(r"^\s*(?:\"([^\"]+)\"|'([^']+)'|([A-Za-z0-9_-]+))\s*=")

    def __init__(self, text: str) -> None:
        self.positions: dict[tuple[str | int, ...], tuple[int, int]] = {}
        current: tuple[str | int, ...] = ()
        counts: dict[tuple[str | int, ...], int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header is not None:
                parts = [part.strip().strip("\"'") for part in header.group(2).split(".")]
                path: list[str | int] = []
                for part in parts[:-1]:  # a parent that is an array of tables: its last entry
                    path.append(part)
                    if tuple(path) in counts:
                        path.append(counts[tuple(path)])
                path.append(parts[-1])
                if header.group(1) == "[[":
                    key = tuple(path)
                    counts[key] = counts.get(key, -1) + 1
                    path.append(counts[key])
                current = tuple(path)
                self.positions.setdefault(current, (number, header.start(1) + 1))
                continue
            found = self._KEY.match(line)
            if found is not None:
                name = found.group(1) or found.group(2) or found.group(3)
                column = found.start(found.lastindex or 1) + 1
                self.positions.setdefault((*current, name), (number, column))

    def find(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        """Position of ``path``, or of its nearest recorded ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return None


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


@dataclass
class _Document:
    """One filter's text being validated: where errors point to."""

    path: str
    locator: _Locator

    def error(self, keypath: Sequence[str | int], message: str) -> UsageError:
        position = self.locator.find(keypath)
        where = self.path if position is None else f"{self.path}:{position[0]}:{position[1]}"
        return _invalid(where, message, path=self.path, key=_dotted(keypath))


# --------------------------------------------------------------------------- reading files


def _describe_mode(mode: int) -> str:
    for test, label in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return label
    return "not a regular file"


def _check_stat(path: str, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise _invalid(path, f"is {_describe_mode(info.st_mode)}, not a regular file", path=path)
    if info.st_size > MAX_FILTER_BYTES:
        raise _invalid(
            path,
            f"is {info.st_size} bytes; trace filters are limited to 1 MiB ({MAX_FILTER_BYTES})",
            path=path,
        )


def _read_bytes(path: str) -> bytes:
    """The file's bytes, refusing anything that is not a small regular file *before* reading.

    ``stat`` first, so a FIFO or ``/dev/zero`` is never opened for a blocking read; then
    ``open(O_NONBLOCK)`` and ``fstat`` again, so a file swapped in between is caught too.
    """
    try:
        _check_stat(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise _invalid(path, "trace filter does not exist", path=path) from None
    except OSError as exc:
        raise _invalid(
            path, f"cannot read trace filter: {exc.strerror or exc}", path=path
        ) from None
    try:
        _check_stat(path, os.fstat(fd))
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_FILTER_BYTES:
            chunk = os.read(fd, MAX_FILTER_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise _invalid(
            path, f"cannot read trace filter: {exc.strerror or exc}", path=path
        ) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILTER_BYTES:
        raise _invalid(path, f"is larger than {MAX_FILTER_BYTES} bytes (1 MiB)", path=path)
    return data


def _decode(path: str, data: bytes) -> str:
    if data.startswith(_BOM):
        raise _invalid(
            f"{path}:1:1",
            "starts with a UTF-8 byte order mark (BOM); save the filter as UTF-8 without BOM",
            path=path,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise _invalid(
            f"{path}:{line}:{column}", f"is not valid UTF-8 (byte 0x{bad})", path=path
        ) from None


def _parse_toml(path: str, text: str) -> dict[str, object]:
    """tomllib, with every failure it can have turned into one located usage error (S6)."""
    try:
        data: dict[str, object] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(*_toml_error_location(path, text, exc), path=path) from None
    except RecursionError:
        raise _invalid(path, "is nested too deeply to parse", path=path) from None
    except (ValueError, TypeError) as exc:  # defensive: tomllib documents only TOMLDecodeError
        raise _invalid(path, f"cannot be parsed as TOML: {exc}", path=path) from None
    return data


def _toml_error_location(path: str, text: str, exc: Exception) -> tuple[str, str]:
    """``("path:line:col", message)`` from a TOMLDecodeError on any tomllib/tomli version."""
    message = str(exc)
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "colno", None)
    found = _TOML_POSITION.match(message)
    if found is not None:
        message = found.group("msg")
        line = line or int(found.group("line"))
        column = column or int(found.group("col"))
    else:
        at_end = _TOML_AT_END.match(message)
        if at_end is not None:
            message = at_end.group("msg")
            lines = text.split("\n")
            line, column = len(lines), len(lines[-1]) + 1
    if line is None or column is None:
        return path, f"invalid TOML: {message}"
    return f"{path}:{line}:{column}", f"invalid TOML: {message}"


# --------------------------------------------------------------------------- selectors


def glob_to_regex(pattern: str) -> str:
    """Translate a glob to a regex for ``fullmatch``.

    ``*`` and ``?`` do not cross ``/``; ``**`` does (``**/`` also matches no directory);
    ``[abc]``/``[!abc]`` are classes; ``{a,b}`` alternatives (may nest); ``\\x`` is a literal x.
    Module and object names contain no ``/``, so there ``*`` matches dots too.
    """
    out: list[str] = []
    depth = 0
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            if i < n and pattern[i] == "*":
                while i < n and pattern[i] == "*":
                    i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1 if i < n and pattern[i] in "!]" else i)
            if end < 0:
                out.append(re.escape(char))
                continue
            body = pattern[i:end].replace("\\", "\\\\")
            i = end + 1
            if body.startswith("!"):
                body = "^" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "," and depth:
            out.append("|")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        else:
            out.append(re.escape(char))
    if depth:
        raise usage(ErrorCode.INVALID_FILTER, f"unclosed '{{' in glob pattern {pattern!r}")
    return "".join(out)


@dataclass(frozen=True)
class Selector:
    """A parsed ``domain:match:pattern`` selector with its compiled matcher."""

    raw: str
    domain: str
    kind: str
    pattern: str
    matches: Matcher = field(repr=False, compare=False)


def _compile_regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile`` with every failure (re.error, and the odd OverflowError) as a usage error."""
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        where = "" if exc.pos is None else f" at position {exc.pos}"
        raise usage(
            ErrorCode.INVALID_FILTER, f"invalid regex {pattern!r}: {exc.msg}{where}"
        ) from None
    except (OverflowError, ValueError, RecursionError) as exc:
        raise usage(ErrorCode.INVALID_FILTER, f"invalid regex {pattern!r}: {exc}") from None


def _file_pattern(kind: str, pattern: str, root: str | None) -> str:
    """Relative ``file:`` globs and literals are anchored at the filter's project root."""
    if kind == "regex" or root is None or os.path.isabs(pattern) or pattern.startswith("**"):
        return pattern
    while pattern.startswith("./"):
        pattern = pattern[2:]
    if kind == "literal":
        return os.path.normpath(os.path.join(root, pattern))
    escaped_root = "".join("\\" + c if c in "*?[]{},\\" else c for c in root.rstrip("/"))
    return f"{escaped_root}/{pattern}"


def parse_selector(raw: str, allowed: Sequence[str], root: str | None = None) -> Selector:
    """Parse ``domain:pattern`` (glob) or ``domain:match:pattern``; errors are usage errors.

    As in the reference, a selector with two or more colons always names its match kind, so
    ``obj:regex:a::b`` is a regex ``a::b`` and ``pkg:foo:bar`` is an error.
    """
    parts = raw.split(":", 2)
    if len(parts) < 2 or not parts[0]:
        raise usage(
            ErrorCode.INVALID_FILTER,
            f"selector {raw!r} must be 'domain:pattern' or 'domain:match:pattern'",
        )
    domain = parts[0]
    if domain not in allowed:
        kind_of = "scope" if domain in SCOPE_DOMAINS else "value" if domain in VALUE_DOMAINS else ""
        hint = f" ({domain!r} is a {kind_of} domain)" if kind_of else ""
        raise usage(
            ErrorCode.INVALID_FILTER,
            f"selector {raw!r}: domain must be one of {', '.join(allowed)}{hint}",
        )
    kind, pattern = ("glob", parts[1]) if len(parts) == 2 else (parts[1], parts[2])
    if kind not in MATCH_KINDS:
        raise usage(
            ErrorCode.INVALID_FILTER,
            f"selector {raw!r}: match kind {kind!r} must be one of {', '.join(MATCH_KINDS)}",
        )
    if not pattern:
        raise usage(ErrorCode.INVALID_FILTER, f"selector {raw!r} has an empty pattern")
    if domain == "file":
        pattern = _file_pattern(kind, pattern, root)
    matcher: Matcher
    if kind == "literal":
        matcher = pattern.__eq__
    elif kind == "regex":
        matcher = _search(_compile_regex(pattern))
    else:
        matcher = _fullmatch(_compile_regex(glob_to_regex(pattern), re.S))
    return Selector(raw, domain, kind, pattern, matcher)


def _search(compiled: re.Pattern[str]) -> Matcher:
    return lambda text: compiled.search(text) is not None


def _fullmatch(compiled: re.Pattern[str]) -> Matcher:
    return lambda text: compiled.fullmatch(text) is not None


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class FilterSource:
    """One filter of the chain, as recorded in ``trace_metadata.json``."""

    name: str
    path: str
    sha256: str
    version: int
    description: str | None = None
    labels: tuple[str, ...] = ()
    project_root: str | None = None


@dataclass(frozen=True)
class _ValuePattern:
    selector: Selector
    action: str
    reason: str | None
    source: int


@dataclass(frozen=True)
class _ScopeRule:
    selector: Selector
    exec: str | None
    value_default: str | None
    patterns: tuple[_ValuePattern, ...]
    reason: str | None
    source: int
    index: int

    def matches(self, filename: str, module: str | None, obj: str) -> bool:
        domain = self.selector.domain
        if domain == "pkg":
            return module is not None and self.selector.matches(module)
        if domain == "file":
            return self.selector.matches(filename)
        return self.selector.matches(obj)


_TOP_KEYS: Final = ("meta", "scope", "io")
_META_KEYS: Final = ("name", "version", "description", "labels")
_SCOPE_KEYS: Final = ("default_exec", "default_value_action", "rules")
_RULE_KEYS: Final = ("selector", "exec", "value_default", "reason", "value_patterns")
_PATTERN_KEYS: Final = ("selector", "action", "reason")
_IO_KEYS: Final = ("capture", "streams", "modes")

_TYPE_NAMES: Final = {
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    str: "a string",
    list: "an array",
    dict: "a table",
}


def _type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), f"a {type(value).__name__}")


class _Validator:
    """Checks one parsed filter document against the schema and builds its rules."""

    def __init__(self, doc: _Document, source_id: int, root: str | None) -> None:
        self.doc = doc
        self.source_id = source_id
        self.root = root

    # -- generic checks

    def table(self, value: object, keypath: Sequence[str | int]) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.doc.error(
                keypath, f"{_dotted(keypath)} must be a table, not {_type_name(value)}"
            )
        return value

    def known_keys(
        self, table: Mapping[str, object], allowed: Sequence[str], keypath: Sequence[str | int]
    ) -> None:
        for key in table:
            if key not in allowed:
                where = f" in [{_dotted(keypath)}]" if keypath else ""
                raise self.doc.error(
                    (*keypath, key),
                    f"unknown key {key!r}{where} (expected one of: {', '.join(allowed)})",
                )

    def string(self, value: object, keypath: Sequence[str | int]) -> str:
        if not isinstance(value, str):
            raise self.doc.error(
                keypath, f"{_dotted(keypath)} must be a string, not {_type_name(value)}"
            )
        return value

    def optional_string(
        self, table: Mapping[str, object], key: str, keypath: Sequence[str | int]
    ) -> str | None:
        if key not in table:
            return None
        return self.string(table[key], (*keypath, key))

    def choice(self, value: object, keypath: Sequence[str | int], choices: Sequence[str]) -> str:
        text = self.string(value, keypath)
        text = _ACTION_ALIASES.get(text, text) if "redact" in choices else text
        if text not in choices:
            raise self.doc.error(
                keypath,
                f"unsupported value {value!r} for {_dotted(keypath)} "
                f"(expected one of: {', '.join(choices)})",
            )
        return text

    def array(self, value: object, keypath: Sequence[str | int]) -> list[object]:
        if not isinstance(value, list):
            raise self.doc.error(
                keypath, f"{_dotted(keypath)} must be an array, not {_type_name(value)}"
            )
        return value

    def selector(
        self, value: object, keypath: Sequence[str | int], allowed: Sequence[str]
    ) -> Selector:
        raw = self.string(value, keypath)
        try:
            return parse_selector(raw, allowed, self.root)
        except UsageError as exc:
            raise self.doc.error(keypath, exc.message) from None

    # -- sections

    def meta(self, data: Mapping[str, object]) -> tuple[str, int, str | None, tuple[str, ...]]:
        if "meta" not in data:
            raise self.doc.error((), "missing [meta] table (with name and version)")
        meta = self.table(data["meta"], ("meta",))
        self.known_keys(meta, _META_KEYS, ("meta",))
        for key in ("name", "version"):
            if key not in meta:
                raise self.doc.error(("meta",), f"missing meta.{key}")
        name = self.string(meta["name"], ("meta", "name"))
        if not name.strip():
            raise self.doc.error(("meta", "name"), "meta.name must not be empty")
        version = meta["version"]
        if type(version) is not int or version < 1:
            raise self.doc.error(
                ("meta", "version"), f"meta.version must be an integer >= 1, not {version!r}"
            )
        description = self.optional_string(meta, "description", ("meta",))
        labels: list[str] = []
        for index, label in enumerate(self.array(meta.get("labels", []), ("meta", "labels"))):
            text = self.string(label, ("meta", "labels", index))
            if text not in labels:
                labels.append(text)
        return name, version, description, tuple(labels)

    def scope(self, data: Mapping[str, object]) -> tuple[str | None, str | None, list[_ScopeRule]]:
        scope = self.table(data.get("scope", {}), ("scope",))
        self.known_keys(scope, _SCOPE_KEYS, ("scope",))
        default_exec = None
        if "default_exec" in scope:
            default_exec = self.choice(
                scope["default_exec"], ("scope", "default_exec"), (*EXEC_VALUES, "inherit")
            )
        default_value = None
        if "default_value_action" in scope:
            default_value = self.choice(
                scope["default_value_action"],
                ("scope", "default_value_action"),
                (*VALUE_ACTIONS, "inherit"),
            )
        rules = [
            self.rule(raw, ("scope", "rules", index))
            for index, raw in enumerate(self.array(scope.get("rules", []), ("scope", "rules")))
        ]
        return _none_if_inherit(default_exec), _none_if_inherit(default_value), rules

    def rule(self, raw: object, keypath: tuple[str | int, ...]) -> _ScopeRule:
        rule = self.table(raw, keypath)
        self.known_keys(rule, _RULE_KEYS, keypath)
        if "selector" not in rule:
            raise self.doc.error(keypath, f"{_dotted(keypath)} needs a selector")
        selector = self.selector(rule["selector"], (*keypath, "selector"), SCOPE_DOMAINS)
        exec_ = None
        if "exec" in rule:
            exec_ = self.choice(rule["exec"], (*keypath, "exec"), (*EXEC_VALUES, "inherit"))
        value_default = None
        if "value_default" in rule:
            value_default = self.choice(
                rule["value_default"], (*keypath, "value_default"), (*VALUE_ACTIONS, "inherit")
            )
        patterns = tuple(
            self.pattern(item, (*keypath, "value_patterns", index))
            for index, item in enumerate(
                self.array(rule.get("value_patterns", []), (*keypath, "value_patterns"))
            )
        )
        return _ScopeRule(
            selector=selector,
            exec=_none_if_inherit(exec_),
            value_default=_none_if_inherit(value_default),
            patterns=patterns,
            reason=self.optional_string(rule, "reason", keypath),
            source=self.source_id,
            index=-1,
        )

    def pattern(self, raw: object, keypath: tuple[str | int, ...]) -> _ValuePattern:
        pattern = self.table(raw, keypath)
        self.known_keys(pattern, _PATTERN_KEYS, keypath)
        for key in ("selector", "action"):
            if key not in pattern:
                raise self.doc.error(keypath, f"{_dotted(keypath)} needs {key!r}")
        return _ValuePattern(
            selector=self.selector(pattern["selector"], (*keypath, "selector"), VALUE_DOMAINS),
            action=self.choice(pattern["action"], (*keypath, "action"), VALUE_ACTIONS),
            reason=self.optional_string(pattern, "reason", keypath),
            source=self.source_id,
        )

    def io(self, data: Mapping[str, object]) -> dict[str, object] | None:
        """``[io]`` is accepted and validated as in the reference; ``--io-capture`` decides."""
        if "io" not in data:
            return None
        io = self.table(data["io"], ("io",))
        self.known_keys(io, _IO_KEYS, ("io",))
        capture = io.get("capture", False)
        if not isinstance(capture, bool):
            raise self.doc.error(
                ("io", "capture"), f"io.capture must be a boolean, not {_type_name(capture)}"
            )
        streams: list[str] = []
        for index, item in enumerate(self.array(io.get("streams", []), ("io", "streams"))):
            stream = self.choice(item, ("io", "streams", index), IO_STREAMS)
            if stream not in streams:
                streams.append(stream)
        if capture and not streams:
            raise self.doc.error(("io",), "io.streams must be given when io.capture = true")
        if self.array(io.get("modes", []), ("io", "modes")):
            raise self.doc.error(("io", "modes"), "io.modes is reserved and must be empty")
        return {"capture": capture, "streams": streams}


def _none_if_inherit(value: str | None) -> str | None:
    return None if value == "inherit" else value


# --------------------------------------------------------------------------- chain loading


def detect_project_root(path: str) -> str:
    """The directory holding the ``.codetracer`` directory a filter lives in, else its own dir."""
    directory = os.path.dirname(path)
    probe = directory
    while True:
        if os.path.basename(probe) == ".codetracer":
            return os.path.dirname(probe)
        parent = os.path.dirname(probe)
        if parent == probe:
            return directory
        probe = parent


def find_project_filter(script_path: str) -> str | None:
    """The first ``.codetracer/trace-filter.toml`` walking up from the script's directory.

    ``lexists`` only stats: a FIFO planted there is found here and refused by the loader,
    never opened for reading.
    """
    directory = os.path.dirname(os.path.abspath(script_path))
    while True:
        candidate = os.path.join(directory, PROJECT_FILTER)
        if os.path.lexists(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def split_filter_paths(entries: Iterable[str]) -> list[str]:
    """``["a.toml::b.toml", "c.toml"]`` -> ``["a.toml", "b.toml", "c.toml"]`` (blanks dropped)."""
    return [part for entry in entries for part in str(entry).split("::") if part.strip()]


@dataclass
class _Chain:
    """The filters composed so far, in order."""

    sources: list[FilterSource] = field(default_factory=list)
    rules: list[_ScopeRule] = field(default_factory=list)
    default_exec: str = "trace"
    default_value: str = "allow"
    default_value_source: int = 0
    io: dict[str, object] | None = None

    def add(self, path: str, text: str, digest: str, root: str | None) -> None:
        doc = _Document(path, _Locator(text))
        data = _parse_toml(path, text)
        source_id = len(self.sources)
        check = _Validator(doc, source_id, root)
        name, version, description, labels = check.meta(data)
        check.known_keys(data, _TOP_KEYS, ())
        default_exec, default_value, rules = check.scope(data)
        io = check.io(data)
        self.sources.append(FilterSource(name, path, digest, version, description, labels, root))
        if default_exec is not None:
            self.default_exec = default_exec
        if default_value is not None:
            self.default_value = default_value
            self.default_value_source = source_id
        if io is not None:
            self.io = io
        for rule in rules:
            self.rules.append(
                _ScopeRule(
                    rule.selector,
                    rule.exec,
                    rule.value_default,
                    rule.patterns,
                    rule.reason,
                    rule.source,
                    len(self.rules),
                )
            )

    def add_file(self, path: str) -> None:
        absolute = os.path.abspath(path)
        data = _read_bytes(absolute)
        text = _decode(absolute, data)
        self.add(absolute, text, hashlib.sha256(data).hexdigest(), detect_project_root(absolute))


# --------------------------------------------------------------------------- module names


def is_module_name(name: str) -> bool:
    """True for a dotted module name (``pkg.mod``, ``__main__``), false for ``<run_path>``."""
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def module_name_under(root: str, filename: str) -> str | None:
    """``pkg.mod`` for ``root/pkg/mod.py`` (``pkg`` for ``root/pkg/__init__.py``), else None."""
    prefix = root if root.endswith(_SEP) else root + _SEP
    if not filename.startswith(prefix):
        return None
    relative = filename[len(prefix) :]
    for suffix in _SOURCE_SUFFIXES:
        if relative.endswith(suffix):
            relative = relative[: -len(suffix)]
            break
    else:
        return None
    parts = relative.split(_SEP)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    name = ".".join(parts)
    return name if is_module_name(name) else None


def _sys_path_roots() -> list[str]:
    """The directories on ``sys.path`` (read now: the program may have extended it)."""
    try:
        entries = [entry for entry in list(sys.path) if type(entry) is str]
    except Exception:  # a program that replaced sys.path with something odd
        return []
    roots = {_normpath(_abspath(entry)) for entry in entries}
    return sorted(roots, key=len, reverse=True)


# --------------------------------------------------------------------------- runtime objects


class _Stats:
    """Counters reported in ``trace_metadata.json`` (``trace_filter.stats``)."""

    def __init__(self) -> None:
        self.scopes_skipped = 0
        self.drops = dict.fromkeys(VALUE_DOMAINS, 0)
        self.redactions = dict.fromkeys(VALUE_DOMAINS, 0)

    def as_dict(self) -> dict[str, object]:
        return {
            "scopes_skipped": self.scopes_skipped,
            "value_drops": {
                STAT_LABELS[d]: n for d, n in sorted(self.drops.items(), key=_by_label)
            },
            "value_redactions": {
                STAT_LABELS[d]: n for d, n in sorted(self.redactions.items(), key=_by_label)
            },
        }


def _by_label(item: tuple[str, int]) -> str:
    return STAT_LABELS[item[0]]


class _Secrets:
    """Secret strings seen in redacted values, so copies of them can be scrubbed elsewhere.

    Scrubbing runs on every recorded string, so the secrets are compiled into one regex; a
    program minting a secret per step must not make us recompile it every step, so new
    secrets wait in a short list (checked with ``in``) and are compiled in batches. A new
    secret that contains, or is contained in, a known one forces a recompile, so that the
    longest match always wins.
    """

    def __init__(self) -> None:
        self.values: set[str] = set()
        self._compiled: re.Pattern[str] | None = None
        self._compiled_from: list[str] = []
        self._fresh: list[str] = []
        self._lock = threading.Lock()
        self._warned = False

    def add(self, value: str) -> None:
        if len(value) < MIN_SECRET_LENGTH or value in self.values or value in REDACTED:
            return
        with self._lock:
            if len(self.values) >= MAX_SECRETS:
                self._warn_full()
                return
            overlaps = any(value in known or known in value for known in self.values)
            self.values.add(value)
            self._fresh.append(value)
            if overlaps or len(self._fresh) > _FRESH_SECRETS:
                self._compiled_from.extend(self._fresh)
                self._fresh = []
                self._compiled = None

    def _warn_full(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "more than %d distinct redacted strings; later ones are redacted where "
                "they are named but copies of them are no longer scrubbed",
                MAX_SECRETS,
            )

    def scrub(self, text: str) -> str:
        compiled, fresh = self._compiled, self._fresh
        if compiled is None and self._compiled_from:
            with self._lock:
                compiled = self._compiled = re.compile(_alternation(self._compiled_from))
        if compiled is not None:
            text = compiled.sub(REDACTED, text)
        for secret in fresh:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def _alternation(secrets: Sequence[str], depth: int = 0) -> str:
    """A regex matching any of ``secrets``, longest first, grouped by their first 3 characters.

    A flat ``a|b|c|...`` makes ``re`` try every alternative at every position of every
    recorded string (25 us per short string with 1024 hex secrets); grouping by prefix lets
    it reject a position after a character or two (1 us). Secrets are at least
    ``MIN_SECRET_LENGTH`` (4) long, so three levels never run out of characters.
    """
    if depth == 3 or len(secrets) <= 4:
        return "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True))
    groups: dict[str, list[str]] = {}
    for secret in secrets:
        groups.setdefault(secret[0], []).append(secret[1:])
    return "|".join(
        f"{re.escape(first)}(?:{_alternation(rest, depth + 1)})"
        for first, rest in sorted(groups.items())
    )


class ScopeDecision:
    """What to do with one scope (a set of code objects matched by the same rules).

    ``trace`` says whether its code is recorded at all; :meth:`value_action` says what happens
    to each named value. Code objects matched by the same rules share one decision, so the
    per-name cache fills once for all of them.
    """

    __slots__ = ("_cache", "_default", "_patterns", "_secrets", "_stats", "reasons", "trace")

    def __init__(
        self,
        trace: bool,
        default: str,
        patterns: tuple[_ValuePattern, ...],
        stats: _Stats,
        secrets: _Secrets,
        reasons: tuple[str, ...] = (),
    ) -> None:
        self.trace = trace
        self.reasons = reasons
        self._default = default
        self._patterns = patterns
        self._stats = stats
        self._secrets = secrets
        self._cache: dict[tuple[str, str], str] = {}

    def value_action(self, domain: str, name: str) -> str:
        """``"allow"``, ``"redact"`` or ``"drop"`` for one value ``name`` in ``domain``.

        Counts the value in ``trace_filter.stats``: call it once per recorded value. A caller
        that caches the action (the recorder, per code object) uses :meth:`cached_action`
        once and :meth:`count` for every value instead, so the counters stay exact.
        """
        action = self.cached_action(domain, name)
        if action != "allow":
            self.count(domain, action)
        return action

    def cached_action(self, domain: str, name: str) -> str:
        """The action for ``name`` in ``domain``, without counting (cached per name)."""
        action = self._cache.get((domain, name))
        if action is None:
            action = self._cache[(domain, name)] = self._resolve(domain, name)
        return action

    def count(self, domain: str, action: str, values: int = 1) -> None:
        """Count ``values`` values of ``domain`` redacted or dropped (``action``)."""
        counters = self._stats.redactions if action == "redact" else self._stats.drops
        counters[domain] += values

    def _resolve(self, domain: str, name: str) -> str:
        if domain not in VALUE_DOMAINS:
            raise bug(
                ErrorCode.UNKNOWN,
                f"value domain {domain!r} is not one of {', '.join(VALUE_DOMAINS)}",
            )
        for pattern in self._patterns:
            if pattern.selector.domain == domain and pattern.selector.matches(name):
                return pattern.action
        return self._default

    def note_redacted(self, value: object) -> None:
        """Remember a redacted string so :meth:`TraceFilter.scrub` hides its copies."""
        if type(value) is str:
            self._secrets.add(value)


class TraceFilter:
    """A composed filter chain; see the module docstring."""

    def __init__(self, chain: _Chain) -> None:
        self.sources: tuple[FilterSource, ...] = tuple(chain.sources)
        self.io_config = chain.io
        self._rules = tuple(chain.rules)
        self._default_exec = chain.default_exec
        self._default_value = chain.default_value
        self._default_value_source = chain.default_value_source
        self._stats = _Stats()
        self._secrets = _Secrets()
        self._decisions: dict[tuple[object, ...], ScopeDecision] = {}
        self._lock = threading.Lock()
        roots = {_normpath(s.project_root) for s in chain.sources if s.project_root}
        self._roots = tuple(sorted(roots, key=len, reverse=True))

    # -- loading

    @classmethod
    def load(
        cls,
        *,
        script_path: str | None,
        explicit: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> TraceFilter:
        """Compose the chain: built-in, project default, then explicit files (else the env var).

        Every problem is a :class:`UsageError` with code ``ERR_INVALID_FILTER`` whose message
        starts with ``path:line:col`` when a position is known.
        """
        environ = os.environ if environ is None else environ
        chain = _Chain()
        builtin = render_default_filter()
        chain.add(BUILTIN_PATH, builtin, hashlib.sha256(builtin.encode()).hexdigest(), None)
        if script_path:
            project = find_project_filter(script_path)
            if project is not None:
                chain.add_file(project)
        paths = split_filter_paths(explicit)
        if not paths:
            paths = split_filter_paths([environ.get(ENV_VAR, "")])
        for path in paths:
            chain.add_file(path)
        return cls(chain)

    # -- scopes

    def decide(self, filename: str, module_name: str | None, qualname: str) -> ScopeDecision:
        """The decision for a code object; call once per code object (it is not cached here).

        ``module_name`` is the frame's ``__name__``. When that is not a module name (code run
        by ``runpy.run_path`` has ``<run_path>``; no frame at all gives ``None``), the name
        derived from ``filename`` is used instead, as the reference does: otherwise ``pkg:``
        rules, and the redactions they carry, would silently not apply.
        """
        if filename.startswith("<"):
            decision = self._decision(False, self._default_value, ())
        else:
            if not _isabs(filename):
                filename = _abspath(filename)
            filename = _normpath(filename)
            if module_name is None or not is_module_name(module_name):
                module_name = self.module_name_from_path(filename)
            obj = f"{module_name}.{qualname}" if module_name else qualname
            exec_ = self._default_exec
            default_value = self._default_value
            default_source = self._default_value_source
            matched: list[_ScopeRule] = []
            for rule in self._rules:
                if rule.matches(filename, module_name, obj):
                    matched.append(rule)
                    if rule.exec is not None:
                        exec_ = rule.exec
                    if rule.value_default is not None:
                        default_value = rule.value_default
                        default_source = rule.source
            decision = self._decision(
                exec_ == "trace", default_value, tuple(matched), default_source
            )
        if not decision.trace:
            self._stats.scopes_skipped += 1
        return decision

    def module_name_from_path(self, filename: str) -> str | None:
        """The dotted module name of ``filename`` (absolute, normalised), or None.

        Relative to the filters' project roots first (deepest first), then to the entries of
        ``sys.path`` (longest first, so the most specific root wins); a root must contain the
        file (whole path components), and every part of the result must be an identifier.
        """
        for root in (*self._roots, *_sys_path_roots()):
            name = module_name_under(root, filename)
            if name is not None:
                return name
        return None

    def _decision(
        self,
        trace: bool,
        default_value: str,
        matched: tuple[_ScopeRule, ...],
        default_source: int = 0,
    ) -> ScopeDecision:
        key = (trace, default_value, default_source, tuple(rule.index for rule in matched))
        decision = self._decisions.get(key)
        if decision is None:
            patterns: list[_ValuePattern] = []
            for rule in reversed(matched):  # later rules win; within a rule, the first match
                patterns.extend(rule.patterns)
            if default_value == "drop":  # as the reference: a later "drop everything" wins
                patterns = [p for p in patterns if p.source >= default_source]
            reasons = tuple(rule.reason for rule in matched if rule.reason)
            decision = ScopeDecision(
                trace, default_value, tuple(patterns), self._stats, self._secrets, reasons
            )
            with self._lock:
                decision = self._decisions.setdefault(key, decision)
        return decision

    # -- secrets

    def remember_secret(self, value: str) -> None:
        """Treat ``value`` as a secret from now on (scrubbed wherever it is copied)."""
        self._secrets.add(value)

    def redact_args(self, args: Sequence[str]) -> list[str]:
        """The program's arguments as ``trace_metadata.json`` may show them.

        Secret-named options are redacted (:func:`redact_argv`) and every secret remembered
        during the run is scrubbed from the rest.
        """
        redacted, _ = redact_argv(args)
        return [self.scrub(arg) for arg in redacted]

    @property
    def has_secrets(self) -> bool:
        """True once a redacted string has been remembered (scrub is the identity before)."""
        return bool(self._secrets.values)

    def scrub(self, text: str) -> str:
        """``text`` with every remembered secret replaced by ``<redacted>``."""
        if not self._secrets.values:
            return text
        return self._secrets.scrub(text)

    # -- reporting

    def metadata(self) -> dict[str, object]:
        """The ``trace_filter`` block of ``trace_metadata.json``."""
        return {
            "filters": [
                {"name": s.name, "path": s.path, "sha256": s.sha256, "version": s.version}
                for s in self.sources
            ],
            "stats": self._stats.as_dict(),
        }
