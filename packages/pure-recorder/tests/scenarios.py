"""Small programs with every control-flow shape the backends must agree on.

Each public function is one scenario: the equivalence tests record it with
both backends and compare what the recorder was told. Keep the bodies
deterministic (no addresses, no timing) and self-contained.
"""

from __future__ import annotations

import asyncio
import contextlib


def plain_calls() -> int:
    def add(a: int, b: int) -> int:
        c = a + b
        return c

    x = add(1, 2)
    y = add(x, 10)
    return y


def recursion() -> int:
    def fact(n: int) -> int:
        if n <= 1:
            return 1
        return n * fact(n - 1)

    return fact(6)


def caught_in_caller() -> str:
    def fail() -> None:
        raise KeyError("k")

    def caller() -> None:
        try:
            fail()
        except KeyError:
            pass
        fail()

    try:
        caller()
    except KeyError as exc:
        return repr(exc)
    return "unreachable"


def finally_reraise() -> int:
    def fin() -> None:
        try:
            raise ValueError("a")
        finally:
            x = 1  # noqa: F841

    def bare_raise() -> None:
        try:
            raise ValueError("b")
        except ValueError:
            y = 2  # noqa: F841
            raise

    def chained() -> None:
        try:
            raise ValueError("c")
        except ValueError as exc:
            raise TypeError("d") from exc

    count = 0
    for fn in (fin, bare_raise, chained):
        try:
            fn()
        except (ValueError, TypeError):
            count += 1
    return count


def with_statements() -> list[str]:
    log: list[str] = []

    @contextlib.contextmanager
    def managed(name: str):  # type: ignore[no-untyped-def]
        log.append("enter " + name)
        try:
            yield name
        finally:
            log.append("exit " + name)

    def body(fail: bool) -> None:
        with managed("m") as m:
            log.append(m)
            if fail:
                raise RuntimeError("in with")

    body(False)
    try:
        body(True)
    except RuntimeError:
        log.append("caught")
    with contextlib.suppress(ZeroDivisionError):
        log.append(str(1 / 0))
    return log


def generators() -> list[int]:
    def gen():  # type: ignore[no-untyped-def]
        x = yield 1
        try:
            y = yield x
        except ValueError:
            y = 5
        yield y

    g = gen()
    out = [next(g), g.send(3), g.throw(ValueError("v"))]
    g.close()
    return out


def generator_close_in_try() -> list[str]:
    log: list[str] = []

    def gen():  # type: ignore[no-untyped-def]
        try:
            yield 1
            yield 2
        finally:
            log.append("closed")

    g = gen()
    next(g)
    g.close()
    return log


def yield_from() -> list[int]:
    def sub():  # type: ignore[no-untyped-def]
        a = yield 1
        yield a
        return 7

    def deleg():  # type: ignore[no-untyped-def]
        r = yield from sub()
        yield r

    g = deleg()
    return [next(g), g.send(4), next(g)]


def throw_into_fresh_generator() -> str:
    def gen():  # type: ignore[no-untyped-def]
        yield 1

    g = gen()
    try:
        g.throw(TypeError("fresh"))
    except TypeError as exc:
        return str(exc)
    return "unreachable"


def throw_through_yield_from() -> list[object]:
    def inner():  # type: ignore[no-untyped-def]
        try:
            yield 1
        except KeyError:
            yield "inner caught"

    def outer():  # type: ignore[no-untyped-def]
        yield (yield from inner())

    g = outer()
    return [next(g), g.throw(KeyError("x"))]


def loops_on_one_line() -> int:
    i = 0
    while i < 5: i += 1  # noqa: E701  # fmt: skip
    total = 0
    for j in range(4): total += j  # noqa: E701  # fmt: skip
    return i + total


def loops() -> int:
    total = 0
    for i in range(6):
        if i % 2:
            continue
        if i > 4:
            break
        total += i
    n = 3
    while n:
        n -= 1
    else:
        total += 100
    return total


def comprehensions() -> tuple[list[int], dict[int, int], set[int], int]:
    squares = [x * x for x in range(4)]
    mapping = {x: x + 1 for x in range(3)}
    evens = {x for x in range(6) if x % 2 == 0}
    total = sum(x for x in range(5))
    return squares, mapping, evens, total


def exception_in_comprehension() -> str:
    try:
        return str([1 // x for x in (1, 0)])
    except ZeroDivisionError as exc:
        return str(exc)


def lambdas_and_closures() -> int:
    def make_adder(k: int):  # type: ignore[no-untyped-def]
        def add(v: int) -> int:
            return v + k

        return add

    inc = make_adder(1)
    double = lambda v: v * 2  # noqa: E731
    return double(inc(3))


def classes() -> str:
    class Point:
        def __init__(self, x: int, y: int) -> None:
            self.x = x
            self.y = y

        @property
        def norm1(self) -> int:
            return abs(self.x) + abs(self.y)

        def __repr__(self) -> str:
            return f"Point({self.x}, {self.y})"

    p = Point(1, -2)
    return f"{p!r} {p.norm1}"


def star_args(*args: int, key: int = 0, **kw: int) -> int:
    return sum(args) + key + sum(kw.values())


def call_star_args() -> int:
    return star_args(1, 2, key=3, extra=4)


def match_statement() -> list[str]:
    out = []
    for value in (0, [1, 2], {"k": 3}, "s"):
        match value:
            case 0:
                out.append("zero")
            case [a, b]:
                out.append(f"pair {a} {b}")
            case {"k": v}:
                out.append(f"k={v}")
            case _:
                out.append("other")
    return out


def async_program() -> list[int]:
    async def leaf(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("async")

    async def agen():  # type: ignore[no-untyped-def]
        for i in range(2):
            yield i
            await asyncio.sleep(0)

    async def main() -> list[int]:
        values = list(await asyncio.gather(leaf(1), leaf(2)))
        try:
            await failing()
        except ValueError:
            values.append(-1)
        async for item in agen():
            values.append(item)
        return values

    return asyncio.run(main())


def async_cancel() -> str:
    async def sleeper() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "cancelled"
        return "slept"

    async def main() -> str:
        task = asyncio.ensure_future(sleeper())
        await asyncio.sleep(0)
        task.cancel()
        return await task

    return asyncio.run(main())


def generator_expression_abandoned() -> int:
    def numbers():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        yield 3

    for n in numbers():
        if n == 2:
            break
    it = iter(numbers())
    first = next(it)
    del it
    return first


def nested_try() -> list[str]:
    out = []
    try:
        try:
            raise KeyError("inner")
        except KeyError:
            out.append("inner handled")
            raise ValueError("outer")  # noqa: B904
        finally:
            out.append("finally")
    except ValueError:
        out.append("outer handled")
    return out


def return_in_finally() -> int:
    def f() -> int:
        try:
            return 1
        finally:
            pass

    def g() -> int:
        for i in range(3):
            try:
                if i == 1:
                    return i
            finally:
                continue  # noqa: B012
        return -1

    return f() + g()


SCENARIOS = [
    plain_calls,
    recursion,
    caught_in_caller,
    finally_reraise,
    with_statements,
    generators,
    generator_close_in_try,
    yield_from,
    throw_into_fresh_generator,
    throw_through_yield_from,
    loops_on_one_line,
    loops,
    comprehensions,
    exception_in_comprehension,
    lambdas_and_closures,
    classes,
    call_star_args,
    match_statement,
    async_program,
    async_cancel,
    generator_expression_abandoned,
    nested_try,
    return_in_finally,
]


def own_trace_function() -> object:
    """The local trace function of this very frame (None when the frame is not traced)."""
    import sys

    return sys._getframe().f_trace
