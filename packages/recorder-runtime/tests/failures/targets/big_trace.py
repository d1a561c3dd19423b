# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""F5/F7: a program whose trace is far larger than 64 KiB (output and exit untouched)."""


def f(x):
    return x + 1


n = 0
for i in range(5000):
    n = f(n)
print("done", n)
