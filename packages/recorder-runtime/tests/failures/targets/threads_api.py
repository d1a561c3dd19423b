# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""D1/D2/D3 through the Python API: an early thread, a late thread, stop() while busy.

argv: TRACE_DIR. Prints what the program computed; stop() happens while four threads are
still calling functions (D3), and they keep running afterwards.
"""

import sys
import threading

import recorder_runtime


def early_work(x):
    return x * 2


def late_work(x):
    return x * 3


def spin_work(x):
    return x + 1


go = threading.Event()
stop_spinning = threading.Event()
results = {}


def early():
    go.wait()
    results["early"] = sum(early_work(i) for i in range(200))


def late():
    results["late"] = sum(late_work(i) for i in range(200))


def spinner(name):
    n = 0
    while not stop_spinning.is_set():
        n = spin_work(n)
    results[name] = n > 0


early_thread = threading.Thread(target=early, name="early")
early_thread.start()
recorder_runtime.start(sys.argv[1])
go.set()
late_thread = threading.Thread(target=late, name="late")
late_thread.start()
spinners = [threading.Thread(target=spinner, args=(f"s{i}",)) for i in range(4)]
for t in spinners:
    t.start()
early_thread.join()
late_thread.join()
recorder_runtime.stop()
stop_spinning.set()
for t in spinners:
    t.join()
print("early", results["early"], "late", results["late"])
print("spinners", sorted(k for k in results if k.startswith("s")))
