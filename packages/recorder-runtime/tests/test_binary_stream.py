"""The seekable zstd stream of trace.bin: layout, frames, partial traces, fork, interrupts.

Every file is read back with the independent reader of ``binary_support`` (struct +
zstandard + cbor2), never with the recorder's own reader.
"""

from __future__ import annotations

import errno
import os
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import cbor2
import pytest
from binary_support import FRAME_LIMIT, HEADER, SEEKABLE_MAGIC, cbor_items, read_bin

from recorder_errors import ErrorCode, RecorderError, from_exception
from recorder_runtime.output.binary import seekable
from recorder_runtime.output.binary.grammar import CborGrammar
from recorder_runtime.output.binary.seekable import SeekableZstdStream
from recorder_runtime.writer import BoundOS

G = CborGrammar()


def events(n: int, width: int = 40) -> list[bytes]:
    """``n`` distinct events of roughly ``width`` bytes (compressible, like a real trace)."""
    return [G.value_prefix(i % 97) + G.string(f"{i:08d}" + "v" * (i % width), 1) for i in range(n)]


#: About 7 MiB of events (three to four frames), built once for every test that needs bulk.
MANY = events(28_000, 500)
MANY_DECODED = [cbor2.loads(i) for i in MANY]


def write_all(path: Path, items: list[bytes]) -> SeekableZstdStream:
    stream = SeekableZstdStream.open(str(path))
    for item in items:
        stream.write(item)
    return stream


def test_the_file_starts_with_the_binary_v1_header_and_reads_back_in_order(
    tmp_path: Path,
) -> None:
    items = events(100)
    write_all(tmp_path / "trace.bin", items).finish()
    assert (tmp_path / "trace.bin").read_bytes()[:8] == bytes.fromhex("C0DE72ACE2010000")
    assert read_bin(tmp_path / "trace.bin").events() == [cbor2.loads(i) for i in items]


def test_an_empty_stream_is_a_header_and_an_empty_seek_table(tmp_path: Path) -> None:
    SeekableZstdStream.open(str(tmp_path / "trace.bin")).finish()
    trace = read_bin(tmp_path / "trace.bin")
    assert trace.table == [] and trace.events() == []


def test_a_long_stream_is_cut_into_independent_frames_of_at_most_2_mib(tmp_path: Path) -> None:
    items = MANY  # about 7 MiB of CBOR
    stream = write_all(tmp_path / "trace.bin", items)
    stream.finish()
    trace = read_bin(tmp_path / "trace.bin")  # each frame decompressed on its own
    assert len(trace.table) >= 3
    assert stream.frames == len(trace.table)
    assert all(d <= FRAME_LIMIT for _, d in trace.table)
    assert sum(d for _, d in trace.table) == sum(map(len, items)) == stream.bytes_in
    assert trace.events() == MANY_DECODED


def test_frames_end_on_event_boundaries(tmp_path: Path) -> None:
    write_all(tmp_path / "trace.bin", MANY).finish()
    for frame in read_bin(tmp_path / "trace.bin").frames:
        assert cbor_items(frame)  # whole events only: decodes to its very end


def test_the_seek_table_sizes_add_up_to_the_file(tmp_path: Path) -> None:
    stream = write_all(tmp_path / "trace.bin", MANY)
    stream.finish()
    trace = read_bin(tmp_path / "trace.bin")
    size = (tmp_path / "trace.bin").stat().st_size
    assert size == 8 + sum(c for c, _ in trace.table) + trace.table_bytes
    assert stream.bytes_written == size


def test_one_write_larger_than_a_frame_is_split_across_frames(tmp_path: Path) -> None:
    big = G.path("p" * (5 * 1024 * 1024))
    items = [*events(10), big, *events(10)]
    write_all(tmp_path / "trace.bin", items).finish()
    trace = read_bin(tmp_path / "trace.bin")
    assert all(d <= FRAME_LIMIT for _, d in trace.table)
    assert trace.events() == [cbor2.loads(i) for i in items]


