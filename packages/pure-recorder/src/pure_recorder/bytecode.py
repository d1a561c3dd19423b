"""What a ``sys.settrace`` event means, read from the instruction it stopped at.

``sys.settrace`` reports fewer kinds of events than ``sys.monitoring``: a
``'call'`` is a first entry, a generator resumption or a ``throw()`` into a
generator; a ``'return'`` is a return, a ``yield``/``await`` suspension or an
exception leaving the frame (then with ``arg=None``). The monitoring backend
gets these as distinct events (``PY_START``/``PY_RESUME``/``PY_THROW``,
``PY_RETURN``/``PY_YIELD``/``PY_UNWIND``). To write the same trace, the
settrace backend looks at the instruction ``frame.f_lasti`` points to, whose
layout changed in every version we support (verified with probe scripts on
3.10.13, 3.11.7, 3.12.1 and 3.13.0):

* first entry: 3.10 ``f_lasti == -1``; 3.11+ ``RESUME`` with oparg 0.
* resume vs ``throw()``: 3.10 both stop at the yield instruction; 3.11/3.12
  ``RESUME`` with oparg 1-3 for a resume, ``YIELD_VALUE`` for a throw
  (``RETURN_GENERATOR`` if the generator never started); 3.13 ``RESUME``
  with oparg 1-3 in both cases (a never-started generator: the ``POP_TOP``
  right after ``RETURN_GENERATOR``).
* a ``'return'`` that is a suspension: 3.10 ``YIELD_VALUE`` at ``f_lasti``,
  or ``YIELD_FROM`` right after it (3.10 moves ``f_lasti`` back so that
  ``YIELD_FROM`` runs again); 3.11/3.12 ``YIELD_VALUE``; 3.13 the ``RESUME``
  (oparg 1-3) that follows the ``YIELD_VALUE``.

Where the instruction cannot tell a resume from a throw, the backend waits for
the next event of the thread: a ``throw()`` is always followed at once by an
``'exception'`` event in the same frame at the same instruction.

Everything here works on ``code.co_code`` (the de-instrumented, de-specialised
bytecode), cached per code object by the caller.
"""

from __future__ import annotations

import dis
import sys
from typing import Any, Final

__all__ = [
    "ALWAYS_JUMP",
    "GENERATOR_FLAGS",
    "RESUME",
    "RESUME_OR_THROW",
    "SAME_LINE_ONLY",
    "START",
    "START_OR_THROW",
    "THROW",
    "CodeLayout",
    "entry_kind",
    "is_return",
    "is_yield",
    "jump_line_offsets",
]

#: ``co_flags`` of code whose frames can be suspended and resumed:
#: CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR.
GENERATOR_FLAGS: Final = 0x20 | 0x80 | 0x100 | 0x200

# What a 'call' event is (see the module docstring).
START: Final = 0
RESUME: Final = 1
THROW: Final = 2
RESUME_OR_THROW: Final = 3
START_OR_THROW: Final = 4

_OPS = dis.opmap
_YIELD_VALUE: Final = _OPS["YIELD_VALUE"]
_YIELD_FROM: Final = _OPS.get("YIELD_FROM", -1)  # 3.10 only
_RESUME: Final = _OPS.get("RESUME", -1)  # 3.11+
_RETURN_GENERATOR: Final = _OPS.get("RETURN_GENERATOR", -1)  # 3.11+
_RETURN_OPS: Final = frozenset(
    op for op in (_OPS["RETURN_VALUE"], _OPS.get("RETURN_CONST", -1)) if op >= 0
)
# RESUME's oparg: 0 = start of the function, 1 = after yield, 2 = after
# yield from, 3 = after await; 3.13 adds a flag in bit 2.
_RESUME_WHERE: Final = 3

_V = sys.version_info[:2]


def entry_kind(co_code: bytes, lasti: int) -> int:
    """Classify the ``'call'`` event of a generator-like frame stopped at ``lasti``."""
    if _V < (3, 11):
        return START_OR_THROW if lasti < 0 else RESUME_OR_THROW
    if lasti < 0 or lasti + 1 >= len(co_code):
        return START
    op = co_code[lasti]
    if op == _RESUME:
        if co_code[lasti + 1] & _RESUME_WHERE == 0:
            return START
        return RESUME if _V < (3, 13) else RESUME_OR_THROW
    if _V < (3, 13):
        if op in (_YIELD_VALUE, _RETURN_GENERATOR):
            return THROW
        return RESUME_OR_THROW
    if lasti >= 2 and co_code[lasti - 2] == _RETURN_GENERATOR:
        return THROW
    return RESUME_OR_THROW


def is_yield(co_code: bytes, lasti: int) -> bool:
    """True when a ``'return'`` event at ``lasti`` is a ``yield``/``await`` suspension."""
    if lasti < 0 or lasti + 1 >= len(co_code):
        return False
    op = co_code[lasti]
    if _V < (3, 11):
        if op == _YIELD_VALUE:
            return True
        # 3.10 moves f_lasti back one instruction so that YIELD_FROM runs again.
        return lasti + 2 < len(co_code) and co_code[lasti + 2] == _YIELD_FROM
    if _V < (3, 13):
        return op == _YIELD_VALUE
    return op == _RESUME and co_code[lasti + 1] & _RESUME_WHERE != 0


def is_return(co_code: bytes, lasti: int) -> bool:
    """True when the instruction at ``lasti`` is a ``return`` (the frame did not unwind)."""
    return 0 <= lasti < len(co_code) and co_code[lasti] in _RETURN_OPS


