"""Helpers shared by the encoder tests (no tests here): a fake type registry, a strict parser."""

from __future__ import annotations

import json
from typing import Any

from recorder_runtime.encoder import CaptureLimits, ValueEncoder


class FakeTypes:
    """A TypeRegistry like the writer's: ids by lang_type, None pre-registered as type 0;
    the field names of each Struct type in ``fields``."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {"None": 0}
        self.kinds: dict[str, int] = {"None": 30}
        self.fields: dict[str, tuple[tuple[str, int], ...]] = {}
        self.calls: list[tuple[int, str]] = []

    def type_id(
        self, kind: int, lang_type: str, fields: tuple[tuple[str, int], ...] | None = None
    ) -> int:
        self.calls.append((kind, lang_type))
        if lang_type not in self.ids:
            self.ids[lang_type] = len(self.ids)
            self.kinds[lang_type] = kind
            if fields is not None:
                self.fields[lang_type] = fields
        elif fields is not None and self.fields.get(lang_type) != fields:
            raise AssertionError(f"two field layouts registered as {lang_type!r}")
        return self.ids[lang_type]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def parse(text: str) -> Any:
    """Parse with a strict parser: NaN/Infinity are errors, the text must be pure ASCII."""
    text.encode("ascii")
    return json.loads(text, parse_constant=_refuse_constant)


class Harness:
    """An encoder plus its registry; ``record(v)`` parses the output and names the types.

    A ``Struct`` record becomes ``{"kind": "Struct", "fields": {name: value}, "type": ...}``
    (its type's field names zipped with its ``field_values``, in order).
    """

    def __init__(self, limits: CaptureLimits | None = None, **kwargs: Any) -> None:
        self.types = FakeTypes()
        self.encoder = ValueEncoder(self.types, limits or CaptureLimits(), **kwargs)

    def record(self, value: object) -> Any:
        return self.named(parse(self.encoder.encode(value)))

    def named(self, record: Any) -> Any:
        """The record with every ``type_id`` replaced by ``(kind, lang_type)``."""
        if isinstance(record, list):
            return [self.named(x) for x in record]
        if not isinstance(record, dict):
            return record
        names = {v: k for k, v in self.types.ids.items()}
        out: dict[str, Any] = {}
        if record.get("kind") == "Struct":
            name = names[record["type_id"]]
            layout = [field for field, _ in self.types.fields[name]]
            values = record["field_values"]
            if len(layout) != len(values):
                raise AssertionError(f"{name}: {len(values)} values for fields {layout}")
            return {
                "kind": "Struct",
                "fields": {field: self.named(v) for field, v in zip(layout, values, strict=True)},
                "type": (self.types.kinds[name], name),
            }
        for key, value in record.items():
            if key == "type_id":
                name = names[value]
                out["type"] = (self.types.kinds[name], name)
            else:
                out[key] = self.named(value)
        return out
