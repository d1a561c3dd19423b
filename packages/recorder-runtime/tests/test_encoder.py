"""The value encoder writes the reference recorder's encoding for every kind (§10.5)."""

from __future__ import annotations

import collections
import enum
import gc
import json
import random
import sys
import threading
import weakref
from typing import Any, NamedTuple

import pytest
from test_encoder_support import FakeTypes, Harness, parse

from recorder_runtime.encoder import CaptureLimits, ValueEncoder, json_string

NONE = (30, "None")
BOOL = (12, "Bool")
INT = (7, "Int")
STRING = (9, "String")
TUPLE = (27, "Tuple")
LIST = (0, "List")
DICT = (0, "Dict")
OBJECT = (16, "Object")


def i(n: int) -> dict[str, Any]:
    return {"kind": "Int", "i": n, "type": INT}


def s(text: str) -> dict[str, Any]:
    return {"kind": "String", "text": text, "type": STRING}


def raw(text: str) -> dict[str, Any]:
    return {"kind": "Raw", "r": text, "type": OBJECT}


def error(msg: str) -> dict[str, Any]:
    return {"kind": "Error", "msg": msg, "type": OBJECT}


def seq(elements: list[Any], type_: tuple[int, str] = LIST) -> dict[str, Any]:
    return {"kind": "Sequence", "elements": elements, "is_slice": False, "type": type_}


def tup(*elements: Any) -> dict[str, Any]:
    return {"kind": "Tuple", "elements": list(elements), "type": TUPLE}


def struct(name: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "Struct", "fields": fields, "type": (6, name)}


@pytest.fixture
def h() -> Harness:
    return Harness()


class Point:
    """A program class with its own text, which the encoder must never call."""

    renders = 0

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def __repr__(self) -> str:
        Point.renders += 1
        return f"Point({self.x}, {self.y})"

    __str__ = __repr__


class Plain:
    pass


class Color(enum.IntEnum):
    RED = 1


class Pair(NamedTuple):
    a: int
    b: str


def test_none_is_the_preregistered_type_zero(h: Harness) -> None:
    assert h.encoder.encode(None) == '{"kind":"None","type_id":0}'
    assert h.types.calls == [(30, "None")]


def test_true_and_false_are_bool(h: Harness) -> None:
    assert h.record(True) == {"kind": "Bool", "b": True, "type": BOOL}
    assert h.record(False) == {"kind": "Bool", "b": False, "type": BOOL}


@pytest.mark.parametrize("n", [0, 3, -7, 2**63 - 1, -(2**63)])
def test_int_in_i64_is_int(h: Harness, n: int) -> None:
    assert h.record(n) == i(n)


def test_int_text_matches_the_reference_byte_for_byte(h: Harness) -> None:
    assert h.encoder.encode(42) == '{"kind":"Int","i":42,"type_id":1}'


def test_int_enum_is_its_int_value(h: Harness) -> None:
    assert h.record(Color.RED) == i(1)


@pytest.mark.parametrize("n", [2**63, -(2**63) - 1, 2**70])
def test_int_outside_i64_is_raw_decimal(h: Harness, n: int) -> None:
    assert h.record(n) == raw(str(n))


def test_str_is_string(h: Harness) -> None:
    assert h.record('hello\n"q" ü') == s('hello\n"q" ü')


def test_str_subclass_is_its_plain_text(h: Harness) -> None:
    class Name(str):
        def __str__(self) -> str:
            return "overridden"

    assert h.record(Name("bob")) == s("bob")


def test_tuple_is_tuple(h: Harness) -> None:
    assert h.record((1, "a")) == tup(i(1), s("a"))


def test_namedtuple_is_a_struct_of_its_named_fields(h: Harness) -> None:
    assert h.record(Pair(1, "x")) == struct("Pair", a=i(1), b=s("x"))


