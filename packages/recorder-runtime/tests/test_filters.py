"""The trace-filter DSL: keys, domains, match kinds, chain order, project default discovery."""

from __future__ import annotations

import hashlib
import os
import sysconfig
import textwrap
from pathlib import Path
from typing import cast

import pytest

import recorder_runtime
from recorder_runtime.filters import (
    BUILTIN_PATH,
    ENV_VAR,
    TraceFilter,
    glob_to_regex,
    parse_selector,
    render_default_filter,
)

HEADER = '[meta]\nname = "{name}"\nversion = 1\n'


def write_filter(path: Path, body: str, name: str = "test") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(name=name) + textwrap.dedent(body), encoding="utf-8")
    return path


def load(
    *paths: Path, script: Path | None = None, environ: dict[str, str] | None = None
) -> TraceFilter:
    return TraceFilter.load(
        script_path=None if script is None else str(script),
        explicit=[str(p) for p in paths],
        environ={} if environ is None else environ,
    )


def filters_of(flt: TraceFilter) -> list[dict[str, object]]:
    return cast("list[dict[str, object]]", flt.metadata()["filters"])


def chain_names(flt: TraceFilter) -> list[str]:
    return [str(entry["name"]) for entry in filters_of(flt)]


# ----------------------------------------------------------------------------- built-in default


def test_builtin_default_is_always_first_and_alone_without_other_filters() -> None:
    flt = TraceFilter.load(script_path=None, environ={})
    [entry] = filters_of(flt)
    assert entry["name"] == "builtin-default"
    assert entry["path"] == BUILTIN_PATH
    assert entry["version"] == 1
    assert entry["sha256"] == hashlib.sha256(render_default_filter().encode()).hexdigest()


def test_builtin_default_skips_the_standard_library() -> None:
    flt = TraceFilter.load(script_path=None, environ={})
    stdlib = sysconfig.get_paths()["stdlib"]
    assert not flt.decide(os.path.join(stdlib, "json", "encoder.py"), "json.encoder", "f").trace
    assert not flt.decide(os.path.join(stdlib, "threading.py"), "threading", "Thread.run").trace


def test_builtin_default_records_site_packages_even_below_the_stdlib_prefix() -> None:
    flt = TraceFilter.load(script_path=None, environ={})
    stdlib = sysconfig.get_paths()["stdlib"]
    inside = os.path.join(stdlib, "site-packages", "rich", "table.py")
    assert flt.decide(inside, "rich.table", "Table.add_row").trace
    assert flt.decide("/usr/lib/python3/dist-packages/yaml/x.py", "yaml.x", "load").trace


def test_builtin_default_skips_the_recorder_packages() -> None:
    import recorder_errors
    import recorder_ffi

    flt = TraceFilter.load(script_path=None, environ={})
    for module in (recorder_errors, recorder_ffi, recorder_runtime):
        assert not flt.decide(str(module.__file__), module.__name__, "f").trace


def test_builtin_default_skips_virtualenv_and_distutils_hack() -> None:
    flt = TraceFilter.load(script_path=None, environ={})
    assert not flt.decide(
        "/venv/lib/python3.12/site-packages/_virtualenv.py", "_virtualenv", "f"
    ).trace
    hack = "/venv/lib/python3.12/site-packages/_distutils_hack/__init__.py"
    assert not flt.decide(hack, "_distutils_hack", "f").trace


@pytest.mark.parametrize("filename", ["<string>", "<frozen importlib._bootstrap>", "<stdin>"])
def test_synthetic_filenames_are_never_traced_even_when_a_rule_says_trace(
    tmp_path: Path, filename: str
) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:glob:*"
        exec = "trace"
        """,
    )
    flt = load(user)
    assert not flt.decide(filename, "app", "f").trace


def test_user_code_is_traced_by_default() -> None:
    flt = TraceFilter.load(script_path=None, environ={})
    assert flt.decide("/home/me/project/app.py", "__main__", "main").trace


# ----------------------------------------------------------------------------- scope rules


def test_later_rules_win_within_a_file(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app.*"
        exec = "skip"
        [[scope.rules]]
        selector = "obj:app.core.keep"
        exec = "trace"
        """,
    )
    flt = load(user)
    assert not flt.decide("/p/app/core.py", "app.core", "drop").trace
    assert flt.decide("/p/app/core.py", "app.core", "keep").trace


