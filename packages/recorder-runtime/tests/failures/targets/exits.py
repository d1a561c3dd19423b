# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""E1-E10: one termination path per argv[1]."""

import atexit
import os
import signal
import sys
import threading


def helper(x):
    return x + 1


def facts():
    import __main__

    print("name", __name__)
    print("file", __file__)
    print("argv", sys.argv)
    print("path0", sys.path[0])
    print("spec", __main__.__spec__)
    print("main-is-module", sys.modules["__main__"] is __main__)


def main(mode):
    print("start", helper(1))
    if mode == "normal":
        print("bye")
    elif mode == "exit3":
        sys.exit(3)
    elif mode == "exitmsg":
        sys.exit("msg")
    elif mode == "exitnone":
        raise SystemExit(None)
    elif mode == "raise":
        raise ValueError("boom 3")
    elif mode == "kbint":
        raise KeyboardInterrupt
    elif mode == "os_exit":
        sys.stdout.flush()
        os._exit(5)
    elif mode == "sigterm":
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGTERM)
        print("unreachable")
    elif mode == "sigterm_handler":
        def handler(signum, frame):
            print("handler", signum)
            sys.exit(7)

        signal.signal(signal.SIGTERM, handler)
        os.kill(os.getpid(), signal.SIGTERM)
        print("unreachable")
    elif mode == "atexit":
        atexit.register(lambda: print("atexit 1", helper(10)))
        atexit.register(lambda: print("atexit 2", helper(20)))
        if hasattr(threading, "_register_atexit"):
            threading._register_atexit(lambda: print("threading atexit"))
    elif mode == "facts":
        facts()
    print("end", mode)


main(sys.argv[1])
