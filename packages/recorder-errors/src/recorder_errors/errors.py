"""The exception hierarchy: ``RecorderError`` and one subclass per kind.

::

    Exception
     └── RecorderError            kind, code, message, context, exit_code
          ├── UsageError          kind = Usage        (exit 2)
          ├── EnvironmentError    kind = Environment  (exit 10)
          ├── TargetError         kind = Target       (exit 20)
          └── InternalError       kind = Internal     (exit 70)

``recorder_errors.EnvironmentError`` is *not* the builtin ``EnvironmentError``
(an alias of ``OSError``); import the package and write
``recorder_errors.EnvironmentError`` to keep the two apart.

Errors cross process boundaries (a recorder in a child process reports to
its parent), so they pickle with kind, code, message, context and the cause's
text, and they have a stable dict/JSON form. The cause travels as text only
(:class:`RemoteCause`), because the original exception may be of a class
that only exists inside the traced program.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict, TypeVar

from recorder_errors.codes import ErrorCode
from recorder_errors.codeset import Code, CodeSet, UnknownCode, lookup_code
from recorder_errors.kinds import ErrorKind

__all__ = [
    "EnvironmentError",
    "ErrorDict",
    "InternalError",
    "RecorderError",
    "RemoteCause",
    "TargetError",
    "UsageError",
]

_E = TypeVar("_E", bound="RecorderError")


class _ErrorDictRequired(TypedDict):
    error_code: str
    kind: str
    message: str
    context: dict[str, str]


class ErrorDict(_ErrorDictRequired, total=False):
    """The dict form of an error; ``cause`` is present only when there is one."""

    cause: str


def safe_str(value: object) -> str:
    """``str(value)`` that never raises.

    Context values and causes often come from the traced program, whose
    ``__str__`` may be broken; describing a failure must not fail in turn.
    """
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _stringify(context: Mapping[str, object]) -> dict[str, str]:
    return {safe_str(key): safe_str(value) for key, value in context.items()}


def describe_exception(exc: BaseException) -> str:
    """One-line text of an exception: ``"TypeName: message"`` or ``"TypeName"``."""
    if isinstance(exc, RemoteCause):
        return exc.text
    text = safe_str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class RemoteCause(Exception):
    """Stand-in for a cause known only by its text.

    Used as ``__cause__`` of an error rebuilt from a pickle, a dict or JSON.
    ``str()`` gives the text exactly as the original error described it.
    """

    __module__ = "recorder_errors"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class RecorderError(Exception):
    """A classified recorder failure.

    Prefer the helpers (``usage(...)``, ``enverr(...)``, ``target(...)``,
    ``bug(...)``) to constructing errors directly: they pick the subclass
    that matches the kind, so ``except UsageError`` catches what it should.
    ``RecorderError(kind, code, message, context)`` builds a base-class
    instance of the given kind.
    """

    __module__ = "recorder_errors"

    kind: ErrorKind
    code: Code
    message: str
    context: dict[str, str]

    def __init__(
        self,
        kind: ErrorKind,
        code: Code,
        message: str,
        context: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.code = _as_code(code)
        self.message = safe_str(message)
        self.context = _stringify(context or {})

    @property
    def exit_code(self) -> int:
        """Process exit status for this error (from its kind)."""
        return self.kind.exit_code

    @property
    def cause_text(self) -> str | None:
        """One-line text of ``__cause__``, or ``None`` when there is no cause."""
        cause = self.__cause__
        return None if cause is None else describe_exception(cause)

    def with_context(self: _E, **context: object) -> _E:
        """Add context entries (values converted to ``str``); returns ``self``.

        Lets a caller higher up annotate an error in flight:
        ``raise err.with_context(path=str(path))``.
        """
        self.context.update(_stringify(context))
        return self

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kind={self.kind.label!r}, code={self.code.value!r}, "
            f"message={self.message!r}, context={self.context!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Default exception pickling calls cls(*args), which does not fit our
        # constructors, and it drops __cause__. Rebuild without __init__,
        # restore attributes from __dict__, and carry the cause as text.
        return (_restore, (type(self), self.args, self.cause_text), self.__dict__.copy())

    # --- dict / JSON form -------------------------------------------------
    def to_dict(self) -> ErrorDict:
        """``{"error_code", "kind", "message", "context"}`` plus ``"cause"`` if any."""
        data: ErrorDict = {
            "error_code": self.code.value,
            "kind": self.kind.label,
            "message": self.message,
            "context": dict(self.context),
        }
        cause = self.cause_text
        if cause is not None:
            data["cause"] = cause
        return data

    def to_json(self) -> str:
        """The dict form as one line of JSON (ASCII, sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RecorderError:
        """Rebuild an error from :meth:`to_dict` output, as the subclass of its kind.

        The subclass follows ``data["kind"]``, whatever class this is called on.
        The code is looked up in every imported code set; a code none of them
        knows (written by a newer version or another tool) is kept as an
        :class:`UnknownCode` (same string, ``known`` false, the error's kind).
        Malformed input raises :class:`UsageError` with
        ``ErrorCode.INVALID_ARGUMENT``.
        """
        if not isinstance(data, Mapping):
            raise _malformed(f"expected a mapping, got {type(data).__name__}")
        code_text = _field(data, "error_code", str)
        kind_text = _field(data, "kind", str)
        message = _field(data, "message", str)
        raw_context = data.get("context")
        if not isinstance(raw_context, Mapping):
            raise _malformed("field 'context' must be a mapping")
        cause = data.get("cause")
        if cause is not None and not isinstance(cause, str):
            raise _malformed("field 'cause' must be a string")
        try:
            kind = ErrorKind(kind_text)
        except ValueError:
            raise _malformed(f"unknown kind {kind_text!r}") from None
        code: Code = lookup_code(code_text) or UnknownCode(code_text, kind)
        error = error_class_for(kind)(code, message, raw_context)
        if cause is not None:
            error.__cause__ = RemoteCause(cause)
        return error

    @classmethod
    def from_json(cls, text: str) -> RecorderError:
        """Inverse of :meth:`to_json`; malformed JSON raises :class:`UsageError`."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise _malformed(f"not valid JSON: {exc}") from exc
        return cls.from_dict(data)


class UsageError(RecorderError):
    """The caller's mistake: bad flags or arguments, conflicting sessions (exit 2)."""

    __module__ = "recorder_errors"
    KIND: ClassVar[ErrorKind] = ErrorKind.USAGE

    def __init__(
        self, code: Code, message: str, context: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(self.KIND, code, message, context)


class EnvironmentError(RecorderError):
    """The machine failed us: IO, permissions, disk space, resources (exit 10).

    Distinct from the builtin ``EnvironmentError`` (an alias of ``OSError``).
    """

    __module__ = "recorder_errors"
    KIND: ClassVar[ErrorKind] = ErrorKind.ENVIRONMENT

    def __init__(
        self, code: Code, message: str, context: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(self.KIND, code, message, context)


class TargetError(RecorderError):
    """The traced program misbehaved in a way that stopped recording (exit 20)."""

    __module__ = "recorder_errors"
    KIND: ClassVar[ErrorKind] = ErrorKind.TARGET

    def __init__(
        self, code: Code, message: str, context: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(self.KIND, code, message, context)


class InternalError(RecorderError):
    """A bug in the recorder (exit 70)."""

    __module__ = "recorder_errors"
    KIND: ClassVar[ErrorKind] = ErrorKind.INTERNAL

    def __init__(
        self, code: Code, message: str, context: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(self.KIND, code, message, context)


_CLASS_FOR_KIND: dict[ErrorKind, type[UsageError | EnvironmentError | TargetError | InternalError]]
_CLASS_FOR_KIND = {
    ErrorKind.USAGE: UsageError,
    ErrorKind.ENVIRONMENT: EnvironmentError,
    ErrorKind.TARGET: TargetError,
    ErrorKind.INTERNAL: InternalError,
}


def error_class_for(
    kind: ErrorKind,
) -> type[UsageError | EnvironmentError | TargetError | InternalError]:
    """The subclass that represents ``kind``."""
    return _CLASS_FOR_KIND[ErrorKind(kind)]


def _restore(
    cls: type[RecorderError], args: tuple[object, ...], cause_text: str | None
) -> RecorderError:
    """Unpickling half of :meth:`RecorderError.__reduce__`."""
    error = cls.__new__(cls, *args)
    if cause_text is not None:
        error.__cause__ = RemoteCause(cause_text)
    return error


def _as_code(code: object) -> Code:
    """``code`` itself, or the registered code of a plain string (its wire form)."""
    if isinstance(code, (CodeSet, UnknownCode)):
        return code
    found = lookup_code(code) if isinstance(code, str) else None
    if found is None:
        raise UsageError(
            ErrorCode.INVALID_ARGUMENT,
            f"unknown error code {safe_str(code)!r}: no imported code set declares it",
            {"error_code": code},
        )
    return found


def _malformed(reason: str) -> UsageError:
    return UsageError(
        ErrorCode.INVALID_ARGUMENT, f"cannot rebuild a recorder error: {reason}", {"reason": reason}
    )


_T = TypeVar("_T")


def _field(data: Mapping[str, object], name: str, expected: type[_T]) -> _T:
    value = data.get(name)
    if not isinstance(value, expected):
        raise _malformed(f"field {name!r} must be a {expected.__name__}")
    return value
