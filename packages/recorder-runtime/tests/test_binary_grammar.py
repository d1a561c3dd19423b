"""The CBOR grammar of trace.bin is the JSON grammar's events in another syntax.

Differential: every event piece of ``CborGrammar`` decodes (with ``cbor2``, not the recorder's
reader) to exactly the value ``json.loads`` gives for the ``JsonGrammar`` piece of the same
event, and its bytes are what a definite-length, shortest-form encoder (``cbor2.dumps``, the
shape cbor4ii's serde serializer writes for codetracer_trace_types) produces. ValueRecords are
compared with the shapes of ``types.rs`` written out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cbor2
import pytest
from conformance import REFERENCE

from recorder_runtime.output.binary.grammar import DROP_LAST_STEP, CborGrammar
from recorder_runtime.output.json.grammar import JsonGrammar

G = CborGrammar()
J = JsonGrammar()

LONG = "x" * 300
HUGE = "y" * 70_000
I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1

# (CBOR piece, the ValueRecord as types.rs serialises it)
RECORDS: list[tuple[bytes, dict[str, Any]]] = [
    (G.int_(0, 1), {"kind": "Int", "i": 0, "type_id": 1}),
    (G.int_(-1, 1), {"kind": "Int", "i": -1, "type_id": 1}),
    (G.int_(23, 1), {"kind": "Int", "i": 23, "type_id": 1}),
    (G.int_(24, 300), {"kind": "Int", "i": 24, "type_id": 300}),
    (G.int_(I64_MAX, 70_000), {"kind": "Int", "i": I64_MAX, "type_id": 70_000}),
    (G.int_(I64_MIN, 2), {"kind": "Int", "i": I64_MIN, "type_id": 2}),
    (G.string("", 3), {"kind": "String", "text": "", "type_id": 3}),
    (G.string("héllo ✓ 𝄞", 3), {"kind": "String", "text": "héllo ✓ 𝄞", "type_id": 3}),
    (G.string(LONG, 3), {"kind": "String", "text": LONG, "type_id": 3}),
    (G.string(HUGE, 3), {"kind": "String", "text": HUGE, "type_id": 3}),
    (G.raw("<object at 0x1>", 4), {"kind": "Raw", "r": "<object at 0x1>", "type_id": 4}),
    (G.error("boom", 5), {"kind": "Error", "msg": "boom", "type_id": 5}),
    (G.bool_(True, 6), {"kind": "Bool", "b": True, "type_id": 6}),
    (G.bool_(False, 6), {"kind": "Bool", "b": False, "type_id": 6}),
    (G.none(0), {"kind": "None", "type_id": 0}),
    (
        G.sequence(G.join([G.int_(1, 1), G.none(0)]), 2, 7),
        {
            "kind": "Sequence",
            "elements": [{"kind": "Int", "i": 1, "type_id": 1}, {"kind": "None", "type_id": 0}],
            "is_slice": False,
            "type_id": 7,
        },
    ),
    (
        G.sequence(G.empty, 0, 7),
        {"kind": "Sequence", "elements": [], "is_slice": False, "type_id": 7},
    ),
    (
        G.tuple_(G.join([G.string("k", 3), G.tuple_(G.empty, 0, 8)]), 2, 8),
        {
            "kind": "Tuple",
            "elements": [
                {"kind": "String", "text": "k", "type_id": 3},
                {"kind": "Tuple", "elements": [], "type_id": 8},
            ],
            "type_id": 8,
        },
    ),
    (
        G.struct(G.join([G.int_(1, 1), G.bool_(True, 6)]), 2, 9),
        {
            "kind": "Struct",
            "field_values": [
                {"kind": "Int", "i": 1, "type_id": 1},
                {"kind": "Bool", "b": True, "type_id": 6},
            ],
            "type_id": 9,
        },
    ),
]


@pytest.mark.parametrize(("piece", "expected"), RECORDS)
def test_a_value_record_decodes_to_the_types_rs_shape(piece: bytes, expected: Any) -> None:
    assert cbor2.loads(piece) == expected


@pytest.mark.parametrize(("piece", "expected"), RECORDS)
def test_a_value_record_uses_definite_lengths_and_shortest_heads(
    piece: bytes, expected: Any
) -> None:
    assert piece == cbor2.dumps(expected)


@pytest.mark.parametrize(("piece", "expected"), RECORDS)
def test_a_value_event_equals_the_json_grammars(piece: bytes, expected: Any) -> None:
    as_json = J.value_prefix(12) + json.dumps(expected) + J.value_suffix
    as_cbor = G.value_prefix(12) + piece + G.value_suffix
    assert cbor2.loads(as_cbor) == json.loads(as_json)
    assert cbor2.loads(G.return_(piece)) == json.loads(J.return_(json.dumps(expected)))


EVENTS = [
    ("step", (0, 1)),
    ("step", (300, 70_000)),
    ("path", ("/src/examples/simple.py",)),
    ("path", ("/tmp/h\u00e9/\u2713.py",)),
    ("function", (2, 14, "<lambda>")),
    ("variable_name", ("__name__",)),
    ("type_", (30, "None", None)),
    ("type_", (6, "Point", [("x", 1), ("y", 1)])),
    ("type_", (6, "Empty", [])),
    ("io_event", (0, '{"stream":"stdout"}', "done 42\n")),
    ("io_event", (2, "{}", LONG)),
]


@pytest.mark.parametrize(("method", "args"), EVENTS)
def test_an_event_equals_the_json_grammars(method: str, args: tuple[Any, ...]) -> None:
    expected = json.loads(getattr(J, method)(*args))
    piece = getattr(G, method)(*args)
    assert cbor2.loads(piece) == expected
    assert piece == cbor2.dumps(expected)


def test_a_call_equals_the_json_grammars() -> None:
    records = RECORDS[:3]
    cbor_args = [(i, piece) for i, (piece, _) in enumerate(records)]
    json_args = [(i, json.dumps(expected)) for i, (_, expected) in enumerate(records)]
    assert cbor2.loads(G.call(4, cbor_args)) == json.loads(J.call(4, json_args))
    assert cbor2.loads(G.call(0, [])) == {"Call": {"function_id": 0, "args": []}}


def test_drop_last_step_is_the_bare_variant_name() -> None:
    assert cbor2.loads(DROP_LAST_STEP) == "DropLastStep"


def test_a_lone_surrogate_is_the_same_visible_text_as_in_json() -> None:
    name = "caf\udcff.py"
    assert cbor2.loads(G.path(name)) == json.loads(J.path(name)) == {"Path": "caf\\udcff.py"}
    assert cbor2.loads(G.string(name, 3))["text"] == "caf\\udcff.py"


def _record(value: dict[str, Any]) -> bytes:
    """Build a decoded ValueRecord again through the grammar's methods."""
    kind, tid = value["kind"], value.get("type_id")
    if kind == "Int":
        return G.int_(value["i"], tid)
    if kind == "String":
        return G.string(value["text"], tid)
    if kind == "Raw":
        return G.raw(value["r"], tid)
    if kind == "Error":
        return G.error(value["msg"], tid)
    if kind == "Bool":
        return G.bool_(value["b"], tid)
    if kind == "None":
        return G.none(tid)
    items = value.get("elements", value.get("field_values"))
    joined = G.join([_record(v) for v in items])
    if kind == "Sequence":
        return G.sequence(joined, len(items), tid)
    if kind == "Tuple":
        return G.tuple_(joined, len(items), tid)
    if kind == "Struct":
        return G.struct(joined, len(items), tid)
    raise AssertionError(f"no grammar method for {kind}")


