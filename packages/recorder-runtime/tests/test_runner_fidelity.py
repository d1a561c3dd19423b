"""The runner against plain Python: same stdout, stderr and exit status (reliability E1-E10).

Each case runs a small program twice, as ``python PROG ARGS`` and through the
runner (a ``python -c`` driver that does what the CLI does: run, report,
exit with the status), and compares everything the user can see.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = """
import sys
from recorder_runtime.runner import run_module, run_script
mode, target, *args = sys.argv[1:]
run = run_module if mode == "-m" else run_script
outcome = run(target, args, restore=False, interpreter_exit=True)
outcome.report()
if outcome.kind == "interrupt":
    outcome.reraise_interrupt()
sys.exit(outcome.exit_status)
"""

DUNDERS = """
import sys
print(list(globals()))
print(__name__, __file__, __package__, __spec__, __cached__, __doc__)
print(type(__loader__).__name__, __loader__.name, __loader__.path)
print(type(__builtins__).__name__, __annotations__)
print(sys.argv)
print(sys.path[0])
print(sys.modules["__main__"].__dict__ is globals())
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODETRACER_", "PYTHON"))}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def plain(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, timeout=60
    )


def via_runner(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    mode = ["-m"] if args[0] == "-m" else ["script"]
    rest = args[1:] if args[0] == "-m" else args
    return subprocess.run(
        [sys.executable, "-c", DRIVER, *mode, *rest],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        timeout=60,
    )


def assert_same(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    expected = plain(args, cwd)
    actual = via_runner(args, cwd)
    assert actual.stdout == expected.stdout
    assert actual.stderr == expected.stderr
    assert actual.returncode == expected.returncode
    return actual


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_printed_output_is_byte_identical(tmp_path: Path) -> None:
    write(
        tmp_path / "p.py",
        "import sys\nprint('héllo', 1, [2])\nsys.stdout.write('no newline')\n"
        "sys.stderr.write('err\\n')\n",
    )
    result = assert_same(["p.py"], tmp_path)
    assert result.stdout == "héllo 1 [2]\nno newline".encode()


@pytest.mark.parametrize("spelling", ["d.py", "./d.py", "sub/../d.py", "ABS"])
def test_main_module_facts_match_python(tmp_path: Path, spelling: str) -> None:
    write(tmp_path / "d.py", '"""Doc."""\n' + DUNDERS)
    (tmp_path / "sub").mkdir()
    arg = str(tmp_path / "d.py") if spelling == "ABS" else spelling
    assert_same([arg, "a", "--trace-dir", "x"], tmp_path)


def test_symlinked_script_puts_the_real_directory_on_sys_path(tmp_path: Path) -> None:
    write(tmp_path / "real" / "d.py", DUNDERS)
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "d.py").symlink_to(tmp_path / "real" / "d.py")
    result = assert_same(["links/d.py"], tmp_path)
    assert str(tmp_path / "real").encode() in result.stdout


def test_sibling_module_imports(tmp_path: Path) -> None:
    write(tmp_path / "app" / "helper.py", "VALUE = 42\n")
    write(tmp_path / "app" / "main.py", "import helper\nprint(helper.VALUE)\n")
    result = assert_same(["app/main.py"], tmp_path)
    assert result.stdout == b"42\n"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("import sys\nsys.exit(3)\n", 3),
        ("import sys\nsys.exit('bye message')\n", 1),
        ("import sys\nsys.exit()\n", 0),
        ("import sys\nsys.exit(None)\n", 0),
        ("raise SystemExit(None)\n", 0),
        ("raise SystemExit(True)\n", 1),
        ("import sys\nsys.exit(256 + 7)\n", 7),
    ],
)
def test_sys_exit_variants_match_python(tmp_path: Path, body: str, status: int) -> None:
    write(tmp_path / "e.py", "print('before')\n" + body)
    result = assert_same(["e.py"], tmp_path)
    assert result.returncode == status


def test_uncaught_exception_traceback_matches_python(tmp_path: Path) -> None:
    write(
        tmp_path / "t.py",
        "def inner():\n"
        "    return {}['missing']\n"
        "def outer():\n"
        "    try:\n"
        "        inner()\n"
        "    except KeyError as exc:\n"
        "        raise ValueError('wrapped') from exc\n"
        "outer()\n",
    )
    result = assert_same(["./t.py"], tmp_path)
    assert result.returncode == 1
    assert b"runner.py" not in result.stderr
    assert result.stderr.endswith(b"ValueError: wrapped\n")