def test_flush_puts_everything_written_so_far_on_disk(tmp_path: Path) -> None:
    stream = write_all(tmp_path / "trace.bin", events(10))
    stream.flush()
    assert stream.frames == 1
    assert (tmp_path / "trace.bin").stat().st_size == stream.bytes_written > 8
    stream.finish()


def test_writes_after_finish_are_dropped_silently(tmp_path: Path) -> None:
    items = events(5)
    stream = write_all(tmp_path / "trace.bin", items)
    stream.finish()
    stream.write(G.step(0, 1))
    stream.finish()
    assert read_bin(tmp_path / "trace.bin").events() == [cbor2.loads(i) for i in items]
    assert stream.dropped_bytes > 0


def test_an_abandoned_stream_has_no_seek_table(tmp_path: Path) -> None:
    stream = write_all(tmp_path / "trace.bin", events(10))
    stream.abandon()
    data = (tmp_path / "trace.bin").read_bytes()
    assert data.startswith(HEADER)
    assert not data.endswith(struct.pack("<I", SEEKABLE_MAGIC))


def test_opening_never_reuses_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "trace.bin").write_bytes(b"mine")
    with pytest.raises(RecorderError) as caught:
        SeekableZstdStream.open(str(tmp_path / "trace.bin"))
    assert caught.value.exit_code == 10
    assert (tmp_path / "trace.bin").read_bytes() == b"mine"


# ---------------------------------------------------------------------- a full disk


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """A disk of ``capacity`` bytes for the file being written: a write past it writes what
    fits, then fails with ``errno`` (ENOSPC by default), like a real full filesystem."""
    limits = {"capacity": 1 << 62, "errno": errno.ENOSPC}
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        end = max(os.fstat(fd).st_size, os.lseek(fd, 0, os.SEEK_CUR))
        room = limits["capacity"] - end
        if room <= 0:
            raise OSError(limits["errno"], os.strerror(limits["errno"]))
        return real_write(fd, bytes(data[:room]))

    monkeypatch.setattr(BoundOS, "write", write)
    yield limits


def write_and_finish(
    path: Path, items: list[bytes]
) -> tuple[SeekableZstdStream, list[RecorderError]]:
    """Write ``items`` and finish; the failures raised on the way (the worker's failure
    surfaces at the next ``write`` or at ``finish``, whichever comes first)."""
    stream = SeekableZstdStream.open(str(path))
    raised = []
    for item in items:
        try:
            stream.write(item)
        except RecorderError as exc:
            raised.append(exc)
    try:
        stream.finish()
    except RecorderError as exc:
        raised.append(exc)
    return stream, raised


def frame_sizes(tmp_path: Path, items: list[bytes]) -> list[int]:
    """The compressed frame sizes of ``items`` on an unlimited disk (compression is
    deterministic)."""
    write_all(tmp_path / "probe.bin", items).finish()
    return [c for c, _ in read_bin(tmp_path / "probe.bin").table]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG])
def test_a_full_disk_keeps_the_complete_frames_behind_a_seek_table(
    tmp_path: Path, disk: dict[str, int], code: int
) -> None:
    items = MANY
    sizes = frame_sizes(tmp_path, items)
    disk["capacity"] = 8 + sizes[0] + sizes[1] + sizes[2] // 2  # fails inside frame 2
    disk["errno"] = code
    stream, raised = write_and_finish(tmp_path / "trace.bin", items)
    assert len(raised) == 1
    assert raised[0].exit_code == 10
    assert raised[0].code is from_exception(OSError(code, "full")).code
    assert raised[0].context["path"] == str(tmp_path / "trace.bin")
    trace = read_bin(tmp_path / "trace.bin")
    assert [c for c, _ in trace.table] == sizes[:2]
    decoded = trace.events()
    assert decoded == MANY_DECODED[: len(decoded)]
    assert stream.complete


def test_frames_are_dropped_until_the_seek_table_fits(tmp_path: Path, disk: dict[str, int]) -> None:
    items = MANY
    sizes = frame_sizes(tmp_path, items)
    disk["capacity"] = 8 + sizes[0] + sizes[1]  # full exactly at the end of frame 1
    stream, raised = write_and_finish(tmp_path / "trace.bin", items)
    assert len(raised) == 1
    trace = read_bin(tmp_path / "trace.bin")
    assert [c for c, _ in trace.table] == sizes[:1]
    assert trace.events() == MANY_DECODED[: len(trace.events())]
    assert stream.complete and stream.broken is not None


