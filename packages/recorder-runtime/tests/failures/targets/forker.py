# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""D6/D8: the program forks; the child does its own work and exits."""

import os
import sys


def parent_only_function(x):
    return x + 100


def child_only_function(x):
    return x + 200


def main():
    print("before fork", parent_only_function(1))
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        print("child", child_only_function(1))
        sys.stdout.flush()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child status", os.waitstatus_to_exitcode(status))
    print("after fork", parent_only_function(2))


main()
