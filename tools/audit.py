#!/usr/bin/env python3
"""Guardrails on library code: the rules a reviewer would otherwise have to remember.

Usage:
    python tools/audit.py [ROOT ...] [--allowlist FILE]

Each ROOT is scanned for library modules: ``ROOT/*/src/**/*.py`` when ROOT holds packages
(the monorepo's ``packages`` directory), otherwise every ``*.py`` below ROOT (or ROOT itself
when it is a file). Tests and tools are never scanned: they are not shipped.

Rules (one finding per line, ``path:line: RULE: detail``):

RAISE        library code raises an exception it constructs itself (``raise ValueError(...)``,
             ``raise RuntimeError``, ``raise InternalError(...)``, any ``raise SomeClass(...)``).
             Recorder failures are constructed only by ``recorder_errors`` (its helpers
             ``usage/enverr/target/bug``, ``ensure_*``, ``from_exception``), so every failure
             carries a kind, a stable code and an exit status. Re-raising is fine: bare
             ``raise``, ``raise exc`` of a caught or computed name, ``raise helper(...)``.
             Inside the ``recorder_errors`` package its own classes may be constructed.
ASSERT       an ``assert`` statement: it vanishes under ``-O`` and raises a bare
             AssertionError into the traced program; use ``ensure_*``.
PRINT        ``print(...)``, ``sys.stdout``/``sys.__stdout__`` writes, ``os.write(1, ...)``,
             ``file=sys.stdout``, ``StreamHandler(sys.stdout)``: the recorder never writes to
             the program's stdout. Entry modules (listed in the allowlist) may print to stderr
             and may ``raise SystemExit(status)``.
ROOT_LOGGER  ``logging.basicConfig``, ``logging.root``, ``logging.getLogger()`` /
             ``getLogger("")`` / ``getLogger("root")``, or the module-level shortcuts
             ``logging.warning(...)`` etc., which configure the root logger implicitly and make
             the application's own logging disappear (reliability.md fact P6).
BARE_EXCEPT  ``except:`` catches KeyboardInterrupt and SystemExit, which must always reach
             the program.

Allowed exceptions live in ONE place, ``tools/audit_allowlist.toml`` next to this file: each
entry names a path glob, a rule, a substring of the finding's detail and a reason. Entries
that match nothing are reported on stderr (stale allowlist), but do not fail the run.

Exit status: 0 clean, 1 findings, 2 usage error (bad root or allowlist).
Standard library only (``tomllib``; ``tomli`` on Python 3.10).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import fnmatch
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_ALLOWLIST = Path(__file__).with_name("audit_allowlist.toml")
ERRORS_PACKAGE = "recorder_errors"
BUILTIN_EXCEPTIONS = frozenset(
    name
    for name in dir(builtins)
    if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)
ROOT_LOGGER_SHORTCUTS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"}
)
STDOUT_NAMES = frozenset({"stdout", "__stdout__"})
WRITE_METHODS = frozenset({"write", "writelines"})


@dataclass(frozen=True)
class Finding:
    """One rule violation at one source line."""

    path: str
    line: int
    rule: str
    detail: str

    def render(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.detail}"


@dataclass
class AllowEntry:
    """One allowlisted exception; ``used`` tells whether it matched anything this run."""

    path: str
    rule: str
    match: str
    reason: str
    used: bool = False

    def allows(self, finding: Finding) -> bool:
        return (
            fnmatch.fnmatch(finding.path, self.path)
            and finding.rule == self.rule
            and self.match in finding.detail
        )


@dataclass
class Allowlist:
    """The single list of allowed exceptions plus the entry-module names."""

    entries: list[AllowEntry] = field(default_factory=list)
    entry_modules: tuple[str, ...] = ()

    def is_entry_module(self, path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in self.entry_modules)

    def filter(self, findings: list[Finding]) -> list[Finding]:
        kept = []
        for finding in findings:
            entry = next((e for e in self.entries if e.allows(finding)), None)
            if entry is None:
                kept.append(finding)
            else:
                entry.used = True
        return kept


class AllowlistError(Exception):
    """The allowlist file is missing, unparsable or has an entry without a reason."""


def load_allowlist(path: Path) -> Allowlist:
    """Read and validate the allowlist; every entry must say why it is allowed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AllowlistError(f"{path}: cannot read allowlist: {exc}") from exc
    modules = data.get("entry_modules", {})
    patterns = modules.get("paths", []) if isinstance(modules, dict) else None
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise AllowlistError(f"{path}: entry_modules.paths must be a list of strings")
    if patterns and not str(modules.get("reason", "")).strip():
        raise AllowlistError(f"{path}: entry_modules needs a reason")
    entries = []
    for index, raw in enumerate(data.get("allow", [])):
        keys = ("path", "rule", "match", "reason")
        missing = [k for k in keys if not str(raw.get(k, "")).strip()]
        if missing:
            raise AllowlistError(f"{path}: allow entry #{index + 1} lacks {', '.join(missing)}")
        if raw["rule"] not in RULES:
            raise AllowlistError(f"{path}: allow entry #{index + 1}: unknown rule {raw['rule']!r}")
        entries.append(AllowEntry(raw["path"], raw["rule"], raw["match"], raw["reason"]))
    return Allowlist(entries, tuple(patterns))