def test_a_tuple_subclass_without_field_names_is_a_tuple(h: Harness) -> None:
    class Row(tuple[Any, ...]):
        pass

    assert h.record(Row((1, "x"))) == tup(i(1), s("x"))


def test_list_is_sequence_of_list_type(h: Harness) -> None:
    assert h.record([1, 2.5, "x", None]) == seq(
        [i(1), raw("2.5"), s("x"), {"kind": "None", "type": NONE}]
    )


def test_empty_list_and_dict(h: Harness) -> None:
    assert h.record([]) == seq([])
    assert h.record({}) == seq([], DICT)


def test_dict_is_sequence_of_key_value_tuples(h: Harness) -> None:
    assert h.record({"k": 1, 2: "two", (1, 2): [3]}) == seq(
        [tup(s("k"), i(1)), tup(i(2), s("two")), tup(tup(i(1), i(2)), seq([i(3)]))], DICT
    )


def test_dict_subclasses_are_dicts(h: Harness) -> None:
    assert h.record(collections.OrderedDict(a=1)) == seq([tup(s("a"), i(1))], DICT)
    assert h.record(collections.Counter("aa")) == seq([tup(s("a"), i(2))], DICT)


def test_nested_containers(h: Harness) -> None:
    value = {"a": [1, (2, {"b": None})]}
    none = {"kind": "None", "type": NONE}
    assert h.record(value) == seq(
        [tup(s("a"), seq([i(1), tup(i(2), seq([tup(s("b"), none)], DICT))]))], DICT
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.5, "3.5"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "nan"),
        (-0.0, "-0.0"),
        (1e300, "1e+300"),
    ],
)
def test_float_is_raw_text(h: Harness, value: float, text: str) -> None:
    assert h.record(value) == raw(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (b"ab\x00\xff", "b'ab\\x00\\xff'"),
        ({1, 2, 3}, "{1, 2, 3}"),
        (frozenset({4}), "frozenset({4})"),
        (1 + 2j, "(1+2j)"),
        (bytearray(b"x"), "bytearray(b'x')"),
        (collections.deque([1, 2]), "deque([1, 2])"),
        (range(3), "range(0, 3)"),
        (Point, f"<class '{__name__}.Point'>"),
    ],
)
def test_other_values_are_raw_str(h: Harness, value: object, text: str) -> None:
    assert h.record(value) == raw(text)


def test_an_instance_is_a_struct_of_its_fields_and_its_repr_is_never_called(h: Harness) -> None:
    Point.renders = 0
    assert h.record(Point(1, 2)) == struct("Point", x=i(1), y=i(2))
    assert Point.renders == 0


def test_an_exception_is_a_struct_of_its_args(h: Harness) -> None:
    assert h.record(ValueError("boom")) == struct("ValueError", args=tup(s("boom")))


def test_function_and_module_are_raw_str(h: Harness) -> None:
    assert h.record(test_function_and_module_are_raw_str) == raw(
        str(test_function_and_module_are_raw_str)
    )
    assert h.record(json) == raw(str(json))


def test_instance_without_own_text_is_object_repr(h: Harness) -> None:
    value = Plain()
    assert h.record(value) == raw(object.__repr__(value))


def test_instance_text_follows_a_class_change(h: Harness) -> None:
    class Other:
        pass

    value = Plain()
    assert h.record(value) == raw(object.__repr__(value))
    value.__class__ = Other  # type: ignore[assignment]
    assert h.record(value) == raw(object.__repr__(value))
    assert "Other" in object.__repr__(value)


def test_an_object_without_stored_fields_is_its_type_and_address(h: Harness) -> None:
    """A half-built object (its ``__repr__`` would raise) is shown as ``object.__repr__``."""
    Point.renders = 0
    half_built = Point.__new__(Point)
    assert h.record(half_built) == raw(object.__repr__(half_built))
    assert Point.renders == 0


