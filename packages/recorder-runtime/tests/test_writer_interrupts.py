"""TraceWriter under asynchronous exceptions and leaked locks (F18).

A Ctrl-C lands inside recorder code most of the time (fact R3). An INSTRUCTION-event injector
on ``sys.monitoring`` raises KeyboardInterrupt at the n-th point of the writer's own code where
CPython can deliver an asynchronous exception, for every n; whatever n is, the writer must end
up either consistent (ids match the stream, every event exactly once) or broken with a
classified error — never hung, never with shifted ids, never with a file that fails to parse
while the writer claims it is fine.

Where CPython delivers them: its eval loop runs signal handlers only at "eval breaker" checks,
which in 3.12/3.13 sit at function entry (``RESUME``), at the end of a call instruction and on
backward jumps. So "before instruction X" is a real delivery point only when the instruction
executed just before X was one of those; the injector fires only there.
"""

from __future__ import annotations

import dis
import json
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recorder_errors import ErrorKind, RecorderError
from recorder_runtime import writer as writer_mod
from recorder_runtime.writer import TraceWriter

needs_monitoring = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="the injector uses sys.monitoring"
)
INJECTOR_TOOL = 5
_CHECKPOINT_PREFIXES = ("RESUME", "CALL", "JUMP_BACKWARD")


@pytest.fixture
def short_lock_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_mod, "_REG_LOCK_TIMEOUT", 0.05)
    monkeypatch.setattr(writer_mod, "_IO_LOCK_TIMEOUT", 0.05)


def _codes_of(*functions: Callable[..., Any]) -> list[types.CodeType]:
    codes = []
    for fn in functions:
        code = fn.__code__
        codes.append(code)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return codes


def _interrupt_at(n: int, codes: list[types.CodeType], action: Callable[[], None]) -> bool:
    """Run ``action`` with a KeyboardInterrupt injected before its n-th instruction.

    Returns False when ``action`` has fewer than n instructions (nothing was injected).
    """
    mon: Any = vars(sys)["monitoring"]  # 3.12+ only; mypy targets 3.10
    opnames = {code: {i.offset: i.opname for i in dis.get_instructions(code)} for code in codes}
    count = 0
    fired = False
    previous = "CALL"  # the action itself is entered by a call

    def on_instruction(code: types.CodeType, offset: int) -> None:
        nonlocal count, fired, previous
        deliverable = previous.startswith(_CHECKPOINT_PREFIXES)
        previous = opnames[code].get(offset, "")
        if deliverable:
            count += 1
            if count == n:
                fired = True
                raise KeyboardInterrupt

    mon.use_tool_id(INJECTOR_TOOL, "test-injector")
    try:
        mon.register_callback(INJECTOR_TOOL, mon.events.INSTRUCTION, on_instruction)
        for code in codes:
            mon.set_local_events(INJECTOR_TOOL, code, mon.events.INSTRUCTION)
        try:
            action()
        except KeyboardInterrupt:
            pass
    finally:
        for code in codes:
            mon.set_local_events(INJECTOR_TOOL, code, 0)
        mon.register_callback(INJECTOR_TOOL, mon.events.INSTRUCTION, None)
        mon.free_tool_id(INJECTOR_TOOL)
    return fired


def _positions() -> Iterator[int]:
    n = 1
    while n < 10_000:
        yield n
        n += 1


@needs_monitoring
def test_an_interrupted_registration_never_shifts_ids(
    tmp_path: Path, short_lock_timeouts: None
) -> None:
    codes = _codes_of(
        TraceWriter.path_id,
        TraceWriter._register,
        TraceWriter._define,
        TraceWriter._publish,
        TraceWriter._settle,
    )
    outcomes = {"consistent": 0, "broken": 0}
    for n in _positions():
        path = tmp_path / f"t{n}.json"
        w = TraceWriter(str(path))
        w.path_id("/p/first.py")

        def register(w: TraceWriter = w) -> None:
            w.path_id("/p/new.py")

        if not _interrupt_at(n, codes, register):
            break
        try:
            new = w.path_id("/p/new.py")
            other = w.path_id("/p/other.py")
            w.close()
        except RecorderError as err:
            assert err.kind is ErrorKind.INTERNAL  # the leaked lock, classified
            w.close()
        if w.broken is not None:
            outcomes["broken"] += 1
            continue
        paths = [e["Path"] for e in json.loads(path.read_text()) if "Path" in e]
        assert paths == w.paths, n
        assert (paths[new], paths[other]) == ("/p/new.py", "/p/other.py"), n
        outcomes["consistent"] += 1
    assert outcomes["consistent"] > 0


