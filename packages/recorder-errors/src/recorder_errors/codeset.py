"""Code sets: the recorder's :class:`~recorder_errors.ErrorCode` and any tool's own codes.

A code set is an enum whose members are declared as ``(code string, default
kind, description)``::

    class ToolCode(recorder_errors.CodeSet):
        BAD_CONFIG = "ERR_MYTOOL_BAD_CONFIG", ErrorKind.USAGE, "The config file is invalid."

Members are ``str`` (``ToolCode.BAD_CONFIG == "ERR_MYTOOL_BAD_CONFIG"``) and
carry ``default_kind``, ``description``, ``exit_code`` and ``known``. When the
class is created, every member is checked (``ERR_`` + capitals, digits and
underscores; a kind; a one-line description) and its string is claimed in a
process-wide registry: two sets cannot claim one string (the recommended
convention is a tool prefix, ``ERR_<TOOL>_...``), and readers
(:func:`lookup_code`, ``RecorderError.from_dict``, unpickling) find a code of
any imported set by its string.

A string that no imported set claims (written by a newer version or by a tool
this process does not have) is read back as an :class:`UnknownCode`: the same
string, ``known`` false, and the kind the error carried.
"""

from __future__ import annotations

import enum
import importlib
import re
import types
from collections.abc import Iterable
from typing import Any, TypeAlias, TypeVar

from recorder_errors.kinds import ErrorKind

__all__ = ["Code", "CodeSet", "UnknownCode", "lookup_code", "markdown_table"]

#: What every code string looks like: grep-able, one namespace for all sets.
_CODE_SHAPE = re.compile(r"ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*\Z")

# code string -> the member that claimed it (every set, built-in or not).
_REGISTRY: dict[str, CodeSet] = {}

_C = TypeVar("_C", bound="CodeSet")
_U = TypeVar("_U", bound="UnknownCode")


class _CodeSetType(enum.EnumMeta):
    """Checks and registers the members of each code set once the class is complete."""

    def __init__(
        cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], /, **kwargs: Any
    ) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        members: list[CodeSet] = list(cls.__members__.values())
        if members:  # the memberless base (or an intermediate base) claims nothing
            _register(members, _owner(cls))


class CodeSet(str, enum.Enum, metaclass=_CodeSetType):
    """Base class of a set of stable error codes (subclass it; see the module docstring).

    ``str(code)`` and f-strings give the code string on every supported
    Python; ``ToolCode("ERR_MYTOOL_BAD_CONFIG")`` looks a member up.
    """

    __module__ = "recorder_errors"

    _declared: tuple[object, object]
    _default_kind: ErrorKind
    _description: str

    def __new__(
        cls: type[_C], value: str, kind: ErrorKind | None = None, description: str | None = None
    ) -> _C:
        # kind and description are checked (with a clear message) once the class
        # is complete, so a member declared as a bare string fails readably.
        member = str.__new__(cls, value)
        member._value_ = value
        member._declared = (kind, description)
        return member

    def __str__(self) -> str:
        return self.value

    def __reduce_ex__(self, protocol: object) -> tuple[Any, ...]:
        # By string, not by class: a process that lacks the set (or has an
        # older version of it) reads the code back as an UnknownCode.
        return (_unpickle_code, (self.value, type(self).__module__, self.default_kind.label))

    @types.DynamicClassAttribute
    def value(self) -> str:
        """The code string, e.g. ``"ERR_IO"``."""
        return str(self._value_)

    @property
    def default_kind(self) -> ErrorKind:
        """The kind this code usually has (raise sites may choose another)."""
        return self._default_kind

    @property
    def description(self) -> str:
        """One-line description of the failure the code stands for."""
        return self._description

    @property
    def exit_code(self) -> int:
        """Exit status of this code's default kind."""
        return self._default_kind.exit_code

    @property
    def known(self) -> bool:
        """Always true: a member of a set is known (see :class:`UnknownCode`)."""
        return True


