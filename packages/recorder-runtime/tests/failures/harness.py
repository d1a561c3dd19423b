"""The "nothing lost" oracle of reliability.md §0/§6, as one runner and five assertions.

``run_pair(target, ...)`` runs a target program twice in subprocesses, each with a hard timeout,
``-X faulthandler`` and ``PYTHONHASHSEED=0``: untraced (**T**, ``python SCRIPT``) and recorded
(``python -m recorder_runtime ... SCRIPT``). Both runs use the SAME working directory (restored
in between), so paths the program prints are equal, and the program's own files are snapshotted
after each run. The trace goes to ``<tmp>/out/trace``; the staging area is ``<tmp>/out``.

Assertions (each names the oracle item it checks):

- ``assert_n1`` stdout identical to T's; ``assert_n1_prefix`` (abort) T's stdout starts with it.
- ``assert_n2`` exit status equal to T's (or to the expected mapped code).
- ``assert_n3`` stderr equals T's once recorder lines are removed; at most one diagnostic
  line per failure plus the optional JSON trailer.
- ``assert_n4`` the trace is complete (validator passes), absent, or partial (marker and
  reason present and every file parses strictly); no staging leftovers.
- ``assert_n5`` is checked inside targets (see ``targets/n5_api.py``) because it concerns the
  interpreter state of the recorded process itself.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
TARGETS = HERE / "targets"
REPO = HERE.parents[3]
TIMEOUT = 60.0

#: Recorder diagnostics on stderr start with this (issue 5: ``recorder: ERR_CODE: message``);
#: log records of the ``recorder.*`` loggers are accepted in the same shape.
RECORDER_LINE = re.compile(rb"^(recorder(\.[\w.]+)?\b|\[recorder)")
TRAILER_KEYS = {"run_id", "trace_id", "error_code", "kind", "message", "context"}
EXIT_FOR_KIND = {"Usage": 2, "Environment": 10, "Target": 20, "Internal": 70}

#: Environment variables that must not leak from the developer's shell into a run.
SCRUBBED_ENV_PREFIXES = ("CODETRACER_", "RECORDER_", "COVERAGE_", "PYTHONWARNINGS", "COV_CORE")


# --------------------------------------------------------------------------- environment


def monitoring_available() -> bool:
    return sys.version_info >= (3, 12)


@functools.cache
def settrace_available() -> bool:
    """The settrace fallback exists once ``pure_recorder.backend`` is importable."""
    try:
        return importlib.util.find_spec("pure_recorder.backend") is not None
    except ImportError:
        return False


def backend_params(*, monitoring: bool = True, settrace: bool = True) -> list[Any]:
    """``pytest.param`` list of the backends meaningful on this interpreter (skips explained)."""
    params = []
    if monitoring:
        params.append(
            pytest.param(
                "monitoring",
                marks=pytest.mark.skipif(
                    not monitoring_available(), reason="sys.monitoring needs Python 3.12+"
                ),
                id="monitoring",
            )
        )
    if settrace:
        params.append(
            pytest.param(
                "settrace",
                marks=pytest.mark.skipif(
                    not settrace_available(),
                    reason="pure_recorder.backend (settrace fallback) is not importable yet",
                ),
                id="settrace",
            )
        )
    return params


def default_backend() -> str:
    return "monitoring" if monitoring_available() else "settrace"


def line_point(n: int, backend: str | None = None) -> str:
    """The failpoint that fires at the n-th line-level callback of ``backend``."""
    backend = backend or default_backend()
    return f"callback.line:{n}" if backend == "monitoring" else f"callback.trace:{n}"


def trace_check_script() -> Path | None:
    """The vendored validator, or the shared one when running from the work area."""
    for candidate in (
        REPO / "tests" / "fixtures" / "tools" / "trace_check.py",
        REPO.parent / "shared" / "tools" / "trace_check.py",
    ):
        if candidate.is_file():
            return candidate
    return None


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_ENV_PREFIXES)}
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONSTARTUP", None)
    if extra:
        env.update(extra)
    return env


# --------------------------------------------------------------------------- strict JSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-RFC JSON constant {name}")


def strict_loads(data: bytes) -> Any:
    """RFC 8259 only: UTF-8 (no lone surrogates), no NaN/Infinity."""
    return json.loads(data.decode("utf-8", errors="strict"), parse_constant=_reject_constant)


# --------------------------------------------------------------------------- running


@dataclasses.dataclass
class Run:
    """One finished subprocess: status, output, and the program's own files afterwards."""

    argv: list[str]
    rc: int
    stdout: bytes
    stderr: bytes
    files: dict[str, bytes]

    def describe(self) -> str:
        return (
            f"argv={self.argv}\nrc={self.rc}\nstdout={self.stdout[-2000:]!r}\n"
            f"stderr={self.stderr[-4000:]!r}"
        )