@needs_monitoring
def test_an_interrupted_flush_loses_or_duplicates_nothing_silently(
    tmp_path: Path, short_lock_timeouts: None
) -> None:
    codes = _codes_of(
        TraceWriter.flush,
        TraceWriter._flush_list,
        TraceWriter._write,
        TraceWriter._check_identity,
    )
    expected = [{"Step": {"path_id": 0, "line": i}} for i in range(1, 40)]
    consistent = 0
    for n in _positions():
        path = tmp_path / f"t{n}.json"
        w = TraceWriter(str(path))
        for i in range(1, 20):
            w.step(0, i)
        w.flush()
        for i in range(20, 40):
            w.step(0, i)
        if not _interrupt_at(n, codes, w.flush):
            break
        try:
            w.close()
        except RecorderError:
            pass
        if w.broken is None:
            assert json.loads(path.read_text()) == expected, n
            consistent += 1
    assert consistent > 0


@needs_monitoring
def test_an_interrupted_finish_is_valid_or_broken_never_silently_wrong(
    tmp_path: Path, short_lock_timeouts: None
) -> None:
    codes = _codes_of(
        TraceWriter.finish,
        TraceWriter._end,
        TraceWriter._end_locked,
        TraceWriter._seal,
        TraceWriter._flush_list,
        TraceWriter._write,
        TraceWriter._fsync,
        TraceWriter._release_fd,
    )
    final = '{"kind":"Int","i":0,"type_id":0}'
    consistent = 0
    for n in _positions():
        path = tmp_path / f"t{n}.json"
        w = TraceWriter(str(path))
        w.path_id("/p/main.py")
        w.call(0, [])
        for i in range(1, 20):
            w.step(0, i)
        w.call(0, [])

        def finish(w: TraceWriter = w) -> None:
            w.finish(final)

        if not _interrupt_at(n, codes, finish):
            break
        if not w.closed:
            try:
                w.finish(final)  # the session's retry after the interrupt
            except RecorderError:
                pass  # e.g. the lock the interrupt leaked: classified, raised once
        if w.broken is None:
            events = json.loads(path.read_text())
            assert sum("Call" in e for e in events) == sum("Return" in e for e in events), n
            assert events[-1] == {"Return": {"return_value": json.loads(final)}}, n
            consistent += 1
    assert consistent > 0


def test_a_leaked_registry_lock_becomes_a_classified_error_not_a_hang(
    tmp_path: Path, short_lock_timeouts: None
) -> None:
    w = TraceWriter(str(tmp_path / "trace.json"))
    w._reg_lock.acquire()  # what an interrupted critical section leaves behind
    with pytest.raises(RecorderError) as info:
        w.path_id("/p/a.py")
    assert info.value.kind is ErrorKind.INTERNAL
    assert info.value.context["op"] == "register"
    assert w.path_id("/p/b.py") == 0  # broken: no wait, no raise
    w.close()


def test_a_leaked_io_lock_becomes_a_classified_error_not_a_hang(
    tmp_path: Path, short_lock_timeouts: None
) -> None:
    w = TraceWriter(str(tmp_path / "trace.json"))
    w.step(0, 1)
    w._io_lock.acquire()
    with pytest.raises(RecorderError) as info:
        w.flush()
    assert info.value.context["op"] == "write"
    w.close()  # does not wait again, does not raise again
    assert w.closed


def test_concurrent_threads_register_and_append_consistently(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    w = TraceWriter(str(path), buffer_limit=512)
    w.path_id("/p/main.py")
    barrier = threading.Barrier(8)

    def worker(k: int) -> None:
        barrier.wait()
        for i in range(2000):
            vid = w.variable_id(f"v{i % 97}")
            w.extend(
                [
                    f'{{"Step":{{"path_id":0,"line":{k + 1}}}}}',
                    f'{{"Value":{{"variable_id":{vid},"value":{{"kind":"None","type_id":0}}}}}}',
                ]
            )

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.close()
    events = json.loads(path.read_text())
    names = [e["VariableName"] for e in events if "VariableName" in e]
    assert sorted(names) == sorted(f"v{i}" for i in range(97))  # each defined exactly once
    defined = 0
    for event in events:
        if "VariableName" in event:
            defined += 1
        elif "Value" in event:
            assert event["Value"]["variable_id"] < defined
    # groups stay together: every Step is directly followed by its Value
    for i, event in enumerate(events):
        if "Step" in event:
            assert "Value" in events[i + 1]
    assert sum("Step" in e for e in events) == 8 * 2000
