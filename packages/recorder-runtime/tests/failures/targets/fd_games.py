# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""F9: the program closes every inherited fd, then writes its own file while calling code."""

import os


def line_of(i):
    return f"user line {i}\n"


os.closerange(3, 256)
with open("user_data.txt", "w") as f:
    for i in range(50):
        f.write(line_of(i))
print("wrote", os.path.getsize("user_data.txt"))
