# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""E5: SIGINT delivered by a timer while the program is busy calling functions.

The program catches KeyboardInterrupt at the top: it proves the interrupt reached the
program (the recorder re-raised it and never swallowed it). If no interrupt arrives within
the bounded loop it says so and exits 3.
"""

import signal
import sys


def f(x):
    return x + 1


def busy():
    n = 0
    for _ in range(3_000_000):
        n = f(n)
    return n


signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGINT))
signal.setitimer(signal.ITIMER_REAL, float(sys.argv[1]))
try:
    busy()
except KeyboardInterrupt:
    print("interrupted")
    sys.exit(0)
print("no interrupt")
sys.exit(3)
