"""Secret redaction: which names the built-in default hides, and how copies are scrubbed.

The name lists are a decision (reliability S7, G2): both the names that must be hidden and
the innocent names that must stay visible are pinned here, so that changing the pattern is a
visible act. Scrubbing (a remembered secret replaced wherever it is copied) is unit-tested
here; the end-to-end leak paths are in ``test_redaction_leaks.py``.
"""

from __future__ import annotations

import pytest

from recorder_runtime import filters
from recorder_runtime.filters import (
    MAX_SECRETS,
    REDACTED,
    VALUE_DOMAINS,
    TraceFilter,
    is_secret_name,
)

#: Must stay visible. The reference's substring pattern hid all of these except cwd/kwargs.
VISIBLE = [
    "company",
    "span",
    "expand",
    "passenger",
    "author",
    "classname",
    "participant",
    "tokenizer",
    "timespan",
    "compass",
    "discard",
    "panel",
    "cwd",
    "kwargs",
    # more of reliability S7's false positives of the reference
    "pandas",
    "bypass",
    "scorecard",
    "wildcard",
    "japan",
    "lessons",
    "max_tokens",
    "keys",
    "key",
    "monkey",
    "authority",
    "authored_by",
    "passage",
    "compassion",
    "sessions",
]

#: Must be redacted.
REDACTED_NAMES = [
    "password",
    "passwd",
    "pwd",
    "api_key",
    "apiKey",
    "API-KEY",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "private_key",
    "auth",
    "auth_token",
    "authorization",
    "cookie",
    "session_id",
    "credit_card",
    "db_password",
    # spellings and cases
    "PASSWORD",
    "Password",
    "userPassword",
    "dbpassword",
    "MYAPIKEY",
    "ApiKey",
    "APIKey",
    "API_KEY",
    "x-api-key",
    "accessToken",
    "AccessToken",
    "GITHUB_TOKEN",
    "jwt",
    "jwt_token",
    "bearer",
    "sessionId",
    "csrf_token",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "ssh_key",
    "credentials",
    "creds",
    "ssn",
    "cvv",
    "iban",
    "card_number",
    "creditCard",
    "get_password",
    "_pwd",
    "password2",
]


