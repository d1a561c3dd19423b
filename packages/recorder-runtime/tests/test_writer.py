"""TraceWriter: streaming, ids, strict output, partial closing, failures."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from recorder_errors import EnvironmentError as RecEnvError
from recorder_errors import ErrorCode, ErrorKind, RecorderError
from recorder_runtime.writer import BoundOS, TraceWriter, json_string

NONE_VALUE = '{"kind":"None","type_id":0}'


def _no_lone_surrogates(obj: Any) -> None:
    if isinstance(obj, str):
        assert not any("\ud800" <= c <= "\udfff" for c in obj), obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _no_lone_surrogates(k)
            _no_lone_surrogates(v)
    elif isinstance(obj, list):
        for v in obj:
            _no_lone_surrogates(v)


def strict_load(path: Path) -> Any:
    """Parse like serde_json would: no NaN/Infinity, valid UTF-8, no lone surrogate escapes."""

    def reject(token: str) -> None:
        raise ValueError(f"non-standard JSON constant {token}")

    data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=reject)
    _no_lone_surrogates(data)
    return data


def opening(w: TraceWriter, script: str = "/p/main.py") -> None:
    """The four opening events of §10.2, through the public registries."""
    pid = w.path_id(script)
    fid = w.function_id(("<toplevel>",), pid, 1, "<toplevel>")
    w.call(fid, [])
    w.type_id(30, "None")


@pytest.fixture
def events_path(tmp_path: Path) -> Path:
    return tmp_path / "trace.json"


def test_empty_writer_closes_to_an_empty_array(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    w.close()
    assert strict_load(events_path) == []
    assert w.closed


def test_opening_events_get_the_fixed_ids_of_the_format(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    w.close()
    assert strict_load(events_path) == [
        {"Path": "/p/main.py"},
        {"Function": {"path_id": 0, "line": 1, "name": "<toplevel>"}},
        {"Call": {"function_id": 0, "args": []}},
        {"Type": {"kind": 30, "lang_type": "None", "specific_info": {"kind": "None"}}},
    ]


def test_output_is_compact_like_serde(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    w.step(0, 3)
    w.close()
    text = events_path.read_text()
    assert " " not in text.replace("<toplevel>", "")
    assert "\n" not in text
    assert text.startswith("[{") and text.endswith("}]")


def test_registries_are_dense_and_stable(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    assert [w.path_id(p) for p in ("a", "b", "a", "c")] == [0, 1, 0, 2]
    assert [w.variable_id(n) for n in ("x", "y", "x")] == [0, 1, 0]
    assert [w.type_id(k, t) for k, t in ((30, "None"), (7, "int"), (30, "None"))] == [0, 1, 0]
    w.close()
    assert w.paths == ["a", "b", "c"]


def test_functions_are_keyed_by_the_callers_key_not_by_name(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    w.path_id("m.py")
    first = w.function_id(("m.py", 1, "<lambda>"), 0, 1, "<lambda>")
    second = w.function_id(("m.py", 2, "<lambda>"), 0, 2, "<lambda>")
    again = w.function_id(("m.py", 1, "<lambda>"), 0, 1, "<lambda>")
    w.close()
    assert (first, second, again) == (0, 1, 0)
    functions = [e["Function"] for e in strict_load(events_path) if "Function" in e]
    assert [f["line"] for f in functions] == [1, 2]


def test_same_type_name_with_another_kind_gets_its_own_type(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    assert w.type_id(7, "T") != w.type_id(6, "T")
    w.close()


def test_every_id_is_defined_before_its_first_use(events_path: Path) -> None:
    w = TraceWriter(str(events_path), buffer_limit=64)
    opening(w)
    for i in range(50):
        pid = w.path_id(f"/p/m{i % 7}.py")
        tid = w.type_id(7, f"int{i % 5}")
        vid = w.variable_id(f"v{i % 11}")
        fid = w.function_id(("f", i % 3), pid, 1, f"f{i % 3}")
        w.step(pid, 1)
        w.call(fid, [(vid, f'{{"kind":"Int","i":{i},"type_id":{tid}}}')])
        w.value(vid, f'{{"kind":"Int","i":{i},"type_id":{tid}}}')
        w.ret(NONE_VALUE)
    w.close()
    defined = {"path": 0, "function": 0, "type": 0, "variable": 0}
    for event in strict_load(events_path):
        ((name, payload),) = event.items()
        if name == "Path":
            defined["path"] += 1
        elif name == "Function":
            assert payload["path_id"] < defined["path"]
            defined["function"] += 1
        elif name == "Type":
            defined["type"] += 1
        elif name == "VariableName":
            defined["variable"] += 1
        elif name == "Step":
            assert payload["path_id"] < defined["path"]
        elif name == "Call":
            assert payload["function_id"] < defined["function"]
            for arg in payload["args"]:
                assert arg["variable_id"] < defined["variable"]
                assert arg["value"]["type_id"] < defined["type"]
        elif name == "Value":
            assert payload["variable_id"] < defined["variable"]
            assert payload["value"]["type_id"] < defined["type"]


def test_strings_are_ascii_escaped_and_readable_by_serde(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    w.path_id("/p/caf\u00e9\udcff.py")
    w.variable_id('quote"back\\slash\nnewline')
    w.io_event(0, '{"stream":"stdout"}', "\u2603 snow\x00")
    w.close()
    raw = events_path.read_bytes()
    assert raw.isascii()
    events = strict_load(events_path)
    # a lone surrogate (surrogateescape file name) becomes visible text: serde_json rejects
    # a lone \udcff escape, so it must never reach the file as one
    assert events[0] == {"Path": "/p/caf\u00e9\\udcff.py"}
    assert w.paths == ["/p/caf\u00e9\udcff.py"]
    assert events[1] == {"VariableName": 'quote"back\\slash\nnewline'}
    assert events[2]["Event"]["content"] == "\u2603 snow\x00"
    assert json.loads(events[2]["Event"]["metadata"]) == {"stream": "stdout"}


def test_json_string_matches_json_dumps_without_surrogates() -> None:
    for s in ("", "plain", 'q"', "\u00e9\u2603", "\x00\x1f\x7f", "\U0001f600"):
        assert json_string(s) == json.dumps(s)


def test_extend_keeps_a_group_together_and_in_order(events_path: Path) -> None:
    w = TraceWriter(str(events_path), buffer_limit=10)
    w.extend(['{"Path":"a"}', '{"Path":"b"}'])
    w.close()
    assert strict_load(events_path) == [{"Path": "a"}, {"Path": "b"}]
    assert w.event_count == 2


def test_file_is_created_private_whatever_the_umask(events_path: Path) -> None:
    old = os.umask(0)
    try:
        w = TraceWriter(str(events_path))
    finally:
        os.umask(old)
    w.close()
    assert events_path.stat().st_mode & 0o777 == 0o600


def test_an_existing_file_is_never_reused(events_path: Path) -> None:
    events_path.write_text("victim")
    with pytest.raises(RecorderError) as info:
        TraceWriter(str(events_path))
    assert info.value.kind is ErrorKind.ENVIRONMENT
    assert info.value.context["op"] == "open"
    assert events_path.read_text() == "victim"


def test_a_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "trace.json"
    link.symlink_to(victim)
    with pytest.raises(RecorderError):
        TraceWriter(str(link))
    assert victim.read_text() == "precious"


def test_descriptor_is_not_inherited_by_exec(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    assert not os.get_inheritable(w._fd)
    w.close()


# ---------------------------------------------------------------- streaming / memory


def test_events_stream_to_disk_while_the_buffer_stays_bounded(events_path: Path) -> None:
    limit = 4096
    w = TraceWriter(str(events_path), buffer_limit=limit)
    opening(w)
    event = '{"Step":{"path_id":0,"line":1}}'
    sizes: list[int] = []
    max_buffered = 0
    for i in range(1_000_000):
        w.append(event)
        if i % 50_000 == 0:
            sizes.append(events_path.stat().st_size)
            max_buffered = max(max_buffered, w.buffered_chars)
    w.close()
    assert max_buffered <= limit + len(event)
    assert sizes == sorted(set(sizes))  # strictly growing
    assert w.event_count == 1_000_004
    assert len(strict_load(events_path)) == 1_000_004


def test_flushes_write_large_chunks_not_one_per_event(
    events_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: Any) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    w = TraceWriter(str(events_path), buffer_limit=1 << 16)
    monkeypatch.setattr(BoundOS, "write", counting_write)
    for _ in range(20_000):
        w.step(0, 1)
    w.close()
    assert 0 < len(writes) < 20
    assert len(strict_load(events_path)) == 20_000


def test_partial_writes_are_completed(events_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def short_write(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data[:7]))

    w = TraceWriter(str(events_path))
    monkeypatch.setattr(BoundOS, "write", short_write)
    opening(w)
    w.close()
    assert len(strict_load(events_path)) == 4


# ---------------------------------------------------------------- partial closing


def test_close_partial_balances_open_calls(events_path: Path, tmp_path: Path) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    for depth in range(3):
        fid = w.function_id(("f", depth), 0, 2 + depth, f"f{depth}")
        w.step(0, 2 + depth)
        w.call(fid, [])
    assert w.open_calls == 4
    w.close_partial('{"kind":"Error","msg":"ERR_IO","type_id":0}')
    assert w.broken is None
    events = strict_load(events_path)
    calls = sum(1 for e in events if "Call" in e)
    returns = [e["Return"]["return_value"] for e in events if "Return" in e]
    assert calls == len(returns) == 4
    assert returns[-1] == {"kind": "Error", "msg": "ERR_IO", "type_id": 0}
    assert w.open_calls == 0


def test_open_calls_counts_calls_batched_through_extend(events_path: Path) -> None:
    w = TraceWriter(str(events_path), buffer_limit=32)
    opening(w)
    w.extend(['{"Step":{"path_id":0,"line":2}}', w.call_text(0, [])])
    w.extend([f'{{"Return":{{"return_value":{NONE_VALUE}}}}}'])
    w.extend([w.call_text(0, [])])
    assert w.open_calls == 2
    w.close_partial(NONE_VALUE)
    events = strict_load(events_path)
    assert sum("Call" in e for e in events) == sum("Return" in e for e in events)


def test_call_markers_inside_strings_are_not_counted(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    w.variable_id('{"Call":{')
    w.io_event(0, "", '{"Return":{"return_value":1}}')
    assert w.open_calls == 1
    w.flush()
    assert w.open_calls == 1
    w.close()


def test_close_partial_with_an_explicit_count(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    w.close_partial(NONE_VALUE, open_calls=1)
    assert sum("Return" in e for e in strict_load(events_path)) == 1


def test_close_is_idempotent_and_later_events_are_dropped(events_path: Path) -> None:
    w = TraceWriter(str(events_path), buffer_limit=16)
    opening(w)
    w.close()
    w.close()
    for _ in range(100):
        w.step(0, 1)  # a daemon thread after the end must never see an exception (P2)
    w.flush()
    assert len(strict_load(events_path)) == 4
    assert w.dropped_events > 0


# ---------------------------------------------------------------- failures


def _fail_writes(monkeypatch: pytest.MonkeyPatch, err: int) -> list[int]:
    calls: list[int] = []

    def failing_write(fd: int, data: Any) -> int:
        calls.append(len(data))
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(BoundOS, "write", failing_write)
    return calls


@pytest.mark.parametrize(
    ("err", "code"),
    [
        (errno.ENOSPC, ErrorCode.NO_SPACE),
        (errno.EFBIG, ErrorCode.FILE_TOO_LARGE),
        (errno.EIO, ErrorCode.IO),
        (errno.EACCES, ErrorCode.PERMISSION_DENIED),
    ],
)
def test_a_write_failure_is_classified_with_path_and_op(
    events_path: Path, monkeypatch: pytest.MonkeyPatch, err: int, code: ErrorCode
) -> None:
    w = TraceWriter(str(events_path))
    _fail_writes(monkeypatch, err)
    w.step(0, 1)
    with pytest.raises(RecEnvError) as info:
        w.flush()
    assert info.value.code is code
    assert info.value.exit_code == 10
    assert info.value.context["path"] == str(events_path)
    assert info.value.context["op"] == "write"
    assert w.broken is info.value


def test_after_the_first_failure_the_writer_drops_silently(
    events_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = TraceWriter(str(events_path), buffer_limit=8)
    calls = _fail_writes(monkeypatch, errno.ENOSPC)
    with pytest.raises(RecorderError):
        w.step(0, 1)
    attempts = len(calls)
    for _ in range(1000):
        w.step(0, 1)
    w.flush()
    w.close()  # does not raise again
    assert len(calls) == attempts
    assert w.dropped_events == 1001
    assert w.closed
    assert w.buffered_chars == 0


def test_close_reports_the_failure_of_the_final_write(
    events_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    w.flush()
    _fail_writes(monkeypatch, errno.ENOSPC)  # only the closing "]" is left to write
    with pytest.raises(RecorderError) as info:
        w.close()
    assert info.value.code is ErrorCode.NO_SPACE
    assert info.value.context["op"] == "close"
    assert w.closed


def test_close_reports_an_error_from_closing_the_descriptor(
    events_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = TraceWriter(str(events_path))
    real_close = os.close

    def failing_close(fd: int) -> None:
        real_close(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(BoundOS, "close", failing_close)
    with pytest.raises(RecorderError) as info:
        w.close()
    assert info.value.code is ErrorCode.NO_SPACE


def test_close_partial_never_raises(events_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    _fail_writes(monkeypatch, errno.ENOSPC)
    w.close_partial(NONE_VALUE)
    assert w.closed
    assert w.broken is not None and w.broken.code is ErrorCode.NO_SPACE


class _Failpoints:
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.fired: list[str] = []

    def enabled(self, name: str) -> bool:
        return name in self.names

    def fire(self, name: str) -> None:
        self.fired.append(name)
        if name in self.names:
            raise RuntimeError(f"injected {name}")


def test_the_write_failpoint_fires_at_flush_and_is_classified_internal(
    events_path: Path,
) -> None:
    fp = _Failpoints({"writer.write"})
    w = TraceWriter(str(events_path), failpoints=fp)
    w.step(0, 1)
    with pytest.raises(RecorderError) as info:
        w.flush()
    assert info.value.kind is ErrorKind.INTERNAL
    assert isinstance(info.value.__cause__, RuntimeError)
    assert fp.fired == ["writer.write"]


def test_disabled_failpoints_are_not_consulted_on_flush(events_path: Path) -> None:
    fp = _Failpoints(set())
    w = TraceWriter(str(events_path), failpoints=fp)
    w.step(0, 1)
    w.close()
    assert fp.fired == []


def test_keyboard_interrupt_before_any_byte_keeps_the_events(
    events_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    real_write = os.write

    def interrupted(fd: int, data: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(BoundOS, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        w.flush()
    monkeypatch.setattr(BoundOS, "write", real_write)
    assert w.broken is None
    w.close()
    assert len(strict_load(events_path)) == 4


def test_keyboard_interrupt_after_a_partial_write_breaks_the_stream(
    events_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    real_write = os.write
    state = {"n": 0}

    def half_then_interrupt(fd: int, data: Any) -> int:
        state["n"] += 1
        if state["n"] == 1:
            return real_write(fd, bytes(data[:5]))
        raise KeyboardInterrupt

    monkeypatch.setattr(BoundOS, "write", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        w.flush()
    assert w.broken is not None and w.broken.code is ErrorCode.IO


# ---------------------------------------------------------------- fd takeover (F9)


def test_a_reused_descriptor_is_detected_and_the_users_file_untouched(
    events_path: Path, tmp_path: Path
) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    fd = w._fd
    os.close(fd)  # what os.closerange(3, 256) in the target does
    user_file = tmp_path / "user_data.txt"
    user_fd = os.open(user_file, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        assert user_fd == fd
        os.write(user_fd, b"user line\n")
        with pytest.raises(RecorderError) as info:
            w.flush()
        assert info.value.code is ErrorCode.TARGET_DETACHED
        assert info.value.kind is ErrorKind.TARGET
        w.close()
        os.write(user_fd, b"second\n")  # still open: the writer did not close it
    finally:
        os.close(user_fd)
    assert user_file.read_bytes() == b"user line\nsecond\n"


def test_a_closed_descriptor_is_a_target_error(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    os.close(w._fd)
    w.step(0, 1)
    with pytest.raises(RecorderError) as info:
        w.close()
    assert info.value.code is ErrorCode.TARGET_DETACHED


# ---------------------------------------------------------------- processes


def _run(code: str, tmp_path: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_writes_into_the_parents_file(tmp_path: Path) -> None:
    proc = _run(
        """
        import json, os
        from recorder_runtime.writer import TraceWriter
        w = TraceWriter("trace.json")
        w.path_id("/p/main.py")            # buffered, not yet written
        pid = os.fork()
        if pid == 0:
            for i in range(1000):
                w.step(0, 2)
            w.flush(); w.close()
            os._exit(0)
        os.waitpid(pid, 0)
        w.step(0, 1)
        w.close()
        print(json.dumps(json.load(open("trace.json"))))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"Path": "/p/main.py"}, {"Step": {"path_id": 0, "line": 1}}]