@dataclasses.dataclass
class Pair:
    """The untraced run T, the recorded run, and where the recorder was told to write."""

    untraced: Run | None
    traced: Run
    trace_dir: Path
    policy: str

    @property
    def out_parent(self) -> Path:
        return self.trace_dir.parent

    def staging_leftovers(self) -> list[Path]:
        prefix = "." + self.trace_dir.name + ".staging-"
        if not self.out_parent.is_dir():
            return []
        return sorted(p for p in self.out_parent.iterdir() if p.name.startswith(prefix))

    def describe(self) -> str:
        parts = ["--- traced", self.traced.describe()]
        if self.untraced is not None:
            parts += ["--- untraced", self.untraced.describe()]
        parts.append(f"--- out: {list_tree(self.out_parent)}")
        return "\n".join(parts)


def list_tree(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def target_path(name: str) -> Path:
    path = TARGETS / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def recorder_argv(
    backend: str,
    trace_dir: Path,
    policy: str | None,
    flags: Sequence[str],
    python_flags: Sequence[str] = (),
) -> list[str]:
    """``python -m recorder_runtime`` with the flags of one recorded run."""
    argv = [sys.executable, "-X", "faulthandler", *python_flags, "-m", "recorder_runtime"]
    argv += ["--trace-dir", str(trace_dir), "--format", "json"]
    if backend != "auto":
        argv += ["--backend", backend]
    if policy is not None:
        argv += ["--on-recorder-error", policy]
    argv += list(flags)
    return argv


def _snapshot(workdir: Path, skip: Iterable[str]) -> dict[str, bytes]:
    skipped = set(skip)
    files = {}
    for path in sorted(workdir.rglob("*")):
        rel = str(path.relative_to(workdir))
        if path.is_file() and not path.is_symlink() and rel not in skipped:
            files[rel] = path.read_bytes()
    return files


def _reset_workdir(workdir: Path, script: Path, support: Sequence[Path]) -> str:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    shutil.copy(script, workdir / script.name)
    for extra in support:
        shutil.copy(extra, workdir / extra.name)
    return script.name


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = TIMEOUT,
    preexec_fn: Callable[[], None] | None = None,
    stdin: bytes | None = None,
) -> tuple[int, bytes, bytes]:
    """Run to completion with a hard timeout; a hang is a test failure, not a stuck CI."""
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env),
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=timeout,
            preexec_fn=preexec_fn,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"timed out after {timeout}s: {argv}\nstderr={exc.stderr!r}")
    return proc.returncode, proc.stdout, proc.stderr


_UNTRACED_CACHE: dict[tuple[Any, ...], Run] = {}


def run_untraced(
    script: Path,
    args: Sequence[str],
    *,
    workdir: Path,
    env_extra: Mapping[str, str] | None = None,
    support: Sequence[Path] = (),
    timeout: float = TIMEOUT,
    stdin: bytes | None = None,
    cache: bool = False,
    python_flags: Sequence[str] = (),
    preexec_fn: Callable[[], None] | None = None,
) -> Run:
    """T: ``python SCRIPT ARGS`` from the workdir (optionally cached across tests, for
    targets whose output does not depend on their path: T is deterministic by design)."""
    key = (
        str(script),
        tuple(args),
        tuple(sorted((env_extra or {}).items())),
        stdin,
        tuple(map(str, support)),
        tuple(python_flags),
    )
    cache = cache and preexec_fn is None
    if cache and key in _UNTRACED_CACHE:
        return _UNTRACED_CACHE[key]
    name = _reset_workdir(workdir, script, support)
    argv = [sys.executable, "-X", "faulthandler", *python_flags, name, *args]
    rc, out, err = run_process(
        argv,
        cwd=workdir,
        env=base_env(env_extra),
        timeout=timeout,
        stdin=stdin,
        preexec_fn=preexec_fn,
    )
    run = Run(argv, rc, out, err, _snapshot(workdir, [name, *(s.name for s in support)]))
    if cache:
        _UNTRACED_CACHE[key] = run
    return run