def test_later_files_win_over_earlier_files(tmp_path: Path) -> None:
    first = write_filter(
        tmp_path / "a.toml", '[[scope.rules]]\nselector = "pkg:app"\nexec = "skip"\n', "a"
    )
    second = write_filter(
        tmp_path / "b.toml", '[[scope.rules]]\nselector = "pkg:app"\nexec = "trace"\n', "b"
    )
    assert load(first, second).decide("/p/app.py", "app", "f").trace
    assert not load(second, first).decide("/p/app.py", "app", "f").trace


def test_default_exec_skip_skips_code_no_rule_matches(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [scope]
        default_exec = "skip"
        [[scope.rules]]
        selector = "pkg:mine"
        exec = "trace"
        """,
    )
    flt = load(user)
    assert not flt.decide("/p/other.py", "other", "f").trace
    assert flt.decide("/p/mine.py", "mine", "f").trace


def test_inherit_keeps_the_earlier_default(tmp_path: Path) -> None:
    skip = write_filter(tmp_path / "a.toml", '[scope]\ndefault_exec = "skip"\n', "a")
    inherit = write_filter(
        tmp_path / "b.toml",
        '[scope]\ndefault_exec = "inherit"\ndefault_value_action = "inherit"\n',
        "b",
    )
    flt = load(skip, inherit)
    assert not flt.decide("/p/x.py", "x", "f").trace


def test_rule_exec_inherit_or_absent_leaves_the_decision_alone(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app"
        exec = "skip"
        [[scope.rules]]
        selector = "pkg:app"
        exec = "inherit"
        [[scope.rules]]
        selector = "pkg:app"
        reason = "no exec at all"
        """,
    )
    assert not load(user).decide("/p/app.py", "app", "f").trace


def test_pkg_selector_needs_a_module_name(tmp_path: Path) -> None:
    user = write_filter(tmp_path / "f.toml", '[[scope.rules]]\nselector = "pkg:*"\nexec = "skip"\n')
    flt = load(user)
    assert flt.decide("/p/x.py", None, "f").trace
    assert not flt.decide("/p/x.py", "x", "f").trace


REDACT_SECRET_IN_TOOLS = """
[[scope.rules]]
selector = "pkg:tools.job"
[[scope.rules.value_patterns]]
selector = "local:canary"
action = "redact"
"""


def test_pkg_rules_apply_to_code_run_by_run_path_via_the_project_root(tmp_path: Path) -> None:
    user = write_filter(tmp_path / "f.toml", REDACT_SECRET_IN_TOOLS)
    job = str(tmp_path / "tools" / "job.py")
    decision = load(user).decide(job, "<run_path>", "<module>")
    assert decision.value_action("local", "canary") == "redact"


def test_pkg_rules_apply_to_code_without_a_frame_name(tmp_path: Path) -> None:
    user = write_filter(tmp_path / "f.toml", REDACT_SECRET_IN_TOOLS)
    job = str(tmp_path / "tools" / "job.py")
    assert load(user).decide(job, None, "f").value_action("local", "canary") == "redact"


def test_pkg_rules_fall_back_to_the_sys_path_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = write_filter(tmp_path / "filters" / "f.toml", REDACT_SECRET_IN_TOOLS)
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    decision = load(user).decide(str(site / "tools" / "job.py"), "<run_path>", "<module>")
    assert decision.value_action("local", "canary") == "redact"


def test_a_package_init_file_is_named_after_its_package(tmp_path: Path) -> None:
    rule = '[[scope.rules]]\nselector = "pkg:tools"\nexec = "skip"\n'
    user = write_filter(tmp_path / "f.toml", rule)
    assert not load(user).decide(str(tmp_path / "tools" / "__init__.py"), "<x>", "f").trace


