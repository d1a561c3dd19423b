"""Objects are recorded as Structs of their stored fields, and nothing of theirs runs (ADR 0016).

Each test names one rule of docs/adr/0016-values-without-side-effects.md: what is shown for
a kind of object, and which of its methods are never called to show it.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import pathlib
import types
import uuid
from typing import Any, NamedTuple, NoReturn
from unittest import mock

import pytest
from test_encoder_support import Harness, parse

from recorder_runtime.encoder import CaptureLimits

INT = (7, "Int")
STRING = (9, "String")


class Touched(Exception):
    """Raised by every method the encoder must never call."""


def _touched(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise Touched


def i(n: int) -> dict[str, Any]:
    return {"kind": "Int", "i": n, "type": INT}


def s(text: str) -> dict[str, Any]:
    return {"kind": "String", "text": text, "type": STRING}


def raw(text: str) -> dict[str, Any]:
    return {"kind": "Raw", "r": text, "type": (16, "Object")}


def struct(type_name: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "Struct", "fields": fields, "type": (6, type_name)}


def recorded(value: object, limits: CaptureLimits | None = None) -> Any:
    """``Harness().record(value)`` with the type names of classes defined inside a test
    shortened to their last part (a Struct type is named by the class's ``__qualname__``)."""
    return short(Harness(limits).record(value))


def short(value: Any) -> Any:
    if isinstance(value, list):
        return [short(x) for x in value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        return (value[0], value[1].rpartition("<locals>.")[2])
    if isinstance(value, dict):
        return {k: short(v) for k, v in value.items()}
    return value


class Policy:
    """A filter scope that redacts or drops attributes by name (domain ``attr``)."""

    def __init__(self, **actions: str) -> None:
        self.actions = actions
        self.asked: list[tuple[str, str]] = []

    def value_action(self, domain: str, name: str) -> str:
        self.asked.append((domain, name))
        return self.actions.get(name, "allow")


# ---------------------------------------------------------------- fields


def test_fields_come_from_the_instance_dict_in_insertion_order() -> None:
    class Account:
        def __init__(self) -> None:
            self.owner = "ann"
            self.balance = 10

    assert recorded(Account()) == struct("Account", owner=s("ann"), balance=i(10))


def test_a_struct_type_names_its_fields_with_kind_struct() -> None:
    class Pt:
        def __init__(self) -> None:
            self.x = 1
            self.y = 2

    h = Harness()
    text = h.encoder.encode(Pt())
    assert parse(text)["field_values"] == [
        parse(h.encoder.encode(1)),
        parse(h.encoder.encode(2)),
    ]
    any_id = h.types.ids["Any"]
    name = f"{test_a_struct_type_names_its_fields_with_kind_struct.__name__}.<locals>.Pt"
    assert h.types.kinds[name] == 6
    assert h.types.fields[name] == (("x", any_id), ("y", any_id))


def test_slots_are_fields_and_an_unset_slot_is_left_out() -> None:
    class Slotted:
        __slots__ = ("__hidden", "a", "b")

        def __init__(self) -> None:
            self.a = 1
            self.__hidden = 3

    assert recorded(Slotted()) == struct("Slotted", a=i(1), __hidden=i(3))


def test_a_dataclass_keeps_its_declared_field_order() -> None:
    @dataclasses.dataclass
    class Order:
        zeta: int
        alpha: int

    value = Order(alpha=1, zeta=2)
    value.__dict__.clear()
    value.__dict__.update(alpha=1, extra=3, zeta=2)
    record = recorded(value)
    assert list(record["fields"]) == ["zeta", "alpha", "extra"]


def test_a_property_named_like_a_field_is_never_called() -> None:
    class Sneaky:
        def __init__(self) -> None:
            self.__dict__["value"] = 1

        value = property(_touched)

    assert recorded(Sneaky()) == struct("Sneaky", value=i(1))


def test_a_property_named_like_a_slot_is_never_called() -> None:
    class Base:
        __slots__ = ("value",)

    class Shadow(Base):
        __slots__ = ()
        value = property(_touched)  # type: ignore[assignment]

    item = Shadow()
    Base.__dict__["value"].__set__(item, 1)
    record = recorded(item)
    assert record["fields"] == {"value": i(1)}


def test_a_dict_property_is_never_called_and_the_object_is_shown_by_type() -> None:
    class Fake:
        __dict__ = property(_touched)  # type: ignore[assignment]

    value = Fake()
    assert recorded(value) == raw(object.__repr__(value))


def test_getattr_and_getattribute_overrides_are_never_called() -> None:
    class Guarded:
        def __init__(self) -> None:
            self.kept = 1

        __getattribute__ = _touched
        __getattr__ = _touched

    value = object.__new__(Guarded)
    object.__setattr__(value, "kept", 1)
    assert recorded(value) == struct("Guarded", kept=i(1))


def test_a_simple_namespace_is_a_struct() -> None:
    assert recorded(types.SimpleNamespace(a=1)) == struct("SimpleNamespace", a=i(1))


def test_each_field_layout_of_a_class_is_its_own_struct_type() -> None:
    class Loose:
        pass

    first, second, third = Loose(), Loose(), Loose()
    first.a = 1
    second.b = 2
    third.a = 3
    h = Harness()
    names = [short(h.record(v))["type"][1] for v in (first, second, third)]
    assert names == ["Loose", "Loose#2", "Loose"]


def test_named_tuple_fields_are_named() -> None:
    class Pair(NamedTuple):
        left: int
        right: str

    assert recorded(Pair(1, "r")) == struct("Pair", left=i(1), right=s("r"))


def test_an_exception_shows_its_args_and_its_own_fields() -> None:
    class Failed(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.code = 7

        __str__ = _touched
        __repr__ = _touched

    record = recorded(Failed("bad"))
    assert record["type"] == (6, "Failed")
    assert record["fields"]["code"] == i(7)
    assert record["fields"]["args"]["elements"] == [s("bad")]


# ---------------------------------------------------------------- limits inside structures


def test_a_struct_that_holds_itself_is_cut_by_a_cycle_marker() -> None:
    class Node:
        pass

    node = Node()
    node.next = node
    h = Harness()
    assert h.record(node)["fields"]["next"]["msg"].endswith(".<locals>.Node>")
    assert h.encoder.counters["cycles"] == 1


def test_a_shared_object_is_shown_in_full_at_each_place() -> None:
    class Leaf:
        def __init__(self) -> None:
            self.v = 1

    leaf = Leaf()
    record = recorded([leaf, leaf], CaptureLimits(max_object_depth=2))
    assert [e["fields"] for e in record["elements"]] == [{"v": i(1)}, {"v": i(1)}]


def test_structs_count_towards_the_depth_limit() -> None:
    class Box:
        def __init__(self, inner: object) -> None:
            self.inner = inner

    value: object = 1
    for _ in range(5):
        value = Box(value)
    record = recorded(value, CaptureLimits(max_depth=2, max_object_depth=10))
    cut = record["fields"]["inner"]["fields"]["inner"]["msg"]
    assert cut.startswith("<depth limit: ") and cut.endswith(".<locals>.Box of 1 items>")


def test_fields_beyond_max_items_are_summarised_with_their_count() -> None:
    class Wide:
        pass

    value = Wide()
    for n in range(10):
        setattr(value, f"f{n}", n)
    h = Harness(CaptureLimits(max_items=3))
    record = short(h.record(value))
    assert list(record["fields"]) == ["f0", "f1", "f2", "…"]
    assert record["fields"]["…"]["msg"] == "<truncated: 10 fields>"


# ---------------------------------------------------------------- redaction by field name


def test_a_field_a_scope_redacts_is_hidden_and_a_dropped_field_is_left_out() -> None:
    class Login:
        def __init__(self) -> None:
            self.user = "ann"
            self.password = "hunter2"
            self.token = "t0k"

    h = Harness()
    policy = Policy(password="redact", token="drop")
    record = short(h.named(parse(h.encoder.encode_scoped(policy, Login()))))
    assert record["fields"] == {
        "user": s("ann"),
        "password": {"kind": "Error", "msg": "<redacted>", "type": (16, "Redacted")},
    }
    assert ("attr", "password") in policy.asked
    assert h.encoder.counters["fields_redacted"] == 1


def test_redaction_applies_to_fields_of_nested_objects() -> None:
    class Inner:
        def __init__(self) -> None:
            self.password = "hunter2"

    h = Harness()
    text = h.encoder.encode_scoped(Policy(password="redact"), {"k": [Inner()]})
    assert "hunter2" not in text


# ---------------------------------------------------------------- named without running code


class Color(enum.Enum):
    RED = 1

    __str__ = _touched
    __repr__ = _touched


class Meta(type):
    __repr__ = _touched
    __str__ = _touched
    __getattribute__ = _touched


class Classy(metaclass=Meta):
    pass


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Color.RED, "Color.RED"),
        (Classy, f"<class '{__name__}.Classy'>"),
        (types, "<module 'types' from " + repr(types.__file__) + ">"),
        (datetime.date(2024, 1, 2), "2024-01-02"),
        (
            datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone.utc),
            "2024-01-02 03:04:00+00:00",
        ),
        (decimal.Decimal("1.10"), "1.10"),
        (fractions.Fraction(1, 3), "1/3"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (pathlib.PurePosixPath("/a/b"), "/a/b"),
        ({1, 2}, "{1, 2}"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_names_and_allowlisted_texts_are_read_without_program_code(
    value: object, text: str
) -> None:
    assert recorded(value) == raw(text)


def test_a_bound_method_is_named_without_the_repr_of_its_object() -> None:
    class Service:
        __repr__ = _touched

        def run(self) -> None:
            pass

    text = recorded(Service().run)["r"]
    assert text.startswith("<bound method test_a_bound_method_is_named")
    assert text.endswith(".<locals>.Service.run>")


def test_a_datetime_with_a_program_tzinfo_is_not_rendered_by_its_text() -> None:
    class Zone(datetime.tzinfo):
        utcoffset = _touched
        tzname = _touched
        dst = _touched

    value = datetime.datetime(2024, 1, 2, tzinfo=Zone())
    assert recorded(value) == raw(object.__repr__(value))


def test_a_subclass_of_an_allowlisted_type_is_not_rendered_by_its_text() -> None:
    class Money(decimal.Decimal):
        __str__ = _touched
        __repr__ = _touched

    value = Money("1.5")
    assert recorded(value) == raw(object.__repr__(value))


def test_a_set_holding_objects_is_a_sequence_of_their_structs() -> None:
    class Tag:
        def __init__(self) -> None:
            self.name = "t"

        __hash__ = object.__hash__
        __eq__ = _touched
        __repr__ = _touched

    record = recorded({Tag()}, CaptureLimits(max_object_depth=2))
    assert record["type"] == (1, "Set")
    assert record["elements"] == [struct("Tag", name=s("t"))]


def test_a_mock_is_shown_by_identity_and_records_no_call() -> None:
    value = mock.MagicMock()
    value.attribute = 1
    record = recorded(value)
    assert record == raw(f"<MagicMock id='{id(value)}'>")
    assert value.mock_calls == []


def test_objects_nested_beyond_the_object_depth_are_shown_by_reference() -> None:
    class Node:
        def __init__(self, child: object) -> None:
            self.child = child

    leaf = Node(None)
    record = recorded(Node(Node(leaf)), CaptureLimits(max_object_depth=2))
    reference = record["fields"]["child"]["fields"]["child"]
    assert reference["kind"] == "Raw"
    assert reference["r"].startswith("<") and ".Node object at 0x" in reference["r"]


def test_an_unchanged_object_is_recorded_identically_and_a_changed_one_afresh() -> None:
    class Point:
        def __init__(self) -> None:
            self.x = 1
            self.label = "p"
            self.peer = Point.__new__(Point)

    harness = Harness()
    point = Point()
    first = harness.encoder.encode(point)
    assert harness.encoder.encode(point) == first  # the memoised record
    point.x = 2
    assert harness.record(point)["fields"]["x"]["i"] == 2


def test_objects_in_a_list_are_shown_by_reference_at_the_default_object_depth() -> None:
    class Item:
        def __init__(self) -> None:
            self.n = 1

    record = recorded([Item()])
    assert record["elements"][0]["kind"] == "Raw"
    assert ".Item object at 0x" in record["elements"][0]["r"]
