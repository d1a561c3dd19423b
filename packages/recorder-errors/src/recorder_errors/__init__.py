"""recorder-errors: classified, stable errors for the CodeTracer Python recorder.

Every recorder failure is a :class:`RecorderError` with a kind
(:class:`ErrorKind`: Usage, Environment, Target, Internal -> exit status
2, 10, 20, 70), a stable code (:class:`ErrorCode`, e.g. ``"ERR_IO"``), a
message and a ``dict[str, str]`` context. Raise them through the helpers::

    from recorder_errors import ErrorCode, usage

    raise usage(ErrorCode.ALREADY_TRACING, "a session is already active")

Note: ``recorder_errors.EnvironmentError`` is this package's class, not the
builtin alias of ``OSError``; import the module and use the qualified name.
"""

from recorder_errors.codes import ErrorCode, codes_table_markdown
from recorder_errors.codeset import Code, CodeSet, UnknownCode, lookup_code
from recorder_errors.errors import (
    EnvironmentError,
    ErrorDict,
    InternalError,
    RecorderError,
    RemoteCause,
    TargetError,
    UsageError,
    error_class_for,
)
from recorder_errors.helpers import (
    bug,
    ensure_env,
    ensure_internal,
    ensure_target,
    ensure_usage,
    enverr,
    exit_code_for,
    from_exception,
    target,
    usage,
)
from recorder_errors.kinds import ErrorKind

__version__ = "0.2.0"

__all__ = [
    "Code",
    "CodeSet",
    "EnvironmentError",
    "ErrorCode",
    "ErrorDict",
    "ErrorKind",
    "InternalError",
    "RecorderError",
    "RemoteCause",
    "TargetError",
    "UnknownCode",
    "UsageError",
    "__version__",
    "bug",
    "codes_table_markdown",
    "ensure_env",
    "ensure_internal",
    "ensure_target",
    "ensure_usage",
    "enverr",
    "error_class_for",
    "exit_code_for",
    "from_exception",
    "lookup_code",
    "target",
    "usage",
]
