"""Turning an arbitrary exception into a classified ``RecorderError``.

Shared by the callback guard and the entry-point guard so that both follow the
same rule:

- a ``RecorderError`` keeps its classification: the same object comes back,
  with the guard's context added only under keys it does not already have;
- an ``OSError`` or a ``MemoryError`` is classified by
  ``recorder_errors.from_exception`` (an Environment failure, exit 10: by errno
  for an ``OSError``, ``ERR_OUT_OF_MEMORY`` for a ``MemoryError``), because
  "the disk is full" or "the machine is out of memory" is not a recorder bug
  whichever frame noticed it;
- anything else is a bug: an ``InternalError`` with the caller's code
  (``ERR_CALLBACK_FAILED`` or ``ERR_UNKNOWN``) and ``exception_type`` in its
  context.

A new error always has the original exception as ``__cause__``.
"""

from __future__ import annotations

import sys
import types

from recorder_errors import ErrorCode, RecorderError, bug, from_exception

__all__ = ["classify", "describe", "location_of"]

_MAX_MESSAGE = 200

#: Exceptions that mean the machine failed, not the recorder (see module docstring).
_ENVIRONMENT_FAILURES: tuple[type[BaseException], ...] = (OSError, MemoryError)


def classify(exc: BaseException, code: ErrorCode, **context: object) -> RecorderError:
    """Return the ``RecorderError`` that stands for ``exc`` (see module docstring)."""
    if isinstance(exc, RecorderError):
        missing = {key: value for key, value in context.items() if key not in exc.context}
        return exc.with_context(**missing)
    if isinstance(exc, _ENVIRONMENT_FAILURES):
        err = from_exception(exc).with_context(**context)
    else:
        err = bug(
            code,
            f"unexpected {describe(exc)}",
            exception_type=_type_name(type(exc)),
            **context,
        )
    err.__cause__ = exc
    return err


def describe(exc: BaseException) -> str:
    """``"TypeName: message"`` on one line, never raising.

    The message of an exception raised by hostile program code (a ``__str__``
    that raises, a huge or multi-line message) must not break or flood the
    recorder's own diagnostics.
    """
    name = type(exc).__name__
    try:
        text = str(exc)
    except Exception:
        text = "<unprintable message>"
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return f"{name}: {text}" if text else name


def location_of(event: str, args: tuple[object, ...]) -> str | None:
    """``"file:line qualname"`` for a callback whose first argument is a code object or frame.

    ``sys.monitoring`` passes a code object first (and the line number second
    for LINE events); ``sys.settrace`` passes a frame. Anything else has no
    location.
    """
    if not args:
        return None
    first = args[0]
    if isinstance(first, types.CodeType):
        line: object = first.co_firstlineno
        if event == "line" and len(args) > 1 and isinstance(args[1], int):
            line = args[1]
        return f"{first.co_filename}:{line} {_qualname(first)}"
    if isinstance(first, types.FrameType):
        code = first.f_code
        return f"{code.co_filename}:{first.f_lineno} {_qualname(code)}"
    return None


def _type_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _qualname(code: types.CodeType) -> str:
    if sys.version_info >= (3, 11):
        return code.co_qualname
    return code.co_name
