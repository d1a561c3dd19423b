# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""A small deterministic program touching every event kind the failpoints target.

Calls and returns, lines, a caught exception (PY_UNWIND), a generator (PY_YIELD, PY_RESUME)
with throw() (PY_THROW). It never catches Exception broadly, so an injected recorder error
under abort travels to the top level. stdout is not flushed by hand on purpose: the
recorder must not lose the program's buffered output on any path.
"""

import sys


def fails(x):
    if x % 3 == 0:
        raise ValueError(x)
    return x * 2


def gen(n):
    for i in range(n):
        try:
            yield i
        except KeyError:
            print("gen caught KeyError")


def main():
    total = 0
    for i in range(1, 8):
        try:
            total += fails(i)
        except ValueError as exc:
            print("handled", exc)
        print("step", i, total)
    g = gen(5)
    print("first", next(g))
    print("second", next(g))
    print("thrown", g.throw(KeyError("k")))
    g.close()
    print("to stderr", file=sys.stderr)
    print("done", total)


main()
