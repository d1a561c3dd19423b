# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""G8: thread names and a module name that look like paths."""

import threading


def work(x):
    return x * 2


names = ["../../escape", "/abs/path", "nul\x00byte", "x" * 300]
threads = [threading.Thread(target=work, args=(i,), name=n) for i, n in enumerate(names)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done")
