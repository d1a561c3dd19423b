"""``recorder-runtime inspect TRACE_DIR``: what a trace holds, for people (text) or tools (--json).

The summary is computed in one streaming pass (:mod:`.summary` over :mod:`.events`), so a
trace larger than memory works. Output goes to stdout: it is what the user asked for (this
command records nothing, so the recorder's "nothing on stdout" rule is not at stake). Bad
input (no such directory, not a trace, malformed files) is one classified line on stderr
and exit 2; an unreadable file is exit 10; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from recorder_errors import ErrorCode, RecorderError, from_exception, usage

from ..notices import human_size, trace_size
from .events import event_file, open_events
from .jsonstream import DEFAULT_CHUNK
from .summary import StreamStats, summarize

__all__ = ["inspect_trace", "main", "render_text"]

METADATA_FILE = "trace_metadata.json"
DEFAULT_TOP = 5


class _Parser(argparse.ArgumentParser):
    """Argument errors become classified usage errors, never ``SystemExit``."""

    def error(self, message: str) -> NoReturn:
        raise usage(ErrorCode.INVALID_ARGUMENT, message, hint=f"see {self.prog} --help")


def _parser(prog: str) -> _Parser:
    parser = _Parser(
        prog=prog,
        description="Summarise a trace directory written by the recorder.",
        allow_abbrev=False,
    )
    parser.add_argument("trace_dir", metavar="TRACE_DIR", help="the directory of the trace")
    parser.add_argument("--json", action="store_true", help="one JSON object, for tools")
    parser.add_argument(
        "--top",
        type=int,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"how many functions and files to list (default {DEFAULT_TOP})",
    )
    return parser


def inspect_trace(
    trace_dir: str, *, top: int = DEFAULT_TOP, chunk: int = DEFAULT_CHUNK
) -> dict[str, Any]:
    """The summary of ``trace_dir`` as a JSON-ready dict (the ``--json`` output)."""
    if not os.path.isdir(trace_dir):
        what = "does not exist" if not os.path.lexists(trace_dir) else "is not a directory"
        raise usage(ErrorCode.INVALID_ARGUMENT, f"{trace_dir} {what}", path=trace_dir)
    path, fmt = event_file(trace_dir)
    metadata = _metadata(trace_dir)
    stats = summarize(open_events(path, fmt, chunk=chunk))
    return _report(os.path.abspath(trace_dir), fmt, metadata, stats, max(0, top))


def _metadata(trace_dir: str) -> dict[str, Any] | None:
    """``trace_metadata.json``, or None when the trace has none (its commit never finished)."""
    path = os.path.join(trace_dir, METADATA_FILE)
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise from_exception(exc) from None
    except (ValueError, RecursionError) as exc:
        raise usage(
            ErrorCode.INVALID_ARGUMENT, f"{path} is not valid JSON ({exc})", path=path
        ) from None
    if not isinstance(data, dict):
        raise usage(ErrorCode.INVALID_ARGUMENT, f"{path} is not a JSON object", path=path)
    return data


def _report(
    trace_dir: str,
    fmt: str,
    metadata: dict[str, Any] | None,
    stats: StreamStats,
    top: int,
) -> dict[str, Any]:
    meta = metadata or {}
    found = meta.get("recorder")
    recorder: dict[str, Any] = found if isinstance(found, dict) else {}
    state, reason = _state(metadata, stats)
    return {
        "trace_dir": trace_dir,
        "format": fmt,
        "size_bytes": trace_size(trace_dir),
        "program": meta.get("program"),
        "args": meta.get("args"),
        "workdir": meta.get("workdir"),
        "python": recorder.get("python"),
        "backend": recorder.get("backend"),
        "recorder": {"name": recorder.get("name"), "version": recorder.get("version")},
        "state": state,
        "partial_reason": reason,
        "exit_status": meta.get("process_exit_status"),
        "events": stats.events,
        "steps": stats.steps,
        "calls": stats.calls,
        "functions": len(stats.called),
        "values": stats.values,
        "redactions": stats.redactions,
        "io_events": stats.io_events,
        "open_calls": stats.open_calls,
        "top_functions": stats.top_functions(top),
        "top_files": stats.top_files(top),
    }


def _state(metadata: dict[str, Any] | None, stats: StreamStats) -> tuple[str, Any]:
    """``complete``, ``partial`` (with the recorder's reason) or ``incomplete`` (and why)."""
    if metadata is None:
        return "incomplete", {"message": f"no {METADATA_FILE}: the trace was never finished"}
    if metadata.get("partial") is True:
        return "partial", metadata.get("partial_reason")
    if stats.open_calls:
        return "incomplete", {"message": f"{stats.open_calls} calls never returned"}
    return "complete", None


def render_text(report: dict[str, Any]) -> str:
    """The human summary: one fact per line, then the top functions and files."""
    lines = [
        f"trace      {report['trace_dir']}",
        f"format     {report['format']}, {human_size(report['size_bytes'])} on disk",
        f"program    {report['program'] or '?'} {_args(report['args'])}".rstrip(),
        f"python     {report['python'] or '?'} ({report['backend'] or '?'} backend, "
        f"{report['recorder']['name'] or '?'} {report['recorder']['version'] or ''})".replace(
            " )", ")"
        ),
        f"state      {_state_text(report)}",
        f"steps      {report['steps']}",
        f"calls      {report['calls']} ({_count(report['functions'], 'distinct function')})",
        f"values     {report['values']} written, {report['redactions']} redacted",
        f"output     {_count(report['io_events'], 'captured output event')}",
    ]
    if report["top_functions"]:
        lines.append("top functions by steps:")
        for row in report["top_functions"]:
            where = f"{row['path']}:{row['line']}"
            lines.append(f"  {row['steps']:>10}  {row['name']}  ({where})")
    if report["top_files"]:
        lines.append("top files by steps:")
        for row in report["top_files"]:
            lines.append(f"  {row['steps']:>10}  {row['path']}")
    return "\n".join(lines) + "\n"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _args(args: object) -> str:
    if not isinstance(args, list) or not args:
        return ""
    return " ".join(str(arg) for arg in args)


def _state_text(report: dict[str, Any]) -> str:
    exit_status = report["exit_status"]
    text = str(report["state"])
    if isinstance(exit_status, dict):
        code, label = exit_status.get("code"), exit_status.get("label")
        text += f", exit status {code if code is not None else label}"
    reason = report["partial_reason"]
    if isinstance(reason, dict):
        code = reason.get("error_code")
        message = reason.get("message", "")
        text += f" ({code}: {message})" if code else f" ({message})"
    return text


def main(argv: Sequence[str], *, prog: str = "recorder-runtime inspect") -> int:
    """Run the command; returns the exit status (0, or 2/10 for bad input)."""
    out: TextIO = sys.stdout
    try:
        namespace = _parser(prog).parse_args(list(argv))
        report = inspect_trace(namespace.trace_dir, top=namespace.top)
        text = json.dumps(report, ensure_ascii=True) + "\n" if namespace.json else None
        out.write(text if text is not None else render_text(report))
        out.flush()
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    except BrokenPipeError:  # `inspect ... | head`: the reader left, which is fine
        _silence_stdout()
        return 0
    except Exception as exc:
        error = exc if isinstance(exc, RecorderError) else from_exception(exc)
        hint = error.context.get("hint")
        suffix = f" ({hint})" if hint else ""
        sys.stderr.write(f"recorder: {error.code.value}: {error.message}{suffix}\n")
        return error.exit_code
    return 0


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
