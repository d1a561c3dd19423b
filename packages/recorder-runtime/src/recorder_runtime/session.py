"""One recording, from validation to the files on disk.

:class:`TraceSession` owns every moving part of a recording (staging area,
writer, encoder, filter, IO capture, boundary guard, backend) and enforces
the output promise: when :meth:`TraceSession.finish` returns, the trace
directory holds a complete trace, a trace clearly marked partial, or nothing
new at all. ``finish`` never raises a recorder error: it reports what
happened in a :class:`FinishReport`, and the caller (the CLI or the API)
decides what the user sees.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from types import FrameType
from typing import Any, Protocol

from recorder_errors import (
    ErrorCode,
    RecorderError,
    bug,
    enverr,
    from_exception,
    target,
    usage,
)
from recorder_ffi import BoundaryGuard, Failpoints

from . import __version__, logs
from .encoder import CaptureLimits, ValueEncoder
from .filters import TraceFilter, redact_argv
from .io_capture import IOCapture
from .metadata import build_metadata, write_json_file, write_paths
from .native import bind_native, select_native
from .output import formats
from .output.grammar import Piece
from .policy import Policy
from .recorder import EventRecorder
from .staging import OutputStaging
from .writer import TraceWriter

log = logging.getLogger("recorder.session")

RECORDER_NAME = "codetracer-python-recorder-pure"
PATHS_FILE = "trace_paths.json"
METADATA_FILE = "trace_metadata.json"
BACKEND_ENTRY_POINTS = "recorder_runtime.backends"


class Backend(Protocol):
    """What a backend offers the session (``monitoring``, ``pure_recorder``)."""

    name: str

    def install(self, recorder: EventRecorder, guard: BoundaryGuard) -> None: ...

    def follow_frame(self, frame: FrameType) -> None:
        """Deliver the remaining events of ``frame``, already running when installed."""
        ...

    def uninstall(self) -> None: ...

    def still_installed(self) -> bool: ...

    def detach_state(self) -> str: ...


@dataclass(frozen=True)
class SessionConfig:
    """What to record and how; validated by :meth:`TraceSession.start`."""

    trace_dir: str
    policy: Policy
    format: str = "json"
    activation_path: str | None = None
    program: str | None = None
    args: tuple[str, ...] = ()
    backend: str = "auto"
    tool_id: int | None = None
    #: More metadata, computed when the trace is finished (auto-start: the process tree).
    extra_metadata: Callable[[], dict[str, Any]] | None = None


@dataclass(frozen=True)
class FinishReport:
    """What a finished session left behind and whether it decides the exit status."""

    state: str  # "complete" | "partial" | "absent"
    trace_dir: str
    error: RecorderError | None = None
    fatal: bool = False
    counters: dict[str, Any] = field(default_factory=dict)


def select_backend(name: str, tool_id: int | None = None) -> Backend:
    """The backend for ``name`` (auto: sys.monitoring on 3.12+, else the settrace fallback)."""
    if name not in ("auto", "monitoring", "settrace"):
        raise usage(
            ErrorCode.INVALID_POLICY_VALUE,
            f"invalid backend {name!r} (expected auto, monitoring or settrace)",
        )
    if name == "monitoring" or (name == "auto" and sys.version_info >= (3, 12)):
        from .monitoring import MonitoringBackend

        return MonitoringBackend(tool_id)
    for entry in importlib_metadata.entry_points(group=BACKEND_ENTRY_POINTS):
        if entry.name == "settrace":
            factory = entry.load()
            backend: Backend = factory()
            return backend
    if name == "settrace":
        message = "the settrace backend was asked for, but pure-recorder is not installed"
    else:
        message = (
            f"Python {sys.version.split()[0]} has no sys.monitoring and the settrace "
            "fallback (pure-recorder) is not installed"
        )
    raise enverr(ErrorCode.UNSUPPORTED_PYTHON, message, hint="pip install pure-recorder")


class TraceSession:
    """A single recording (see the module docstring)."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.policy = config.policy
        self.run_id = logs.run_id()
        self.trace_id = str(uuid.uuid4())
        self.trace_dir = os.path.abspath(config.trace_dir)
        self.program = config.program or config.activation_path or ""
        self.started = False
        self.finished = False
        self.guard: BoundaryGuard | None = None
        self.backend: Backend | None = None
        self.staging: OutputStaging | None = None
        self.writer: TraceWriter | None = None
        self.recorder: EventRecorder | None = None
        self.io: IOCapture | None = None
        self.filter: TraceFilter | None = None
        self.encoder: ValueEncoder | None = None
        self.limits = CaptureLimits()
        self.failpoints = Failpoints()
        #: The policy's ``native`` mode and whether the C accelerator records this run.
        self.native_mode = str(getattr(self.policy, "native", "auto"))
        self.native_used = False
        self._native: type[Any] | None = None
        self._detached = False
        self._tracer_removed = False

    # --------------------------------------------------------------- state

    @property
    def failure(self) -> RecorderError | None:
        """The first recorder failure of this run (callback, writer or finish)."""
        guard_failure = self.guard.failure if self.guard is not None else None
        if guard_failure is not None:
            return guard_failure
        if self.writer is not None and self.writer.broken is not None:
            return self.writer.broken
        return None

    @property
    def is_recording(self) -> bool:
        return self.started and not self.finished

    # --------------------------------------------------------------- start

    def start(self, *, caller: FrameType | None = None) -> None:
        """Validate, prepare the staging area and attach; nothing is left on disk on failure.

        ``caller`` (the API's calling frame) is already running: its Call is written now and
        the backend follows its remaining lines, so ``with trace(dir):`` records its block.
        """
        config = self.config
        self.format = formats.lookup(config.format)
        self.failpoints = Failpoints.from_env()
        self.limits = CaptureLimits(
            max_depth=self.policy.max_depth,
            max_items=self.policy.max_items,
            max_string_length=self.policy.max_string_length,
            max_object_depth=self.policy.max_object_depth,
        )
        program = config.program or config.activation_path or _caller_program(caller)
        self.program = program
        self.filter = TraceFilter.load(
            script_path=config.activation_path or config.program,
            explicit=self.policy.trace_filter,
        )
        for secret in redact_argv(config.args)[1]:  # `--password X`: X is scrubbed everywhere
            self.filter.remember_secret(secret)
        staging = OutputStaging(self.trace_dir)
        staging.prepare()  # usage errors about the destination come before anything else
        self.staging = staging
        try:
            backend = select_backend(config.backend, config.tool_id)
            self._native = select_native(self.native_mode)
            guard = BoundaryGuard(policy=self.policy.on_recorder_error, failpoints=self.failpoints)
            self.failpoints.fire("session.start")
            log.debug("recording %s into %s", program, self.trace_dir)
            self._build(program, backend, guard, caller)
        except BaseException as exc:
            self._abandon()
            if isinstance(exc, RecorderError):
                raise
            if isinstance(exc, Exception):
                raise from_exception(exc) from exc
            raise

    def _build(
        self, program: str, backend: Backend, guard: BoundaryGuard, caller: FrameType | None
    ) -> None:
        staging = self.staging
        if staging is None:  # pragma: no cover - start() sets it first
            raise bug(ErrorCode.UNKNOWN, "session staging missing")
        fmt = self.format
        writer = formats.open_writer(fmt, staging.file(fmt.events_file), self.failpoints)
        self.writer = writer
        trace_filter = self.filter
        # No scrubber until the recorder meets its first secret (the encoder's caches work
        # only without one); captured output is scrubbed by the recorder when it drains it.
        self.encoder = ValueEncoder(writer, self.limits, grammar=writer.grammar)
        if trace_filter is not None and trace_filter.has_secrets:  # a secret in the argv
            self.encoder.set_scrub(trace_filter.scrub)
        if self.policy.io_capture != "off":
            self.io = IOCapture(self.policy.io_capture)
        recorder = EventRecorder(
            writer,
            self.encoder,
            trace_filter,
            self.io,
            program=program,
            activation_path=self.config.activation_path,
            encode=self._encode_with_failpoint()
            if self.failpoints.enabled("encoder.encode")
            else None,
            globals_mode=self.config.policy.globals,
            grammar=writer.grammar,
        )
        self.recorder = recorder
        if self._native is not None:
            self._use_native(self._native, recorder, backend)
        recorder.begin()
        guard.set_detach(self._on_guard_detach)
        self.guard = guard
        self.backend = backend
        if self.io is not None:
            self.io.install()
        # Last: from here on every callback may run (and fail, under a failpoint), so no
        # recorder code of start() may follow, and the session counts as started.
        followed = self._open_caller(recorder, caller)
        self.started = True
        backend.install(recorder, guard)
        if followed is not None:
            backend.follow_frame(followed)

    def _use_native(self, cls: type[Any], recorder: EventRecorder, backend: Backend) -> None:
        """Let the C accelerator handle LINE events (native.py); the monitoring backend then
        registers its C callback directly, the settrace backend calls its ``on_line``."""
        native = bind_native(cls, recorder)
        if hasattr(backend, "native_line"):
            backend.native_line = native.line
        self.native_used = True

    @staticmethod
    def _open_caller(recorder: EventRecorder, caller: FrameType | None) -> FrameType | None:
        """Write the Call of the already running ``caller``; the frame to follow, if recorded.

        Only when recording starts at once (no activation path) and the trace filter records
        the caller's code; otherwise the block is recorded as before (calls made from it).
        """
        if caller is None or not recorder.active:
            return None
        code = caller.f_code
        if not recorder.code_info(code, caller).trace:
            return None
        recorder.on_start(code, caller)
        return caller

    def _encode_with_failpoint(self) -> Callable[[object], Piece]:
        """``ValueEncoder.encode`` preceded by the ``encoder.encode`` failpoint (tests only)."""
        encoder, fire = self.encoder, self.failpoints.fire
        if encoder is None:  # pragma: no cover - _build creates it first
            raise bug(ErrorCode.UNKNOWN, "session encoder missing")
        encode = encoder.encode

        def encode_or_fail(value: object) -> Piece:
            fire("encoder.encode")
            return encode(value)

        return encode_or_fail

    def _abandon(self) -> None:
        """Undo a failed start: detach whatever was attached and remove the staging area."""
        self.started = False
        self._detach_hooks()
        if self.writer is not None:
            self.writer.abandon()
        if self.staging is not None:
            self.staging.discard()

    # ------------------------------------------------------------ detach

    def _on_guard_detach(self, err: RecorderError) -> None:
        """Called by the guard on a callback failure: stop every event at once."""
        self._detach_hooks()

    def abandon_after_fork(self) -> None:
        """In a forked child: stop recording and forget the session, touching no file.

        The staging directory, the writer's file and the trace directory belong to the
        parent, which is still recording into them: the child must neither flush, finish
        nor discard anything (the writer already dropped its inherited buffer, see
        ``writer._after_fork_in_child``). Only the child's own hooks are removed.
        """
        self.finished = True
        self._detach_hooks()

    def _detach_hooks(self) -> None:
        if self._detached:
            return
        self._detached = True
        if self.backend is not None:
            try:
                self.backend.uninstall()
            except Exception as exc:  # detaching must never raise into the program
                log.debug("backend uninstall failed: %r", exc)
        if self.io is not None:
            self.io.uninstall()

    # ------------------------------------------------------------ finish

    def flush(self) -> None:
        """Push buffered events to the staging file (not yet visible under the trace dir)."""
        if self.writer is not None and self.writer.broken is None:
            try:
                self.writer.flush()
            except RecorderError as err:
                self._record_failure(err, "writer")

    def finish(self, *, exit_code: int | None, exit_label: str | None = None) -> FinishReport:
        """Detach, close and move the trace into place; never raises a recorder error."""
        if self.finished or not self.started:
            return FinishReport("absent", self.trace_dir)
        self.finished = True
        if self.backend is not None and not self._detached:
            detach_state = self.backend.detach_state()
            if detach_state == "replaced":  # the program took our hooks: a policy failure
                self._record_failure(_target_detached_error(self.backend.name), "target_detached")
            elif detach_state == "removed":  # ambiguous: kept, marked partial (_incompleteness)
                self._tracer_removed = True
        self._detach_hooks()
        try:
            self.failpoints.fire("session.finish")
        except Exception as exc:
            self._record_failure(_as_recorder_error(exc, "session.finish"), "finish")
        failure = self.failure
        if failure is None and self._nothing_recorded():
            return self._finish_missing(None)
        if failure is None:
            report = self._finish_complete(exit_code, exit_label)
        else:
            report = self._finish_failed(failure)
        if self.policy.require_trace and report.state != "complete":
            return self._finish_missing(report)
        return report

    def _finish_complete(self, exit_code: int | None, exit_label: str | None) -> FinishReport:
        writer, recorder, staging = self.writer, self.recorder, self.staging
        if writer is None or recorder is None or staging is None:  # pragma: no cover
            return FinishReport("absent", self.trace_dir)
        try:
            recorder.flush_io()
            encoder = self.encoder
            if encoder is None:  # pragma: no cover
                raise bug(ErrorCode.UNKNOWN, "session encoder missing")
            final = (
                encoder.int_(exit_code)
                if exit_code is not None
                else encoder.string(exit_label or "<exit>")
            )
            # The writer seals the stream first, then closes every call still open by its
            # exact count (other threads may be inside a callback right now), then the top
            # level with the exit payload.
            writer.finish(final, unwound_return_json=encoder.string("<unwound>"))
            incomplete = self._incompleteness()
            self._write_side_files(exit_code, exit_label, partial=incomplete)
            self.failpoints.fire("writer.commit")
            self._commit(staging)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                staging.discard()
                raise
            err = _as_recorder_error(exc, "finish")
            self._record_failure(err, "finish")
            return self._finish_failed(err)
        if incomplete is not None:
            self._log_counters("partial")
            return FinishReport("partial", self.trace_dir, incomplete, counters=self.counters())
        self._log_counters("complete")
        return FinishReport("complete", self.trace_dir, counters=self.counters())

    def _commit(self, staging: OutputStaging) -> None:
        """Move the staged files into place, in the session's format (metadata last)."""
        staging.commit([self.format.events_file, PATHS_FILE, METADATA_FILE])

    def _incompleteness(self) -> RecorderError | None:
        """A run that finished cleanly but lost events (dropped at the recursion limit).

        The guard drops an event whose callback hit the program's recursion limit rather
        than change where the program's own RecursionError surfaces (reliability.md A5);
        the trace is then kept, but marked partial with ERR_TRACE_INCOMPLETE.
        """
        if self._tracer_removed:
            return target(
                ErrorCode.TARGET_DETACHED,
                "the trace function was removed during the run (by the program, or by CPython "
                "after an exception inside it); events after that point are missing",
                backend=self.backend.name if self.backend is not None else "none",
            )
        dropped = self.guard.counters.dropped_events if self.guard is not None else 0
        if not dropped:
            return None
        return target(
            ErrorCode.TRACE_INCOMPLETE,
            f"{dropped} events were dropped at the program's recursion limit",
            dropped_events=dropped,
        )

    def _finish_failed(self, failure: RecorderError) -> FinishReport:
        """A failed run: keep a marked partial trace, or leave nothing behind."""
        fatal = self.policy.on_recorder_error == "abort"
        staging, writer = self.staging, self.writer
        if staging is None:  # pragma: no cover
            return FinishReport("absent", self.trace_dir, failure, fatal)
        if self.policy.keep_partial_trace and writer is not None:
            try:
                encoder = self.encoder
                final = encoder.string("<disabled>") if encoder is not None else '"<disabled>"'
                writer.close_partial(final)
                # A stream that failed to write is never kept, unless a full disk stopped it
                # and its longest complete prefix was closed in place (durable_prefix.py).
                if writer.broken is not None and getattr(writer, "salvaged", None) is None:
                    raise writer.broken
                self._write_side_files(None, "<disabled>", partial=failure)
                self._commit(staging)
                log.warning(
                    "recorder: recording failed; partial trace kept at %s",
                    self.trace_dir,
                    extra={"error_code": failure.code.value},
                )
                self._log_counters("partial")
                return FinishReport(
                    "partial", self.trace_dir, failure, fatal, counters=self.counters()
                )
            except Exception as exc:
                log.debug("keeping the partial trace failed: %r", exc)
        if writer is not None:
            writer.abandon()
        staging.discard()
        self._log_counters("absent")
        return FinishReport("absent", self.trace_dir, failure, fatal, counters=self.counters())

    def _nothing_recorded(self) -> bool:
        """``require_trace`` and the program never reached the activation code."""
        return self.policy.require_trace and not (
            self.recorder is not None and self.recorder.recorded_anything
        )

    def _finish_missing(self, report: FinishReport | None) -> FinishReport:
        """``require_trace`` unmet: no complete trace of the program exists (ERR_TRACE_MISSING)."""
        if report is None:
            if self.writer is not None:
                self.writer.abandon()
            if self.staging is not None:
                self.staging.discard()
            reason = "the activation code never ran"
            state = "absent"
        else:
            reason = f"the trace is {report.state}"
            state = report.state
        cause = report.error if report is not None else None
        context = {"trace_dir": self.trace_dir, "state": state}
        if cause is not None:
            context["cause"] = cause.code.value
        err = enverr(
            ErrorCode.TRACE_MISSING,
            f"a complete trace was required but none was produced ({reason})",
            **context,
        )
        if cause is not None:
            err.__cause__ = cause
        return FinishReport(state, self.trace_dir, err, True, self.counters())

    # ---------------------------------------------------------- helpers

    def _record_failure(self, err: RecorderError, reason: str) -> None:
        if self.guard is not None:
            self.guard.record_failure(err, reason=reason)

    def _write_side_files(
        self, exit_code: int | None, exit_label: str | None, *, partial: RecorderError | None
    ) -> None:
        staging, writer = self.staging, self.writer
        if staging is None or writer is None:  # pragma: no cover
            return
        write_paths(staging.file(PATHS_FILE), writer.paths)
        extra: dict[str, Any] = {"format": self.format.name}
        extra["native"] = {"mode": self.native_mode, "used": self.native_used}
        if self.filter is not None:
            extra["trace_filter"] = self.filter.metadata()
        if self.config.extra_metadata is not None:
            extra.update(self.config.extra_metadata())
        meta = build_metadata(
            workdir=os.getcwd(),
            program=self.program,
            args=self._metadata_args(),
            recorder_name=RECORDER_NAME,
            recorder_version=__version__,
            python_version=sys.version.split()[0],
            backend=self.backend.name if self.backend is not None else "none",
            exit_status={"code": exit_code, "label": exit_label},
            limits=self.limits.as_dict(),
            counters=self.counters(),
            partial=partial is not None,
            partial_reason=(
                {"error_code": partial.code.value, "message": partial.message}
                if partial is not None
                else None
            ),
            extra=extra,
        )
        write_json_file(staging.file(METADATA_FILE), meta)

    def _metadata_args(self) -> list[str]:
        """The program's arguments with secret option values redacted (never the real ones)."""
        if self.filter is not None:
            return self.filter.redact_args(self.config.args)
        return redact_argv(self.config.args)[0]

    def counters(self) -> dict[str, Any]:
        """Guard counters plus what the encoder and writer counted (stored in the metadata)."""
        result: dict[str, Any] = {}
        if self.guard is not None:
            result.update(self.guard.counters.as_dict())
        if self.writer is not None:
            result["events_written"] = self.writer.event_count
            result["dropped_events"] = result.get("dropped_events", 0) + self.writer.dropped_events
            # The program's calls: every Call written but the top-level one (trace-format §10.2).
            result["calls"] = max(0, self.writer.calls_written - 1)
        if self.encoder is not None:
            result["values"] = dict(self.encoder.counters)
        if self.recorder is not None:
            result["steps"] = self.recorder.steps
        return result

    def _log_counters(self, state: str) -> None:
        log.info("recording finished (%s): %s", state, self.counters())


def _caller_program(caller: FrameType | None = None) -> str:
    """The program path for API sessions: the main script, else the caller's file, else argv[0].

    ``python -c`` and the REPL have no main script file; the file that called ``start()``
    names the program better than ``-c``.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if isinstance(path, str):
        return os.path.abspath(path)
    if caller is not None and not caller.f_code.co_filename.startswith("<"):
        return os.path.abspath(caller.f_code.co_filename)
    return sys.argv[0] or "<python>"


def _target_detached_error(backend: str) -> RecorderError:
    return target(
        ErrorCode.TARGET_DETACHED,
        "the traced program removed the recorder's hooks",
        backend=backend,
    )


def _as_recorder_error(exc: BaseException, where: str) -> RecorderError:
    if isinstance(exc, RecorderError):
        return exc
    err = from_exception(exc)
    if err.code is ErrorCode.UNKNOWN:
        err = bug(ErrorCode.UNKNOWN, f"unexpected failure in {where}: {exc!r}", where=where)
        err.__cause__ = exc
    return err
