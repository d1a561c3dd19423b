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
_is = operator.is_
_compress = itertools.compress

Entry = tuple[Any, ...]


class ContainerMemo:
    """id(container) -> entry; bounded (emptied when full), shared by all threads.

    Entries are immutable tuples, so a race between threads costs at most a rebuild.
    """

    def __init__(self, max_items: int, *, entries: int = 16_384, max_chars: int = 65_536) -> None:
        self._entries: dict[int, Entry] = {}
        self._max_items = max_items
        self._capacity = entries
        self._max_chars = max_chars

    def clear(self) -> None:
        self._entries.clear()

    def lookup(
        self, key: int, tag: str, n: int, flat: Sequence[Any], room: int, budget: int
    ) -> Entry | None:
        """The entry for container ``key`` if it still describes it exactly and fits.

        ``flat`` is the container's current shown items (keys and values interleaved for a
        dict), ``n`` its current length, ``room`` the container levels still allowed below
        and including this one, ``budget`` the items the value may still show.
        """
        entry = self._entries.get(key)
        if (
            entry is None
            or entry[HEIGHT] > room
            or entry[TOTAL] > budget
            or not self._fits(entry, tag, n, flat)
        ):
            return None
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
        if entry is None or entry[RECORD] is not record:
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
            if child is None or child[RECORD] is not text:
                entries.pop(key, None)
                return
            child_ids.append(id(x))
            child_records.append(child[RECORD])
            total += child[TOTAL]
            if child[HEIGHT] >= height:
                height = child[HEIGHT] + 1
        if len(record) > self._max_chars:
            entries.pop(key, None)
            return
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
