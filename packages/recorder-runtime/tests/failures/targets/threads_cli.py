# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""D2/D4/D5: threads started while recording; one daemon thread still busy at exit."""

import sys
import threading


def step(x):
    return x + 1


def worker(name, n, out):
    acc = 0
    for i in range(n):
        acc = step(acc)
    out[name] = acc


def busy_daemon():
    while True:
        step(0)


def main(n_threads, n_calls):
    out = {}
    threads = [
        threading.Thread(target=worker, args=(f"w{i}", n_calls, out), name=f"w{i}")
        for i in range(n_threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if "daemon" in sys.argv:
        threading.Thread(target=busy_daemon, daemon=True).start()
    print(sorted(out.items()))


main(int(sys.argv[1]), int(sys.argv[2]))
