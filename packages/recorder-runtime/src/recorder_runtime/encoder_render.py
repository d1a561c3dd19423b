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
DEFAULT: Final = 7  #: no ``__str__``/``__repr__`` other than object's: ``object.__repr__``
FLOAT: Final = 8  #: float (or subclass without its own text): ``float.__repr__``
BYTES: Final = 9  #: bytes without an own text: sliced, then ``bytes.__repr__``
BYTEARRAY: Final = 10  #: bytearray without an own text: sliced, then ``bytearray.__repr__``
COLLECTION: Final = 11  #: set, frozenset, deque without an own text: sliced when too long
CALL_STR: Final = 12  #: anything else: ``str(v)`` under the per-type time budget
TRUSTED: Final = 13  #: functions, classes, complex, range: C ``str`` of fixed-size data

_MOCK_MODULE: Final = "unittest.mock"
#: Built-in classes whose text is produced without program code, or boundedly. A tuple
#: searched by identity: hashing a class would run its metaclass's ``__hash__``.
_BOUNDED_PROVIDERS: Final[tuple[tuple[type, int], ...]] = (
    (object, DEFAULT),
    (float, FLOAT),
    (bytes, BYTES),
    (bytearray, BYTEARRAY),
    (set, COLLECTION),
    (frozenset, COLLECTION),
    (collections.deque, COLLECTION),
    (types.FunctionType, TRUSTED),
    (types.BuiltinFunctionType, TRUSTED),
    (type, TRUSTED),
    (complex, TRUSTED),
    (range, TRUSTED),
)

#: Integers up to this many bits (about 3,900 decimal digits) are rendered in decimal, like
#: the reference; larger ones in bounded hexadecimal, because the decimal conversion is
#: quadratic and refused beyond ``sys.get_int_max_str_digits()`` (4,300 by default).
DECIMAL_INT_MAX_BITS: Final = 13_000


def type_name(cls: type) -> str:
    """The class's ``__name__``, read without running a metaclass ``__getattribute__``."""
    name = _type_name(cls)
    return name if type(name) is str else "?"


def classify(cls: type) -> int:
    """Decide how instances of ``cls`` are rendered; one of the constants above.

    The order follows the reference recorder (§10.5: int, str, tuple, list, dict before the
    textual fallback), so ``IntEnum`` members are ``Int`` and namedtuples are ``Tuple``.
    ``issubclass`` with a built-in class as second argument never consults a user
    ``__subclasscheck__``: CPython walks the real ``tp_mro``.
    """
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
    provider = _text_provider(mro)
    for klass, shape in _BOUNDED_PROVIDERS:
        if provider is klass:
            return shape
    return CALL_STR


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


def _text_provider(mro: tuple[type, ...]) -> type | None:
    """The class whose ``__str__`` (or, when that is object's, ``__repr__``) ``str()`` runs."""
    for name in ("__str__", "__repr__"):
        for klass in mro:
            if name in _type_dict(klass):
                if klass is not object or name == "__repr__":
                    return klass
                break
    return None


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
    long ones render their first ``items`` elements the same way. Element reprs are program
    code, so the caller times this call.
    """
    base: Any = _collection_base(type(value))
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


def _collection_base(cls: type) -> type:
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
