"""The per-thread "running recorder code" mark."""

from __future__ import annotations

import threading

from recorder_ffi import inside, is_inside


def test_not_inside_by_default() -> None:
    assert not is_inside()


def test_inside_marks_the_block_and_nests() -> None:
    with inside():
        assert is_inside()
        with inside():
            assert is_inside()
        assert is_inside()
    assert not is_inside()


def test_mark_is_cleared_when_the_block_raises() -> None:
    try:
        with inside():
            raise ValueError
    except ValueError:
        pass
    assert not is_inside()


def test_mark_belongs_to_one_thread() -> None:
    seen: list[bool] = []
    with inside():
        thread = threading.Thread(target=lambda: seen.append(is_inside()))
        thread.start()
        thread.join()
    assert seen == [False]
