"""The per-code tables the backend reads its decisions from (pure_recorder.bytecode)."""

from __future__ import annotations

from pure_recorder.bytecode import ALWAYS_JUMP, CodeLayout, jump_line_offsets


def no_loop(a: int) -> int:
    b = a + 1
    return b


def multi_line_loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def one_line_loop(n: int) -> int:
    while n > 0: n -= 1  # noqa: E701  # fmt: skip
    return n


def gen():  # type: ignore[no-untyped-def]
    yield 1
    yield 2


def test_code_without_backward_jumps_has_no_suspect_line_offsets() -> None:
    assert jump_line_offsets(no_loop.__code__) == {}


def test_a_loop_spanning_lines_has_no_suspect_line_offsets() -> None:
    assert jump_line_offsets(multi_line_loop.__code__) == {}


def test_a_one_line_loop_marks_its_backward_jump_as_an_artefact() -> None:
    offsets = jump_line_offsets(one_line_loop.__code__)
    assert offsets
    assert set(offsets.values()) == {ALWAYS_JUMP}


def test_a_generator_layout_knows_its_two_yields_and_its_return() -> None:
    layout = CodeLayout(gen.__code__.co_code, generator=True)
    assert len(layout.yields) == 2
    assert len(layout.returns) >= 1
    assert not layout.yields & layout.returns


def test_a_plain_function_layout_has_no_yields() -> None:
    layout = CodeLayout(no_loop.__code__.co_code, generator=False)
    assert layout.yields == frozenset()
    assert layout.entries == {}
    assert layout.returns
