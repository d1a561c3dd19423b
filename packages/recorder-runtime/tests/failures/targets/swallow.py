# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""A2: the program swallows everything, with `except Exception: pass` and a bare except."""


def work(n):
    acc = 0
    for i in range(n):
        acc += i
    return acc


try:
    work(10)
except Exception:
    pass
try:
    work(20)
except:  # noqa: E722 - the point of the test
    pass
print("finished normally")
