"""Safe, bounded text for arbitrary objects, and the per-type rendering decision.

The value encoder must never run code of the recorded program that it does not have to, and
never let a value's size decide how long a step takes. This module holds the two pieces of that
which do not depend on the JSON output:

* :func:`classify` looks at a type ONCE (the encoder caches the answer) and decides how its
  instances are rendered. It reads only the real type's C-level data (``__mro__`` and each
  class's own ``__dict__`` through ``type``'s descriptors), so a lying ``__class__``, a raising
  ``__getattribute__`` or a hostile metaclass cannot run (reliability facts V2, V3).
* Bounded renderings of the built-in types whose ``str()`` grows with their size (bytes,
  bytearray, set, frozenset, deque) and of integers too large for a decimal rendering
  (fact V8): the value is sliced BEFORE it is converted to text.

Everything here uses only methods looked up on the built-in types (``bytes.__len__(v)``,
``set.__iter__(v)``…), never on the object, so a subclass's overrides are never called.
"""

from __future__ import annotations

import collections
import itertools
import sys
import types
from typing import Any, Final

# Type-level facts read through ``type``'s own descriptors: a metaclass ``__getattribute__``
# can make ``cls.__mro__`` or ``cls.__qualname__`` raise, these cannot (fact V3).
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_type_name = type.__dict__["__name__"].__get__

#: How instances of a type are rendered (the encoder maps each to a handler).
INT: Final = 1  #: int subclass (IntEnum, IntFlag…): ``Int`` of the plain int value
STR: Final = 2  #: str subclass: ``String`` of the plain text
TUPLE: Final = 3  #: tuple subclass (namedtuple…): ``Tuple``
LIST: Final = 4  #: list subclass: ``Sequence`` (List)
DICT: Final = 5  #: dict subclass (OrderedDict, defaultdict, Counter…): ``Sequence`` (Dict)
MOCK: Final = 6  #: anything from ``unittest.mock``: identity only, never touched (fact V5)
DEFAULT: Final = 7  #: any other object: a ``Struct`` of its fields (encoder_fields)
FLOAT: Final = 8  #: float (or subclass without its own text): ``float.__repr__``
BYTES: Final = 9  #: bytes without an own text: sliced, then ``bytes.__repr__``
BYTEARRAY: Final = 10  #: bytearray without an own text: sliced, then ``bytearray.__repr__``
COLLECTION: Final = 11  #: set, frozenset, deque: text when all items are atoms, else a Sequence
ALLOWED: Final = 12  #: an allowlisted standard-library type whose text runs no program code
TRUSTED: Final = 13  #: functions, builtins, complex, range: C ``repr`` of fixed-size data
CLASS: Final = 14  #: a class (any metaclass): ``type.__repr__``, never the metaclass's
MODULE: Final = 15  #: a module: ``<module 'name'>`` built from its own ``__dict__``
ENUM: Final = 16  #: an ``enum.Enum`` member: ``Class.NAME`` from its stored ``_name_``
EXCEPTION: Final = 17  #: an exception: a ``Struct`` of its ``args`` and its own fields
METHOD: Final = 18  #: a bound method: ``<bound method Qual>`` (its repr would run ``repr(self)``)

_MOCK_MODULE: Final = "unittest.mock"
#: Built-in bases whose instances are rendered by the base's own C code (a subclass's
#: overrides never run). A tuple searched by identity: hashing a class would run its
#: metaclass's ``__hash__``.
_BOUNDED_BASES: Final[tuple[tuple[type, int], ...]] = (
    (float, FLOAT),
    (bytes, BYTES),
    (bytearray, BYTEARRAY),
    (set, COLLECTION),
    (frozenset, COLLECTION),
    (collections.deque, COLLECTION),
    (types.FunctionType, TRUSTED),
    (types.BuiltinFunctionType, TRUSTED),
    (complex, TRUSTED),
    (range, TRUSTED),
)

#: The allowlist: standard-library types (matched EXACTLY, never subclasses) whose text is
#: produced by their own standard-library code without running program code or changing
#: state. Keyed by ``(module, qualname)`` and confirmed by identity against the module that
#: is already imported, so the recorder never imports one of them itself.
ALLOWLIST: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
        ("uuid", "UUID"),
        ("pathlib", "PurePath"),
        ("pathlib", "PurePosixPath"),
        ("pathlib", "PureWindowsPath"),
        ("pathlib", "Path"),
        ("pathlib", "PosixPath"),
        ("pathlib", "WindowsPath"),
        # Python 3.13 defines the concrete path classes in pathlib._local
        ("pathlib._local", "PurePath"),
        ("pathlib._local", "PurePosixPath"),
        ("pathlib._local", "PureWindowsPath"),
        ("pathlib._local", "Path"),
        ("pathlib._local", "PosixPath"),
        ("pathlib._local", "WindowsPath"),
        ("re", "Pattern"),
        ("re", "Match"),
        ("ipaddress", "IPv4Address"),
        ("ipaddress", "IPv6Address"),
        ("ipaddress", "IPv4Network"),
        ("ipaddress", "IPv6Network"),
        ("zoneinfo", "ZoneInfo"),
    }
)
#: Allowlisted types that hold a ``tzinfo``: their text calls ``tzinfo.utcoffset()``, which
#: is program code unless the tzinfo is itself a standard one (see :func:`safe_tzinfo`).
TZ_AWARE: Final[frozenset[tuple[str, str]]] = frozenset(
    {("datetime", "datetime"), ("datetime", "time")}
)