def test_no_room_even_for_an_empty_table_leaves_an_incomplete_file(
    tmp_path: Path, disk: dict[str, int]
) -> None:
    stream = write_all(tmp_path / "trace.bin", events(10))
    disk["capacity"] = 8
    stream.finish_partial("disk full")  # never raises
    assert not stream.complete
    assert stream.broken is not None and stream.broken.code is ErrorCode.NO_SPACE


def test_the_failure_is_raised_once_then_events_are_dropped(
    tmp_path: Path, disk: dict[str, int]
) -> None:
    disk["capacity"] = 100
    stream = write_all(tmp_path / "trace.bin", events(1000))
    with pytest.raises(RecorderError):
        stream.flush()
    stream.write(G.step(0, 1))
    stream.flush()
    stream.finish()
    assert stream.dropped_bytes > 0
    assert stream.complete  # an empty seek table fits where the first frame did not


# ---------------------------------------------------------------------- the program's doing


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("error:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_never_writes_into_the_parents_file(tmp_path: Path) -> None:
    # Bulk first, so a worker thread runs: it is parked before the fork (no warning).
    parent_items = MANY
    stream = write_all(tmp_path / "trace.bin", parent_items)
    pid = os.fork()
    if pid == 0:  # the child: whatever it does, the parent's file must not change
        status = 1
        try:
            stream.write(G.step(9, 9))
            stream.finish()
            status = 0 if stream.detached else 3
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    stream.finish()
    assert read_bin(tmp_path / "trace.bin").events() == MANY_DECODED


def test_a_worker_parked_for_a_fork_is_restarted_by_the_next_frame(tmp_path: Path) -> None:
    before = threading.active_count()
    half = len(MANY) // 2
    stream = write_all(tmp_path / "trace.bin", MANY[:half])
    seekable._before_fork()  # what os.fork runs first, in the parent
    assert threading.active_count() == before
    for item in MANY[half:]:
        stream.write(item)
    stream.finish()
    assert read_bin(tmp_path / "trace.bin").events() == MANY_DECODED


def test_a_keyboard_interrupt_while_queueing_a_frame_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    items = MANY
    stream = SeekableZstdStream.open(str(tmp_path / "trace.bin"))
    real_put = stream._queue.put
    interrupts = []

    def put(item: object) -> None:
        real_put(item)  # type: ignore[arg-type]
        if not interrupts:
            interrupts.append(1)
            raise KeyboardInterrupt  # after the frame was queued: the worst moment

    stream._queue.put = put  # type: ignore[method-assign]
    for item in items:
        try:
            stream.write(item)
        except KeyboardInterrupt:
            pass
    stream.finish()
    assert interrupts
    assert read_bin(tmp_path / "trace.bin").events() == [cbor2.loads(i) for i in items]


def test_a_descriptor_taken_over_by_the_program_is_never_written_or_truncated(
    tmp_path: Path,
) -> None:
    stream = write_all(tmp_path / "trace.bin", events(10))
    os.close(stream._fd)
    other = os.open(tmp_path / "program.txt", os.O_WRONLY | os.O_CREAT)
    try:
        os.write(other, b"the program's data")
        with pytest.raises(RecorderError) as caught:
            stream.finish()
    finally:
        os.close(other)
    assert caught.value.code is ErrorCode.TARGET_DETACHED
    assert caught.value.exit_code == 20
    assert (tmp_path / "program.txt").read_bytes() == b"the program's data"


def test_no_thread_runs_before_the_first_frame_or_after_finish(tmp_path: Path) -> None:
    before = threading.active_count()
    stream = write_all(tmp_path / "trace.bin", events(10))
    assert threading.active_count() == before
    for item in MANY:
        stream.write(item)
    assert threading.active_count() == before + 1
    stream.finish()
    assert threading.active_count() == before
