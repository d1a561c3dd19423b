"""``recorder-runtime convert SRC DST``: a trace directory from one format to the other.

The direction follows what SRC holds (``trace.json`` -> ``binary``, ``trace.bin`` -> ``json``)
unless ``--format`` names DST's format. The events are streamed (read one at a time by
:func:`recorder_runtime.tools.events.open_events`, written as they come by
:mod:`recorder_runtime.output.transcode`), so a trace larger than memory converts in bounded
memory. ``trace_paths.json`` is copied; ``trace_metadata.json`` is copied with ``"format"``
set to DST's format.

Bad input is a classified error, never a traceback: SRC not a trace directory, a damaged trace
or an unusable DST -> Usage (exit 2); a failing read or write -> Environment (exit 10). A
failed conversion removes what it wrote into DST (and DST itself when it created it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from recorder_errors import ErrorCode, from_exception, usage
from recorder_errors.helpers import KEYBOARD_INTERRUPT_EXIT
from recorder_runtime.metadata import write_json_file
from recorder_runtime.output import formats
from recorder_runtime.output.transcode import convert_events
from recorder_runtime.staging import METADATA_FILE, PATHS_FILE
from recorder_runtime.tools.events import event_file
from recorder_runtime.writer import BoundOS as _os

__all__ = ["ConvertResult", "convert", "main"]


@dataclass(frozen=True)
class ConvertResult:
    """What a conversion did."""

    source_format: str
    target_format: str
    events: int


def convert(src: str, dst: str, target_format: str | None = None) -> ConvertResult:
    """Convert the trace directory ``src`` into ``dst`` (created, or an empty directory)."""
    if not _os.path.isdir(src):
        raise usage(ErrorCode.INVALID_ARGUMENT, f"{src} is not a trace directory", path=src)
    source, source_format = event_file(src)
    if target_format is None:
        target_format = "binary" if source_format == "json" else "json"
    target_format = formats.lookup(target_format).name
    made_dir = _prepare_destination(src, dst)
    created: list[str] = []
    try:
        target = _os.path.join(dst, formats.lookup(target_format).events_file)
        count = convert_events(source, target, source_format, target_format)
        created.append(target)
        _copy_json(src, dst, PATHS_FILE, created, None)
        _copy_json(src, dst, METADATA_FILE, created, target_format)
    except BaseException:
        for path in reversed(created):
            with contextlib.suppress(OSError):
                _os.unlink(path)
        if made_dir:
            with contextlib.suppress(OSError):
                _os.rmdir(dst)
        raise
    return ConvertResult(source_format, target_format, count)


def _prepare_destination(src: str, dst: str) -> bool:
    """Create ``dst`` (mode 0700; True) or accept an existing empty directory (False)."""
    if _os.path.abspath(src) == _os.path.abspath(dst):
        raise usage(ErrorCode.TRACE_DIR_CONFLICT, "SRC and DST are the same directory", path=dst)
    try:
        _os.mkdir(dst, 0o700)
        return True
    except FileExistsError:
        pass
    except OSError as exc:
        raise from_exception(exc).with_context(path=dst, op="mkdir") from exc
    try:
        entries = _os.listdir(dst) if _os.path.isdir(dst) else None
    except OSError as exc:
        raise from_exception(exc).with_context(path=dst, op="listdir") from exc
    if entries is None or entries:
        raise usage(
            ErrorCode.TRACE_DIR_CONFLICT,
            f"{dst} exists and is not an empty directory",
            path=dst,
            hint="give a new directory as DST",
        )
    return False


def _copy_json(
    src: str, dst: str, name: str, created: list[str], target_format: str | None
) -> None:
    """Copy the side file ``name`` if SRC has it; with ``target_format``, as metadata."""
    source = _os.path.join(src, name)
    if not _os.path.lexists(source):
        return
    data = _read_json(source)
    if target_format is not None:
        if not isinstance(data, dict):
            raise usage(ErrorCode.INVALID_ARGUMENT, f"{source} is not a JSON object", path=source)
        data["format"] = target_format
    target = _os.path.join(dst, name)
    created.append(target)
    write_json_file(target, data)


def _read_json(path: str) -> Any:
    try:
        with _os.io_open(path, "rb") as f:
            return json.loads(f.read())
    except OSError as exc:
        raise from_exception(exc).with_context(path=path, op="read") from exc
    except ValueError as exc:
        raise usage(ErrorCode.INVALID_ARGUMENT, f"{path} is not valid JSON", path=path) from exc


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are classified usage errors (exit 2), not a bare exit."""

    def error(self, message: str) -> NoReturn:
        raise usage(ErrorCode.INVALID_ARGUMENT, message, hint=self.format_usage().strip())


def main(argv: Sequence[str], *, prog: str = "recorder-runtime convert") -> int:
    """``PROG SRC DST [--format json|binary]``: the exit status (0; 2 or 10 for bad input).

    Failures are reported on stderr in the CLI's one-line form, never as a traceback.
    """
    parser = _Parser(
        prog=prog, description="Convert a trace directory between the json and binary formats."
    )
    parser.add_argument("src", metavar="SRC", help="trace directory to read")
    parser.add_argument("dst", metavar="DST", help="new (or empty) directory to write")
    parser.add_argument(
        "--format",
        choices=sorted(formats.FORMATS),
        default=None,
        help="format of DST (default: the other one)",
    )
    try:
        namespace = parser.parse_args(list(argv))
        result = convert(namespace.src, namespace.dst, namespace.format)
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        sys.stderr.write("recorder: interrupted\n")
        return KEYBOARD_INTERRUPT_EXIT
    except Exception as exc:
        error = from_exception(exc)
        hint = error.context.get("hint")
        suffix = f" ({hint})" if hint else ""
        sys.stderr.write(f"recorder: {error.code.value}: {error.message}{suffix}\n")
        return error.exit_code
    sys.stderr.write(
        f"recorder: converted {result.events} events "
        f"({result.source_format} -> {result.target_format}) into {namespace.dst}\n"
    )
    return 0
