"""IO capture unit tests: chunking, flags, pass-through, stream behaviour, ``off`` mode."""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from recorder_errors import ErrorCode, UsageError
from recorder_ffi import inside
from recorder_runtime import io_capture
from recorder_runtime.io_capture import IOCapture, IOChunk, _Channel, _FdMirror


@dataclass
class Streams:
    stdout: io.TextIOWrapper
    stderr: io.TextIOWrapper
    stdin: io.TextIOWrapper

    def out_bytes(self) -> bytes:
        self.stdout.flush()
        return self.stdout.buffer.getvalue()  # type: ignore[attr-defined,no-any-return]

    def err_bytes(self) -> bytes:
        self.stderr.flush()
        return self.stderr.buffer.getvalue()  # type: ignore[attr-defined,no-any-return]


def text_stream(data: bytes = b"") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", write_through=True)


class Session:
    """Fake std streams installed, then a capture on top, for the body of one test.

    pytest swaps ``sys.stdout`` between a fixture's setup and the test call, so the streams
    are put in place inside the test body (``with session() as s:``) rather than by fixtures.
    """

    def __init__(self, mode: str = "proxies", scrub: Callable[[str], str] | None = None) -> None:
        self.streams = Streams(text_stream(), text_stream(), text_stream(b"alice\nbob\nrest\n"))
        self.capture = IOCapture(mode, scrub=scrub)
        self._saved: tuple[object, object, object] | None = None

    def __enter__(self) -> Session:
        self._saved = (sys.stdout, sys.stderr, sys.stdin)
        sys.stdout, sys.stderr, sys.stdin = (
            self.streams.stdout,
            self.streams.stderr,
            self.streams.stdin,
        )
        self.capture.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.capture.uninstall()
        if self._saved is not None:
            sys.stdout, sys.stderr, sys.stdin = self._saved


session = Session


def contents(chunks: list[IOChunk]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.stream, c.content, c.flags) for c in chunks]


# ----------------------------------------------------------------------------- chunking


def test_print_gives_one_chunk_per_line() -> None:
    with session() as s:
        print("hello")
        print("a\nb")
    assert contents(s.capture.drain()) == [
        ("stdout", "hello\n", ("newline",)),
        ("stdout", "a\n", ("newline",)),
        ("stdout", "b\n", ("newline",)),
    ]


def test_partial_line_is_cut_at_drain_with_step_boundary() -> None:
    with session() as s:
        print("x", end="")
        print("y", end="")
        assert contents(s.capture.drain()) == [("stdout", "xy", ("step_boundary",))]


def test_partial_line_joins_the_next_write_until_a_newline() -> None:
    with session() as s:
        sys.stdout.write("ab")
        sys.stdout.write("c\nd")
    assert contents(s.capture.drain()) == [
        ("stdout", "abc\n", ("newline",)),
        ("stdout", "d", ("step_boundary",)),
    ]


def test_explicit_flush_cuts_a_partial_line() -> None:
    with session() as s:
        print("wait...", end="", flush=True)
        print("done")
    assert contents(s.capture.drain()) == [
        ("stdout", "wait...", ("flush",)),
        ("stdout", "done\n", ("newline",)),
    ]


def test_stderr_chunks_are_kind_2() -> None:
    with session() as s:
        print("oops", file=sys.stderr)
    [chunk] = s.capture.drain()
    assert (chunk.kind, chunk.stream, chunk.content) == (2, "stderr", "oops\n")


def test_stdout_chunks_are_kind_0_and_carry_the_thread() -> None:
    with session() as s:
        print("x")
    [chunk] = s.capture.drain()
    assert (chunk.kind, chunk.thread_id) == (0, threading.get_ident())


def test_input_is_a_read_chunk_with_the_input_flag() -> None:
    with session() as s:
        name = input("Name: ")
    assert name == "alice"
    assert contents(s.capture.drain()) == [
        ("stdout", "Name: ", ("flush",)),
        ("stdin", "alice\n", ("input",)),
    ]