def _event(event: Any) -> bytes:
    """Build a decoded event again through the grammar's methods."""
    if event == "DropLastStep":
        return DROP_LAST_STEP
    ((name, body),) = event.items()
    if name == "Step":
        return G.step(body["path_id"], body["line"])
    if name == "Value":
        return G.value_prefix(body["variable_id"]) + _record(body["value"]) + G.value_suffix
    if name == "Call":
        args = [(a["variable_id"], _record(a["value"])) for a in body["args"]]
        return G.call(body["function_id"], args)
    if name == "Return":
        return G.return_(_record(body["return_value"]))
    if name == "Event":
        return G.io_event(body["kind"], body["metadata"], body["content"])
    if name == "Path":
        return G.path(body)
    if name == "Function":
        return G.function(body["path_id"], body["line"], body["name"])
    if name == "VariableName":
        return G.variable_name(body)
    if name == "Type":
        info = body["specific_info"]
        fields = None
        if info["kind"] == "Struct":
            fields = [(f["name"], f["type_id"]) for f in info["fields"]]
        return G.type_(body["kind"], body["lang_type"], fields)
    raise AssertionError(f"no grammar method for {name}")


@pytest.mark.parametrize("name", sorted(p.name for p in REFERENCE.iterdir()))
def test_every_event_of_a_reference_trace_is_spelled_as_serde_would(name: str) -> None:
    events = json.loads((REFERENCE / name / "trace.json").read_text())
    for event in events:
        piece = _event(event)
        assert piece == cbor2.dumps(event), event
        assert cbor2.loads(piece) == event


def test_the_reference_traces_exist() -> None:
    assert len(list(Path(REFERENCE).iterdir())) >= 10
