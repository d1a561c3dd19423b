"""Backend-independent event logic: what is written for each interpreter event.

Both backends (``sys.monitoring`` here, ``sys.settrace`` in ``pure_recorder``)
translate interpreter events into calls on one :class:`EventRecorder`, so the
two produce the same trace by construction. The recorder decides:

* activation: nothing is written before the activation code starts, nothing
  after it finishes (``trace-format.md`` §10.1);
* which code objects are recorded at all (the trace filter, cached per code);
* the exact event sequence for each interpreter event (§10.3), including the
  drain points of captured IO (§10.6).

Every method here runs inside a guarded callback (``recorder_ffi``), on the hot
path: per-code-object facts are computed once into :class:`CodeInfo`, variable
ids and value actions are cached per code object, and each event group is
handed to the writer in one ``extend`` call so that threads never interleave
inside a group.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import repeat
from operator import is_
from types import BuiltinFunctionType, CodeType, FrameType, FunctionType, ModuleType
from typing import TYPE_CHECKING, Any, Final

from .output.json.grammar import GRAMMAR as JSON_GRAMMAR

if TYPE_CHECKING:
    from .encoder import ValueEncoder
    from .filters import ScopeDecision, TraceFilter
    from .io_capture import IOCapture
    from .output.grammar import EventGrammar, Piece
    from .writer import TraceWriter

_get_ident = threading.get_ident

CO_VARARGS: Final = 0x04
CO_VARKEYWORDS: Final = 0x08


# Sentinel variable ids stored in the per-code name caches.
_REDACT: Final = -1
_DROP: Final = -2

#: Which module globals a step inside a function shows (policy field ``globals``).
GLOBALS_MODES: Final = ("referenced", "all", "none")
#: Stands for a referenced global the module does not define (yet).
_MISSING: Final = object()
_MISSINGS: Final = repeat(_MISSING)


class CodeInfo:
    """Everything static about one recorded code object, computed once."""

    __slots__ = (
        "arg_ids",
        "arg_names",
        "code",
        "decision",
        "encode",
        "function_id",
        "global_block",
        "global_ids",
        "global_names",
        "is_module",
        "line",
        "local_names",
        "local_prefixes",
        "local_special",
        "name",
        "path_id",
        "ret_action",
        "step_text",
        "step_texts",
        "trace",
    )

    def __init__(self, code: CodeType, decision: ScopeDecision | None, trace: bool) -> None:
        self.code = code
        self.decision = decision
        self.trace = trace
        self.path_id = -1
        self.function_id = -1
        self.line = code.co_firstlineno
        self.name = _qualname(code)
        self.is_module = code.co_name == "<module>"
        self.arg_names = signature_order(code)
        self.arg_ids: tuple[int, ...] | None = None
        self.local_prefixes: dict[str, str] = {}  # allowed local name -> Value prefix
        self.local_special: dict[str, int] = {}  # redacted/dropped local name -> marker
        self.step_texts: dict[int, str] = {}  # line -> Step event text
        self.global_ids: dict[str, int] = {}
        self.global_block: GlobalBlock | None = None
        self.local_names = frozenset(code.co_varnames + code.co_cellvars + code.co_freevars)
        self.ret_action = "allow"
        self.step_text = ""
        # the globals a step shows: None = every module global; set by EventRecorder
        self.global_names: tuple[str, ...] | None = None
        self.encode: Callable[[object], Piece] = str


def referenced_names(code: CodeType) -> tuple[str, ...]:
    """The global names ``code`` and the code objects nested in it can read (``co_names``),
    in order of first appearance; a superset of the globals a step can see (attribute
    names are among them, and only those that are module globals are shown)."""
    seen: dict[str, None] = {}
    pending = [code]
    while pending:
        current = pending.pop()
        for name in current.co_names:
            seen.setdefault(name, None)
        pending.extend(const for const in current.co_consts if type(const) is CodeType)
    seen.pop("__builtins__", None)
    return tuple(seen)


class GlobalBlock:
    """The module globals a step shows, pre-encoded while none of them changes.

    Most steps run inside functions whose module globals (functions, classes,
    modules, constants, the dunders) never change between steps, yet the format
    wants them after every Step (§10.3). The block keeps a snapshot of the
    globals (keys and values by identity) and the joined text of every value
    whose rendering cannot change while the object is the same (immutable
    values, functions, classes, modules, objects with the default repr). A step
    whose globals are identical to the snapshot reuses that text; values of
    other types (lists, instances) are re-encoded at every step, and names the
    code may also bind locally are resolved per step (a local hides a global).
    """

    __slots__ = (
        "dropped",
        "epoch",
        "keys",
        "redacted",
        "shadowable",
        "text",
        "values",
        "volatile",
    )

    def __init__(self, keys: tuple[Any, ...], values: tuple[Any, ...], epoch: int) -> None:
        self.keys = keys
        self.values = values
        self.epoch = epoch
        self.text = ""
        self.volatile: list[tuple[str, Any]] = []  # (Value prefix, value) re-encoded per step
        self.shadowable: list[tuple[str, int, Any]] = []
        # redacted (in ``text``) and dropped globals: counted in the filter stats per step
        self.redacted = 0
        self.dropped = 0


#: Types whose encoding cannot change while the value stays the same object, by ``id``
#: (looking a class up by itself would hash it, which can run a metaclass ``__hash__``).
_STABLE_TYPES: Final[dict[int, type]] = {
    id(t): t
    for t in (
        int,
        float,
        complex,
        str,
        bytes,
        bool,
        type(None),
        type,
        FunctionType,
        BuiltinFunctionType,
        ModuleType,
        range,
    )
}


def _renders_stably(value: object) -> bool:
    """True when the encoding of ``value`` cannot change while it stays the same object."""
    kind = type(value)
    return _STABLE_TYPES.get(id(kind)) is kind


def signature_order(code: CodeType) -> tuple[str, ...]:
    """Parameter names in true signature order: positional, *args, kw-only, **kwargs.

    CPython lays ``co_varnames`` out as positional, kw-only, *args, **kwargs;
    the reference recorder reads it in that order and shifts arguments of
    functions with both ``*args`` and kw-only parameters (its defect 5).
    """
    names = code.co_varnames
    npos = code.co_argcount
    nkw = code.co_kwonlyargcount
    ordered = list(names[:npos])
    index = npos + nkw
    if code.co_flags & CO_VARARGS:
        ordered.append(names[index])
        index += 1
    ordered.extend(names[npos : npos + nkw])
    if code.co_flags & CO_VARKEYWORDS:
        ordered.append(names[index])
    return tuple(ordered)


class EventRecorder:
    """Turns interpreter events into trace events (see the module docstring)."""

    def __init__(
        self,
        writer: TraceWriter,
        encoder: ValueEncoder,
        trace_filter: TraceFilter | None,
        io_capture: IOCapture | None,
        *,
        program: str,
        activation_path: str | None,
        encode: Callable[[object], Piece] | None = None,
        globals_mode: str = "referenced",
        grammar: EventGrammar = JSON_GRAMMAR,
    ) -> None:
        self.writer = writer
        self.encoder = encoder
        self.filter = trace_filter
        self.io = io_capture
        self.program = program
        self.activation_path = activation_path
        self.active = activation_path is None
        self.activated = self.active
        self.finished = False
        self.activation_code: CodeType | None = None
        #: The exception that ended the activation code (None: it returned, or still runs).
        self.activation_exception: BaseException | None = None
        self.on_finished: Callable[[], None] | None = None
        self._infos: dict[CodeType, CodeInfo] = {}
        self._stacks: dict[int, list[CodeType]] = {}
        self._thread_names: dict[int, str] = {}
        self._last_path_id = 0
        self._last_line = 0
        self._last_frame_id = 0
        # Per thread, the (path id, line, frame id) of the last Step when each recorded frame
        # was entered: restored when it returns, so output printed after a call is
        # attributed to the caller's line, not to the callee's last one.
        self._callers: dict[int, list[tuple[int, int, int]]] = {}
        self.steps = 0
        self._secret_epoch = 0
        self._secrets_seen: set[str] = set()
        self._custom_encode = encode
        self._encode = encode if encode is not None else encoder.encode
        self._extend = writer.extend
        self.globals_mode = globals_mode
        # The format's event grammar: the only source of event syntax (output/grammar.py).
        self._g = grammar
        self._close = grammar.value_suffix

    # ----------------------------------------------------------------- set-up

    def begin(self) -> None:
        """Write the four opening events of every trace (§10.2)."""
        writer = self.writer
        path_id = writer.path_id(self.program)
        function_id = writer.function_id(("<toplevel>",), path_id, 1, "<toplevel>")
        writer.call(function_id, ())
        writer.type_id(30, "None")

    def code_info(self, code: CodeType, frame: FrameType | None = None) -> CodeInfo:
        """The cached facts about ``code``; ``info.trace`` False means never record it."""
        info = self._infos.get(code)
        if info is None:
            info = self._new_info(code, _module_name(frame) if frame is not None else None)
        return info

    def _new_info(self, code: CodeType, module_name: str | None) -> CodeInfo:
        decision = None
        trace = True
        filename = code.co_filename
        if self.filter is not None:
            decision = self.filter.decide(filename, module_name, _qualname(code))
            trace = decision.trace
        elif filename.startswith("<"):
            trace = False
        info = CodeInfo(code, decision, trace)
        if decision is not None:
            info.ret_action = decision.cached_action("ret", info.name)
        if self._custom_encode is None and decision is not None:
            info.encode = partial(self.encoder.encode_scoped, decision)
        else:
            info.encode = self._encode
        if not info.is_module and self.globals_mode != "all":
            info.global_names = referenced_names(code) if self.globals_mode == "referenced" else ()
        self._infos[code] = info
        return info

    def is_activation(self, code: CodeType) -> bool:
        """True when ``code`` is the activation code and recording has not started yet."""
        return not self.activated and code.co_filename == self.activation_path

    # ----------------------------------------------------------------- events

    def on_start(self, code: CodeType, frame: FrameType) -> None:
        """PY_START: Values of the arguments, a Step at the definition line, the Call."""
        if not self.active:
            if not self.is_activation(code):
                return
            self.active = self.activated = True
            self.activation_code = code
        info, parts = self._prologue(code, frame)
        args = self._capture_args(info, frame, parts)
        self._open_call(code, info, parts, args)

    def on_resume(self, code: CodeType, frame: FrameType) -> None:
        """PY_RESUME: a generator or coroutine continues: Step + Call without args."""
        if self.active:
            info, parts = self._prologue(code, frame)
            self._open_call(code, info, parts, ())

    def on_throw(self, code: CodeType, frame: FrameType, exc: BaseException) -> None:
        """PY_THROW: like a resume, with the thrown exception as argument ``exception``."""
        if self.active:
            info, parts = self._prologue(code, frame)
            variable_id = self.writer.variable_id("exception")
            encoded = info.encode(exc)
            parts.append(self._g.value(variable_id, encoded))
            self._open_call(code, info, parts, ((variable_id, encoded),))

    def _prologue(self, code: CodeType, frame: FrameType) -> tuple[CodeInfo, list[str]]:
        """The code's cached facts (registered on first use) and the group's drained IO."""
        info = self._infos.get(code) or self.code_info(code, frame)
        if info.function_id < 0:
            self._register_function(info, frame)
        parts: list[str] = []
        if self.io is not None and self.io.pending:
            self._drain_io(parts)
        return info, parts

    def _open_call(
        self,
        code: CodeType,
        info: CodeInfo,
        parts: list[str],
        args: Sequence[tuple[int, str]],
    ) -> None:
        """A Step at the definition line, the Call, and the frame pushed on this thread's stack."""
        parts.append(info.step_text)
        parts.append(self._g.call(info.function_id, args))
        stack = self._stack()
        self._extend(parts)
        self._enter_caller(len(stack))
        stack.append(code)  # only once the Call is buffered (see TraceWriter.extend)

    def on_line(self, code: CodeType, frame: FrameType, line: int) -> None:
        """LINE: drain IO, Step, then every visible variable (locals, then globals)."""
        if not self.active:
            return
        info = self._infos.get(code) or self.code_info(code, frame)
        if info.path_id < 0:
            self._register_function(info, frame)
        parts: list[str] = []
        if self.io is not None and self.io.pending:
            self._drain_io(parts)
        path_id = info.path_id
        self._last_path_id = path_id
        self._last_line = line
        self._last_frame_id = id(frame)
        self.steps += 1
        step = info.step_texts.get(line)
        if step is None:
            step = info.step_texts[line] = self._g.step(path_id, line)
        parts.append(step)
        self._capture_variables(info, frame, parts)
        self._extend(parts)

    def on_return(self, code: CodeType, value: object) -> None:
        """PY_RETURN: drain IO, then Return with the value."""
        stack = self._stacks.get(_get_ident())
        if not stack or stack[-1] is not code:
            # Frames whose start was never recorded (already running when recording began,
            # or dropped at the recursion limit) return unrecorded: the stream stays balanced.
            return
        info = self._infos[code]
        parts: list[str] = []
        if self.io is not None and self.io.pending:
            self._drain_io(parts)
        parts.append(self._g.return_(self._encode_return(info, value)))
        self._extend(parts)
        stack.pop()  # only once the Return is buffered (see TraceWriter.extend)
        self._return_to_caller(len(stack))
        if code is self.activation_code and not stack:
            self._finish_activation()

    on_yield = on_return
    """PY_YIELD: a suspension is written exactly like a return (§10.3)."""

    def on_unwind(self, code: CodeType, exc: BaseException) -> None:
        """PY_UNWIND: an exception leaves the frame: Return whose value is the exception.

        The exception that ends the activation code is kept: it says how the program
        ended (``SystemExit`` status, or an uncaught exception) to callers that cannot see
        the interpreter's exit status, such as auto-start.
        """
        finished = self.finished
        self.on_return(code, exc)
        if self.finished and not finished:
            self.activation_exception = exc

    # ---------------------------------------------------------------- helpers

    def _enter_caller(self, depth: int) -> None:
        """Remember where the caller was (its last Step) when a frame at ``depth`` starts."""
        ident = _get_ident()
        callers = self._callers.get(ident)
        if callers is None:
            callers = self._callers[ident] = []
        del callers[depth:]  # entries of frames that returned without us (kept in step)
        callers.append((self._last_path_id, self._last_line, self._last_frame_id))

    def _return_to_caller(self, depth: int) -> None:
        """Output after a return comes from the caller's line: restore it for IO events."""
        callers = self._callers.get(_get_ident())
        if callers is not None and len(callers) > depth:
            self._last_path_id, self._last_line, self._last_frame_id = callers[depth]
            del callers[depth:]

    def _stack(self) -> list[CodeType]:
        """This thread's stack of recorded code objects (innermost last)."""
        ident = _get_ident()
        stack = self._stacks.get(ident)
        if stack is None:
            stack = self._stacks[ident] = []
        return stack

    def _finish_activation(self) -> None:
        """The activation code finished: nothing after it is recorded (§10.1)."""
        self.active = False
        self.finished = True
        if self.io is not None and self.io.pending:
            parts: list[str] = []
            self._drain_io(parts)
            self._extend(parts)
        if self.on_finished is not None:
            self.on_finished()

    def _register_function(self, info: CodeInfo, frame: FrameType) -> None:
        code = info.code
        writer = self.writer
        info.path_id = writer.path_id(code.co_filename)
        name = info.name
        if info.is_module:
            module_name = _module_name(frame)
            name = f"<{module_name}>"
            info.name = name
        info.function_id = writer.function_id(
            (code.co_filename, code.co_firstlineno, name), info.path_id, info.line, name
        )
        info.step_text = self._g.step(info.path_id, info.line)

    def _capture_args(
        self, info: CodeInfo, frame: FrameType, parts: list[str]
    ) -> list[tuple[int, str]]:
        args: list[tuple[int, str]] = []
        if not info.arg_names:
            return args
        arg_ids = info.arg_ids
        if arg_ids is None:
            arg_ids = info.arg_ids = tuple(
                self._variable_id(info, {}, "arg", name) for name in info.arg_names
            )
        try:
            local_values: Mapping[str, Any] = frame.f_locals
        except Exception:  # a frame whose locals cannot be materialised: record no args
            return args
        encode = info.encode
        for name, variable_id in zip(info.arg_names, arg_ids, strict=True):
            if variable_id == _DROP:
                self._count(info, "arg", "drop")
                continue
            try:
                value = local_values[name]
            except Exception:  # an argument deleted or unbound: nothing to show
                continue
            if variable_id == _REDACT:
                self._count(info, "arg", "redact")
                variable_id = self.writer.variable_id(name)
                encoded = self._redacted(info, value)
            else:
                encoded = encode(value)
            parts.append(self._g.value(variable_id, encoded))
            args.append((variable_id, encoded))
        return args

    def _capture_variables(self, info: CodeInfo, frame: FrameType, parts: list[str]) -> None:
        try:
            local_values = frame.f_locals
            global_values = frame.f_globals
        except Exception:  # unusual namespaces (a non-mapping __prepare__): record the step only
            return
        encode = info.encode
        append = parts.append
        close = self._close
        prefixes = info.local_prefixes
        try:
            items = list(local_values.items()) if local_values is not global_values else None
        except Exception:
            items = None
        if items is not None:
            for name, value in items:
                prefix = prefixes.get(name)
                if prefix is not None:
                    append(prefix + encode(value) + close)
                else:
                    self._special_local(info, name, value, parts)
        global_block = info.global_block
        names = info.global_names
        try:
            # dict's own methods: a dict subclass used as globals never runs its overrides
            if names is None:
                keys: tuple[Any, ...] = tuple(dict.keys(global_values))
                values = tuple(dict.values(global_values))
            elif names:
                keys = names
                get = (
                    global_values.get
                    if type(global_values) is dict
                    else partial(dict.get, global_values)
                )
                values = tuple(map(get, names, _MISSINGS))
            else:
                return
        except Exception:
            return
        if (
            global_block is None
            or global_block.epoch != self._secret_epoch
            or len(keys) != len(global_block.keys)
            or not all(map(is_, values, global_block.values))
            or not all(map(is_, keys, global_block.keys))
        ):
            global_block = info.global_block = self._global_block(info, keys, values)
        if global_block.redacted or global_block.dropped:
            self._count_globals(info, global_block)
        if global_block.text:
            parts.append(global_block.text)
        for prefix, value in global_block.volatile:
            append(prefix + encode(value) + close)
        if global_block.shadowable:
            shadowed = local_values if items is not None else {}
            for name, variable_id, value in global_block.shadowable:
                if name in shadowed:
                    continue
                if variable_id == _REDACT:
                    self._count(info, "global", "redact")
                    text = self._redacted(info, value)
                    variable_id = self.writer.variable_id(name)
                else:
                    text = encode(value)
                parts.append(self._g.value(variable_id, text))

    def _special_local(self, info: CodeInfo, name: str, value: object, parts: list[str]) -> None:
        """Slow path of a local: first sight of its name, or a redacted/dropped name."""
        marker = info.local_special.get(name)
        if marker is None:
            variable_id = self._variable_id(info, {}, "local", name)
            if variable_id >= 0:
                prefix = info.local_prefixes[name] = self._g.value_prefix(variable_id)
                parts.append(prefix + info.encode(value) + self._close)
                return
            marker = info.local_special[name] = variable_id
        self._count(info, "local", "redact" if marker == _REDACT else "drop")
        if marker == _REDACT:
            parts.append(self._g.value(self.writer.variable_id(name), self._redacted(info, value)))

    def _global_block(
        self, info: CodeInfo, keys: tuple[Any, ...], values: tuple[Any, ...]
    ) -> GlobalBlock:
        """Pre-encode the module globals a step of ``info`` shows (see :class:`GlobalBlock`)."""
        block = GlobalBlock(keys, values, self._secret_epoch)
        ids = info.global_ids
        local_names = info.local_names
        stable: list[str] = []
        encode = info.encode
        for name, value in zip(keys, values, strict=True):
            if type(name) is not str or value is _MISSING:
                continue
            variable_id = ids.get(name)
            if variable_id is None:
                variable_id = self._variable_id(info, ids, "global", name)
            if variable_id == _DROP:
                block.dropped += name != "__builtins__"  # not a filter decision
                continue
            if name in local_names:
                block.shadowable.append((name, variable_id, value))
            elif variable_id == _REDACT:
                block.redacted += 1
                stable.append(
                    self._g.value(self.writer.variable_id(name), self._redacted(info, value))
                )
            elif _renders_stably(value):
                stable.append(self._g.value(variable_id, encode(value)))
            else:
                block.volatile.append((self._g.value_prefix(variable_id), value))
        block.text = self._g.join_events(stable)
        return block

    def _variable_id(self, info: CodeInfo, cache: dict[str, int], domain: str, name: str) -> int:
        """Resolve (and cache per code object) the variable id or redact/drop marker of a name."""
        if domain == "global" and name == "__builtins__":
            cache[name] = _DROP
            return _DROP
        action = "allow"
        if info.decision is not None:
            action = info.decision.cached_action(domain, name)
        if action == "drop":
            variable_id = _DROP
        elif action == "redact":
            variable_id = _REDACT
        else:
            variable_id = self.writer.variable_id(name)
        cache[name] = variable_id
        return variable_id

    def _redacted(self, info: CodeInfo, value: object) -> Piece:
        """The redaction marker; the secret itself is remembered so copies get scrubbed."""
        if info.decision is not None and type(value) is str and value not in self._secrets_seen:
            info.decision.note_redacted(value)
            self._secrets_seen.add(value)
            self._secret_epoch += 1  # cached global blocks may hold copies to scrub now
            if self.filter is not None:
                self.encoder.set_scrub(self.filter.scrub)
        return self.encoder.redacted()

    def _count(self, info: CodeInfo, domain: str, action: str) -> None:
        """Count one redacted or dropped value (the per-code caches hide repeats otherwise)."""
        if info.decision is not None:
            info.decision.count(domain, action)

    def _count_globals(self, info: CodeInfo, block: GlobalBlock) -> None:
        """Count the redacted and dropped globals a step of ``block`` shows or hides."""
        if info.decision is not None:
            if block.redacted:
                info.decision.count("global", "redact", block.redacted)
            if block.dropped:
                info.decision.count("global", "drop", block.dropped)

    def _encode_return(self, info: CodeInfo, value: object) -> Piece:
        action = info.ret_action
        if action == "allow":
            return info.encode(value)
        self._count(info, "ret", action)
        if action == "redact":
            return self._redacted(info, value)
        return self.encoder.dropped()

    def _drain_io(self, parts: list[str]) -> None:
        """Turn queued output chunks into Event records at this drain point (§10.6)."""
        io = self.io
        if io is None:
            return
        for chunk in io.drain():
            thread = self._thread_names.get(chunk.thread_id)
            if thread is None:
                thread = self._thread_names[chunk.thread_id] = (
                    f"ThreadId({len(self._thread_names) + 1})"
                )
            metadata = (
                '{"stream":"%s","thread":"%s","path_id":%d,"line":%d,"frame_id":%d,"flags":[%s]}'
                % (
                    chunk.stream,
                    thread,
                    self._last_path_id,
                    self._last_line,
                    self._last_frame_id,
                    ",".join(f'"{flag}"' for flag in chunk.flags),
                )
            )
            content = chunk.content
            if self._secrets_seen and self.filter is not None:
                content = self.filter.scrub(content)
            parts.append(self._g.io_event(chunk.kind, metadata, content))

    # ------------------------------------------------------------------ finish

    def flush_io(self) -> None:
        """Drain output still queued at the end of recording."""
        if self.io is not None and self.io.pending:
            parts: list[str] = []
            self._drain_io(parts)
            self._extend(parts)

    @property
    def recorded_anything(self) -> bool:
        """True once the activation code started (the run produced a trace)."""
        return self.activated


def _qualname(code: CodeType) -> str:
    """``co_qualname`` (3.11+); Python 3.10 code objects only know their plain name."""
    qualname: str = getattr(code, "co_qualname", code.co_name)
    return qualname


def _module_name(frame: FrameType) -> str:
    """Module name from the frame's ``__name__`` global (``__main__`` for the script)."""
    try:
        name = frame.f_globals.get("__name__")
    except Exception:
        return "module"
    return name if type(name) is str else "module"