@pytest.mark.parametrize("name", VISIBLE)
def test_innocent_names_stay_visible(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize("name", REDACTED_NAMES)
def test_secret_looking_names_are_redacted(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("domain", VALUE_DOMAINS)
def test_the_builtin_default_redacts_in_every_value_domain(domain: str) -> None:
    decision = TraceFilter.load(script_path=None, environ={}).decide("/p/app.py", "app", "f")
    assert decision.value_action(domain, "password") == "redact"
    assert decision.value_action(domain, "company") == "allow"


def test_the_builtin_rules_use_the_same_pattern_as_is_secret_name() -> None:
    assert filters.secret_name_regex() in filters.render_default_filter().replace("\\\\", "\\")


# ----------------------------------------------------------------------------- scrub


def fresh() -> TraceFilter:
    return TraceFilter.load(script_path=None, environ={})


def test_scrub_is_the_identity_until_a_secret_is_noted() -> None:
    flt = fresh()
    text = "nothing secret here"
    assert not flt.has_secrets
    assert flt.scrub(text) is text


def test_a_noted_secret_is_scrubbed_from_later_text() -> None:
    flt = fresh()
    flt.decide("/p/a.py", "a", "f").note_redacted("hunter22")
    assert flt.has_secrets
    assert flt.scrub("{'pw': 'hunter22'} and hunter22!") == (
        f"{{'pw': '{REDACTED}'}} and {REDACTED}!"
    )


def test_secrets_are_shared_by_every_scope_of_the_filter() -> None:
    flt = fresh()
    flt.decide("/p/a.py", "a", "f").note_redacted("s3cr3t-value")
    other = flt.decide("/p/b.py", "b", "g")
    assert other is not None
    assert flt.scrub("x s3cr3t-value") == f"x {REDACTED}"


def test_the_longest_secret_is_replaced_first() -> None:
    flt = fresh()
    decision = flt.decide("/p/a.py", "a", "f")
    decision.note_redacted("abcd")
    decision.note_redacted("abcdefgh")
    assert flt.scrub("abcdefgh abcd") == f"{REDACTED} {REDACTED}"


def test_regex_metacharacters_in_secrets_are_literal() -> None:
    flt = fresh()
    flt.decide("/p/a.py", "a", "f").note_redacted("a.b*c(d")
    assert flt.scrub("a.b*c(d axbbbc(d") == f"{REDACTED} axbbbc(d"


def test_short_strings_are_not_remembered() -> None:
    flt = fresh()
    flt.decide("/p/a.py", "a", "f").note_redacted("abc")
    assert not flt.has_secrets
    assert flt.scrub("abc") == "abc"


def test_non_strings_are_not_remembered() -> None:
    flt = fresh()
    decision = flt.decide("/p/a.py", "a", "f")
    decision.note_redacted(b"bytes-secret")
    decision.note_redacted(12345678)
    assert not flt.has_secrets


def test_a_secret_inside_the_marker_is_not_remembered() -> None:
    # otherwise scrubbing twice would grow "<redacted>" into "<re<redacted>>"
    flt = fresh()
    flt.decide("/p/a.py", "a", "f").note_redacted("dacted")
    assert flt.scrub(flt.scrub("x")) == "x"
    assert not flt.has_secrets


def test_remembered_secrets_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filters, "MAX_SECRETS", 3)
    flt = fresh()
    decision = flt.decide("/p/a.py", "a", "f")
    for value in ("one-1", "two-2", "three-3", "four-4"):
        decision.note_redacted(value)
    assert flt.scrub("one-1 four-4") == f"{REDACTED} four-4"
    assert MAX_SECRETS >= 1000


@pytest.mark.parametrize("order", [("abcd", "abcdefgh"), ("abcdefgh", "abcd")])
def test_overlapping_secrets_are_replaced_longest_first_in_any_order(
    order: tuple[str, str],
) -> None:
    flt = fresh()
    decision = flt.decide("/p/a.py", "a", "f")
    for value in order:
        decision.note_redacted(value)
    assert flt.scrub("[abcdefgh] [abcd]") == f"[{REDACTED}] [{REDACTED}]"


def test_every_secret_is_scrubbed_across_compile_batches() -> None:
    flt = fresh()
    decision = flt.decide("/p/a.py", "a", "f")
    values = [f"secret-{i:04d}-{i * 7919 % 10007:05d}" for i in range(100)]
    for index, value in enumerate(values):
        decision.note_redacted(value)
        # each one is hidden as soon as it is known, whether compiled yet or not
        assert flt.scrub(f"<{value}>") == f"<{REDACTED}>", index
    assert REDACTED in flt.scrub(values[0]) and values[0] not in flt.scrub(" ".join(values))


# ----------------------------------------------------------------------------- program arguments


@pytest.mark.parametrize(
    ("args", "shown", "secrets"),
    [
        (["--password=hunter22", "-v"], ["--password=<redacted>", "-v"], ["hunter22"]),
        (["--api-key", "k3y-value", "x"], ["--api-key", "<redacted>", "x"], ["k3y-value"]),
        (["-token", "-starts-with-dash"], ["-token", "<redacted>"], ["-starts-with-dash"]),
        (["API_TOKEN=abcd"], ["API_TOKEN=<redacted>"], ["abcd"]),
        (["--company=acme", "password", "in.txt"], ["--company=acme", "password", "in.txt"], []),
        (["--secret="], ["--secret=<redacted>"], []),
    ],
)
def test_secret_option_values_are_redacted_from_the_arguments(
    args: list[str], shown: list[str], secrets: list[str]
) -> None:
    assert filters.redact_argv(args) == (shown, secrets)


def test_recorded_arguments_are_scrubbed_of_secrets_seen_during_the_run() -> None:
    flt = TraceFilter.load(script_path=None, environ={})
    flt.remember_secret("s3cr3t-seen-later")
    assert flt.redact_args(["--user", "s3cr3t-seen-later"]) == ["--user", REDACTED]