def test_redacted_and_dropped_markers() -> None:
    h = Harness()
    assert h.named(parse(h.encoder.redacted())) == {
        "kind": "Error",
        "msg": "<redacted>",
        "type": (16, "Redacted"),
    }
    assert h.named(parse(h.encoder.dropped())) == {
        "kind": "Error",
        "msg": "<dropped>",
        "type": (16, "Dropped"),
    }


def test_string_and_int_helpers(h: Harness) -> None:
    assert h.named(parse(h.encoder.string("<exit>"))) == s("<exit>")
    assert h.named(parse(h.encoder.int_(3))) == i(3)
    assert h.named(parse(h.encoder.int_(2**64))) == raw(str(2**64))


def test_each_type_is_registered_once() -> None:
    types = FakeTypes()
    encoder = ValueEncoder(types)
    for _ in range(3):
        encoder.encode([1, "a", (None, True), {"k": 2.0}, 5])
    assert sorted(types.calls) == sorted(set(types.calls))


def test_container_type_is_registered_before_its_elements() -> None:
    types = FakeTypes()
    ValueEncoder(types).encode([("a", 1)])
    assert [name for _, name in types.calls] == ["List", "Tuple", "String", "Int"]


def test_cached_encodings_are_identical_to_fresh_ones() -> None:
    first = Harness()
    values = [0, 1, -1, 255, "a", "", "x" * 64, True, False, None]
    texts = [first.encoder.encode(v) for v in values]
    assert [first.encoder.encode(v) for v in values] == texts


def test_atoms_in_a_fresh_encoder_list(h: Harness) -> None:
    none = {"kind": "None", "type": NONE}
    true = {"kind": "Bool", "b": True, "type": BOOL}
    false = {"kind": "Bool", "b": False, "type": BOOL}
    assert h.record([True, None, False, True, None]) == seq([true, none, false, true, none])


def test_an_unchanged_list_of_atoms_encodes_the_same_and_a_change_shows(h: Harness) -> None:
    values: list[Any] = [1, "a", 2.5, None, True] * 4
    first = h.encoder.encode(values)
    assert h.encoder.encode(values) == first
    values[7] = "changed"
    assert h.record(values)["elements"][7] == s("changed")
    values.append(99)
    assert h.record(values)["elements"][-1] == i(99)


def test_a_changed_dict_of_atoms_shows_the_change(h: Harness) -> None:
    values = {f"k{n}": n for n in range(10)}
    h.encoder.encode(values)
    values["k3"] = 333
    assert h.record(values)["elements"][3] == tup(s("k3"), i(333))
    del values["k3"]
    values["new"] = 1
    assert h.record(values)["elements"][-1] == tup(s("new"), i(1))


def test_a_change_deep_inside_a_document_shows(h: Harness) -> None:
    doc: Any = {
        "orders": [{"id": n, "items": [{"sku": "a", "qty": n}], "tags": ["t"]} for n in range(5)]
    }
    first = h.encoder.encode(doc)
    assert h.encoder.encode(doc) == first
    doc["orders"][3]["items"][0]["qty"] = 99
    text = h.encoder.encode(doc)
    assert text != first
    assert text == ValueEncoder(h.types).encode(doc)
    doc["orders"][4]["tags"].append("new")
    assert h.encoder.encode(doc) == ValueEncoder(h.types).encode(doc)


def test_a_shared_child_changed_while_one_parent_rests_shows_in_that_parent(h: Harness) -> None:
    child = [1, 2, 3]
    busy = [child, "busy"]
    resting = (child, "resting")
    for _ in range(3):
        h.encoder.encode(busy)
        h.encoder.encode(resting)
    child[0] = 99
    for _ in range(20):  # the child is re-encoded (and re-memoised) through `busy` only
        h.encoder.encode(busy)
    assert h.encoder.encode(resting) == ValueEncoder(h.types).encode(resting)


