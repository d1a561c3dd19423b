"""Memo of container encodings, validated by identity, never by equality.

The recorder shows every visible variable at every step, and most variables do not change
from one step to the next: re-encoding an unchanged JSON-like document element by element at
each line is most of a recording's time (issue 8). CPython gives containers no version
number, so a memo must check that nothing changed; this one does it by identity only:

* An entry is stored for an exact ``list``, ``tuple`` or ``dict`` whose elements (keys and
  values, in order) are all *atoms* (exact ``int``, ``str``, ``float``, ``bool``, ``None``)
  or exact containers that have a valid entry themselves, and whose encoding met no limit
  that depends on where it was encoded (depth cut, cycle, exhausted item budget).
* The entry keeps the atoms (immutable, no finalizer: keeping them alive is invisible to the
  program), the ``id`` and the record text of each child container (never a reference to
  the mutable child), and the record text itself.
* A lookup re-reads the container's current items with the built-in methods, compares the
  atoms with ``operator.is_`` in C, and checks each child the same way, recursively, and
  that the child's current entry is the very one embedded in the parent's text. ``==`` is
  never used: it could run program code.

A hit is exact even when the address now belongs to a newer container: the same atoms and
the same children always encode to the same text (the memo is used only while no scrubber is
installed, and limits do not change during a recording). Limits are respected: an entry
records its height and item count and is used only where they fit; a container whose
encoding was cut (depth, cycle, item budget) or that holds anything but atoms and memoised
containers gets no entry. A cycle cannot hide behind a hit: the whole sub-tree is checked,
and a sub-tree that now reaches back to an ancestor has changed since its entry was made.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from typing import Any, Final

#: Entry fields (a plain tuple: built and read on the hot path).
_TAG, _LEN, _LAYOUT, _CHILD_LAYOUT, _ATOMS, _CHILD_IDS, _CHILD_RECORDS = 0, 1, 2, 3, 4, 5, 6
RECORD, TOTAL, HEIGHT = 7, 8, 9

#: Tags of the container kinds (their record texts differ).
LIST: Final = "l"
TUPLE: Final = "t"
DICT: Final = "d"

_ATOM_TYPES: Final = frozenset({int, str, float, bool, type(None)})
_is_atom_type = _ATOM_TYPES.__contains__


def is_atom(value: object) -> bool:
    """True for a value of :data:`_ATOM_TYPES`: immutable, without a finalizer, so a memo may
    keep it and compare by identity. Identity tests only: hashing the type of an arbitrary
    value could run its metaclass's ``__hash__``."""
    t = type(value)
    return t is int or t is str or t is float or t is bool or value is None


_is = operator.is_
_compress = itertools.compress

Entry = tuple[Any, ...]

#: What :meth:`ContainerMemo.lookup` answers when the container is to be encoded without
#: the memo's bookkeeping this time.
SKIP: Final = -1
#: Countdowns stored instead of an entry: a container is memoised the second time it is
#: seen (_SEEN), and after _SKIPS (it could not be memoised) or _CHURN_SKIPS (it changed)
#: more encodings without the memo.
_SEEN: Final = 0
_SKIPS: Final = 16
_CHURN_SKIPS: Final = 4


_ATOMS_ONLY: dict[int, tuple[tuple[bool, ...], tuple[bool, ...]]] = {}


def _atoms_only_layouts(size: int) -> tuple[tuple[bool, ...], tuple[bool, ...]]:
    """``(layout, child layout)`` of a container of ``size`` atoms, shared between entries."""
    layouts = _ATOMS_ONLY.get(size)
    if layouts is None:
        layouts = _ATOMS_ONLY[size] = ((True,) * size, (False,) * size)
    return layouts