def test_a_root_matches_whole_path_components_only(tmp_path: Path) -> None:
    rule = '[[scope.rules]]\nselector = "pkg:lication.*"\nexec = "skip"\n'
    user = write_filter(tmp_path / "app" / "f.toml", rule)
    other = str(tmp_path / "application" / "lication" / "x.py")
    assert load(user).decide(other, "<run_path>", "f").trace


def test_a_valid_frame_name_wins_over_the_path(tmp_path: Path) -> None:
    user = write_filter(tmp_path / "f.toml", REDACT_SECRET_IN_TOOLS)
    job = str(tmp_path / "tools" / "job.py")
    assert load(user).decide(job, "__main__", "f").value_action("local", "canary") == "allow"


def test_obj_selector_matches_module_dot_qualname(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        '[[scope.rules]]\nselector = "obj:app.Service.*"\nexec = "skip"\n',
    )
    flt = load(user)
    assert not flt.decide("/p/app.py", "app", "Service.run").trace
    assert flt.decide("/p/app.py", "app", "helper").trace


def test_obj_selector_without_module_name_matches_the_qualname(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml", '[[scope.rules]]\nselector = "obj:literal:main"\nexec = "skip"\n'
    )
    assert not load(user).decide("/p/app.py", None, "main").trace


def test_relative_file_glob_is_anchored_at_the_project_root(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / ".codetracer" / "extra.toml",
        '[[scope.rules]]\nselector = "file:glob:tests/**"\nexec = "skip"\n',
    )
    flt = load(user)
    assert not flt.decide(str(tmp_path / "tests" / "unit" / "test_a.py"), "t", "f").trace
    assert flt.decide(str(tmp_path / "src" / "tests" / "x.py"), "s", "f").trace
    assert flt.decide("/elsewhere/tests/x.py", "e", "f").trace


def test_relative_file_glob_outside_codetracer_dir_is_relative_to_the_filter_dir(
    tmp_path: Path,
) -> None:
    user = write_filter(
        tmp_path / "filters" / "f.toml",
        '[[scope.rules]]\nselector = "file:*.py"\nexec = "skip"\n',
    )
    flt = load(user)
    assert not flt.decide(str(tmp_path / "filters" / "gen.py"), "gen", "f").trace
    assert flt.decide(str(tmp_path / "filters" / "sub" / "gen.py"), "gen", "f").trace