def test_memoised_containers_are_not_kept_alive(h: Harness) -> None:
    inner = [1, 2, 3, "x"]
    outer = {"k": inner, "t": (inner, 2.5)}
    before = sys.getrefcount(inner), sys.getrefcount(outer)
    for _ in range(3):
        h.encoder.encode(outer)
    assert (sys.getrefcount(inner), sys.getrefcount(outer)) == before


def test_containers_holding_mutable_values_are_encoded_afresh() -> None:
    h = Harness(CaptureLimits(max_object_depth=2))
    inner = [0]
    point = Point(1, 2)
    values: list[Any] = [1, 2, 3, 4, 5, 6, 7, 8, inner, point]
    h.encoder.encode(values)
    inner[0] = 42
    point.x = 9
    record = h.record(values)
    assert record["elements"][8] == seq([i(42)])
    assert record["elements"][9] == struct("Point", x=i(9), y=i(2))


def test_the_encoder_keeps_no_program_object_alive(h: Harness) -> None:
    point = Point(1, 2)
    ref = weakref.ref(point)
    values: list[Any] = [*range(20), point]
    h.encoder.encode(values)
    h.encoder.encode({"p": point, **{str(n): n for n in range(20)}})
    del values, point
    gc.collect()
    assert ref() is None


def test_one_and_true_stay_distinct(h: Harness) -> None:
    assert h.record(1) == i(1)
    assert h.record(True)["kind"] == "Bool"
    assert h.record(1.0) == raw("1.0")


def test_scrub_applies_to_string_and_raw_text() -> None:
    h = Harness(scrub=lambda text: text.replace("hunter2", "***"))
    assert h.record("pw=hunter2") == s("pw=***")
    assert h.record(["hunter2"]) == seq([s("***")])
    assert h.record(b"hunter2") == raw("b'***'")
    assert h.record(Point(1, "hunter2")) == struct("Point", x=i(1), y=s("***"))  # type: ignore[arg-type]


def test_a_secret_learned_later_is_scrubbed_from_text_seen_before() -> None:
    secrets: list[str] = []

    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    h = Harness(scrub=scrub)
    assert h.record("tok123") == s("tok123")
    secrets.append("tok123")
    assert h.record("tok123") == s("***")
    assert h.record(["tok123"]) == seq([s("***")])


def test_installing_a_scrubber_drops_cached_texts() -> None:
    h = Harness()
    assert h.record(["tok123", 2.5]) == seq([s("tok123"), raw("2.5")])
    h.encoder.set_scrub(lambda text: text.replace("tok123", "***").replace("2.5", "#"))
    assert h.record(["tok123", 2.5]) == seq([s("***"), raw("#")])
    h.encoder.set_scrub(None)
    assert h.record("tok123") == s("tok123")


def test_zero_and_negative_zero_keep_their_own_texts(h: Harness) -> None:
    assert [h.record(x)["r"] for x in (0.0, -0.0, 0.0, -0.0)] == ["0.0", "-0.0", "0.0", "-0.0"]


def test_a_failing_element_is_contained_to_that_element() -> None:
    def scrub(text: str) -> str:
        if text == "bad":
            raise RuntimeError("scrubber bug")
        return text

    record = Harness(scrub=scrub).record(["ok", "bad", {"k": "bad"}])
    assert record["elements"][0] == s("ok")
    assert record["elements"][1] == error("<encoding failed: RuntimeError>")
    assert record["elements"][2] == seq(
        [tup(s("k"), error("<encoding failed: RuntimeError>"))], DICT
    )


def test_threads_sharing_one_encoder_and_one_value_agree() -> None:
    h = Harness()
    shared: list[Any] = [[1, "a", {"k": (2.5, None)}]] * 50
    expected = h.encoder.encode(shared)
    results: list[str] = []

    def work() -> None:
        results.extend(h.encoder.encode(shared) for _ in range(200))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 800
    assert set(results) == {expected}


