"""One first-come, first-served lock per key (a ticket, a state item), for work on one key that must not
interleave within this process while work on other keys goes on.

    locks = KeyedLocks()
    async with locks.hold(ticket.number):   # callers on the same key take turns, in the order they came
        ...

A key's lock exists while someone holds or waits for it, so the map stays as small as the work in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

__all__ = ["KeyedLocks"]


class KeyedLocks:
    """A FIFO ``asyncio.Lock`` per key, made on first use and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}
        """Each key's lock and how many callers hold or wait for it."""

    def __len__(self) -> int:
        """Keys someone holds or waits for."""
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block; callers of one key get it in the order they asked."""
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