def run_pair(
    target: str | Path,
    args: Sequence[str] = (),
    *,
    tmp_path: Path,
    policy: str | None = "abort",
    backend: str | None = None,
    flags: Sequence[str] = (),
    failpoints: str | None = None,
    env: Mapping[str, str] | None = None,
    traced_env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
    preexec_fn: Callable[[], None] | None = None,
    trace_dir: Path | None = None,
    stdin: bytes | None = None,
    untraced: bool = True,
    support: Sequence[str] = (),
    wrap: Sequence[str] = (),
    python_flags: Sequence[str] = (),
    preexec_untraced: bool = False,
    cache_untraced: bool = False,
) -> Pair:
    """Run T and the recorded run of ``target`` (a file name under ``targets/`` or a path).

    ``env`` applies to both runs, ``traced_env`` and ``failpoints`` to the recorded one only.
    ``wrap`` prefixes the recorded command (``capsh ... --``, ``unshare ...``);
    ``python_flags`` go to both interpreters; ``preexec_fn`` applies to the recorded run, and
    to T as well with ``preexec_untraced``.
    """
    script = target if isinstance(target, Path) else target_path(target)
    support_paths = [target_path(s) for s in support]
    workdir = tmp_path / "work"
    untraced_run = (
        run_untraced(
            script,
            args,
            workdir=workdir,
            env_extra=env,
            support=support_paths,
            timeout=timeout,
            stdin=stdin,
            cache=cache_untraced,
            python_flags=python_flags,
            preexec_fn=preexec_fn if preexec_untraced else None,
        )
        if untraced
        else None
    )
    trace_dir = trace_dir if trace_dir is not None else tmp_path / "out" / "trace"
    name = _reset_workdir(workdir, script, support_paths)
    traced_extra = dict(env or {})
    traced_extra.update(traced_env or {})
    if failpoints:
        traced_extra["RECORDER_FAILPOINTS"] = failpoints
    argv = [
        *wrap,
        *recorder_argv(backend or default_backend(), trace_dir, policy, flags, python_flags),
        name,
        *args,
    ]
    rc, out, err = run_process(
        argv,
        cwd=workdir,
        env=base_env(traced_extra),
        timeout=timeout,
        preexec_fn=preexec_fn,
        stdin=stdin,
    )
    traced = Run(argv, rc, out, err, _snapshot(workdir, [name, *(s.name for s in support_paths)]))
    return Pair(untraced_run, traced, trace_dir, policy or "abort")


# --------------------------------------------------------------------------- stderr


def recorder_lines(stderr: bytes) -> list[bytes]:
    """Lines the recorder wrote: its prefixed diagnostics and a JSON trailer."""
    return [line for line in stderr.splitlines() if is_recorder_line(line)]


def is_recorder_line(line: bytes) -> bool:
    if RECORDER_LINE.match(line):
        return True
    return json_trailer_of_line(line) is not None


def json_trailer_of_line(line: bytes) -> dict[str, Any] | None:
    if not line.startswith(b"{"):
        return None
    try:
        data = strict_loads(line)
    except ValueError:
        return None
    if isinstance(data, dict) and "error_code" in data:
        return data
    return None


FAILURE_MARK = re.compile(rb"ERR_|WARNING|ERROR|CRITICAL|Traceback")


def failure_diagnostics(stderr: bytes) -> list[bytes]:
    """Recorder lines about a failure (not the trailer, not a neutral 'trace written' note)."""
    return [
        line
        for line in recorder_lines(stderr)
        if json_trailer_of_line(line) is None and FAILURE_MARK.search(line)
    ]


def program_stderr(stderr: bytes) -> bytes:
    """stderr with the recorder's own lines removed (N3)."""
    kept = [
        line
        for line in stderr.splitlines(keepends=True)
        if not is_recorder_line(line.rstrip(b"\r\n"))
    ]
    return b"".join(kept)


def json_trailer(stderr: bytes) -> dict[str, Any]:
    """The last stderr line, which must be exactly one JSON object with the trailer keys."""
    lines = stderr.rstrip(b"\n").splitlines()
    assert lines, "stderr is empty: no JSON trailer"
    data = json_trailer_of_line(lines[-1])
    assert data is not None, f"last stderr line is not a JSON trailer: {lines[-1]!r}"
    assert set(data) >= TRAILER_KEYS, f"trailer lacks {TRAILER_KEYS - set(data)}: {data}"
    assert EXIT_FOR_KIND.get(data["kind"]) is not None, data
    return data


# --------------------------------------------------------------------------- N1-N4


def assert_n1(pair: Pair) -> None:
    """N1: the program's stdout is byte-identical to the untraced run's."""
    assert pair.untraced is not None
    assert pair.traced.stdout == pair.untraced.stdout, pair.describe()


def assert_n1_prefix(pair: Pair) -> None:
    """N1 under abort: what was printed is a prefix of T's stdout (nothing injected)."""
    assert pair.untraced is not None
    assert pair.untraced.stdout.startswith(pair.traced.stdout), pair.describe()


