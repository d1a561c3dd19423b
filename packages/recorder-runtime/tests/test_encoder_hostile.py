"""Hostile values: the encoder never raises, never runs protocols it does not need, stays bounded.

Reliability matrix rows C1-C12 (../shared/reliability.md) and facts V1-V8.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from typing import Any, NoReturn
from unittest import mock

import pytest
from test_encoder_support import FakeTypes, Harness, parse

from recorder_errors import ErrorCode, UsageError
from recorder_runtime import encoder as encoder_module
from recorder_runtime.encoder import CaptureLimits, ValueEncoder


class Touched(Exception):
    """Raised by every protocol method the encoder must never call."""


def _touched(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise Touched


def kinds(record: Any) -> list[str]:
    return [element["kind"] for element in record["elements"]]


# ---------------------------------------------------------------- C1, C2: program renderings


def test_a_raising_repr_is_never_called() -> None:
    class Bad:
        __repr__ = _touched
        __str__ = _touched
        __format__ = _touched

    value = Bad()
    assert Harness().record(value)["r"] == object.__repr__(value)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_a_str_raising_a_base_exception_is_never_called(exc: type[BaseException]) -> None:
    class Interrupting:
        def __init__(self) -> None:
            self.state = "ok"

        def __str__(self) -> str:
            raise exc

        __repr__ = __str__

    record = Harness().record(Interrupting())
    assert record["kind"] == "Struct"
    assert record["fields"] == {"state": {"kind": "String", "text": "ok", "type": (9, "String")}}


def test_objects_with_raising_renderings_are_shown_inside_their_container() -> None:
    class Bad:
        def __init__(self) -> None:
            self.n = 1

        __repr__ = _touched

    record = Harness(CaptureLimits(max_object_depth=2)).record([1, Bad(), "x"])
    assert kinds(record) == ["Int", "Struct", "String"]


def test_a_str_subclass_field_is_plain_text() -> None:
    class Loud(str):
        __len__ = _touched
        __str__ = _touched

    class Shouty:
        def __init__(self) -> None:
            self.word = Loud("HI")

        __str__ = _touched

    assert Harness().record(Shouty())["fields"]["word"]["text"] == "HI"


def test_a_huge_field_is_capped_with_its_length() -> None:
    class Huge:
        def __init__(self) -> None:
            self.text = "y" * 50_000

        __repr__ = _touched

    h = Harness(CaptureLimits(max_string_length=100))
    assert h.record(Huge())["fields"]["text"]["text"] == "y" * 100 + "…<truncated: 50000 chars>"
    assert h.encoder.counters["truncated"] == 1


# ---------------------------------------------------------------- C3, C4: lying types


def test_lying_class_claiming_dict_is_rendered_as_what_it_is() -> None:
    class Liar:
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return dict

    value = Liar()
    assert isinstance(value, dict)  # the lie works on isinstance...
    assert Harness().record(value)["r"] == object.__repr__(value)  # ...not on the encoder


def test_raising_getattribute_is_never_triggered() -> None:
    class Guarded:
        def __getattribute__(self, name: str) -> Any:
            raise RuntimeError(name)

    value = Guarded()
    assert Harness().record(value)["r"] == object.__repr__(value)


def test_metaclass_getattribute_raising_neither_instance_nor_class_fails() -> None:
    class Meta(type):
        def __getattribute__(cls, name: str) -> Any:
            raise RuntimeError(name)

    class Hidden(metaclass=Meta):
        pass

    h = Harness()
    value = Hidden()
    assert h.record(value)["r"] == object.__repr__(value)
    assert h.record(Hidden)["kind"] == "Raw"


def test_metaclass_hash_eq_and_repr_are_never_called() -> None:
    class Meta(type):
        __hash__ = _touched
        __eq__ = _touched
        __repr__ = _touched
        __str__ = _touched

    class Strange(metaclass=Meta):
        def __init__(self) -> None:
            self.v = 1

        __repr__ = _touched

    h = Harness()
    records = [h.record(Strange()) for _ in range(2)]
    assert [record["fields"]["v"]["i"] for record in records] == [1, 1]
    assert records[0]["type"] == records[1]["type"]
    assert h.record(Strange)["r"] == type.__repr__(Strange)


# ---------------------------------------------------------------- C5: mocks


def test_magicmock_is_rendered_without_a_single_recorded_call() -> None:
    value: Any = mock.MagicMock()
    value.__str__.return_value = "configured"
    h = Harness()
    record = h.record(value)
    assert record["r"] == f"<MagicMock id='{id(value)}'>"
    assert value.mock_calls == []
    assert not value.__str__.called


@pytest.mark.parametrize(
    "factory",
    [mock.Mock, mock.NonCallableMagicMock, mock.AsyncMock, lambda: mock.MagicMock(spec=dict)],
)
def test_mocks_inside_containers_record_no_calls(factory: Any) -> None:
    value = factory()
    Harness().record([value, {"m": value}, (value,)])
    assert value.mock_calls == []
    assert value.method_calls == []


# ---------------------------------------------------------------- C6: protocols never called


class Explosive:
    """Every protocol an encoder could be tempted to call raises."""

    __bool__ = _touched
    __len__ = _touched
    __iter__ = _touched
    __eq__ = _touched
    __hash__ = _touched
    __getitem__ = _touched
    __contains__ = _touched


def test_bool_len_iter_eq_hash_are_never_called() -> None:
    value = Explosive()
    assert Harness().record(value)["r"] == object.__repr__(value)


def test_unhashable_and_eq_raising_keys_and_elements() -> None:
    class Key:
        __eq__ = _touched
        __repr__ = _touched

        def __hash__(self) -> int:
            return id(self)

    keys = [Key(), Key()]
    record = Harness().record({keys[0]: Explosive(), keys[1]: [Explosive()]})
    assert [pair["elements"][0]["r"] for pair in record["elements"]] == [
        object.__repr__(key) for key in keys
    ]


class SneakyList(list[Any]):
    __iter__ = _touched
    __len__ = _touched
    __getitem__ = _touched
    __repr__ = _touched
    __str__ = _touched
    __bool__ = _touched


class SneakyTuple(tuple[Any, ...]):
    __iter__ = _touched
    __len__ = _touched
    __getitem__ = _touched
    __repr__ = _touched


class SneakyDict(dict[Any, Any]):
    __iter__ = _touched
    __len__ = _touched
    __getitem__ = _touched
    items = _touched
    keys = _touched
    values = _touched
    __repr__ = _touched


class SneakyStr(str):
    __len__ = _touched
    __getitem__ = _touched
    __iter__ = _touched
    __str__ = _touched
    __repr__ = _touched


class SneakyInt(int):
    __str__ = _touched
    __repr__ = _touched
    __index__ = _touched
    __int__ = _touched
    __format__ = _touched
    __lt__ = _touched


def test_list_subclass_overrides_are_never_called() -> None:
    record = Harness().record(SneakyList([1, "a"]))
    assert kinds(record) == ["Int", "String"]
    assert record["type"] == (0, "List")


def test_tuple_subclass_overrides_are_never_called() -> None:
    assert kinds(Harness().record(SneakyTuple((1, 2)))) == ["Int", "Int"]


def test_dict_subclass_overrides_are_never_called() -> None:
    record = Harness().record(SneakyDict(a=1))
    assert record["elements"][0]["elements"][1]["i"] == 1


def test_str_and_int_subclass_overrides_are_never_called() -> None:
    h = Harness()
    assert h.record(SneakyStr("text"))["text"] == "text"
    assert h.record(SneakyInt(5))["i"] == 5
    assert h.record(SneakyInt(2**70))["r"] == str(2**70)
    assert h.record(SneakyStr("t" * 20_000))["text"].startswith("tttt")


# ---------------------------------------------------------------- C7: big containers


class Counted:
    """Counts how often its text was asked for (never, by the encoder)."""

    renders = 0

    def __init__(self) -> None:
        self.n = 1

    def __repr__(self) -> str:
        Counted.renders += 1
        return "c"


def test_million_list_shows_max_items_and_the_true_length() -> None:
    h = Harness()
    record = h.record(list(range(1_000_000)))
    assert len(record["elements"]) == 201
    assert record["elements"][199]["i"] == 199
    assert record["elements"][200]["msg"] == "<truncated: 1000000 items>"
    assert h.encoder.counters["items_capped"] == 1


def test_million_list_of_objects_shows_only_max_items_structs() -> None:
    Counted.renders = 0
    record = Harness(CaptureLimits(max_object_depth=2)).record([Counted()] * 1_000_000)
    assert kinds(record) == ["Struct"] * 200 + ["Error"]
    assert Counted.renders == 0


def test_million_dict_and_tuple_and_set_are_capped() -> None:
    h = Harness(CaptureLimits(max_items=3))
    assert h.record(dict.fromkeys(range(10**6), 0))["elements"][-1]["msg"] == (
        "<truncated: 1000000 items>"
    )
    assert len(h.record(tuple(range(10**6)))["elements"]) == 4
    text = h.record(set(range(10**6)))["r"]
    assert text.startswith("{") and text.endswith("…<truncated: 1000000 items>}")


def test_big_set_of_objects_is_a_capped_sequence_of_structs() -> None:
    Counted.renders = 0
    limits = CaptureLimits(max_items=5, max_object_depth=2)
    record = Harness(limits).record({Counted() for _ in range(1000)})
    assert record["type"] == (1, "Set")
    assert kinds(record) == ["Struct"] * 5 + ["Error"]
    assert record["elements"][-1]["msg"] == "<truncated: 1000 items>"
    assert Counted.renders == 0


def test_shared_subcontainers_cannot_multiply_past_the_value_budget() -> None:
    inner = list(range(200))
    h = Harness(CaptureLimits(max_total_items=1000))
    text = h.encoder.encode([[inner] * 200] * 200)
    assert text.count('"kind":"Int"') < 1000
    assert h.encoder.counters["items_capped"] > 0


def test_zero_items_shows_only_the_length() -> None:
    record = Harness(CaptureLimits(max_items=0)).record([1, 2, 3])
    assert record["elements"] == [
        {"kind": "Error", "msg": "<truncated: 3 items>", "type": (16, "Object")}
    ]


# ---------------------------------------------------------------- C8, C9: depth and cycles


def test_deep_nesting_is_cut_at_max_depth_without_recursion_error() -> None:
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]
    h = Harness()
    record = h.record(value)
    for _ in range(10):
        record = record["elements"][0]
    assert record["msg"] == "<depth limit: list of 1 items>"
    assert h.encoder.counters["depth_cut"] == 1


def test_deep_dict_nesting_is_cut() -> None:
    value: dict[str, Any] = {}
    for _ in range(100_000):
        value = {"k": value}
    text = Harness(CaptureLimits(max_depth=3)).encoder.encode(value)
    assert "<depth limit: dict of 1 items>" in text


def test_depth_zero_replaces_every_container() -> None:
    assert Harness(CaptureLimits(max_depth=0)).record((1,))["msg"] == (
        "<depth limit: tuple of 1 items>"
    )


def test_self_referential_list_and_dict_get_a_cycle_marker() -> None:
    lst: list[Any] = [1]
    lst.append(lst)
    dct: dict[str, Any] = {}
    dct["self"] = dct
    h = Harness()
    assert h.record(lst)["elements"][1]["msg"] == "<cycle: list>"
    assert h.record(dct)["elements"][0]["elements"][1]["msg"] == "<cycle: dict>"
    assert h.encoder.counters["cycles"] == 2


def test_mutual_cycle_is_cut() -> None:
    a: list[Any] = []
    b: list[Any] = [a]
    a.append(b)
    assert "<cycle: list>" in Harness().encoder.encode(a)


def test_shared_but_acyclic_values_are_shown_in_full() -> None:
    shared = [1]
    record = Harness().record([shared, shared])
    assert kinds(record) == ["Sequence", "Sequence"]


def test_reentrant_encoding_does_not_see_the_outer_path() -> None:
    """Per-value state: a second encode during the first (as another thread would) is clean.
    The scrubber, called in the middle of the outer value, encodes the same list again."""
    box: list[Any] = [1, "peek"]
    inner: list[str] = []

    def scrub(text: str) -> str:
        if text == "peek" and not inner:
            box.pop()  # peek once: the inner encode sees [1]
            inner.append(h.encoder.encode(box))
        return text

    h = Harness(scrub=scrub)
    h.record(box)
    record = json.loads(inner[0])
    assert record["kind"] == "Sequence"
    assert [element["kind"] for element in record["elements"]] == ["Int"]
    assert h.encoder.counters["cycles"] == 0


def test_encoding_at_the_recursion_limit_never_raises_from_inside() -> None:
    """The program recursed almost to the limit when the callback runs (fact R1/R2).

    Either the encoder cannot even be entered (the caller's frame raises, as any call
    would), or it returns a record: a marker where the stack ran out, never an exception.
    """
    value = [[[[[1, "a", {"k": (1.5, None, 2**70)}]]]]]
    encoder_file = encoder_module.__file__
    outcomes: list[str] = []

    def descend(depth: int, encoder: ValueEncoder) -> str:
        if depth > 0:
            return descend(depth - 1, encoder)
        try:
            return encoder.encode(value)
        except RecursionError as exc:
            tb = exc.__traceback__
            while tb is not None:  # no calls here: the stack is exhausted
                if tb.tb_frame.f_code.co_filename == encoder_file:
                    return "inside"
                tb = tb.tb_next
            return "at entry"

    def room(depth: int = 0) -> int:
        try:
            return room(depth + 1)
        except RecursionError:
            return depth

    deepest = room()
    for margin in range(2, 62):
        encoder = ValueEncoder(FakeTypes())  # first registrations happen deep, too
        outcome = descend(deepest - margin, encoder)
        outcomes.append(outcome if outcome in ("inside", "at entry") else "record")
        if outcome not in ("inside", "at entry"):
            parse(outcome)
    assert "inside" not in outcomes
    assert outcomes.count("record") > 0


# ---------------------------------------------------------------- C10: huge scalars


def test_huge_int_never_raises_and_is_bounded() -> None:
    h = Harness(CaptureLimits(max_string_length=50))
    text = h.record(10**5000)["r"]
    assert text.startswith("0x") and text.endswith("…<int with 16610 bits>")
    assert h.record(-(10**5000))["r"].startswith("-0x")


def test_int_too_long_for_the_programs_digit_limit_is_hex() -> None:
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("no int digit limit on this interpreter")
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert Harness().record(10**1000)["r"] == hex(10**1000)
    finally:
        sys.set_int_max_str_digits(old)


def test_hundred_megabyte_str_and_bytes_are_sliced_before_converting() -> None:
    big_str = "x" * 100_000_000
    big_bytes = b"y" * 100_000_000
    h = Harness(CaptureLimits(max_string_length=1000))
    tracemalloc.start()
    try:
        text = h.record(big_str)["text"]
        raw = h.record(big_bytes)["r"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert text == "x" * 1000 + "…<truncated: 100000000 chars>"
    assert raw == "b'" + "y" * 998 + "…<truncated: 100000000 bytes>"
    assert peak < 1_000_000


def test_truncated_string_is_scrubbed_across_the_cut() -> None:
    h = Harness(CaptureLimits(max_string_length=10), scrub=lambda t: t.replace("SECRET", "*"))
    assert h.record("abcdefgSECRET" + "z" * 100)["text"] == "abcdefg*zz…<truncated: 113 chars>"


# ---------------------------------------------------------------- C11: strict JSON


def test_lone_surrogates_nan_inf_and_odd_keys_parse_strictly() -> None:
    value = {
        "caf\udcff": [float("nan"), float("inf"), -float("inf")],
        None: "\ud800",
        (1, "t"): b"\xff",
        frozenset({1}): 1.5,
        3.25: {"\udcff": "\U0001f600"},
    }
    record = Harness().record(value)
    keys = [pair["elements"][0] for pair in record["elements"]]
    assert [key["kind"] for key in keys] == ["String", "None", "Tuple", "Raw", "Raw"]
    assert keys[0]["text"] == "caf\\udcff"


def test_scrub_failure_becomes_a_marker_not_an_exception() -> None:
    def broken(text: str) -> str:
        raise RuntimeError("scrubber bug")

    h = Harness(scrub=broken)
    assert h.record("text") == {
        "kind": "Error",
        "msg": "<encoding failed: RuntimeError>",
        "type": (16, "Object"),
    }
    assert h.encoder.counters["encode_failed"] == 1


def test_registry_failure_propagates_to_the_caller() -> None:
    class Broken(FakeTypes):
        def type_id(self, kind: int, lang_type: str, fields: Any = None) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        ValueEncoder(Broken()).encode(1)


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_depth": -1},
        {"max_depth": 101},
        {"max_items": -1},
        {"max_string_length": 0},
        {"max_total_items": 0},
        {"max_items": True},
        {"max_depth": 2.0},
        {"max_string_length": "10"},
    ],
)
def test_invalid_limits_are_usage_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError) as caught:
        CaptureLimits(**kwargs)
    assert caught.value.code is ErrorCode.INVALID_POLICY_VALUE
    assert caught.value.exit_code == 2
