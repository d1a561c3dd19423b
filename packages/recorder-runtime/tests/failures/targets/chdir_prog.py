# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""F12: the program changes directory; optionally it deletes the output area mid-run."""

import os
import shutil
import sys


def compute(x):
    return x + 1


os.makedirs("elsewhere", exist_ok=True)
os.chdir("elsewhere")
if len(sys.argv) > 1:
    shutil.rmtree(sys.argv[1], ignore_errors=True)
print("value", compute(1))
