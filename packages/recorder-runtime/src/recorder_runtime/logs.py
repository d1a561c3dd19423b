"""Logging for the recorder: the ``recorder`` logger hierarchy and the CLI's handler.

Why this shape: the recorder runs *inside* someone else's program, and that
program may configure logging itself. Touching the root logger (a handler, a
level, or even one ``logging.warning`` call before the program's
``basicConfig``) changes what the program prints (reliability.md P6). So:

* every recorder module logs through ``get_logger(area)`` =
  ``logging.getLogger("recorder.<area>")``, never the root logger;
* as a library we install only a ``NullHandler`` on ``recorder`` and leave
  propagation on, so an application that wants our records gets them the
  standard way;
* the CLI, which owns the process's stderr, installs exactly one handler on
  ``recorder`` (stderr, or ``--log-file`` in append mode) and turns
  propagation off so that records never reach the program's root handlers.

Every record carries ``run_id`` (one uuid4 per process), ``trace_id`` (the
current session, or ``-``) and ``error_code`` (from ``extra``, or ``-``) so
that a failure in a log file can be matched with the JSON error trailer.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from typing import TextIO

__all__ = [
    "ROOT_LOGGER",
    "ContextFilter",
    "FoldFailures",
    "LineFormatter",
    "current_trace_id",
    "get_logger",
    "install_cli_handler",
    "remove_cli_handler",
    "run_id",
    "set_trace_id",
]

ROOT_LOGGER = "recorder"

# Bound at import: the program may mock json.dumps and never restore it (reliability.md F11).
_json_dumps = json.dumps

_RUN_ID = str(uuid.uuid4())
_state_lock = threading.Lock()
_trace_id: str | None = None
_cli_handler: logging.Handler | None = None

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def run_id() -> str:
    """The id of this process's run (a uuid4 chosen at import), shared by every session."""
    return _RUN_ID


def set_trace_id(trace_id: str | None) -> None:
    """Tag later records with the current session's trace id (``None`` when idle)."""
    global _trace_id
    with _state_lock:
        _trace_id = trace_id


def current_trace_id() -> str | None:
    """The trace id set by :func:`set_trace_id`, or ``None``."""
    return _trace_id


class ContextFilter(logging.Filter):
    """Adds ``run_id``, ``trace_id`` and ``error_code`` to every record it sees.

    Values passed through ``extra=`` win (a caller that knows the error code
    sets it); missing ones get ``-`` so formatters never fail. It never drops
    a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "run_id"):
            record.run_id = _RUN_ID
        if getattr(record, "trace_id", None) is None:
            record.trace_id = _trace_id or "-"
        code = getattr(record, "error_code", None)
        record.error_code = "-" if code is None else str(code)
        return True


_CONTEXT_FILTER = ContextFilter()


def _base_logger() -> logging.Logger:
    logger = logging.getLogger(ROOT_LOGGER)
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    return logger


def get_logger(area: str) -> logging.Logger:
    """``logging.getLogger("recorder.<area>")`` with the context filter attached.

    Logger filters do not apply to child loggers, so the filter is attached to
    each area logger as it is handed out (and again on the CLI handler).
    """
    _base_logger()
    logger = logging.getLogger(f"{ROOT_LOGGER}.{area}")
    if _CONTEXT_FILTER not in logger.filters:
        logger.addFilter(_CONTEXT_FILTER)
    return logger


class LineFormatter(logging.Formatter):
    """One line per record: ``recorder: LEVEL: message [key=value ...]``.

    Newlines in the message are escaped and a traceback (``exc_info``) is
    appended as a JSON string field, so a log stays one record per line and
    can be grepped or split reliably.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")
        fields = (
            f"logger={record.name} run_id={getattr(record, 'run_id', _RUN_ID)} "
            f"trace_id={getattr(record, 'trace_id', '-')} "
            f"error_code={getattr(record, 'error_code', '-')}"
        )
        line = f"recorder: {record.levelname}: {message} [{fields}]"
        if record.exc_info:
            line += " traceback=" + _json_dumps(self.formatException(record.exc_info))
        elif record.exc_text:
            line += " traceback=" + _json_dumps(record.exc_text)
        return line


def _open_stream(log_file: str | None) -> tuple[logging.Handler, OSError | None]:
    """A handler for the file (append, UTF-8), or for stderr when there is none or it fails."""
    if log_file is not None:
        try:
            return logging.FileHandler(log_file, mode="a", encoding="utf-8"), None
        except OSError as exc:
            return logging.StreamHandler(_stderr()), exc
    return logging.StreamHandler(_stderr()), None


def _stderr() -> TextIO:
    # sys.stderr is captured now, before the program (or IO capture) replaces it,
    # so recorder diagnostics never become part of the program's recorded output.
    return sys.stderr if sys.stderr is not None else sys.__stderr__  # type: ignore[return-value]


class FoldFailures(logging.Filter):
    """On the terminal, leave failures to the CLI's one verdict line.

    Every recorder failure reaches the user through exactly one line (``recorder:
    ERR_CODE: message``) or the JSON trailer, printed by the CLI when the run is
    over. A record about a failure (one that carries an ``error_code``) printed
    as it happens would say the same thing twice, so at the default levels
    (warning and above) the stderr handler drops such records. They still go to a
    ``--log-file``, and they appear on stderr at ``--log-level info`` or ``debug``.
    A record logged with ``extra={"standalone": True}`` is never folded (it is not
    about a failure the CLI reports).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "standalone", False):
            return True
        code = getattr(record, "error_code", None)
        return code is None or code == "-"


def install_cli_handler(level: str, log_file: str | None) -> logging.Handler:
    """Attach the CLI's one handler to ``recorder`` and stop propagation to the root logger.

    ``level`` is a policy log level (``debug`` ... ``critical``). An unopenable
    ``log_file`` does not stop the recording: logging falls back to stderr and
    one warning (``ERR_IO``) says why. Logging is diagnostics, and refusing to
    record because of it would break the "never break the program" promise
    for a secondary concern. On stderr at warning level and above, records
    about failures are folded into the CLI's final line (:class:`FoldFailures`).
    Calling it again replaces the previous handler.
    """
    global _cli_handler
    remove_cli_handler()
    numeric = _LEVELS.get(level.strip().lower(), logging.WARNING)
    handler, failure = _open_stream(log_file)
    handler.setLevel(numeric)
    handler.setFormatter(LineFormatter())
    handler.addFilter(_CONTEXT_FILTER)
    on_terminal = not isinstance(handler, logging.FileHandler)
    if on_terminal and numeric >= logging.WARNING:
        handler.addFilter(FoldFailures())
    logger = _base_logger()
    logger.addHandler(handler)
    logger.setLevel(numeric)
    logger.propagate = False
    with _state_lock:
        _cli_handler = handler
    if failure is not None:
        get_logger("logs").warning(
            "cannot open log file %r (%s); logging to stderr instead",
            log_file,
            failure.strerror or failure,
            extra={"error_code": "ERR_IO", "standalone": True},
        )
    return handler


def remove_cli_handler() -> None:
    """Undo :func:`install_cli_handler` (close the file, restore propagation and level)."""
    global _cli_handler
    with _state_lock:
        handler, _cli_handler = _cli_handler, None
    if handler is None:
        return
    logger = logging.getLogger(ROOT_LOGGER)
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    try:
        handler.flush()
        handler.close()
    except Exception:  # closing a log file must never fail the recording
        pass


_base_logger()