RULES = ("RAISE", "ASSERT", "PRINT", "ROOT_LOGGER", "BARE_EXCEPT")


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def is_class_like(name: str) -> bool:
    """A CapWords identifier: by convention a class, so ``raise Name(...)`` constructs one."""
    return name[:1].isupper() and any(c.islower() for c in name)


class ModuleAudit(ast.NodeVisitor):
    """Collects the findings of one module."""

    def __init__(
        self, path: str, *, in_errors_package: bool, entry_module: bool, own_classes: frozenset[str]
    ) -> None:
        self.path = path
        self.in_errors_package = in_errors_package
        self.entry_module = entry_module
        self.own_classes = own_classes
        self.findings: list[Finding] = []
        self.logging_aliases = {"logging"}
        self.logging_names: dict[str, str] = {}  # local name -> logging attribute
        self.sys_aliases = {"sys"}
        self.stdout_names: set[str] = set()  # from sys import stdout
        self.errors_names: set[str] = set()  # CapWords names imported from recorder_errors

    def report(self, node: ast.AST, rule: str, detail: str) -> None:
        self.findings.append(Finding(self.path, getattr(node, "lineno", 0), rule, detail))

    # ---------------------------------------------------------------- imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "logging":
                self.logging_aliases.add(alias.asname or "logging")
            elif alias.name == "sys":
                self.sys_aliases.add(alias.asname or "sys")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            local = alias.asname or alias.name
            if module == "logging":
                self.logging_names[local] = alias.name
            elif module == "sys" and alias.name in STDOUT_NAMES:
                self.stdout_names.add(local)
            elif module.startswith(ERRORS_PACKAGE) and is_class_like(alias.name):
                self.errors_names.add(local)

    # ---------------------------------------------------------------- rules
    def visit_Assert(self, node: ast.Assert) -> None:
        self.report(node, "ASSERT", "assert statement in library code; use ensure_*()")
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.report(
                node, "BARE_EXCEPT", "bare 'except:' also catches KeyboardInterrupt/SystemExit"
            )
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        if node.exc is not None:
            self.check_raise(node, node.exc)
        self.generic_visit(node)

    def check_raise(self, node: ast.Raise, exc: ast.expr) -> None:
        constructed = exc.func if isinstance(exc, ast.Call) else exc
        name = dotted(constructed)
        if name is None:
            return
        last = name.rsplit(".", 1)[-1]
        if self.in_errors_package and last in self.own_classes:
            return
        if last in self.errors_names or (
            name.startswith(ERRORS_PACKAGE + ".") and is_class_like(last)
        ):
            self.report(
                node,
                "RAISE",
                f"constructs {last} directly; use the recorder_errors "
                "helpers (usage/enverr/target/bug, ensure_*)",
            )
        elif last == "SystemExit" and self.entry_module:
            return  # `raise SystemExit(main())` is how an entry module hands over its status
        elif last in BUILTIN_EXCEPTIONS and last not in self.own_classes:
            self.report(
                node,
                "RAISE",
                f"raises builtin {last}; raise a classified error through recorder_errors",
            )
        elif isinstance(exc, ast.Call) and is_class_like(last):
            self.report(
                node,
                "RAISE",
                f"constructs {last} directly; recorder failures come from recorder_errors",
            )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (
            isinstance(node.value, ast.Name)
            and node.value.id in self.logging_aliases
            and node.attr == "root"
        ):
            self.report(node, "ROOT_LOGGER", "logging.root touches the root logger")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if self.logging_names.get(node.id) == "root" and isinstance(node.ctx, ast.Load):
            self.report(node, "ROOT_LOGGER", "logging.root touches the root logger")

    def visit_Call(self, node: ast.Call) -> None:
        name = dotted(node.func)
        if name is not None:
            self.check_print(node, name)
            self.check_stdout_call(node, name)
            self.check_logging(node, name)
        self.generic_visit(node)

    def is_stdout(self, node: ast.expr) -> bool:
        name = dotted(node)
        if name is None:
            return False
        parts = name.split(".")
        if parts[0] in self.stdout_names:
            return True
        return len(parts) >= 2 and parts[0] in self.sys_aliases and parts[1] in STDOUT_NAMES

    def check_print(self, node: ast.Call, name: str) -> None:
        if name != "print":
            return
        target = next((kw.value for kw in node.keywords if kw.arg == "file"), None)
        if self.entry_module and target is not None and not self.is_stdout(target):
            return  # entry modules may print their one diagnostic line to stderr
        where = "stdout" if target is None or self.is_stdout(target) else "a stream"
        self.report(node, "PRINT", f"print() to {where} from library code; use a recorder.* logger")

    def check_stdout_call(self, node: ast.Call, name: str) -> None:
        head, _, method = name.rpartition(".")
        if method in WRITE_METHODS and head and self.is_stdout(node.func.value):  # type: ignore[attr-defined]
            self.report(node, "PRINT", f"{name}() writes to the program's stdout")
            return
        if (
            name == "os.write"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == 1
        ):
            self.report(node, "PRINT", "os.write(1, ...) writes to the program's stdout")
            return
        if name.rsplit(".", 1)[-1] == "StreamHandler" and any(self.is_stdout(a) for a in node.args):
            self.report(node, "PRINT", "StreamHandler(sys.stdout) sends log records to stdout")
            return
        for kw in node.keywords:
            if kw.arg in ("file", "stream") and self.is_stdout(kw.value) and name != "print":
                self.report(node, "PRINT", f"{name}({kw.arg}=sys.stdout) writes to stdout")

    def check_logging(self, node: ast.Call, name: str) -> None:
        parts = name.split(".")
        if len(parts) == 2 and parts[0] in self.logging_aliases:
            attr = parts[1]
        elif len(parts) == 1 and parts[0] in self.logging_names:
            attr = self.logging_names[parts[0]]
        else:
            return
        if attr == "basicConfig":
            self.report(node, "ROOT_LOGGER", "logging.basicConfig configures the root logger")
        elif attr == "getLogger" and root_logger_args(node):
            self.report(
                node,
                "ROOT_LOGGER",
                "getLogger() without a name is the root logger; "
                "use logging.getLogger('recorder.<area>')",
            )
        elif attr in ROOT_LOGGER_SHORTCUTS:
            self.report(
                node,
                "ROOT_LOGGER",
                f"logging.{attr}() logs through (and may configure) the root logger",
            )