def test_every_stdin_read_method_is_captured() -> None:
    with session() as s:
        assert sys.stdin.readline() == "alice\n"
        assert next(iter(sys.stdin)) == "bob\n"
        assert sys.stdin.read() == "rest\n"
    assert [(c.kind, c.content, c.flags) for c in s.capture.drain()] == [
        (3, "alice\n", ("input",)),
        (3, "bob\n", ("input",)),
        (3, "rest\n", ("input",)),
    ]


def test_readlines_is_captured() -> None:
    with session() as s:
        assert sys.stdin.readlines() == ["alice\n", "bob\n", "rest\n"]
    [chunk] = s.capture.drain()
    assert chunk.content == "alice\nbob\nrest\n"


def test_lines_of_two_threads_do_not_mix() -> None:
    with session() as s:
        sys.stdout.write("main-")
        worker = threading.Thread(target=lambda: sys.stdout.write("worker\n"))
        worker.start()
        worker.join()
        sys.stdout.write("line\n")
    chunks = s.capture.drain()
    assert sorted(c.content for c in chunks) == ["main-line\n", "worker\n"]
    assert {c.thread_id for c in chunks} == {threading.get_ident(), worker.ident}


def test_pending_is_set_by_output_and_cleared_by_drain() -> None:
    with session() as s:
        assert not s.capture.pending
        sys.stdout.write("partial")
        assert s.capture.pending
        s.capture.drain()
        assert not s.capture.pending
        assert s.capture.drain() == []


def test_scrub_is_applied_to_drained_chunks_but_not_to_the_output() -> None:
    with session(scrub=lambda text: text.replace("hunter2", "<redacted>")) as s:
        print("pw=hunter2")
    assert [c.content for c in s.capture.drain()] == ["pw=<redacted>\n"]
    assert s.streams.out_bytes() == b"pw=hunter2\n"


# ----------------------------------------------------------------------------- pass-through


def test_output_reaches_the_original_streams_unchanged() -> None:
    with session() as s:
        print("héllo", 1, sep="|", end="!\n")
        sys.stdout.writelines(["a\n", "b"])
        print("err", file=sys.stderr)
    assert s.streams.out_bytes() == "héllo|1!\na\nb".encode()
    assert s.streams.err_bytes() == b"err\n"
    assert [c.content for c in s.capture.drain()] == ["héllo|1!\n", "a\n", "err\n", "b"]


def test_write_returns_what_the_wrapped_stream_returns() -> None:
    with session():
        assert sys.stdout.write("abc") == 3


def test_write_errors_propagate_unchanged_and_nothing_is_captured() -> None:
    with session() as s:
        with pytest.raises(TypeError):
            sys.stdout.write(b"bytes")  # type: ignore[arg-type]
    assert s.capture.drain() == []


def test_proxy_mirrors_the_wrapped_stream_attributes() -> None:
    with session() as s:
        proxy, real = sys.stdout, s.streams.stdout
        assert proxy is not real
        assert proxy.encoding == real.encoding
        assert proxy.errors == real.errors
        assert proxy.line_buffering == real.line_buffering
        assert proxy.closed is False
        assert proxy.isatty() is False
        assert proxy.writable() is True
        assert repr(proxy) == repr(real)
        with pytest.raises(io.UnsupportedOperation):
            proxy.fileno()


def test_fileno_and_isatty_of_a_real_stream_are_passed_through() -> None:
    with session() as s:
        real = open(1, "w", closefd=False)  # noqa: SIM115
        s.capture.uninstall()
        sys.stdout = real
        s.capture.install()
        assert sys.stdout.fileno() == 1
        assert sys.stdout.isatty() == real.isatty()