class CodeLayout:
    """The answers of :func:`entry_kind`, :func:`is_yield` and :func:`is_return`, per offset.

    Computed once per recorded code object so that an event costs a dict or
    set lookup instead of a function call: ``entries`` maps the offsets whose
    ``'call'`` kind is not :data:`RESUME_OR_THROW` (meaningful for generator
    code only), ``yields`` and ``returns`` hold the offsets where a
    ``'return'`` is a suspension or a plain return.
    """

    __slots__ = ("entries", "returns", "yields")

    def __init__(self, co_code: bytes, generator: bool) -> None:
        offsets = [*range(0, len(co_code), 2)]
        if _V < (3, 11):
            offsets.insert(0, -1)  # 3.10: a frame that has not run yet
        self.returns = frozenset(o for o in offsets if is_return(co_code, o))
        self.yields: frozenset[int] = frozenset()
        self.entries: dict[int, int] = {}
        if generator:
            self.yields = frozenset(o for o in offsets if is_yield(co_code, o))
            for offset in offsets:
                kind = entry_kind(co_code, offset)
                if kind != RESUME_OR_THROW:
                    self.entries[offset] = kind


# ----------------------------------------------------------------- line events
#
# sys.monitoring reports LINE when an instruction that starts a line, or is a
# jump target, is reached from an instruction of another line. sys.settrace
# reports those too (on 3.12+ through the very same instrumentation), plus a
# 'line' for every backward jump that stays on one line: each iteration of a
# one-line loop or of a PEP 709 inlined comprehension. 3.12 (and 3.10/3.11,
# whose settrace reports every backward jump) shows that extra event at the
# jump's target, 3.13 at the jump instruction itself. So only events at those
# offsets can be artefacts, and the control flow into an offset tells whether
# its events are always artefacts, never, or depend on the line the frame
# was on (then the backend compares with the frame's previous line).

_JUMP_OPS: Final = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)
_NO_FALL_THROUGH: Final = frozenset(
    _OPS[name]
    for name in (
        "JUMP_FORWARD",
        "JUMP_BACKWARD",
        "JUMP_BACKWARD_NO_INTERRUPT",
        "JUMP_ABSOLUTE",
        "RETURN_VALUE",
        "RETURN_CONST",
        "RAISE_VARARGS",
        "RERAISE",
    )
    if name in _OPS
)
# Opcodes that may jump backward (a cheap first test before reading a code object).
_BACKWARD_CANDIDATES: Final = (
    frozenset(dis.hasjabs)
    if _V < (3, 11)
    else frozenset(op for name, op in _OPS.items() if "BACKWARD" in name)
)

#: jump_line_offsets() values.
ALWAYS_JUMP: Final = False
SAME_LINE_ONLY: Final = True


def jump_line_offsets(code: Any) -> dict[int, bool]:
    """Offsets where a 'line' event may be a backward-jump artefact.

    Maps an offset to :data:`ALWAYS_JUMP` (every 'line' event there is an
    artefact: the offset is only ever reached from its own line) or to
    :data:`SAME_LINE_ONLY` (reached from its own line and from others: an
    event there is an artefact when the frame was already on that line).
    Events at offsets not in the map are lines ``sys.monitoring`` reports too.
    """
    co_code: bytes = code.co_code
    if not any(co_code[i] in _BACKWARD_CANDIDATES for i in range(0, len(co_code), 2)):
        return {}
    instructions = list(dis.get_instructions(code))
    line_of = _line_map(code, instructions)
    # Where control can come from, per offset: (source offset, by a backward jump).
    sources: dict[int, list[tuple[int, bool]]] = {}
    previous = None
    for instr in instructions:
        offset = instr.offset
        if previous is not None and previous.opcode not in _NO_FALL_THROUGH:
            sources.setdefault(offset, []).append((previous.offset, False))
        target = instr.argval
        if instr.opcode in _JUMP_OPS and isinstance(target, int):
            sources.setdefault(target, []).append((offset, target <= offset))
        previous = instr
    resume_at = {i.offset for i in instructions if i.opname == "RESUME"}
    offsets: dict[int, bool] = {}
    for instr in instructions:
        target = instr.argval
        if instr.opcode not in _JUMP_OPS or not isinstance(target, int) or target > instr.offset:
            continue
        line = line_of.get(target)
        if line is None or line_of.get(instr.offset) != line:
            continue  # a jump between lines: monitoring reports the target's line too
        # The event's offset, and the places control reaches it from.
        where = instr.offset if _V >= (3, 13) else target
        others = any(
            line_of.get(source) != line or source in resume_at
            for source, backward in sources.get(where, ())
            if not (backward and _V < (3, 13) and line_of.get(source) == line)
        )
        offsets[where] = SAME_LINE_ONLY if others else ALWAYS_JUMP
    return offsets


def _line_map(code: Any, instructions: list[dis.Instruction]) -> dict[int, int | None]:
    """The line of each instruction offset (``None`` for instructions without one)."""
    ranges = list(code.co_lines())
    result: dict[int, int | None] = {}
    index = 0
    for instr in instructions:
        offset = instr.offset
        while index < len(ranges) and ranges[index][1] <= offset:
            index += 1
        if index < len(ranges) and ranges[index][0] <= offset:
            result[offset] = ranges[index][2]
        else:
            result[offset] = None
    return result
