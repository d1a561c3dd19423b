# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""E11: a long-running program to be killed at a random point (SIGKILL)."""

import sys


def f(x):
    return x + 1


n = 0
for _ in range(int(sys.argv[1])):
    n = f(n)
print("done", n)
