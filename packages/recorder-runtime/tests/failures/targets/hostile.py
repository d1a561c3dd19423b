# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""C1-C13: hostile values held in locals while lines execute.

The program itself never calls repr/len/iter/bool/hash on them; whatever the recorder does
must not change what the program prints (mock_calls, return values) and must not hang
(with argv "forever", ``Forever.__repr__`` never returns: a recorder that calls it hangs,
and the test times out).
"""

import sys
from unittest import mock

if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(4300)


class BadRepr:
    def __repr__(self):
        raise ValueError("repr refused")

    def __str__(self):
        raise ValueError("str refused")


class Forever:
    def __repr__(self):
        while True:
            pass


class LyingClass:
    @property
    def __class__(self):
        return dict


class NoAttrs:
    def __getattribute__(self, name):
        raise RuntimeError("no attribute access: " + name)


class Meta(type):
    def __getattribute__(cls, name):
        if name in ("__new__", "__init__", "__call__", "__mro__", "__dict__"):
            return type.__getattribute__(cls, name)
        raise RuntimeError("metaclass refuses " + name)


class WithMeta(metaclass=Meta):
    pass


class LyingLen:
    def __len__(self):
        return 10**12

    def __iter__(self):
        raise RuntimeError("no iteration")


class NumpyLike:
    def __bool__(self):
        raise ValueError("truth value is ambiguous")

    def __eq__(self, other):
        raise ValueError("no ==")

    def __hash__(self):
        raise TypeError("unhashable")


class ListSub(list):
    def __iter__(self):
        raise RuntimeError("subclass __iter__ must not be called")

    def __len__(self):
        raise RuntimeError("subclass __len__ must not be called")


# Built by code with a synthetic file name, which the recorder does not record: the point is
# the deep VALUE in a recorded frame, not 10^5 recorded loop iterations.
_builder = {}
exec(compile(
    "def make_deep(n):\n"
    "    root = cur = []\n"
    "    for _ in range(n):\n"
    "        nxt = []\n"
    "        cur.append(nxt)\n"
    "        cur = nxt\n"
    "    return root\n",
    "<string>", "exec"), _builder)
make_deep = _builder["make_deep"]


def keep(value):
    return value


def no_redaction_writes():
    token = "visible-token-value"
    return token


def scope():
    m = mock.MagicMock()
    bad = BadRepr()
    forever = Forever() if "forever" in sys.argv else None
    liar = LyingClass()
    noattrs = NoAttrs()
    with_meta = WithMeta()
    lying_len = LyingLen()
    numpy_like = NumpyLike()
    list_sub = ListSub([1, 2, 3])
    cyc = []
    cyc.append(cyc)
    d = {}
    d["self"] = d
    deep = make_deep(10**5)
    huge_int = 10**5000
    neg_huge = -(10**5000)
    huge_str = "x" * (20 * 10**6)
    huge_bytes = b"y" * (20 * 10**6)
    surrogate = "caf\udcff"
    nan = float("nan")
    inf = float("inf")
    ninf = float("-inf")
    odd_keys = {(1, 2): "tuple key", 3: "int key", None: "none key", surrogate: "sur"}
    big_list = list(range(10**6))
    big_dict = dict.fromkeys(range(10**5), 0)
    for i in range(3):
        keep(i)
    return m, (bad, forever, liar, noattrs, with_meta, lying_len, numpy_like, list_sub, cyc, d,
               deep, huge_int, neg_huge, huge_str, huge_bytes, surrogate, nan, inf, ninf,
               odd_keys, big_list, big_dict)


m, values = scope()
print("mock_calls", m.mock_calls)
print("method_calls", m.method_calls)
print("token unchanged", no_redaction_writes() == "visible-token-value")
print("values", len(values))