def test_syntax_error_matches_python(tmp_path: Path) -> None:
    write(tmp_path / "s.py", "x = (\n")
    assert_same(["s.py"], tmp_path)


def test_custom_excepthook_is_used(tmp_path: Path) -> None:
    write(
        tmp_path / "h.py",
        "import sys\n"
        "sys.excepthook = lambda t, v, tb: print('hooked', t.__name__, v, file=sys.stderr)\n"
        "raise LookupError('gone')\n",
    )
    result = assert_same(["h.py"], tmp_path)
    assert result.stderr == b"hooked LookupError gone\n"


def test_keyboard_interrupt_dies_by_sigint_like_python(tmp_path: Path) -> None:
    write(tmp_path / "k.py", "def f():\n    raise KeyboardInterrupt\nf()\n")
    result = assert_same(["k.py"], tmp_path)
    assert result.returncode == -signal.SIGINT


def test_atexit_handlers_run_once_after_keyboard_interrupt(tmp_path: Path) -> None:
    write(
        tmp_path / "ka.py",
        "import atexit\natexit.register(print, 'bye')\nraise KeyboardInterrupt\n",
    )
    result = assert_same(["ka.py"], tmp_path)
    assert result.stdout == b"bye\n"


def test_atexit_handlers_see_the_program_main_module(tmp_path: Path) -> None:
    write(
        tmp_path / "ae.py",
        "import atexit, pickle, sys\n"
        "class Point:\n    pass\n"
        "atexit.register(lambda: print(len(pickle.dumps(Point())) > 0, sys.argv[1:]))\n",
    )
    result = assert_same(["ae.py", "arg"], tmp_path)
    assert result.stdout == b"True ['arg']\n"


def test_non_daemon_thread_output_matches_python(tmp_path: Path) -> None:
    write(
        tmp_path / "th.py",
        "import threading, time\n"
        "def work():\n    time.sleep(0.1)\n    print('thread done')\n"
        "threading.Thread(target=work).start()\nprint('main done')\n",
    )
    result = assert_same(["th.py"], tmp_path)
    assert result.stdout == b"main done\nthread done\n"


def test_source_encoding_cookie_is_honoured(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nprint(len('\xe9t\xe9'))\n")
    result = assert_same(["latin.py"], tmp_path)
    assert result.stdout == b"3\n"


def test_module_main_facts_match_python_m(tmp_path: Path) -> None:
    module_dunders = DUNDERS.replace("__spec__,", "__spec__.name, __spec__.origin,").replace(
        "__loader__.path", "type(__spec__.loader).__name__"
    )
    write(tmp_path / "modx.py", module_dunders)
    assert_same(["-m", "modx", "--flag"], tmp_path)


def test_package_main_runs_like_python_m(tmp_path: Path) -> None:
    write(tmp_path / "pkgx" / "__init__.py", "print('init')\n")
    write(
        tmp_path / "pkgx" / "__main__.py",
        "import sys\nprint(__name__, __package__, __spec__.name, sys.argv[0] == __file__)\n",
    )
    result = assert_same(["-m", "pkgx"], tmp_path)
    assert result.stdout == b"init\n__main__ pkgx pkgx.__main__ True\n"


def test_root_logging_configured_by_the_program_is_unaffected(tmp_path: Path) -> None:
    write(
        tmp_path / "lg.py",
        "import logging\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
        "logging.info('app line')\n",
    )
    result = assert_same(["lg.py"], tmp_path)
    assert result.stderr == b"INFO app line\n"


def test_multiprocessing_spawn_finds_the_main_module(tmp_path: Path) -> None:
    write(
        tmp_path / "mp.py",
        "import multiprocessing as mp\n"
        "def square(x):\n    return x * x\n"
        "if __name__ == '__main__':\n"
        "    with mp.get_context('spawn').Pool(2) as pool:\n"
        "        print(pool.map(square, [1, 2, 3]))\n",
    )
    result = assert_same(["mp.py"], tmp_path)
    assert result.stdout == b"[1, 4, 9]\n"


def test_threading_atexit_callbacks_run_before_atexit_handlers(tmp_path: Path) -> None:
    write(
        tmp_path / "ta.py",
        "import atexit, threading\n"
        "atexit.register(print, 'atexit handler')\n"
        "threading._register_atexit(print, 'threading atexit')\n"
        "print('end')\n",
    )
    result = assert_same(["ta.py"], tmp_path)
    assert result.stdout == b"end\nthreading atexit\natexit handler\n"