class UnknownCode(str):
    """A code string that no code set imported in this process claims.

    Rebuilt errors keep it as their ``code`` so that nothing is lost: it
    compares equal to its string, serialises back unchanged, and its
    ``default_kind`` is the kind the error carried.
    """

    __module__ = "recorder_errors"

    _default_kind: ErrorKind

    def __new__(cls: type[_U], value: str, kind: ErrorKind) -> _U:
        code = str.__new__(cls, value)
        code._default_kind = ErrorKind(kind)
        return code

    def __repr__(self) -> str:
        return f"UnknownCode({self.value!r}, {self._default_kind.label!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickle_code, (self.value, None, self._default_kind.label))

    @property
    def value(self) -> str:
        """The code string as it was read."""
        return str.__str__(self)

    @property
    def default_kind(self) -> ErrorKind:
        """The kind of the error that carried the code."""
        return self._default_kind

    @property
    def description(self) -> str:
        """A fixed text: this version cannot describe a code it does not know."""
        return "A code this process does not know (from a newer version or another tool)."

    @property
    def exit_code(self) -> int:
        """Exit status of :attr:`default_kind`."""
        return self._default_kind.exit_code

    @property
    def known(self) -> bool:
        """Always false."""
        return False


#: Any code an error can carry: a member of a set, or a code read back but not known here.
Code: TypeAlias = CodeSet | UnknownCode


def lookup_code(text: str) -> CodeSet | None:
    """The member of any imported code set whose string is ``text``, or ``None``."""
    return _REGISTRY.get(text)


def markdown_table(codes: Iterable[CodeSet]) -> str:
    """Render ``codes`` as a Markdown table (Code, Kind, Exit, Description), newline-terminated."""
    lines = [
        "| Code | Kind | Exit | Description |",
        "|---|---|---|---|",
    ]
    for code in codes:
        kind = code.default_kind
        lines.append(f"| `{code.value}` | {kind.label} | {kind.exit_code} | {code.description} |")
    return "\n".join(lines) + "\n"


def _owner(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _register(members: list[CodeSet], owner: str) -> None:
    """Check every member, then claim all strings at once (nothing on failure).

    A set may claim its own strings again (a module reloaded or run twice).
    """
    for member in members:
        _check_member(member, owner)
        holder = _REGISTRY.get(member.value)
        if holder is not None and _owner(type(holder)) != owner:
            raise _invalid_set(
                f"{owner}: code {member.value} is already defined by {_owner(type(holder))}; "
                f"prefix your codes with your tool's name (ERR_<TOOL>_...)",
                owner,
            )
    for member in members:
        _REGISTRY[member.value] = member


def _check_member(member: CodeSet, owner: str) -> None:
    where = f"{owner}.{member.name}"
    if not _CODE_SHAPE.match(member.value):
        raise _invalid_set(
            f"{where}: code {member.value!r} must be ERR_ followed by capitals, digits "
            f"and single underscores",
            owner,
        )
    declare = f'declare it as {member.name} = "ERR_...", ErrorKind.<KIND>, "description"'
    kind, text = member._declared
    if not isinstance(kind, ErrorKind):
        raise _invalid_set(f"{where}: the default kind must be an ErrorKind; {declare}", owner)
    if not isinstance(text, str) or not text or text.strip() != text or "\n" in text:
        raise _invalid_set(f"{where}: the description must be one non-empty line", owner)
    if "|" in text:
        raise _invalid_set(f"{where}: the description cannot contain '|' (a table cell)", owner)
    member._default_kind = kind
    member._description = text


def _invalid_set(message: str, owner: str) -> Exception:
    """A ``UsageError`` ``ERR_INVALID_CODE_SET`` (unknown while ErrorCode itself is invalid)."""
    # Imported here: errors.py imports this module.
    from recorder_errors.errors import UsageError

    name = "ERR_INVALID_CODE_SET"
    code: Code = lookup_code(name) or UnknownCode(name, ErrorKind.USAGE)
    return UsageError(code, message, {"code_set": owner})


def _unpickle_code(text: str, module: str | None, kind_label: str) -> Code:
    """Unpickling half of ``__reduce_ex__``/``__reduce__``: the member if known, else unknown.

    Like pickle itself, it imports the set's module when that is not imported yet.
    """
    code = lookup_code(text)
    if code is None and module is not None:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
        code = lookup_code(text)
    if code is not None:
        return code
    return UnknownCode(text, ErrorKind(kind_label))
