"""The ticket outbox on a real SQLite file (and its claim race on every store): entries written with their
tickets, one claimant per due entry among several processes' drainers, back-off after a failure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from botbuilder.core import BotAdapter, Storage

from bot.escalation.outbox import Outbox, PostOutcome, retry_after
from bot.escalation.store import StorageTicketStore
from bot.escalation.store_keys import outbox_key
from bot.escalation.tickets import Person, Ticket
from bot.stores.base import honours_create_only
from bot.stores.sqlite import SqliteStorage
from tests.bot.conftest import Backend

NO_ADAPTER = cast(BotAdapter, None)
"""The outbox hands the adapter to its post and tell functions only; these do not use it."""


def build(number: int) -> Ticket:
    return Ticket(number=number, user=Person("29:u", "U"), conversation={"conversation": {"id": "a:1"}},
                  locale="sv-SE", questions=("q",))


def of_user(user: str) -> Callable[[int], Ticket]:
    def build_for(number: int) -> Ticket:
        return Ticket(number=number, user=Person(user, "U"), conversation={"conversation": {"id": f"a:{user}"}},
                      locale="sv-SE", questions=("q",))
    return build_for


@pytest.fixture
async def storages(tmp_path: Path) -> AsyncIterator[list[SqliteStorage]]:
    """Two stores on one file, as two processes have them."""
    stores = [SqliteStorage(tmp_path / "state.db") for _ in range(2)]
    yield stores
    for store in stores:
        store.close()


async def due_now(storage: Storage, number: int) -> None:
    """The entry's creator is gone (its claim ran out): any drainer may take it."""
    entry = (await storage.read([outbox_key(number)]))[outbox_key(number)]
    entry["claimed_until"] = 0.0
    await storage.write({outbox_key(number): entry})


async def test_a_ticket_is_created_with_its_outbox_entry_claimed_by_its_creator(storages: list[SqliteStorage]) -> None:
    ticket = await StorageTicketStore(storages[0], outbox=True).create(build)
    entry = (await storages[1].read([outbox_key(ticket.number)]))[outbox_key(ticket.number)]
    assert entry["ticket"] == ticket.number and entry["attempts"] == 0 and not entry["told"]
    assert entry["claimed_until"] > time.time()
    other = await StorageTicketStore(storages[1]).create(of_user("29:v"))
    assert await storages[0].read([outbox_key(other.number)]) == {}  # a store without outbox writes none


async def test_a_failed_post_waits_its_back_off_then_is_tried_again(storages: list[SqliteStorage]) -> None:
    ticket = await StorageTicketStore(storages[0], outbox=True).create(build)
    await due_now(storages[0], ticket.number)
    outcomes = [PostOutcome.FAILED, PostOutcome.POSTED]
    tries: list[float] = []

    async def post(adapter: BotAdapter, t: Ticket) -> PostOutcome:
        tries.append(time.time())
        return outcomes.pop(0)

    async def tell(adapter: BotAdapter, t: Ticket) -> bool:
        return True

    outbox = Outbox(storages[1], StorageTicketStore(storages[1]), post, tell)
    assert await outbox.drain(NO_ADAPTER) == 1
    entry: dict[str, Any] = (await storages[0].read([outbox_key(ticket.number)]))[outbox_key(ticket.number)]
    assert entry["attempts"] == 1 and entry["claimed_until"] == 0.0
    assert entry["due"] >= tries[0] + retry_after(1) - 0.5
    assert await outbox.drain(NO_ADAPTER) == 0  # not due yet
    await due_now(storages[0], ticket.number)
    entry = (await storages[0].read([outbox_key(ticket.number)]))[outbox_key(ticket.number)]
    entry["due"] = 0.0
    await storages[0].write({outbox_key(ticket.number): entry})
    assert await outbox.drain(NO_ADAPTER) == 1
    assert len(tries) == 2 and await storages[0].read([outbox_key(ticket.number)]) == {}


def test_the_back_off_doubles_up_to_its_cap() -> None:
    waits = [retry_after(n) for n in range(1, 12)]
    assert waits == sorted(waits) and waits[0] < waits[1] < waits[2]
    assert max(waits) == waits[-1] == retry_after(100)


class CountingReads(SqliteStorage):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.outbox_reads = 0

    async def read(self, keys: Any) -> dict[str, Any]:
        wanted = list(keys or ())
        self.outbox_reads += sum("/outbox/" in k for k in wanted)
        return await super().read(wanted)


async def test_a_drainer_stops_reading_the_entries_of_posted_tickets(storages: list[SqliteStorage]) -> None:
    made = StorageTicketStore(storages[0], outbox=True)
    for n in range(3):
        await made.create(of_user(f"29:{n}"))
    await storages[0].delete([outbox_key(1), outbox_key(2)])  # posted; ticket 3 still waits for its claim

    async def post(adapter: BotAdapter, t: Ticket) -> PostOutcome:
        raise AssertionError("ticket 3 is still claimed by its creator")

    async def tell(adapter: BotAdapter, t: Ticket) -> bool:
        raise AssertionError("nobody is told")

    counting = CountingReads(storages[0].path)
    outbox = Outbox(counting, StorageTicketStore(counting), post, tell)
    for _ in range(2):
        assert await outbox.drain(NO_ADAPTER) == 0
    counting.outbox_reads = 0
    assert await outbox.drain(NO_ADAPTER) == 0
    assert counting.outbox_reads == 1  # ticket 3's entry only
    counting.close()


class EveryoneReadsFirst(Storage):  # type: ignore[misc]  # botbuilder ships no type information
    """One instance's client of a shared store (any backend) whose first outbox read returns only once every
    instance has read: they all saw the same due entry before any of them claims it."""

    def __init__(self, inner: Storage, everyone_read: asyncio.Barrier) -> None:
        self.inner, self.everyone_read, self.waited = inner, everyone_read, False
        self.honours_create_only = honours_create_only(inner)

    async def read(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = await self.inner.read(keys)
        if not self.waited and any("/outbox/" in k for k in keys):
            self.waited = True
            await asyncio.wait_for(self.everyone_read.wait(), 10)
        return found

    async def write(self, changes: dict[str, Any]) -> None:
        await self.inner.write(changes)

    async def delete(self, keys: list[str]) -> None:
        await self.inner.delete(keys)


async def test_drainers_of_two_instances_post_a_due_card_once_on_every_store(backend: Backend) -> None:
    """The claim's e-tag settles the race on SQLite, Redis and Blob alike: one post, entry gone."""
    if backend.name == "memory":
        pytest.skip("memory:// belongs to one process: no two instances share it")
    creator = backend.make()
    ticket = await StorageTicketStore(creator, outbox=True).create(build)
    await due_now(creator, ticket.number)
    posted: list[int] = []

    async def post(adapter: BotAdapter, t: Ticket) -> PostOutcome:
        posted.append(t.number)
        return PostOutcome.POSTED

    async def tell(adapter: BotAdapter, t: Ticket) -> bool:
        raise AssertionError("nobody is told about a card that was posted")

    everyone_read = asyncio.Barrier(2)
    racing = [EveryoneReadsFirst(backend.make(), everyone_read) for _ in range(2)]
    outboxes = [Outbox(s, StorageTicketStore(s), post, tell) for s in racing]
    attempted = await asyncio.gather(*(o.drain(NO_ADAPTER) for o in outboxes))
    assert posted == [ticket.number] and sorted(attempted) == [0, 1]
    assert await creator.read([outbox_key(ticket.number)]) == {}
    assert await asyncio.gather(*(o.drain(NO_ADAPTER) for o in outboxes)) == [0, 0]
