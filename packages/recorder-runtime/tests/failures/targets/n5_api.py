# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""N5 inside the recorded process: after stop() the interpreter is left as it was.

argv: TRACE_DIR [fail]. Another tool holds a sys.monitoring slot with a callback and local
events before start(); after stop() every slot, callback, trace function, root-logger
handler, signal handler, the umask, the open fds and the threads must be as before.
Prints "N5 OK" or the differences (and exits 1).
"""

import logging
import os
import signal
import sys
import threading

import recorder_runtime

OTHER_TOOL = 2 if sys.version_info >= (3, 12) else None


def other_callback(code, offset):
    return None


def traced_function(x):
    return x * 2


def snapshot():
    state = {
        "gettrace": sys.gettrace(),
        "threading.gettrace": threading.gettrace() if hasattr(threading, "gettrace") else None,
        "getprofile": sys.getprofile(),
        "root.handlers": list(logging.getLogger().handlers),
        "root.level": logging.getLogger().level,
        "signals": {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM,
                                                    signal.SIGALRM, signal.SIGUSR1,
                                                    signal.SIGXFSZ)},
        "umask": os.umask(os.umask(0o022)),
        "fds": sorted(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None,
        "threads": sorted(t.ident for t in threading.enumerate()),
    }
    if sys.version_info >= (3, 12):
        mon = sys.monitoring
        state["tools"] = [mon.get_tool(i) for i in range(6)]
        state["global_events"] = [mon.get_events(i) if mon.get_tool(i) else None
                                  for i in range(6)]
        state["other_local"] = mon.get_local_events(OTHER_TOOL, traced_function.__code__)
        state["other_line_cb"] = mon.register_callback(OTHER_TOOL, mon.events.LINE,
                                                       other_callback)
    return state


if sys.version_info >= (3, 12):
    mon = sys.monitoring
    mon.use_tool_id(OTHER_TOOL, "other-tool")
    mon.register_callback(OTHER_TOOL, mon.events.LINE, other_callback)
    mon.set_local_events(OTHER_TOOL, traced_function.__code__, mon.events.LINE)

before = snapshot()
recorder_runtime.start(sys.argv[1])
print("value", traced_function(21))
during_tools = [sys.monitoring.get_tool(i) for i in range(6)] if sys.version_info >= (3, 12) else []
recorder_runtime.stop()
after = snapshot()
ours = [i for i, name in enumerate(during_tools) if name is not None and i != OTHER_TOOL]

problems = [f"{k}: {before[k]!r} -> {after[k]!r}" for k in before if before[k] != after[k]]
if sys.version_info >= (3, 12):
    # The recorder's own slot must be free again (fact M6: only a full detach stops events).
    problems += [f"slot {i} still taken by {name!r}" for i, name in enumerate(after["tools"])
                 if name is not None and i != OTHER_TOOL]
if sys.version_info >= (3, 12):
    # B1: never the debugger slot 0 by default (P7: debuggers are detected through it).
    if 0 in ours:
        problems.append("recorder took tool id 0 (DEBUGGER_ID)")
    # B6 / M6: a tool that takes our old slot inherits nothing (full detach, not just free).
    for i in ours:
        if mon.get_tool(i) is not None:
            continue
        mon.use_tool_id(i, "probe")
        if mon.get_local_events(i, traced_function.__code__) != 0:
            problems.append(f"slot {i}: local events left behind")
        for name in ("PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "PY_UNWIND", "PY_THROW",
                     "LINE", "RAISE", "CALL"):
            event = getattr(mon.events, name)
            if mon.register_callback(i, event, None) is not None:
                problems.append(f"slot {i}: {name} callback left behind")
        if mon.get_events(i) != 0:
            problems.append(f"slot {i}: global events left behind")
        mon.free_tool_id(i)
    if not ours and os.environ.get("CODETRACER_BACKEND") == "monitoring":
        problems.append("no recorder slot seen while recording")
if problems:
    print("N5 FAILED")
    for p in problems:
        print(" ", p)
    sys.exit(1)
print("N5 OK")
