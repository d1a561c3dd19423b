"""What is recorded: events and values for each interpreter event (trace-format.md §10).

Each test records a small program through the CLI with the default backend
and asserts on the trace content, read back with ids resolved to names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tracefile import load, record_source, render


def recorded(tmp_path: Path, source: str, *extra: str, stdin: str = ""):
    proc, trace_dir = record_source(tmp_path, source, *extra, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    return load(trace_dir)


def test_stream_starts_with_toplevel_call_and_none_type(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "x = 1\n")
    assert trace.kinds()[:4] == ["Path", "Function", "Call", "Type"]
    assert trace.functions[0] == "<toplevel>"
    assert trace.events[3]["Type"] == {
        "kind": 30,
        "lang_type": "None",
        "specific_info": {"kind": "None"},
    }


def test_script_module_is_named_after_main(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "x = 1\n")
    assert trace.call_names() == ["<toplevel>", "<__main__>"]


def test_final_return_carries_exit_status_zero(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "x = 1\n")
    assert trace.returns()[-1] == 0
    assert trace.metadata["process_exit_status"] == {"code": 0, "label": None}


def test_sys_exit_without_argument_is_status_zero(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "import sys\nsys.exit()\n")
    assert trace.metadata["process_exit_status"]["code"] == 0
    assert trace.returns()[-1] == 0


def test_arguments_follow_true_signature_order(tmp_path: Path) -> None:
    trace = recorded(
        tmp_path,
        """
        def show(a, b=2, *rest, key=None, **kw):
            return a
        show(1, 2, 3, 4, key="k", extra=5)
        """,
    )
    call = next(c for c in trace.calls() if c.name == "show")
    assert [name for name, _ in call.args] == ["a", "b", "rest", "key", "kw"]
    assert dict(call.args)["rest"] == (3, 4)


def test_functions_with_one_name_in_two_places_get_two_ids(tmp_path: Path) -> None:
    trace = recorded(
        tmp_path,
        """
        f = lambda: 1
        g = lambda: 2
        f(); g()
        """,
    )
    lambdas = [
        e["Function"]
        for e in trace.events
        if "Function" in e and e["Function"]["name"] == "<lambda>"
    ]
    assert [fn["line"] for fn in lambdas] == [2, 3]


GLOBALS_SOURCE = """
G = 5
H = 6
def f(a):
    b = a + G
    return b
f(1)
"""


def test_each_line_records_locals_then_the_globals_its_code_names(tmp_path: Path) -> None:
    steps = recorded(tmp_path, GLOBALS_SOURCE).values_by_step()
    assert all("__builtins__" not in step for step in steps)
    inside = [step for step in steps if step.get("b") == 6]
    assert inside and inside[0]["G"] == 5 and inside[0]["a"] == 1
    assert "H" not in inside[0]
    assert any(step.get("H") == 6 for step in steps)  # module-level steps show every global


@pytest.mark.parametrize(("mode", "shown"), [("all", {"G", "H"}), ("none", set())])
def test_the_globals_policy_chooses_the_globals_of_function_steps(
    tmp_path: Path, mode: str, shown: set[str]
) -> None:
    steps = recorded(tmp_path, GLOBALS_SOURCE, "--globals", mode).values_by_step()
    inside = [step for step in steps if step.get("b") == 6]
    assert inside and inside[0]["a"] == 1
    assert {"G", "H"} & set(inside[0]) == shown
    assert "__builtins__" not in inside[0]


def test_return_value_is_recorded(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "def f():\n    return 41 + 1\nf()\n")
    assert 42 in trace.returns()


def test_exception_leaving_a_frame_is_returned_as_the_exception(tmp_path: Path) -> None:
    trace = recorded(
        tmp_path,
        """
        def boom():
            raise KeyError("k")
        try:
            boom()
        except KeyError:
            pass
        """,
    )
    types = [event["Type"]["lang_type"] for event in trace.events if "Type" in event]
    structs = [value for kind, value in filter(_is_struct, trace.returns())]
    assert [
        render(value["field_values"][0])
        for value in structs
        if types[value["type_id"]] == "KeyError"
    ] == [("k",)]


def _is_struct(rendered: object) -> bool:
    return isinstance(rendered, tuple) and len(rendered) == 2 and rendered[0] == "struct"


def test_generator_suspensions_and_resumptions_stay_balanced(tmp_path: Path) -> None:
    trace = recorded(
        tmp_path,
        """
        def gen():
            yield 1
            yield 2
        total = sum(gen())
        """,
    )
    names = trace.call_names()
    assert names.count("gen") == 3
    kinds = trace.kinds()
    assert kinds.count("Call") == kinds.count("Return")


def test_printed_output_becomes_write_events(tmp_path: Path) -> None:
    trace = recorded(tmp_path, 'print("hello")\nprint("a\\nb")\n')
    assert trace.output(0) == "hello\na\nb\n"


def test_stdin_reads_become_read_events(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "import sys\nline = sys.stdin.readline()\n", stdin="alice\n")
    assert trace.output(3) == "alice\n"


def test_standard_library_code_is_not_recorded(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "import json\nx = json.dumps([1])\n")
    assert all("json" not in p for p in trace.paths)


def test_user_callback_from_standard_library_is_recorded(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "def key(v):\n    return -v\nxs = sorted([1, 2], key=key)\n")
    assert trace.call_names().count("key") == 2


def test_self_referential_list_is_recorded_with_a_marker(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "a = []\na.append(a)\nb = 1\n")
    last = trace.values_by_step()[-1]
    assert isinstance(last["a"], list)


def test_metadata_records_program_args_limits_and_counters(tmp_path: Path) -> None:
    proc, trace_dir = record_source(
        tmp_path,
        "import sys\n",
        "--",
    )
    assert proc.returncode == 0, proc.stderr
    meta = load(trace_dir).metadata
    for key in (
        "workdir",
        "program",
        "args",
        "recorder",
        "limits",
        "counters",
        "process_exit_status",
    ):
        assert key in meta
    assert meta["program"].endswith("prog.py")
    assert meta["partial"] is False


def test_recorder_frames_never_appear(tmp_path: Path) -> None:
    trace = recorded(tmp_path, "x = 1\n")
    assert all("recorder_runtime" not in p and "runpy" not in p for p in trace.paths)


def test_threads_events_keep_trace_balanced(tmp_path: Path) -> None:
    trace = recorded(
        tmp_path,
        """
        import threading
        def work(n):
            total = 0
            for i in range(200):
                total += i
            return total
        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
        """,
    )
    kinds = trace.kinds()
    assert kinds.count("Call") == kinds.count("Return")
    assert trace.call_names().count("work") == 4