def test_json_string_is_ascii_json_for_any_text() -> None:
    for text in ["plain", "é", "😀", "a\udcffb", "\ud800", '\x00\n\t"\\']:
        literal = json_string(text)
        literal.encode("ascii")
        assert isinstance(json.loads(literal), str)


def test_json_string_renders_lone_surrogates_as_visible_escapes() -> None:
    assert json.loads(json_string("caf\udcff")) == "caf\\udcff"
    assert json.loads(json_string("😀")) == "😀"


def test_limits_defaults_are_recorded_as_plain_data() -> None:
    assert CaptureLimits().as_dict() == {
        "max_depth": 10,
        "max_items": 200,
        "max_string_length": 10_000,
        "max_total_items": 10_000,
        "max_object_depth": 1,
    }


def _random_atom(rng: random.Random) -> Any:
    pools: list[list[Any]] = [
        list(range(-5, 300)),
        ["a", "b", "long " * 20, "é", ""],
        [0.5, -0.0, 0.0, float("nan"), 2.0**70],
        [True, False, None],
        [2**64 + n for n in range(50)],
    ]
    return rng.choice(rng.choice(pools))


def _random_value(rng: random.Random, depth: int) -> Any:
    if depth > 2 or rng.random() < 0.4:
        return _random_atom(rng)
    size = rng.choice([0, 3, 8, 12, 30])
    kind = rng.choice(["list", "tuple", "dict"])
    if kind == "dict":
        return {_random_atom(rng): _random_value(rng, depth + 1) for _ in range(size)}
    items = [_random_value(rng, depth + 1) for _ in range(size)]
    return items if kind == "list" else tuple(items)


def _mutate(rng: random.Random, value: Any, pool: list[Any]) -> None:
    """Change one thing somewhere inside ``value`` (in place), if it holds a mutable part:
    replace an element (sometimes by a container shared with another value), delete and
    re-insert a dict key (new order), or grow a list."""
    if isinstance(value, list) and value:
        roll = rng.random()
        if roll < 0.4:
            value[rng.randrange(len(value))] = _random_value(rng, 2)
        elif roll < 0.55:
            value[rng.randrange(len(value))] = rng.choice(pool)
        elif roll < 0.65:
            value.append(_random_atom(rng))
        else:
            _mutate(rng, rng.choice(value), pool)
    elif isinstance(value, dict) and value:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.4:
            value[key] = _random_value(rng, 2)
        elif roll < 0.55:
            value[key] = value.pop(key)  # same pair, moved to the end
        else:
            _mutate(rng, value[key], pool)
    elif isinstance(value, tuple) and value:
        _mutate(rng, rng.choice(value), pool)


@pytest.mark.parametrize(
    "limits",
    [CaptureLimits(), CaptureLimits(max_depth=2, max_items=5, max_total_items=30)],
    ids=["default-limits", "tight-limits"],
)
@pytest.mark.parametrize("seed", range(8))
def test_a_long_lived_encoder_agrees_with_a_fresh_one_as_values_change(
    seed: int, limits: CaptureLimits
) -> None:
    """Caches and memos never show a stale value: differential test against a new encoder,
    with shared sub-containers, moved dict keys, and limits that cut at varying places."""
    rng = random.Random(seed)
    values: list[Any] = [_random_value(rng, 0) for _ in range(5)]
    values += [[_random_atom(rng) for _ in range(20)] for _ in range(3)]
    values += [{str(n): _random_atom(rng) for n in range(10)} for _ in range(2)]
    values.append([values[0], values[5], (values[8], values[0])])  # shares sub-containers
    types = FakeTypes()
    long_lived = ValueEncoder(types, limits)
    for _ in range(60):
        for value in rng.sample(values, k=rng.randrange(1, len(values))):  # some rest a while
            assert long_lived.encode(value) == ValueEncoder(types, limits).encode(value)
        for _ in range(3):
            _mutate(rng, rng.choice(values), values)