def test_buffer_writes_pass_through_and_are_captured() -> None:
    with session() as s:
        sys.stdout.buffer.write("é\n".encode())
        sys.stdout.buffer.write(b"\xc3")  # half a character: waits for the rest
        sys.stdout.buffer.write(b"\xa9!\n")
        sys.stdout.buffer.flush()
    assert s.streams.out_bytes() == "é\né!\n".encode()
    assert [c.content for c in s.capture.drain()] == ["é\n", "é!\n"]


def test_buffer_attributes_are_delegated() -> None:
    with session() as s:
        sys.stdout.write("x")
        assert sys.stdout.buffer.getvalue() == s.streams.out_bytes()  # type: ignore[union-attr]
        assert sys.stdout.buffer is sys.stdout.buffer


def test_stdin_buffer_reads_are_captured() -> None:
    with session() as s:
        assert sys.stdin.buffer.readline() == b"alice\n"
    assert [c.content for c in s.capture.drain()] == ["alice\n"]


def test_reconfigure_reaches_the_wrapped_stream() -> None:
    with session() as s:
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        assert s.streams.stdout.line_buffering is True


def test_with_statement_on_the_proxy_uses_the_wrapped_stream() -> None:
    with session() as s:
        with sys.stdout as handle:
            assert handle is sys.stdout
        assert s.streams.stdout.closed


# ----------------------------------------------------------------------------- lifecycle


def test_uninstall_restores_the_original_streams() -> None:
    with session() as s:
        assert sys.stdout is not s.streams.stdout
        s.capture.uninstall()
        assert (sys.stdout, sys.stderr, sys.stdin) == (
            s.streams.stdout,
            s.streams.stderr,
            s.streams.stdin,
        )


def test_uninstall_leaves_a_stream_the_program_replaced() -> None:
    with session() as s:
        mine = io.StringIO()
        sys.stdout = mine
        s.capture.uninstall()
        assert sys.stdout is mine
        assert sys.stderr is s.streams.stderr


def test_a_kept_proxy_keeps_working_after_uninstall_without_capturing() -> None:
    with session() as s:
        kept = sys.stdout
        s.capture.uninstall()
        kept.write("late\n")
    assert s.streams.out_bytes() == b"late\n"
    assert s.capture.drain() == []


def test_chunks_queued_before_uninstall_can_still_be_drained() -> None:
    with session() as s:
        print("before")
        s.capture.uninstall()
    assert [c.content for c in s.capture.drain()] == ["before\n"]


def test_off_mode_installs_nothing() -> None:
    with session("off") as s:
        assert sys.stdout is s.streams.stdout
        print("x")
    assert s.capture.drain() == [] and not s.capture.pending
    assert s.streams.out_bytes() == b"x\n"


def test_invalid_mode_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        IOCapture("files")
    assert info.value.code == ErrorCode.INVALID_POLICY_VALUE


def test_none_streams_are_left_alone() -> None:
    saved = sys.stdin
    sys.stdin = None
    try:
        cap = IOCapture("proxies")
        cap.install()
        assert sys.stdin is None
        cap.uninstall()
    finally:
        sys.stdin = saved


# ----------------------------------------------------------------------------- recorder writes


def test_writes_from_a_thread_marked_as_recorder_code_are_not_captured() -> None:
    with session() as s:
        with inside():
            print("recorder diagnostics")
        print("program")
    assert [c.content for c in s.capture.drain()] == ["program\n"]
    assert s.streams.out_bytes() == b"recorder diagnostics\nprogram\n"


def test_writes_inside_suspended_are_not_captured() -> None:
    with session() as s:
        with s.capture.suspended():
            print("hidden")
        print("shown")
    assert [c.content for c in s.capture.drain()] == ["shown\n"]


def test_original_gives_the_stream_before_install() -> None:
    with session() as s:
        assert s.capture.original("stdout") is s.streams.stdout
        assert s.capture.original("nope") is None


# ----------------------------------------------------------------------------- fd mirror dedupe


