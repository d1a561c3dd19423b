"""A full disk with ``--keep-partial-trace`` keeps the longest complete prefix of the trace.

``ENOSPC`` (injected: a file that cannot grow past a capacity) and ``EFBIG`` (a real
``RLIMIT_FSIZE``, as ``ulimit -f`` sets it) must leave a trace that a reader parses whole,
balanced, with every id defined, cut at the end of a complete event group and marked partial
with the reason; never bytes a reader cannot parse.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from recorder_errors import ErrorCode, RecorderError
from recorder_runtime.durable_prefix import event_group_ends
from recorder_runtime.writer import BoundOS, TraceWriter

REPO = Path(__file__).resolve().parents[3]
TRACE_CHECK = REPO / "tests" / "fixtures" / "tools" / "trace_check.py"

STEP = '{"Step":{"path_id":0,"line":%d}}'
VALUE = '{"Value":{"variable_id":0,"value":{"kind":"Int","i":%d,"type_id":1}}}'
CALL = (
    '{"Call":{"function_id":1,"args":[{"variable_id":0,'
    '"value":{"kind":"Int","i":%d,"type_id":1}}]}}'
)
RETURN = '{"Return":{"return_value":{"kind":"None","type_id":0}}}'


# ----------------------------------------------------------------------------- group boundaries


def test_a_cut_never_separates_call_arguments_from_their_call() -> None:
    line = [STEP % 1, VALUE % 1]
    call = [VALUE % 2, STEP % 5, CALL % 2]
    events = [*line, *call, RETURN]
    assert event_group_ends(events) == [2, 5, 6]


def test_a_cut_never_separates_a_step_from_its_values() -> None:
    events = [STEP % 1, VALUE % 1, VALUE % 2, STEP % 2, VALUE % 3]
    assert event_group_ends(events) == [3, 5]


def test_definitions_and_drained_output_stand_alone() -> None:
    output = '{"Event":{"kind":0,"metadata":"{}","content":"hi\\n"}}'
    events = ['{"VariableName":"x"}', output, STEP % 1, VALUE % 1, output, '{"Path":"/p"}']
    assert event_group_ends(events) == [1, 4, 5, 6]


# ----------------------------------------------------------------------------- injected ENOSPC


def limit_file(monkeypatch: pytest.MonkeyPatch, writer: TraceWriter, capacity: int) -> None:
    """The trace file cannot grow past ``capacity`` bytes: the last write is short, the
    next one fails with ENOSPC, as on a full file system."""
    real_write = os.write

    def write(fd: int, data: Any) -> int:
        if fd != writer._fd:
            return real_write(fd, data)
        room = capacity - os.lseek(fd, 0, os.SEEK_CUR)
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, bytes(data[:room]))

    monkeypatch.setattr(BoundOS, "write", write)


def record_groups(writer: TraceWriter, calls: int) -> None:
    """The opening events, then ``calls`` calls of a function with one step each."""
    path = writer.path_id("/p/main.py")
    top = writer.function_id(("<toplevel>",), path, 1, "<toplevel>")
    writer.call(top, [])
    writer.type_id(30, "None")
    writer.type_id(7, "int")
    variable = writer.variable_id("x")
    function = writer.function_id(("f",), path, 5, "f")
    assert (variable, function) == (0, 1)
    for i in range(calls):
        writer.extend([STEP % 2, VALUE % i])
        writer.extend([VALUE % i, STEP % 5, CALL % i])
        writer.extend([STEP % 6, VALUE % i])
        writer.extend([RETURN])


def test_no_space_keeps_the_longest_complete_prefix_that_fits_with_its_closing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlimited = TraceWriter(str(tmp_path / "whole.json"))
    record_groups(unlimited, 2000)  # about 500 KiB of events
    unlimited.close()
    whole = json.loads((tmp_path / "whole.json").read_bytes())
    capacity = 64 * 1024
    events_path = tmp_path / "trace.json"
    writer = TraceWriter(str(events_path))
    limit_file(monkeypatch, writer, capacity)
    with pytest.raises(RecorderError) as raised:
        record_groups(writer, 2000)
        writer.flush()
    assert raised.value.code is ErrorCode.NO_SPACE
    writer.close_partial('{"kind":"None","type_id":0}')
    assert writer.salvaged is not None
    events = json.loads(events_path.read_bytes())  # every byte kept parses
    kept, closing = events[: writer.salvaged.events], events[writer.salvaged.events :]
    assert kept == whole[: len(kept)]  # a prefix of what was recorded ...
    texts = [json.dumps(event, separators=(",", ":")) for event in whole]
    assert len(kept) in event_group_ends(texts)  # ... ending with a whole event group
    kinds = [next(iter(event)) for event in kept]
    open_calls = kinds.count("Call") - kinds.count("Return")
    assert closing == [{"Return": {"return_value": {"kind": "None", "type_id": 0}}}] * open_calls
    assert writer.salvaged.offset > capacity // 2  # most of what had room, not nothing
    assert events_path.stat().st_size <= capacity  # the closing records fitted
    assert writer.paths == ["/p/main.py"]


def test_no_space_before_anything_fits_keeps_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = TraceWriter(str(tmp_path / "trace.json"))
    limit_file(monkeypatch, writer, 40)  # not even the opening events and their closing
    with pytest.raises(RecorderError):
        record_groups(writer, 10)
        writer.flush()
    writer.close_partial('{"kind":"None","type_id":0}')
    assert writer.salvaged is None
    assert writer.broken is not None


# ----------------------------------------------------------------------------- real EFBIG

PROGRAM = """
def double(i):
    return i * 2

total = 0
for i in range(3000):
    total += double(i)
print(total)
"""


def file_size_limit(limit: int) -> None:
    """In the child, before exec: ``ulimit -f``; SIGXFSZ ignored, so writes fail with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def record_with_file_limit(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(PROGRAM), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODETRACER")}
    argv = [sys.executable, "-m", "recorder_runtime", "--trace-dir", "out", "--format", "json"]
    return subprocess.run(
        [*argv, *flags, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: file_size_limit(64 * 1024),
    )


def test_file_too_large_with_keep_partial_trace_keeps_a_valid_partial_trace(
    tmp_path: Path,
) -> None:
    done = record_with_file_limit(tmp_path, "--keep-partial-trace")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "trace.json",
        "trace_metadata.json",
        "trace_paths.json",
    ], done.stderr
    check = subprocess.run(
        [sys.executable, str(TRACE_CHECK), str(out)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    metadata = json.loads((out / "trace_metadata.json").read_text(encoding="utf-8"))
    assert metadata["partial"] is True
    assert metadata["partial_reason"]["error_code"] == ErrorCode.FILE_TOO_LARGE.value
    assert "ERR_FILE_TOO_LARGE" in done.stderr


def test_file_too_large_without_keep_partial_trace_leaves_nothing(tmp_path: Path) -> None:
    done = record_with_file_limit(tmp_path)
    assert not (tmp_path / "out").exists(), done.stderr
    assert "ERR_FILE_TOO_LARGE" in done.stderr