_type_module = type.__dict__["__module__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__


def type_module(cls: type) -> object:
    """The class's ``__module__`` (C-level read; may be any object a class body stored)."""
    try:
        return _type_module(cls)
    except Exception:
        return None


def type_name(cls: type) -> str:
    """The class's ``__name__``, read without running a metaclass ``__getattribute__``."""
    name = _type_name(cls)
    return name if type(name) is str else "?"


def type_qualname(cls: type) -> str:
    """The class's ``__qualname__`` (C-level read; ``?`` when it is not a str)."""
    try:
        name = _type_qualname(cls)
    except Exception:
        return type_name(cls)
    return name if type(name) is str else type_name(cls)


def classify(cls: type) -> int:
    """Decide how instances of ``cls`` are rendered; one of the constants above.

    Nothing here, nor in the handler chosen, runs program code (ADR 0016): classes are shown
    by ``type.__repr__``, built-in containers and their subclasses through the built-in
    methods, allowlisted standard-library types by their own text, and every other object
    as a ``Struct`` of its fields. ``issubclass`` with a built-in class as second argument
    never consults a user ``__subclasscheck__``: CPython walks the real ``tp_mro``.
    """
    if issubclass(cls, type):
        return CLASS
    if issubclass(cls, int):
        return INT
    if issubclass(cls, str):
        return STR
    if issubclass(cls, tuple):
        return TUPLE
    if issubclass(cls, list):
        return LIST
    if issubclass(cls, dict):
        return DICT
    mro = _type_mro(cls)
    if _is_mock(mro):
        return MOCK
    if issubclass(cls, BaseException):
        return EXCEPTION
    if issubclass(cls, types.ModuleType):
        return MODULE
    if cls is types.MethodType:
        return METHOD
    if _is_enum(mro):
        return ENUM
    if _is_allowed(cls):
        return ALLOWED
    for base, shape in _BOUNDED_BASES:
        if issubclass(cls, base):
            return shape
    return DEFAULT


def _is_allowed(cls: type) -> bool:
    """True when ``cls`` is exactly one of the :data:`ALLOWLIST` types."""
    try:
        key = (_type_module(cls), _type_qualname(cls))
    except Exception:
        return False
    if type(key[0]) is not str or type(key[1]) is not str or key not in ALLOWLIST:
        return False
    module = sys.modules.get(key[0])
    if module is None:
        return False
    return _module_dict(module).get(key[1]) is cls


def _is_enum(mro: tuple[type, ...]) -> bool:
    """True when ``enum.Enum`` (already imported by the program) is in the MRO."""
    module = sys.modules.get("enum")
    if module is None:
        return False
    enum_class = _module_dict(module).get("Enum")
    return any(klass is enum_class for klass in mro)


def _module_dict(module: object) -> dict[str, Any]:
    """A module's own namespace, read with the C getter (no module ``__getattr__``)."""
    getter: Any = _MODULE_DICT
    namespace = getter.__get__(module)
    return namespace if type(namespace) is dict else {}


_MODULE_DICT: Final = vars(types.ModuleType)["__dict__"]


def safe_tzinfo(tzinfo: object) -> bool:
    """True when rendering a datetime with this ``tzinfo`` runs no program code."""
    if tzinfo is None or type(tzinfo) is _timezone_type():
        return True
    zoneinfo = sys.modules.get("zoneinfo")
    return zoneinfo is not None and type(tzinfo) is _module_dict(zoneinfo).get("ZoneInfo")


def _timezone_type() -> object:
    module = sys.modules.get("datetime")
    return None if module is None else _module_dict(module).get("timezone")


def module_text(module: object) -> str:
    """``<module 'name'>`` or ``<module 'name' from 'file'>``, from the module's own dict.

    ``repr(module)`` goes through ``importlib``, the module's loader and spec, which a
    program may replace; the two entries read here are plain dict reads.
    """
    namespace = _module_dict(module)
    name = namespace.get("__name__")
    name = name if type(name) is str else "?"
    file = namespace.get("__file__")
    if type(file) is str:
        return f"<module {name!r} from {file!r}>"
    return f"<module {name!r}>"


def enum_text(member: object, instance_dict: dict[str, Any] | None) -> str:
    """``Class.NAME`` of an enum member, from its stored ``_name_`` (no ``__str__`` runs)."""
    name = instance_dict.get("_name_") if instance_dict is not None else None
    cls_name = type_name(type(member))
    return f"{cls_name}.{name}" if type(name) is str else f"<{cls_name} member>"


def method_text(method: object) -> str:
    """``<bound method Qual>``: a bound method's repr would run ``repr(self)``."""
    func = types.MethodType.__dict__["__func__"].__get__(method)
    if type(func) is types.FunctionType:
        qualname = types.FunctionType.__dict__["__qualname__"].__get__(func)
        if type(qualname) is str:
            return f"<bound method {qualname}>"
    return "<bound method>"


#: Integers up to this many bits (about 3,900 decimal digits) are rendered in decimal, like
#: the reference; larger ones in bounded hexadecimal, because the decimal conversion is
#: quadratic and refused beyond ``sys.get_int_max_str_digits()`` (4,300 by default).
DECIMAL_INT_MAX_BITS: Final = 13_000


def _is_mock(mro: tuple[type, ...]) -> bool:
    """True when a class of the MRO comes from ``unittest.mock``.

    ``str()`` of a mock calls its configurable ``__str__`` and is recorded in
    ``mock_calls``; the test the user wrote would then see a call the program never made.
    """
    for klass in mro:
        module = _type_dict(klass).get("__module__")
        if type(module) is str and module == _MOCK_MODULE:
            return True
    return False


def mock_text(value: object) -> str:
    """``<MagicMock id='…'>``: the shape of a mock's own repr, built without touching it."""
    return f"<{type_name(type(value))} id='{id(value)}'>"


def cut(text: str, cap: int, what: str) -> str:
    """``text`` cut to ``cap`` characters plus a marker naming the original size ``what``."""
    return f"{str.__getitem__(text, slice(0, cap))}…<truncated: {what}>"


def bytes_text(value: bytes, cap: int) -> str:
    """``str(value)`` of bytes (or a subclass), at most ``cap`` characters (plus marker).

    Only the first ``cap`` bytes are converted. ``bytes.__repr__`` rather than ``str()``:
    under ``python -b`` ``str(bytes)`` emits a BytesWarning on the program's stderr.
    """
    size = bytes.__len__(value)
    head = value if size <= cap else bytes.__getitem__(value, slice(0, cap))
    text: str = bytes.__repr__(head)
    if size <= cap and len(text) <= cap:
        return text
    return cut(text, cap, f"{size} bytes")


def bytearray_text(value: bytearray, cap: int) -> str:
    """Like :func:`bytes_text` for bytearray (its repr names the type: ``bytearray(b'…')``)."""
    size = bytearray.__len__(value)
    head = value if size <= cap else bytearray.__getitem__(value, slice(0, cap))
    text: str = bytearray.__repr__(head)
    if size <= cap and len(text) <= cap:
        return text
    return cut(text, cap, f"{size} bytes")


def collection_text(value: object, items: int, cap: int) -> str:
    """``str(value)`` of a set, frozenset or deque: at most ``items`` elements rendered and
    ``cap`` characters kept (plus a marker holding the true size).

    Short collections use the built-in repr itself (identical to what the reference shows);
    long ones render their first ``items`` elements the same way. The caller has checked that
    the elements are plain values, whose reprs run no program code.
    """
    base: Any = collection_base(type(value))
    size: int = base.__len__(value)
    if size <= items:
        text: str = base.__repr__(value)
        return text if len(text) <= cap else cut(text, cap, f"{len(text)} chars")
    # list(islice(...)) runs entirely in C: no program code can mutate the collection mid-way.
    head = list(itertools.islice(base.__iter__(value), items))
    body = ", ".join([repr(item) for item in head])
    if len(body) > cap:
        body = str.__getitem__(body, slice(0, cap))
    more = f"…<truncated: {size} items>"
    name = type_name(type(value))
    if base is set and name == "set":
        return f"{{{body}{more}}}"
    if base is set or base is frozenset:
        return f"{name}({{{body}{more}}})"
    return f"{name}([{body}{more}])"


def collection_base(cls: type) -> type:
    """The built-in collection class ``cls`` derives from (set, frozenset or deque)."""
    if issubclass(cls, set):
        return set
    if issubclass(cls, frozenset):
        return frozenset
    return collections.deque


def big_int_text(value: int, cap: int) -> str:
    """Text of an int outside i64 that never raises and costs O(cap), at most ``cap``
    characters plus a marker.

    Decimal (``str(v)``, as the reference writes) up to :data:`DECIMAL_INT_MAX_BITS`;
    beyond, the leading hex digits and the size: ``0x1f3a…<int with 16610 bits>``.
    """
    bits = int.bit_length(value)
    if bits <= DECIMAL_INT_MAX_BITS:
        try:
            text = int.__repr__(value)
        except ValueError:
            pass  # the program lowered sys.set_int_max_str_digits(): fall through to hex
        else:
            return text if len(text) <= cap else cut(text, cap, f"int with {len(text)} digits")
    negative = int.__lt__(value, 0)
    magnitude = int.__neg__(value) if negative else value
    text = f"{'-' if negative else ''}0x"
    digits = (bits + 3) // 4
    room = max(cap - len(text), 1)
    if digits <= room:
        return f"{text}{magnitude:x}"
    head = magnitude >> ((digits - room) * 4)
    return f"{text}{head:x}…<int with {bits} bits>"