def mirror_for_test() -> tuple[_FdMirror, _Channel]:
    """A mirror with one channel and no processes or fds: only the byte bookkeeping."""
    channel = _Channel("stdout", (1,), {}, -1, -1)
    mirror = _FdMirror(IOCapture("proxies"), [channel], -1)
    mirror.by_stream["stdout"] = channel
    return mirror, channel


def test_mirror_bytes_nobody_registered_are_raw() -> None:
    mirror, channel = mirror_for_test()
    assert mirror._unexpected(channel, b"raw\n") == b"raw\n"


def test_mirror_registered_proxy_bytes_are_not_captured_again() -> None:
    mirror, channel = mirror_for_test()
    mirror.expect("stdout", b"one")
    mirror.expect("stdout", b"\n")
    assert mirror._unexpected(channel, b"one\n") == b""
    assert not channel.expected


def test_mirror_raw_bytes_between_buffered_proxy_writes_are_found() -> None:
    mirror, channel = mirror_for_test()
    for data in (b"one", b"\n", b"two", b"\n", b"partial", b"err line\n"):
        mirror.expect("stdout", data)
    forwarded = b"one\nraw1\ntwo\npartialraw2\nerr line\nrawerr\n"
    assert mirror._unexpected(channel, forwarded) == b"raw1\nraw2\nrawerr\n"


def test_mirror_a_proxy_write_split_across_reads_is_matched() -> None:
    mirror, channel = mirror_for_test()
    mirror.expect("stdout", b"hello world\n")
    assert mirror._unexpected(channel, b"raw\nhello wo") == b"raw\n"
    assert mirror._unexpected(channel, b"rld\n") == b""


def test_mirror_a_lone_newline_in_raw_output_is_not_taken_for_a_print() -> None:
    mirror, channel = mirror_for_test()
    mirror.expect("stdout", b"\n")
    mirror.expect("stdout", b"next line\n")
    first = mirror._unexpected(channel, b"raw\n")  # the "\n" might start the print: held
    second = mirror._unexpected(channel, b"\nnext line\n")
    assert first + second == b"raw\n"
    assert not channel.expected and not channel.held


def test_mirror_skips_a_proxy_write_that_never_reached_the_fd() -> None:
    mirror, channel = mirror_for_test()
    mirror.expect("stdout", b"lost forever\n")
    mirror.expect("stdout", b"this one arrives\n")
    assert mirror._unexpected(channel, b"raw\nthis one arrives\n") == b"raw\n"
    assert not channel.expected


def test_mirror_ignores_streams_that_do_not_write_to_a_mirrored_fd() -> None:
    mirror, channel = mirror_for_test()
    mirror.expect("stderr", b"to a StringIO\n")
    assert not channel.expected


def test_mirror_forgets_expected_bytes_beyond_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io_capture, "MAX_EXPECTED", 10)
    mirror, channel = mirror_for_test()
    mirror.expect("stdout", b"0123456789")
    mirror.expect("stdout", b"abcdef")
    assert bytes(channel.expected) == b"6789abcdef"
    assert sum(channel.writes) == 10


def test_mirror_a_whole_one_byte_proxy_write_at_a_boundary_is_ours() -> None:
    mirror, channel = mirror_for_test()
    for data in (b"proxied 1", b"\n", b"proxied 2", b"\n"):
        mirror.expect("stdout", data)
    assert mirror._unexpected(channel, b"proxied 1") == b""
    assert mirror._unexpected(channel, b"\nraw out\nproxied 2\n") == b"raw out\n"


def test_mirror_a_long_proxy_write_is_consumed_as_it_arrives() -> None:
    mirror, channel = mirror_for_test()
    big = bytes(range(256)) * 64
    mirror.expect("stdout", big)
    for start in range(0, len(big), 4000):
        assert mirror._unexpected(channel, big[start : start + 4000]) == b""
    assert not channel.expected and not channel.held