def test_file_size_limit_is_classified_and_the_process_survives(tmp_path: Path) -> None:
    proc = _run(
        """
        import resource, sys
        from recorder_errors import RecorderError
        from recorder_runtime.writer import TraceWriter
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        w = TraceWriter("trace.json", buffer_limit=1024)
        try:
            for i in range(10_000):
                w.step(0, i + 1)
            w.close()
        except RecorderError as err:
            print(err.code.value, err.kind.exit_code, err.context.get("errno"), err.context["op"])
            w.close()
            sys.exit(0)
        sys.exit(3)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    code, exit_code, err_no, op = proc.stdout.split()
    assert (code, exit_code, op) == ("ERR_FILE_TOO_LARGE", "10", "write")
    assert int(err_no) == errno.EFBIG


def test_abandon_releases_the_file_without_finishing_it(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    fd = w._fd
    w.abandon()
    w.abandon()
    w.step(0, 1)
    w.flush()  # dropped, no error
    assert w.closed
    with pytest.raises(OSError):
        os.fstat(fd)
    assert events_path.read_bytes() == b"["  # never finished: the session discards it


def test_the_real_failpoints_object_drives_the_writer(events_path: Path) -> None:
    from recorder_ffi.failpoints import Failpoints

    w = TraceWriter(str(events_path), failpoints=Failpoints.parse("writer.write:2"))
    w.step(0, 1)
    w.flush()  # first hit: quiet
    w.step(0, 2)
    with pytest.raises(RecorderError) as info:
        w.flush()
    assert info.value.kind is ErrorKind.INTERNAL
    assert info.value.context["op"] == "write"


def _depths(events: list[Any]) -> list[int]:
    depth, seen = 0, []
    for event in events:
        if "Call" in event:
            depth += 1
        elif "Return" in event:
            depth -= 1
        seen.append(depth)
    return seen


def test_finish_closes_every_open_call_by_its_own_count(events_path: Path) -> None:
    w = TraceWriter(str(events_path), buffer_limit=64)
    opening(w)
    w.extend(['{"Step":{"path_id":0,"line":2}}', w.call_text(0, [])])
    w.extend([w.call_text(0, [])])
    w.ret(NONE_VALUE)
    w.finish('{"kind":"Int","i":0,"type_id":0}', unwound_return_json='{"kind":"None","type_id":0}')
    events = strict_load(events_path)
    assert _depths(events)[-1] == 0 and min(_depths(events)) >= 0
    assert events[-1] == {"Return": {"return_value": {"kind": "Int", "i": 0, "type_id": 0}}}
    assert events[-2] == {"Return": {"return_value": {"kind": "None", "type_id": 0}}}


def test_nothing_lands_after_the_final_return(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    w.finish(NONE_VALUE)
    w.step(0, 9)  # a thread still inside a callback when the recording ended (D3)
    w.extend([w.call_text(0, [])])
    w.flush()
    events = strict_load(events_path)
    assert "Return" in events[-1]
    assert w.dropped_events == 2


def test_finish_balances_the_stream_while_threads_keep_recording(events_path: Path) -> None:
    import threading

    w = TraceWriter(str(events_path), buffer_limit=256)
    opening(w)
    stop = threading.Event()

    def busy(k: int) -> None:
        while not stop.is_set():
            w.extend([f'{{"Step":{{"path_id":0,"line":{k + 2}}}}}', w.call_text(0, [])])
            w.extend([f'{{"Step":{{"path_id":0,"line":{k + 2}}}}}'])
            w.extend([f'{{"Return":{{"return_value":{NONE_VALUE}}}}}'])

    threads = [threading.Thread(target=busy, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        while w.event_count < 20_000:
            threading.Event().wait(0.001)
        w.finish('{"kind":"Int","i":0,"type_id":0}')
    finally:
        stop.set()
        for t in threads:
            t.join()
    events = strict_load(events_path)
    depths = _depths(events)
    assert min(depths) >= 0 and depths[-1] == 0
    assert events[-1] == {"Return": {"return_value": {"kind": "Int", "i": 0, "type_id": 0}}}


def test_no_id_is_published_after_the_end(events_path: Path) -> None:
    w = TraceWriter(str(events_path))
    opening(w)
    w.finish(NONE_VALUE)
    w.path_id("/p/late.py")  # a late thread meeting a new file
    w.variable_id("late")
    assert w.paths == ["/p/main.py"]  # trace_paths.json must equal the Path events
    assert [e["Path"] for e in strict_load(events_path) if "Path" in e] == w.paths


def test_memory_stays_flat_however_many_events(events_path: Path) -> None:
    import tracemalloc

    limit = 1 << 16
    event = '{"Step":{"path_id":0,"line":1}}'
    w = TraceWriter(str(events_path), buffer_limit=limit)
    tracemalloc.start()
    try:
        for _ in range(20_000):
            w.append(event)
        _, peak_small = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(200_000):
            w.append(event)
        _, peak_large = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    w.close()
    # ten times the events, the same peak: the buffer, not the run length, bounds memory
    assert peak_large < 2 * peak_small
    assert peak_large < 16 * limit
    assert events_path.stat().st_size > 220_000 * len(event)
