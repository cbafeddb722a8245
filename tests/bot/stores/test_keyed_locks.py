"""``KeyedLocks``: callers of one key take turns in the order they came; other keys do not wait; nothing stays."""

from __future__ import annotations

import asyncio

import pytest

from bot.stores.keyed_locks import KeyedLocks


async def test_callers_of_one_key_take_turns_in_the_order_they_came() -> None:
    locks = KeyedLocks()
    inside: list[int] = []
    order: list[int] = []

    async def work(n: int) -> None:
        async with locks.hold("ticket-1"):
            inside.append(n)
            assert len(inside) == 1, "two callers of one key at once"
            await asyncio.sleep(0)  # let the others try to get in
            order.append(n)
            inside.remove(n)

    await asyncio.gather(*(work(n) for n in range(20)))
    assert order == list(range(20))
    assert len(locks) == 0, "no lock is kept once nobody holds or waits for it"


async def test_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    async with locks.hold("a"):
        async with asyncio.timeout(5):  # a hang is the bug
            async with locks.hold("b"):
                assert len(locks) == 2


async def test_a_failing_holder_releases_its_key() -> None:
    locks = KeyedLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("a"):
            raise RuntimeError("the work failed")
    assert len(locks) == 0
    async with asyncio.timeout(5):
        async with locks.hold("a"):
            pass


async def test_a_caller_cancelled_while_waiting_leaves_the_others_their_turn() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with locks.hold("a"):
            await release.wait()
            order.append("first")

    async def waiter(name: str) -> None:
        async with locks.hold("a"):
            order.append(name)

    tasks = [asyncio.create_task(first())]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(waiter(name)) for name in ("second", "third")]
    await asyncio.sleep(0)
    tasks[1].cancel()
    release.set()
    async with asyncio.timeout(5):
        await asyncio.gather(*tasks, return_exceptions=True)
    assert order == ["first", "third"]
    assert len(locks) == 0
