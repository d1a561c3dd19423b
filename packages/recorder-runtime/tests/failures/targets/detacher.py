# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""B5: the program turns off and frees every sys.monitoring slot it finds taken, mid-run."""

import sys


def work(x):
    return x + 1


print("before", work(1))
if sys.version_info >= (3, 12):
    mon = sys.monitoring
    for i in range(6):
        if mon.get_tool(i) is not None:
            mon.set_events(i, 0)
            mon.free_tool_id(i)
print("after", work(2))
