"""Reading an object's fields without running any of its code.

An instance of a program class is recorded as a ``Struct`` of its fields (ADR 0016). Its
fields are read the way the interpreter stores them, never through attribute access:

* the instance ``__dict__`` is reached through the built-in ``__dict__`` getter found in the
  class's MRO, and only when that entry IS the interpreter's getset descriptor (a class that
  defines a property or anything else called ``__dict__`` gets no dict read);
* ``__slots__`` values are read through the slot's member descriptor, and only when the class
  attribute of that name still IS a member descriptor (a property of the same name is never
  called);
* a dataclass's declared field order comes from the ``__dataclass_fields__`` dict stored on
  the class; a named tuple's field names from its class's ``_fields``.

Everything is read with the built-in types' own methods (``dict.items(d)``,
``tuple.__getitem__``), so no ``__getattr__``/``__getattribute__``, property, descriptor,
``__iter__``, ``__len__``, ``__eq__`` or ``__hash__`` of the program runs.
"""

from __future__ import annotations

import types
from typing import Any, Final

_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_GETSET: Final = types.GetSetDescriptorType
_MEMBER: Final = types.MemberDescriptorType
_base_args = BaseException.__dict__["args"].__get__

Fields = list[tuple[str, Any]]


class ClassPlan:
    """How instances of one class store their fields, worked out once per class.

    Holds the interpreter's own descriptors (never a program's): the ``__dict__`` getter,
    the declared dataclass order and the slot member descriptors. Calling a descriptor
    held here runs no program code even if the class is changed later.
    """

    __slots__ = ("cls", "dict_getter", "order", "slots")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.dict_getter = _dict_getter(cls)
        self.order = _dataclass_order(cls)
        self.slots = _slot_descriptors(cls)


_PLANS: dict[int, ClassPlan] = {}
_PLAN_ENTRIES: Final = 4096


def plan_for(cls: type) -> ClassPlan:
    """The (cached) :class:`ClassPlan` of ``cls`` (keyed by identity: hashing a class could
    run its metaclass's ``__hash__``)."""
    plan = _PLANS.get(id(cls))
    if plan is not None and plan.cls is cls:
        return plan
    plan = ClassPlan(cls)
    if len(_PLANS) >= _PLAN_ENTRIES:
        _PLANS.clear()
    _PLANS[id(cls)] = plan
    return plan


def _dict_getter(cls: type) -> Any:
    """The interpreter's ``__dict__`` descriptor of ``cls``'s instances, or None."""
    for klass in _type_mro(cls):
        entry = _type_dict(klass).get("__dict__")
        if entry is None:
            continue
        if type(entry) is not _GETSET and type(entry) is not _MEMBER:
            # a property (or anything else) named __dict__: never called. A member
            # descriptor is C data (types.SimpleNamespace); on another class it refuses.
            return None
        return entry
    return None


def instance_dict(value: object, cls: type) -> dict[str, Any] | None:
    """The instance's own ``__dict__``, or None when it has none or it is not the built-in one."""
    getter = plan_for(cls).dict_getter
    if getter is None:
        return None
    try:
        namespace = getter.__get__(value, cls)
    except Exception:
        return None
    return namespace if issubclass(type(namespace), dict) else None


def instance_fields(value: object, cls: type) -> Fields:
    """``(name, value)`` of every field stored in the instance: declared fields first (in
    dataclass order), then the rest of its ``__dict__``, then its ``__slots__``."""
    plan = plan_for(cls)
    fields: Fields
    namespace = None
    getter = plan.dict_getter
    if getter is not None:
        try:
            namespace = getter.__get__(value, cls)
        except Exception:
            namespace = None
        if namespace is not None and not issubclass(type(namespace), dict):
            namespace = None
    if namespace is None:
        fields = []
    elif plan.order:
        stored = {name: item for name, item in dict.items(namespace) if type(name) is str}
        fields = [(name, stored.pop(name)) for name in plan.order if name in stored]
        fields.extend(stored.items())
    else:
        fields = [(name, item) for name, item in dict.items(namespace) if type(name) is str]
    for name, descriptor in plan.slots:
        try:
            fields.append((name, descriptor.__get__(value, cls)))
        except AttributeError:
            continue  # a slot never assigned
    return fields


def exception_fields(value: BaseException, cls: type) -> Fields:
    """An exception's ``args`` (read through BaseException's own getter) and its fields."""
    try:
        args = _base_args(value)
    except Exception:
        args = ()
    return [("args", args), *instance_fields(value, cls)]


def namedtuple_fields(cls: type) -> tuple[str, ...] | None:
    """The field names a named tuple's class stores in ``_fields`` (None if it is not one)."""
    for klass in _type_mro(cls):
        if klass is tuple:
            return None
        names = _type_dict(klass).get("_fields")
        if names is not None:
            if type(names) is tuple and all(type(name) is str for name in names):
                return names
            return None
    return None


def _dataclass_order(cls: type) -> tuple[str, ...]:
    """Declared field names of a dataclass (from the class's stored dict), else []."""
    for klass in _type_mro(cls):
        declared = _type_dict(klass).get("__dataclass_fields__")
        if declared is not None:
            if type(declared) is dict:
                return tuple(name for name in dict.keys(declared) if type(name) is str)
            return ()
    return ()


def _slot_descriptors(cls: type) -> tuple[tuple[str, Any], ...]:
    """``(name, member descriptor)`` of the slots declared along the MRO (a name whose
    class attribute is no longer the interpreter's member descriptor is left out)."""
    found: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for klass in _type_mro(cls):
        namespace = _type_dict(klass)
        slots = namespace.get("__slots__")
        if slots is None:
            continue
        names = (slots,) if type(slots) is str else slots if type(slots) in (tuple, list) else ()
        for name in names:
            if type(name) is not str or name in ("__dict__", "__weakref__") or name in seen:
                continue
            seen.add(name)
            descriptor = namespace.get(_mangle(name, klass))
            if type(descriptor) is _MEMBER:
                found.append((name, descriptor))
    return tuple(found)


def _mangle(name: str, klass: type) -> str:
    """The stored name of a private slot (``__x`` in class ``C`` is ``_C__x``)."""
    if not name.startswith("__") or name.endswith("__"):
        return name
    owner = type.__dict__["__name__"].__get__(klass)
    owner = owner.lstrip("_") if type(owner) is str else ""
    return f"_{owner}{name}" if owner else name