def root_logger_args(node: ast.Call) -> bool:
    """True when ``getLogger(...)`` is called so that it returns the root logger."""
    args = list(node.args) + [kw.value for kw in node.keywords if kw.arg == "name"]
    if not args:
        return True
    first = args[0]
    return isinstance(first, ast.Constant) and first.value in (None, "", "root")


def library_files(root: Path) -> Iterator[Path]:
    """The shipped modules under ROOT (see the module docstring)."""
    if root.is_file():
        yield root
        return
    packaged = sorted(root.glob("*/src/**/*.py"))
    yield from packaged if packaged else sorted(root.rglob("*.py"))


def display_path(path: Path, root: Path) -> str:
    """The path as matched by the allowlist: relative to ROOT's parent, posix separators."""
    base = root.parent
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def errors_package_classes(files: Sequence[Path]) -> frozenset[str]:
    """Class names defined by the recorder_errors package (it may construct these)."""
    names: set[str] = set()
    for path in files:
        if ERRORS_PACKAGE in path.parts:
            tree = ast.parse(path.read_bytes(), filename=str(path))
            names.update(n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef))
    return frozenset(names)


def audit_file(
    path: Path, shown: str, allowlist: Allowlist, own_classes: frozenset[str]
) -> list[Finding]:
    """All raw (not yet allowlisted) findings of one file; a syntax error is a finding too."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        return [Finding(shown, exc.lineno or 0, "SYNTAX", str(exc.msg))]
    in_errors = ERRORS_PACKAGE in path.parts
    visitor = ModuleAudit(
        shown,
        in_errors_package=in_errors,
        entry_module=allowlist.is_entry_module(shown),
        own_classes=own_classes if in_errors else frozenset(),
    )
    visitor.visit(tree)
    return visitor.findings


def run(roots: Sequence[Path], allowlist: Allowlist) -> list[Finding]:
    """Audit every library file under ROOTS and return the findings the allowlist keeps."""
    findings: list[Finding] = []
    for root in roots:
        files = list(library_files(root))
        own = errors_package_classes(files)
        for path in files:
            findings += audit_file(path, display_path(path, root), allowlist, own)
    return allowlist.filter(sorted(findings, key=lambda f: (f.path, f.line, f.rule)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="*", default=["packages"], type=Path)
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST)
    args = parser.parse_args(argv)
    missing = [str(r) for r in args.roots if not r.exists()]
    if missing:
        sys.stderr.write(f"audit: no such path: {', '.join(missing)}\n")
        return 2
    try:
        allowlist = load_allowlist(args.allowlist)
    except AllowlistError as exc:
        sys.stderr.write(f"audit: {exc}\n")
        return 2
    findings = run(args.roots, allowlist)
    for finding in findings:
        sys.stdout.write(finding.render() + "\n")
    for entry in allowlist.entries:
        if not entry.used:
            sys.stderr.write(
                f"audit: note: allowlist entry matched nothing (stale?): "
                f"{entry.path} {entry.rule} {entry.match!r}\n"
            )
    if findings:
        sys.stderr.write(f"audit: {len(findings)} finding(s)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