def assert_n2(pair: Pair, expected: int | None = None) -> None:
    """N2: exit status equal to T's, or to the mapped code of the expected failure."""
    want = expected if expected is not None else pair.untraced.rc if pair.untraced else None
    assert pair.traced.rc == want, f"want rc={want}\n{pair.describe()}"


def assert_n3(pair: Pair, *, max_diagnostics: int = 1) -> None:
    """N3: stderr equals T's without recorder lines; at most N diagnostics (+ a trailer)."""
    assert pair.untraced is not None
    assert program_stderr(pair.traced.stderr) == pair.untraced.stderr, pair.describe()
    lines = recorder_lines(pair.traced.stderr)
    assert len(failure_diagnostics(pair.traced.stderr)) <= max_diagnostics, pair.describe()
    trailers = [line for line in lines if json_trailer_of_line(line) is not None]
    assert len(trailers) <= 1, pair.describe()


def assert_program_files_identical(pair: Pair) -> None:
    """The program's own files (in its working directory) are byte-identical to T's."""
    assert pair.untraced is not None
    assert pair.traced.files == pair.untraced.files, pair.describe()


@dataclasses.dataclass
class TraceState:
    kind: str  # "absent" | "complete" | "partial"
    metadata: dict[str, Any] | None
    files: list[str]
    events: list[Any] | None = None


def read_trace(trace_dir: Path) -> TraceState:
    """Classify the destination and check that whatever is there parses strictly.

    ``trace_metadata.json`` is committed last, so its presence defines "there is a trace".
    Without it, every file that is there must still parse (never a half-written file).
    """
    files = list_tree(trace_dir) if trace_dir.is_dir() else []
    for name in files:
        path = trace_dir / name
        if path.is_file() and name.endswith(".json"):
            try:
                strict_loads(path.read_bytes())
            except ValueError as exc:
                pytest.fail(f"{path} does not parse strictly ({exc}); files: {files}")
    metadata_path = trace_dir / "trace_metadata.json"
    if not metadata_path.is_file():
        return TraceState("absent", None, files)
    metadata = strict_loads(metadata_path.read_bytes())
    assert isinstance(metadata, dict), metadata
    events_path = trace_dir / "trace.json"
    events = strict_loads(events_path.read_bytes()) if events_path.is_file() else None
    kind = "partial" if metadata.get("partial") is True else "complete"
    return TraceState(kind, metadata, files, events)


def validate_trace(trace_dir: Path) -> None:
    """Run the trace validator (trace_check.py) on a committed trace directory."""
    script = trace_check_script()
    if script is None:
        pytest.skip("trace_check.py is neither vendored nor in ../shared/tools")
    proc = subprocess.run(
        [sys.executable, str(script), str(trace_dir)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def assert_n4(
    pair: Pair,
    allowed: Iterable[str] = ("absent", "complete", "partial"),
    *,
    staging_ok: bool = False,
    reason: str | None = None,
) -> TraceState:
    """N4: complete / absent / partial-with-marker, and no staging leftovers."""
    state = read_trace(pair.trace_dir)
    allowed = tuple(allowed)
    assert state.kind in allowed, f"trace is {state.kind}, want {allowed}\n{pair.describe()}"
    if state.kind == "partial":
        assert_partial_marker(state, reason)
    if state.kind in ("complete", "partial"):
        assert state.events is not None, f"metadata without trace.json: {state.files}"
        validate_trace(pair.trace_dir)
    if not staging_ok:
        assert pair.staging_leftovers() == [], pair.describe()
    return state


def assert_partial_marker(state: TraceState, reason: str | None = None) -> None:
    """A kept partial trace says so, and why (issue 5)."""
    metadata = state.metadata or {}
    assert metadata.get("partial") is True, metadata
    why = metadata.get("partial_reason")
    assert isinstance(why, dict), f"partial_reason missing: {metadata}"
    assert str(why.get("error_code", "")).startswith("ERR_"), why
    assert isinstance(why.get("message"), str) and why["message"], why
    if reason is not None:
        assert why["error_code"] == reason, why


def assert_nothing_created(pair: Pair) -> None:
    """Usage errors: no trace dir, no staging, nothing under out/ at all."""
    assert list_tree(pair.out_parent) == [], pair.describe()


def all_bytes_under(root: Path) -> bytes:
    """Every byte of every regular file below ``root`` (for canary searches)."""
    chunks = []
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if path.is_file() and not path.is_symlink():
            chunks.append(path.read_bytes())
    return b"\n".join(chunks)