def test_double_star_file_glob_matches_anywhere(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml", '[[scope.rules]]\nselector = "file:**/vendored/**"\nexec = "skip"\n'
    )
    flt = load(user)
    assert not flt.decide("/srv/app/vendored/lib.py", "lib", "f").trace
    assert flt.decide("/srv/app/main.py", "main", "f").trace


def test_absolute_file_glob_and_literal(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "file:glob:/srv/gen/*.py"
        exec = "skip"
        [[scope.rules]]
        selector = "file:literal:/srv/keep.py"
        exec = "skip"
        """,
    )
    flt = load(user)
    assert not flt.decide("/srv/gen/a.py", "a", "f").trace
    assert flt.decide("/srv/gen/deeper/a.py", "a", "f").trace
    assert not flt.decide("/srv/keep.py", "keep", "f").trace
    assert flt.decide("/srv/keep.pyc", "keep", "f").trace


def test_relative_file_literal_is_resolved_against_the_project_root(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / ".codetracer" / "trace-filter.toml",
        '[[scope.rules]]\nselector = "file:literal:./src/app.py"\nexec = "skip"\n',
    )
    assert not load(user).decide(str(tmp_path / "src" / "app.py"), "app", "f").trace


def test_file_regex_searches_the_absolute_filename(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = 'file:regex:/migrations/\\d+_'
        exec = "skip"
        """,
    )
    flt = load(user)
    assert not flt.decide("/srv/app/migrations/0001_init.py", "m", "f").trace
    assert flt.decide("/srv/app/migrations/helpers.py", "m", "f").trace


def test_relative_filenames_are_made_absolute_before_matching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        f'[[scope.rules]]\nselector = "file:literal:{tmp_path}/x.py"\nexec = "skip"\n',
    )
    monkeypatch.chdir(tmp_path)
    assert not load(user).decide("x.py", "x", "f").trace


# ----------------------------------------------------------------------------- match kinds


@pytest.mark.parametrize(
    ("selector", "candidate", "expected"),
    [
        ("pkg:app.*", "app.core.db", True),
        ("pkg:glob:app.*", "app", False),
        ("pkg:glob:app?", "app1", True),
        ("pkg:glob:app[0-9]", "app7", True),
        ("pkg:glob:app[!0-9]", "app7", False),
        ("pkg:glob:{app,lib}.core", "lib.core", True),
        ("pkg:glob:{app,lib}.core", "bin.core", False),
        ("pkg:glob:app\\*", "app*", True),
        ("pkg:glob:app\\*", "appx", False),
        ("pkg:regex:^app(\\.|$)", "app.x", True),
        ("pkg:regex:core", "app.core.db", True),
        ("pkg:regex:^core", "app.core", False),
        ("pkg:literal:app.*", "app.*", True),
        ("pkg:literal:app.*", "app.x", False),
        ("local:user_*", "user_id", True),
        ("local:user_*", "order_id", False),
        ("obj:regex:^my::service::[A-Z]\\w+$", "my::service::Handler", True),
    ],
)
def test_selector_match_kinds(selector: str, candidate: str, expected: bool) -> None:
    domain = selector.split(":", 1)[0]
    assert parse_selector(selector, [domain]).matches(candidate) is expected


def test_glob_star_does_not_cross_slashes_but_double_star_does() -> None:
    assert glob_to_regex("a/*.py") == "a/[^/]*\\.py"
    single = parse_selector("file:/a/*.py", ["file"])
    double = parse_selector("file:/a/**/*.py", ["file"])
    assert single.matches("/a/x.py") and not single.matches("/a/b/x.py")
    assert double.matches("/a/x.py") and double.matches("/a/b/c/x.py")


def test_selector_without_match_kind_is_a_glob() -> None:
    selector = parse_selector("pkg:app", ["pkg"])
    assert (selector.domain, selector.kind, selector.pattern) == ("pkg", "glob", "app")


# ----------------------------------------------------------------------------- value rules


def test_value_patterns_apply_per_domain(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app"
        [[scope.rules.value_patterns]]
        selector = "local:temp*"
        action = "drop"
        [[scope.rules.value_patterns]]
        selector = "arg:literal:pin"
        action = "redact"
        [[scope.rules.value_patterns]]
        selector = "global:regex:^CONFIG$"
        action = "redact"
        [[scope.rules.value_patterns]]
        selector = "ret:compute"
        action = "drop"
        [[scope.rules.value_patterns]]
        selector = "attr:internal_*"
        action = "deny"
        """,
    )
    decision = load(user).decide("/p/app.py", "app", "compute")
    assert decision.value_action("local", "temp1") == "drop"
    assert decision.value_action("arg", "temp1") == "allow"
    assert decision.value_action("arg", "pin") == "redact"
    assert decision.value_action("local", "pin") == "allow"
    assert decision.value_action("global", "CONFIG") == "redact"
    assert decision.value_action("ret", "compute") == "drop"
    assert decision.value_action("attr", "internal_state") == "redact"


def test_value_patterns_only_apply_inside_their_scope(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app"
        [[scope.rules.value_patterns]]
        selector = "local:x"
        action = "drop"
        """,
    )
    flt = load(user)
    assert flt.decide("/p/app.py", "app", "f").value_action("local", "x") == "drop"
    assert flt.decide("/p/lib.py", "lib", "f").value_action("local", "x") == "allow"


def test_first_matching_pattern_wins_within_a_rule(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app"
        [[scope.rules.value_patterns]]
        selector = "local:literal:user"
        action = "allow"
        [[scope.rules.value_patterns]]
        selector = "local:*"
        action = "redact"
        """,
    )
    decision = load(user).decide("/p/app.py", "app", "f")
    assert decision.value_action("local", "user") == "allow"
    assert decision.value_action("local", "other") == "redact"


def test_a_later_rule_can_unredact_a_name_the_default_redacts(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:nlp"
        [[scope.rules.value_patterns]]
        selector = "local:literal:token"
        action = "allow"
        """,
    )
    flt = load(user)
    assert flt.decide("/p/nlp.py", "nlp", "f").value_action("local", "token") == "allow"
    assert flt.decide("/p/web.py", "web", "f").value_action("local", "token") == "redact"


def test_an_unrelated_later_rule_keeps_the_default_redactions(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app"
        exec = "trace"
        value_default = "allow"
        """,
    )
    decision = load(user).decide("/p/app.py", "app", "f")
    assert decision.value_action("local", "password") == "redact"
    assert decision.value_action("local", "company") == "allow"


def test_value_default_applies_to_names_no_pattern_matches(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app"
        value_default = "redact"
        [[scope.rules.value_patterns]]
        selector = "local:literal:count"
        action = "allow"
        """,
    )
    decision = load(user).decide("/p/app.py", "app", "f")
    assert decision.value_action("local", "count") == "allow"
    assert decision.value_action("arg", "anything") == "redact"


def test_scope_default_value_action(tmp_path: Path) -> None:
    user = write_filter(tmp_path / "f.toml", '[scope]\ndefault_value_action = "drop"\n')
    decision = load(user).decide("/p/app.py", "app", "f")
    assert decision.value_action("local", "x") == "drop"


def test_a_later_drop_everything_default_overrides_earlier_patterns(tmp_path: Path) -> None:
    # As in the reference: with a later "drop" default, earlier filters' patterns (here the
    # built-in redactions) no longer apply, so secrets are dropped rather than redacted.
    user = write_filter(tmp_path / "f.toml", '[scope]\ndefault_value_action = "drop"\n')
    decision = load(user).decide("/p/app.py", "app", "f")
    assert decision.value_action("local", "password") == "drop"


def test_deny_is_an_alias_of_redact(tmp_path: Path) -> None:
    user = write_filter(tmp_path / "f.toml", '[scope]\ndefault_value_action = "deny"\n')
    assert load(user).decide("/p/a.py", "a", "f").value_action("local", "x") == "redact"


def test_code_matched_by_the_same_rules_shares_one_decision() -> None:
    flt = TraceFilter.load(script_path=None, environ={})
    first = flt.decide("/p/a.py", "a", "f")
    second = flt.decide("/p/b.py", "b", "g")
    assert first is second


# ----------------------------------------------------------------------------- [io], [meta]


def test_io_section_is_accepted_and_exposed(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml", '[io]\ncapture = true\nstreams = ["stdout", "stderr", "stdout"]\n'
    )
    assert load(user).io_config == {"capture": True, "streams": ["stdout", "stderr"]}


def test_meta_description_and_labels_are_kept(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml", 'description = "mine"\nlabels = ["a", "b", "a"]\n', name="mine"
    )
    source = load(user).sources[-1]
    assert (source.name, source.description, source.labels) == ("mine", "mine", ("a", "b"))


# ----------------------------------------------------------------------------- chain order


def test_project_default_is_found_walking_up_from_the_script(tmp_path: Path) -> None:
    write_filter(tmp_path / ".codetracer" / "trace-filter.toml", "", name="project")
    script = tmp_path / "src" / "pkg" / "main.py"
    script.parent.mkdir(parents=True)
    script.write_text("pass\n")
    flt = load(script=script)
    assert chain_names(flt) == ["builtin-default", "project"]
    assert flt.sources[-1].path == str(tmp_path / ".codetracer" / "trace-filter.toml")
    assert flt.sources[-1].project_root == str(tmp_path)


def test_the_nearest_project_default_wins_and_only_one_is_used(tmp_path: Path) -> None:
    write_filter(tmp_path / ".codetracer" / "trace-filter.toml", "", name="outer")
    write_filter(tmp_path / "sub" / ".codetracer" / "trace-filter.toml", "", name="inner")
    script = tmp_path / "sub" / "main.py"
    script.write_text("pass\n")
    assert chain_names(load(script=script)) == ["builtin-default", "inner"]


def test_no_project_default_without_a_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_filter(tmp_path / ".codetracer" / "trace-filter.toml", "", name="project")
    monkeypatch.chdir(tmp_path)
    assert chain_names(load()) == ["builtin-default"]


def test_chain_order_is_builtin_project_then_explicit(tmp_path: Path) -> None:
    write_filter(tmp_path / ".codetracer" / "trace-filter.toml", "", name="project")
    script = tmp_path / "main.py"
    script.write_text("pass\n")
    a = write_filter(tmp_path / "a.toml", "", name="a")
    b = write_filter(tmp_path / "b.toml", "", name="b")
    c = write_filter(tmp_path / "c.toml", "", name="c")
    flt = TraceFilter.load(script_path=str(script), explicit=[f"{a}::{b}", str(c)], environ={})
    assert chain_names(flt) == ["builtin-default", "project", "a", "b", "c"]


def test_environment_variable_is_used_when_no_explicit_filter_is_given(tmp_path: Path) -> None:
    a = write_filter(tmp_path / "a.toml", "", name="a")
    b = write_filter(tmp_path / "b.toml", "", name="b")
    flt = TraceFilter.load(script_path=None, environ={ENV_VAR: f"{a}::{b}"})
    assert chain_names(flt) == ["builtin-default", "a", "b"]


def test_explicit_filters_replace_the_environment_variable(tmp_path: Path) -> None:
    a = write_filter(tmp_path / "a.toml", "", name="a")
    b = write_filter(tmp_path / "b.toml", "", name="b")
    flt = TraceFilter.load(script_path=None, explicit=[str(b)], environ={ENV_VAR: str(a)})
    assert chain_names(flt) == ["builtin-default", "b"]


def test_os_environ_is_read_when_environ_is_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write_filter(tmp_path / "a.toml", "", name="a")
    monkeypatch.setenv(ENV_VAR, str(a))
    assert chain_names(TraceFilter.load(script_path=None)) == ["builtin-default", "a"]


def test_relative_filter_paths_are_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_filter(tmp_path / "a.toml", "", name="a")
    monkeypatch.chdir(tmp_path)
    flt = TraceFilter.load(script_path=None, explicit=["a.toml"], environ={})
    assert flt.sources[-1].path == str(tmp_path / "a.toml")


# ----------------------------------------------------------------------------- metadata


def test_metadata_lists_the_chain_with_hashes(tmp_path: Path) -> None:
    user = write_filter(tmp_path / "f.toml", "", name="mine")
    entry = filters_of(load(user))[-1]
    assert entry == {
        "name": "mine",
        "path": str(user),
        "sha256": hashlib.sha256(user.read_bytes()).hexdigest(),
        "version": 1,
    }


def test_metadata_counts_skipped_scopes_and_values_per_domain(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app"
        [[scope.rules.value_patterns]]
        selector = "arg:tmp"
        action = "drop"
        """,
    )
    flt = load(user)
    flt.decide("<string>", None, "f")
    flt.decide(sysconfig.get_paths()["stdlib"] + "/os.py", "os", "f")
    decision = flt.decide("/p/app.py", "app", "f")
    decision.value_action("arg", "tmp")
    decision.value_action("arg", "tmp")
    decision.value_action("local", "password")
    decision.value_action("attr", "api_key")
    decision.value_action("local", "plain")
    stats = flt.metadata()["stats"]
    assert stats == {
        "scopes_skipped": 2,
        "value_drops": {"argument": 2, "attribute": 0, "global": 0, "local": 0, "return": 0},
        "value_redactions": {"argument": 0, "attribute": 1, "global": 0, "local": 1, "return": 0},
    }


def test_reasons_are_accepted_and_the_matching_rules_reasons_are_exposed(tmp_path: Path) -> None:
    user = write_filter(
        tmp_path / "f.toml",
        """
        [[scope.rules]]
        selector = "pkg:app"
        exec = "trace"
        reason = "our code"
        [[scope.rules.value_patterns]]
        selector = "local:tmp"
        action = "drop"
        reason = "noise"
        """,
    )
    decision = load(user).decide("/p/app.py", "app", "f")
    assert "our code" in decision.reasons
    assert decision.value_action("local", "tmp") == "drop"
