# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""Issue 12: objects whose methods count (or break something) when anything but the program
calls them. The program itself never calls them; it holds them in globals, locals, arguments,
return values, containers, fields and exceptions while lines run, then prints its counters.

Untraced, every counter is 0 and the lazily sorted registry iterates in priority order. A
recorder that ran any of these methods (to render a value, to compare or hash it, to copy
it) changes the output: a counter goes up, the logging ``__getattr__`` logs, the registry
stays marked sorted with an unsorted item (the Markdown library's table extension vanished
that way), the mutating property moves its counter.
"""

import collections
import dataclasses
import datetime
import decimal
import enum
import functools
import sys
import types

CALLS = {}
LOG = []


def hit(name):
    """Count one call of a method the program never calls itself."""
    CALLS[name] = CALLS.get(name, 0) + 1


class Touchy:
    """Every protocol the recorder could be tempted to use, each one counted."""

    def __init__(self, label):
        self.label = label
        self.payload = [1, "two", 3.0]

    def __repr__(self):
        hit("__repr__")
        return "Touchy()"

    def __str__(self):
        hit("__str__")
        return "Touchy"

    def __format__(self, spec):
        hit("__format__")
        return "Touchy"

    def __len__(self):
        hit("__len__")
        return 1

    def __iter__(self):
        hit("__iter__")
        return iter(())

    def __contains__(self, item):
        hit("__contains__")
        return False

    def __getitem__(self, key):
        hit("__getitem__")
        raise KeyError(key)

    def __eq__(self, other):
        hit("__eq__")
        return self is other

    def __ne__(self, other):
        hit("__ne__")
        return self is not other

    def __lt__(self, other):
        hit("__lt__")
        return False

    def __hash__(self):
        hit("__hash__")
        return 1

    def __bool__(self):
        hit("__bool__")
        return True

    def __sizeof__(self):
        hit("__sizeof__")
        return 0

    def __dir__(self):
        hit("__dir__")
        return []

    def __reduce__(self):
        hit("__reduce__")
        return (Touchy, (self.label,))

    def __reduce_ex__(self, protocol):
        hit("__reduce_ex__")
        return (Touchy, (self.label,))

    def __copy__(self):
        hit("__copy__")
        return self

    def __deepcopy__(self, memo):
        hit("__deepcopy__")
        return self

    def __getstate__(self):
        hit("__getstate__")
        return {}

    def __index__(self):
        hit("__index__")
        return 0

    def __int__(self):
        hit("__int__")
        return 0

    def __float__(self):
        hit("__float__")
        return 0.0

    def __fspath__(self):
        hit("__fspath__")
        return "touchy"


class Guarded:
    """``__getattribute__`` and ``__getattr__`` overrides: the recorder must read fields from
    the stored ``__dict__``. The program sets fields only (no attribute reads)."""

    def __init__(self):
        self.secret_field = "kept"

    def __getattribute__(self, name):
        hit("__getattribute__")
        return object.__getattribute__(self, name)


class Logging:
    """A ``__getattr__`` that logs every missing attribute it is asked for."""

    def __init__(self):
        self.present = 1

    def __getattr__(self, name):
        LOG.append(name)
        raise AttributeError(name)


class Described:
    """A property that mutates state, a property named like a stored field, and a
    descriptor: none of them may run."""

    def __init__(self):
        self._counter = 0
        self.__dict__["shadowed"] = "stored"

    @property
    def next_id(self):
        hit("property next_id")
        self._counter += 1
        return self._counter

    @property
    def shadowed(self):
        hit("property shadowed")
        return "computed"


class Counting:
    """A non-data descriptor."""

    def __get__(self, obj, owner=None):
        hit("descriptor __get__")
        return 0


Described.counted = Counting()


class DictProperty:
    """A ``__dict__`` that is a property: it is never called, the object is shown by type."""

    @property
    def __dict__(self):
        hit("property __dict__")
        return {}


class Slotted:
    """Slots, one of them shadowed in a subclass by a property."""

    __slots__ = ("a", "b")

    def __init__(self):
        self.a = Touchy("in a slot")
        Slotted.b.__set__(self, 2)  # the slot itself (the subclass hides it behind a property)


class ShadowedSlot(Slotted):
    __slots__ = ()

    @property
    def b(self):
        hit("property over a slot")
        return -1


class Liar:
    """A lying ``__class__``: isinstance(liar, dict) is True."""

    def __init__(self):
        self.truth = "a Liar"

    @property
    def __class__(self):
        hit("__class__ property")
        return dict


class Meta(type):
    """A metaclass whose every method counts."""

    def __repr__(cls):
        hit("Meta.__repr__")
        return "Meta()"

    def __str__(cls):
        hit("Meta.__str__")
        return "Meta"

    def __getattribute__(cls, name):
        if name.startswith("__") and name.endswith("__"):  # the interpreter's own lookups
            return type.__getattribute__(cls, name)
        hit("Meta.__getattribute__")
        return type.__getattribute__(cls, name)

    def __getattr__(cls, name):
        hit("Meta.__getattr__")
        raise AttributeError(name)

    def __eq__(cls, other):
        hit("Meta.__eq__")
        return cls is other

    def __hash__(cls):
        hit("Meta.__hash__")
        return 1

    def __len__(cls):
        hit("Meta.__len__")
        return 0

    def __iter__(cls):
        hit("Meta.__iter__")
        return iter(())

    def __bool__(cls):
        hit("Meta.__bool__")
        return True

    def __instancecheck__(cls, obj):
        hit("Meta.__instancecheck__")
        return False

    def __subclasscheck__(cls, sub):
        hit("Meta.__subclasscheck__")
        return False


class WithMeta(metaclass=Meta):
    def __init__(self):
        self.field = "value"


class Finalized:
    """``__del__`` counts: a copy made by the recorder would be finalised."""

    def __init__(self):
        self.name = "original"

    def __del__(self):
        hit("__del__")


class Registry:
    """A registry that sorts itself lazily, like the Markdown library's ``util.Registry``:
    ``register`` marks it unsorted, then appends; iterating sorts it. Rendering it between
    those two lines (its ``__repr__`` iterates) leaves it marked sorted with an unsorted
    item, and it then iterates in the wrong order."""

    def __init__(self):
        self._data = {}
        self._priority = []
        self._is_sorted = False

    def register(self, item, name, priority):
        self._is_sorted = False
        self._priority.append((name, priority))
        self._data[name] = item

    def _sort(self):
        if not self._is_sorted:
            self._priority.sort(key=lambda entry: entry[1], reverse=True)
            self._is_sorted = True

    def __iter__(self):
        self._sort()
        return iter([self._data[name] for name, _ in self._priority])

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        return "<Registry({})>".format(list(self))


class Failure(Exception):
    """An exception with a counting text and a field."""

    def __init__(self, message, culprit):
        super().__init__(message)
        self.culprit = culprit

    def __str__(self):
        hit("Failure.__str__")
        return "Failure"

    def __repr__(self):
        hit("Failure.__repr__")
        return "Failure()"

    @property
    def args(self):
        hit("Failure.args property")
        return ()


class Zone(datetime.tzinfo):
    def utcoffset(self, dt):
        hit("tzinfo.utcoffset")
        return datetime.timedelta(0)

    def tzname(self, dt):
        hit("tzinfo.tzname")
        return "Z"

    def dst(self, dt):
        hit("tzinfo.dst")
        return datetime.timedelta(0)


class Money(decimal.Decimal):
    def __str__(self):
        hit("Money.__str__")
        return "money"

    __repr__ = __str__


class Shout(str):
    def __str__(self):
        hit("Shout.__str__")
        return "SHOUT"

    def __repr__(self):
        hit("Shout.__repr__")
        return "SHOUT"

    def __len__(self):
        hit("Shout.__len__")
        return 0


class Loud(int):
    def __repr__(self):
        hit("Loud.__repr__")
        return "loud"

    __str__ = __repr__

    def __index__(self):
        hit("Loud.__index__")
        return 0


class SneakyList(list):
    def __iter__(self):
        hit("SneakyList.__iter__")
        return iter(())

    def __len__(self):
        hit("SneakyList.__len__")
        return 0

    def __getitem__(self, index):
        hit("SneakyList.__getitem__")
        return None

    def __repr__(self):
        hit("SneakyList.__repr__")
        return "[]"


class SneakyDict(dict):
    def items(self):
        hit("SneakyDict.items")
        return []

    def keys(self):
        hit("SneakyDict.keys")
        return []

    def __iter__(self):
        hit("SneakyDict.__iter__")
        return iter(())

    def __getitem__(self, key):
        hit("SneakyDict.__getitem__")
        return None

    def __len__(self):
        hit("SneakyDict.__len__")
        return 0

    def __repr__(self):
        hit("SneakyDict.__repr__")
        return "{}"


class Member(enum.Enum):
    ONE = 1

    def __str__(self):
        hit("Member.__str__")
        return "member"

    def __repr__(self):
        hit("Member.__repr__")
        return "member"


class Hashed:
    """A set member: the program hashes it (inserting), the recorder must not compare it."""

    __hash__ = object.__hash__

    def __init__(self):
        self.tag = "in a set"

    def __eq__(self, other):
        hit("Hashed.__eq__")
        return self is other

    def __repr__(self):
        hit("Hashed.__repr__")
        return "Hashed()"


@dataclasses.dataclass(eq=False, repr=False)
class Record:
    touchy: object
    guarded: object


class Row(tuple):
    """A named-tuple-like class whose ``_fields`` come from the class."""

    _fields = ("left", "right")

    def __repr__(self):
        hit("Row.__repr__")
        return "Row()"


def module_getattr(name):
    LOG.append("module " + name)
    raise AttributeError(name)


plugin = types.ModuleType("plugin")
plugin.__getattr__ = module_getattr  # PEP 562: called for any missing attribute

touchy = Touchy("global")
guarded = Guarded()
logging_obj = Logging()
described = Described()
dict_property = DictProperty()
slotted = ShadowedSlot()
liar = Liar()
meta_instance = WithMeta()
finalized = Finalized()
money = Money("1.5")
shout = Shout("quiet")
loud = Loud(7)
sneaky_list = SneakyList([touchy, 1])
sneaky_dict = SneakyDict(key=touchy)
member = Member.ONE
hashed = {Hashed(), Hashed()}
record = Record(touchy, guarded)
row = Row((touchy, guarded))
aware = datetime.datetime(2024, 1, 2, tzinfo=Zone())
partial = functools.partial(print, touchy)
bound = Touchy.__init__.__get__(touchy)
queue = collections.deque([touchy, guarded])
nested = {"list": [touchy, (guarded, liar)], "set": frozenset([1, 2]), touchy.label: record}
kinds = [WithMeta, Meta, Touchy, plugin, sys]


def handle(item, registry, *rest, **options):
    """Arguments, locals and a return value that are all touchy."""
    local_copy = item
    pair = (item, registry)
    registry.register(item, "mid", 50)
    return local_copy, pair


def produce():
    for value in (touchy, guarded, liar):
        yield value


def fail(culprit):
    raise Failure("boom", culprit)


def main():
    registry = Registry()
    registry.register(touchy, "low", 10)
    handle(touchy, registry, guarded, liar, option=meta_instance)
    registry.register(guarded, "high", 90)
    for produced in produce():
        kept = produced
    try:
        fail(touchy)
    except Failure as caught:
        error = caught
    order = [name for name, _ in registry._priority]
    registry._sort()
    return order, [name for name, _ in registry._priority]


registered, resorted = main()
print("registry order before sorting:", registered)
print("registry order after sorting:", resorted)
print("property counter:", described._counter)
print("getattr log:", LOG)
print("calls:", sorted(CALLS.items()))
sys.stdout.flush()
