# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""F8: the program opens files until EMFILE, works with all of them open, then closes them."""

import os


def work(i):
    return i * i


held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError as exc:
    emfile = exc.errno
total = sum(work(i) for i in range(200))
for fd in held:
    os.close(fd)
print("emfile", emfile, "total", total)
print("held", len(held))
