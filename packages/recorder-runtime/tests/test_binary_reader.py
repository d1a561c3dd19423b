"""The runtime's own trace.bin reader: same events as the independent reader, and a damaged
file is a classified error naming the file (never a raw exception)."""

from __future__ import annotations

from pathlib import Path

import pytest
from binary_support import read_bin

from recorder_errors import RecorderError
from recorder_runtime.output.binary.grammar import CborGrammar
from recorder_runtime.output.binary.reader import iter_events
from recorder_runtime.output.binary.seekable import SeekableZstdStream

G = CborGrammar()


def write(path: Path, items: list[bytes]) -> Path:
    stream = SeekableZstdStream.open(str(path))
    for item in items:
        stream.write(item)
    stream.finish()
    return path


def sample(n: int) -> list[bytes]:
    return [G.step(i % 7, i) for i in range(n)] + [
        G.value_prefix(1) + G.string("s" * (i % 300), 2) for i in range(n)
    ]


def test_it_reads_the_events_the_independent_reader_reads(tmp_path: Path) -> None:
    big = G.path("p" * (3 * 1024 * 1024))  # split across frames: an event spans two
    path = write(tmp_path / "trace.bin", [*sample(3_000), big, *sample(10)])
    assert list(iter_events(str(path))) == read_bin(path).events()


def test_it_reads_indefinite_lengths_and_every_float_width(tmp_path: Path) -> None:
    # What other CBOR writers may produce: indefinite text/array/map, half/single/double.
    items = [
        b"\x7f\x62ab\x61c\xff",  # "abc" in two chunks
        b"\x9f\x01\x02\xff",  # [1, 2]
        b"\xbf\x61k\xf6\xff",  # {"k": None}
        b"\xf9\x3e\x00",  # 1.5 (half)
        b"\xfa\x3f\xc0\x00\x00",  # 1.5 (single)
        b"\xfb\x3f\xf8\x00\x00\x00\x00\x00\x00",  # 1.5 (double)
        b"\x42\x01\x02",  # bytes
    ]
    path = write(tmp_path / "trace.bin", items)
    assert list(iter_events(str(path))) == ["abc", [1, 2], {"k": None}, 1.5, 1.5, 1.5, b"\x01\x02"]


def damaged(tmp_path: Path, how: str) -> Path:
    path = write(tmp_path / "trace.bin", sample(2_000))
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "no seek table":
        data = data[: -read_bin(path).table_bytes]
    elif how == "corrupt frame":
        data[40:60] = b"\xff" * 20
    elif how == "bad header":
        data[5] = 0  # Binary v0 (Cap'n Proto)
    elif how == "empty":
        data = bytearray()
    elif how == "wrong frame count":
        data[-9] += 1
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "how",
    ["truncated", "no seek table", "corrupt frame", "bad header", "empty", "wrong frame count"],
)
def test_a_damaged_file_is_a_classified_error_naming_it(tmp_path: Path, how: str) -> None:
    path = damaged(tmp_path, how)
    with pytest.raises(RecorderError) as caught:
        list(iter_events(str(path)))
    assert caught.value.exit_code == 2
    assert str(path) in caught.value.message


def test_an_event_cut_off_at_the_end_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "trace.bin", [G.step(0, 1), G.path("abc")[:-1]])
    with pytest.raises(RecorderError) as caught:
        list(iter_events(str(path)))
    assert "cut off" in caught.value.message


@pytest.mark.parametrize(
    "item", [b"\x1c", b"\xfc", b"\x62\xff\xfe", b"\x7f\x01\xff", b"\xa1\x80\x01"]
)
def test_malformed_cbor_is_reported(tmp_path: Path, item: bytes) -> None:
    # reserved head, reserved simple value, bad UTF-8, bad chunk, unhashable map key
    path = write(tmp_path / "trace.bin", [G.step(0, 1), item, G.step(0, 2)])
    with pytest.raises(RecorderError) as caught:
        list(iter_events(str(path)))
    assert "not valid CBOR" in caught.value.message
    assert str(path) in caught.value.message


def test_a_missing_file_is_an_environment_error(tmp_path: Path) -> None:
    with pytest.raises(RecorderError) as caught:
        list(iter_events(str(tmp_path / "nope.bin")))
    assert caught.value.exit_code == 10