class ContainerMemo:
    """id(container) -> entry; bounded (emptied when full), shared by all threads.

    Entries are immutable tuples, so a race between threads costs at most a rebuild.
    """

    def __init__(self, max_items: int, *, entries: int = 16_384, max_chars: int = 65_536) -> None:
        self._entries: dict[int, Entry | int] = {}  # an int: a countdown (see SKIP)
        self._max_items = max_items
        self._capacity = entries
        self._max_chars = max_chars

    def clear(self) -> None:
        self._entries.clear()

    def lookup(
        self, key: int, tag: str, n: int, flat: Sequence[Any], room: int, budget: int
    ) -> Entry | int | None:
        """The entry for container ``key`` if it still describes it exactly and fits;
        ``None``: encode it and :meth:`store` the result; :data:`SKIP`: encode it without
        the memo (first sight, or it changed or held something that cannot be memoised
        lately).

        ``flat`` is the container's current shown items (keys and values interleaved for a
        dict), ``n`` its current length, ``room`` the container levels still allowed below
        and including this one, ``budget`` the items the value may still show.
        """
        entries = self._entries
        entry = entries.get(key)
        if entry is None:  # first sight: most containers live for one step only
            if len(entries) >= self._capacity:
                entries.clear()
            entries[key] = _SEEN
            return SKIP
        if isinstance(entry, int):  # a countdown: encode without the memo for now
            if entry == _SEEN:
                return None
            entries[key] = entry - 1
            return SKIP
        if entry[HEIGHT] > room or entry[TOTAL] > budget:
            return None  # shown deeper or later in a value than when it was made
        if not self._fits(entry, tag, n, flat):
            # Changed since: containers that change often (a list updated at every line)
            # would pay for an entry at every step; try again a few encodings later.
            entries[key] = _CHURN_SKIPS
            return SKIP
        return entry

    def _fits(self, entry: Entry, tag: str, n: int, flat: Sequence[Any]) -> bool:
        if entry[_TAG] != tag or entry[_LEN] != n or len(entry[_LAYOUT]) != len(flat):
            return False
        child_ids = entry[_CHILD_IDS]
        if not child_ids:  # atoms only: one pass in C
            return all(map(_is, entry[_ATOMS], flat))
        if not all(map(_is, entry[_ATOMS], _compress(flat, entry[_LAYOUT]))):
            return False
        children = _compress(flat, entry[_CHILD_LAYOUT])
        for child, child_id, record in zip(children, child_ids, entry[_CHILD_RECORDS], strict=True):
            if id(child) != child_id or not self._child_fits(child, record):
                return False
        return True

    def _child_fits(self, child: Any, record: str) -> bool:
        """``child`` (an element of a memoised parent) still has the entry the parent embeds."""
        entry = self._entries.get(id(child))
        if type(entry) is not tuple or entry[RECORD] is not record:
            return False
        t = type(child)
        items = self._max_items
        # A slice, not the live list: one atomic snapshot even if another thread mutates it.
        if t is list:
            return self._fits(entry, LIST, len(child), child[:items])
        if t is tuple:
            return self._fits(entry, TUPLE, len(child), child[:items])
        if t is dict:
            pairs = itertools.islice(child.items(), items)
            return self._fits(entry, DICT, len(child), tuple(itertools.chain.from_iterable(pairs)))
        return False

    def store(
        self,
        key: int,
        tag: str,
        n: int,
        flat: Sequence[Any],
        count: int,
        misses: list[Any],
        record: str,
    ) -> None:
        """Remember ``record`` for container ``key`` if every element qualifies (else forget
        any older entry for that address).

        ``misses`` holds, in order, each element that did not come from the encoder's atom
        caches followed by the text it was encoded to: atoms not cached yet, containers,
        anything else. ``count`` is the number of items (pairs for a dict) shown here.
        """
        entries = self._entries
        child_ids: list[int] = []
        child_records: list[str] = []
        total = count
        height = 1
        for x, text in zip(misses[::2], misses[1::2], strict=True):
            t = type(x)
            if t is int or t is str or t is float or t is bool or x is None:
                continue
            child = entries.get(id(x)) if (t is list or t is tuple or t is dict) else None
            # The child's entry must be the very text embedded here (another thread may
            # have re-encoded the child since, from different content).
            if type(child) is not tuple or child[RECORD] is not text:
                self._give_up(key)
                return
            child_ids.append(id(x))
            child_records.append(child[RECORD])
            total += child[TOTAL]
            if child[HEIGHT] >= height:
                height = child[HEIGHT] + 1
        if len(record) > self._max_chars:
            self._give_up(key)
            return
        entry: Entry
        if not child_ids:  # atoms only (the common case): no layout to compute
            atoms_only = _atoms_only_layouts(len(flat))
            entry = (tag, n, *atoms_only, tuple(flat), (), (), record, total, height)
        else:
            # Every element is now known to be an atom or an exact container: hashing their
            # types (built-in classes) runs no program code.
            layout = tuple(map(_is_atom_type, map(type, flat)))
            entry = (
                tag,
                n,
                layout,
                tuple(map(operator.not_, layout)),
                tuple(_compress(flat, layout)),
                tuple(child_ids),
                tuple(child_records),
                record,
                total,
                height,
            )
        if len(entries) >= self._capacity:
            entries.clear()
        entries[key] = entry

    def _give_up(self, key: int) -> None:
        """No entry for ``key``; skip the memo's bookkeeping for its next few encodings
        (a container of objects would pay for it at every step, for nothing)."""
        entries = self._entries
        if len(entries) >= self._capacity:
            entries.clear()
        entries[key] = _SKIPS


class StructMemo:
    """id(object) -> the record of an object whose shown fields were all atoms or objects
    shown by reference, validated by identity like :class:`ContainerMemo`.

    An entry keeps the object's class, the object level and filter scope it was encoded at,
    its field names, and per field either the atom itself (immutable: keeping it alive is
    invisible to the program) or, for an object shown by reference, that object's ``id``
    and class (never the object: its reference text depends on nothing else). A lookup
    re-reads the fields and compares names with ``str`` equality and values by identity,
    so no program code runs and a hit is exact.
    """

    __slots__ = ("_capacity", "_entries")

    def __init__(self, entries: int = 16_384) -> None:
        self._entries: dict[int, tuple[Any, ...]] = {}
        self._capacity = entries

    def clear(self) -> None:
        self._entries.clear()

    def lookup(
        self, key: int, cls: type, level: int, scope: object, fields: Sequence[tuple[str, Any]]
    ) -> Any:
        """The stored record if object ``key`` still holds exactly the same fields, else None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] is not cls or entry[1] != level or entry[2] is not scope:
            return None
        names, checks = entry[3], entry[4]
        if len(fields) != len(names):
            return None
        for (name, value), stored_name, check in zip(fields, names, checks, strict=True):
            if name != stored_name:
                return None
            if type(check) is _Ref:
                if id(value) != check.ident or type(value) is not check.cls:
                    return None
            elif value is not check:
                return None
        return entry[5]

    def store(
        self,
        key: int,
        cls: type,
        level: int,
        scope: object,
        names: tuple[str, ...],
        checks: tuple[Any, ...],
        record: Any,
    ) -> None:
        entries = self._entries
        if len(entries) >= self._capacity:
            entries.clear()
        entries[key] = (cls, level, scope, names, checks, record)


class _Ref:
    """A field holding an object shown by reference: its id and class, not the object."""

    __slots__ = ("cls", "ident")

    def __init__(self, ident: int, cls: type) -> None:
        self.ident = ident
        self.cls = cls


def reference(value: object) -> _Ref:
    """The memo's check for a field shown by reference."""
    return _Ref(id(value), type(value))
