# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""A1: the program catches Exception around its work; the canary must never print.

Untraced, nothing raises, so the canary line is absent. Under disable, the recorder's
failure must not reach the program, so it stays absent.
"""


def work(n):
    acc = []
    for i in range(n):
        acc.append(i * i)
    return sum(acc)


try:
    print("result", work(10))
except Exception as exc:
    print("CANARY-A1 program saw", type(exc).__name__)
print("end")
