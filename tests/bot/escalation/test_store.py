"""The ticket store on a real SQLite file: numbers, indexes and optimistic concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import MemoryStorage, Storage

from bot.escalation.store import MAX_BATCH, StorageTicketStore
from bot.escalation.store_keys import COUNTER_KEY, OPEN_KEY, conversation_key, ticket_key, user_key
from bot.escalation.tickets import (
    Line,
    Person,
    Role,
    Ticket,
    TicketState,
    TicketStillOpen,
    TicketTaken,
)
from bot.stores.base import honours_create_only
from bot.stores.sqlite import SqliteStorage
from tests.bot.conftest import Backend

ANNA = Person("29:anna", "Anna")
BO = Person("29:bo", "Bo")


def draft(user: str = "29:user", conversation: str = "a:1") -> Any:
    def build(number: int) -> Ticket:
        return Ticket(number=number, user=Person(user, user), conversation={"conversation": {"id": conversation}},
                      locale="en-US", questions=("q",))
    return build


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "state.db")
    yield store
    store.close()


async def test_numbers_are_unique_under_concurrent_creation(storage: SqliteStorage) -> None:
    store = StorageTicketStore(storage)
    made = await asyncio.gather(*(store.create(draft(f"29:u{n}", f"a:{n}")) for n in range(20)))
    assert sorted(t.number for t in made) == list(range(1, 21))
    assert [t.number for t in await store.open_tickets()] == sorted(t.number for t in made)


async def test_a_user_with_an_open_ticket_gets_it_back_not_a_second_one(storage: SqliteStorage) -> None:
    store = StorageTicketStore(storage)
    first = await store.create(draft())
    with pytest.raises(TicketStillOpen) as refused:
        await store.create(draft(conversation="a:other-chat"))
    assert refused.value.ticket.number == first.number
    await store.change(first.number, lambda t: t.cancel())
    assert (await store.create(draft())).number == 2


async def test_indexes_follow_the_state(storage: SqliteStorage) -> None:
    store = StorageTicketStore(storage)
    ticket = await store.create(draft())
    assert await store.open_for_user("29:user") == ticket
    assert await store.open_in_conversation("a:1") == ticket
    await store.change(ticket.number, lambda t: t.with_card("19:c;messageid=9", "9", "19:c"))
    assert (await store.for_thread("19:c;messageid=9") or ticket).thread == "19:c;messageid=9"
    await store.change(ticket.number, lambda t: t.take(ANNA).resolve(ANNA))
    assert await store.open_for_user("29:user") is None
    assert await store.open_in_conversation("a:1") is None
    assert await store.open_tickets() == []
    resolved = await store.for_thread("19:c;messageid=9")
    assert resolved is not None and resolved.state is TicketState.RESOLVED  # the thread still finds it
    await store.change(ticket.number, lambda t: t.reopen())
    assert [t.number for t in await store.open_tickets()] == [ticket.number]


async def test_unknown_ticket_is_none(storage: SqliteStorage) -> None:
    store = StorageTicketStore(storage)
    assert await store.change(5, lambda t: t.cancel()) is None
    assert await store.get(5) is None


class ReadTogether(SqliteStorage):
    """A real SQLite store whose ticket reads wait until ``parties`` readers have read: every change then
    starts from the same e-tag, the race two agents pressing "Take it" at once make."""

    def __init__(self, path: Path, parties: int) -> None:
        super().__init__(path)
        self.barrier = asyncio.Barrier(parties)
        self.waiting = parties

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        keys = list(keys or ())
        found = await super().read(keys)
        if self.waiting and keys == [ticket_key(1)]:
            self.waiting -= 1
            await asyncio.wait_for(self.barrier.wait(), 5)
        return found


async def test_racing_takes_give_one_owner_and_refusals(tmp_path: Path) -> None:
    setup = SqliteStorage(tmp_path / "state.db")
    await StorageTicketStore(setup).create(draft())
    setup.close()
    racing = ReadTogether(tmp_path / "state.db", parties=3)
    agents = [ANNA, BO, Person("29:cai", "Cai")]

    async def take(agent: Person) -> str:
        store = StorageTicketStore(racing)  # one instance each: one instance's changes of a ticket take turns
        try:
            await store.change(1, lambda t: t.take(agent))
        except TicketTaken as e:
            return f"refused, owner {e.ticket.assignee.name if e.ticket.assignee else None}"
        return "took"

    results = await asyncio.gather(*(take(a) for a in agents))
    racing.close()
    owner = (await StorageTicketStore(SqliteStorage(tmp_path / "state.db")).get(1))
    assert owner is not None and owner.assignee is not None
    assert sorted(results) == ["refused, owner " + owner.assignee.name] * 2 + ["took"]


async def test_two_stores_on_one_file_share_numbers_and_owners(tmp_path: Path) -> None:
    a, b = SqliteStorage(tmp_path / "state.db"), SqliteStorage(tmp_path / "state.db")
    one, two = StorageTicketStore(a), StorageTicketStore(b)
    first = await one.create(draft("29:u1", "a:1"))
    second = await two.create(draft("29:u2", "a:2"))
    assert (first.number, second.number) == (1, 2)
    await one.change(2, lambda t: t.take(ANNA))
    with pytest.raises(TicketTaken):
        await two.change(2, lambda t: t.take(BO))
    a.close()
    b.close()


async def test_memory_storage_works_in_one_process() -> None:
    store = StorageTicketStore(MemoryStorage())
    ticket = await store.create(draft())
    taken = await store.change(ticket.number, lambda t: t.take(ANNA))
    assert taken is not None and taken[1].assignee == ANNA
    with pytest.raises(TicketTaken):
        await store.change(ticket.number, lambda t: t.take(BO))


async def test_every_line_is_kept(storage: SqliteStorage) -> None:
    store = StorageTicketStore(storage)
    ticket = await store.create(draft())
    for n in range(300):
        line = Line(Role.USER, "u", f"message {n}")
        await store.change(ticket.number, lambda t: t.with_line(line))  # noqa: B023  # called before the next line
    stored = await store.get(ticket.number)
    assert stored is not None and [ln.text for ln in stored.transcript] == [f"message {n}" for n in range(300)]


async def test_two_processes_worth_of_stores_number_concurrent_tickets_uniquely(tmp_path: Path) -> None:
    a, b = SqliteStorage(tmp_path / "state.db"), SqliteStorage(tmp_path / "state.db")
    one, two = StorageTicketStore(a), StorageTicketStore(b)
    await one.create(draft("29:first", "a:first"))  # the counter exists: from here numbers go under its e-tag
    made = await asyncio.gather(*(store.create(draft(f"29:u{n}", f"a:{n}"))
                                  for n in range(20) for store in [(one, two)[n % 2]]))
    assert sorted(t.number for t in made) == list(range(2, 22))
    stored = [await one.get(n) for n in range(2, 22)]
    assert sorted(t.user.id for t in stored if t) == sorted(f"29:u{n}" for n in range(20))
    a.close()
    b.close()


class MeetAtTheCounter(Storage):  # type: ignore[misc]  # botbuilder ships no type information
    """One bot instance's client of a shared store whose first read of the ticket counter waits until the
    other instance has read it too: both see the store before either writes, the worst interleaving."""

    def __init__(self, inner: Storage, barrier: asyncio.Barrier) -> None:
        self.inner, self.barrier, self.met = inner, barrier, False
        self.honours_create_only = honours_create_only(inner)

    async def read(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = await self.inner.read(keys)
        if COUNTER_KEY in keys and not self.met:
            self.met = True
            await self.barrier.wait()
        return found

    async def write(self, changes: dict[str, Any]) -> None:
        await self.inner.write(changes)

    async def delete(self, keys: list[str]) -> None:
        await self.inner.delete(keys)


async def test_two_instances_creating_the_very_first_ticket_get_two_numbers(backend: Backend) -> None:
    barrier = asyncio.Barrier(2)
    instances = [StorageTicketStore(MeetAtTheCounter(backend.make(), barrier)) for _ in range(2)]
    made = await asyncio.gather(instances[0].create(draft("29:a", "a:a")), instances[1].create(draft("29:b", "a:b")))
    assert sorted(t.number for t in made) == [1, 2]
    for store in instances:  # each sees both, under its own number, in the open list and the indexes
        by_number = sorted(made, key=lambda t: t.number)
        assert [t.user.id for t in await store.open_tickets()] == [t.user.id for t in by_number]
        assert {(await store.open_for_user(u) or made[0]).number for u in ("29:a", "29:b")} == {1, 2}
    third = await instances[1].create(draft("29:c", "a:c"))
    assert third.number == 3


BURST = 50


async def test_a_burst_of_creates_on_two_instances_numbers_and_indexes_every_ticket(backend: Backend) -> None:
    """50 users confirm at once, through two instances of the bot; at the same instant one of them confirms
    again from a group chat and a user with an open ticket confirms again: 50 tickets with 50 numbers, two
    refusals naming the open tickets, and every index (counter, open list, user, conversation) agrees."""
    instances = [StorageTicketStore(backend.make()) for _ in range(2)]
    earlier = await instances[0].create(draft("29:earlier", "a:earlier"))
    burst = [instances[n % 2].create(draft(f"29:u{n}", f"a:{n}")) for n in range(BURST)]
    again = [instances[0].create(draft("29:u1", "19:group-1")), instances[1].create(draft("29:earlier", "a:x"))]
    results = await asyncio.gather(*burst, *again, return_exceptions=True)
    made = [r for r in results if isinstance(r, Ticket)]
    refused = [r for r in results if isinstance(r, TicketStillOpen)]
    assert (len(made), len(refused)) == (BURST, 2), [r for r in results if not isinstance(r, Ticket)]
    by_user = {t.user.id: t for t in made}
    assert len(by_user) == BURST  # u1's two confirms made one ticket (either may win), the other was refused
    assert sorted(r.ticket.number for r in refused) == sorted([earlier.number, by_user["29:u1"].number])
    numbers = sorted(t.number for t in made)
    assert len(set(numbers)) == BURST and numbers[0] > earlier.number
    storage = backend.make()
    reader = StorageTicketStore(storage)  # a third client: what is stored, not what a process remembers
    found = await storage.read([COUNTER_KEY, OPEN_KEY])
    if backend.name != "blob":  # one write is all or nothing: no number is skipped, the open list is exact
        assert numbers == list(range(2, BURST + 2))
        assert sorted(found[OPEN_KEY]["tickets"]) == [earlier.number, *numbers]
    assert found[COUNTER_KEY]["next"] == numbers[-1] + 1
    assert sorted(t.number for t in await reader.open_tickets()) == [earlier.number, *numbers]
    for n in range(BURST):
        ticket = by_user[f"29:u{n}"]
        assert await reader.get(ticket.number) == ticket
        assert await reader.open_for_user(f"29:u{n}") == ticket
        assert await reader.open_in_conversation(ticket.conversation_id) == ticket
    other_chat = ({"a:1", "19:group-1"} - {by_user["29:u1"].conversation_id}).pop()
    assert await reader.open_in_conversation(other_chat) is None


class CountingWrites(SqliteStorage):
    """A real SQLite store that counts its writes."""

    writes = 0

    async def write(self, changes: dict[str, Any] | None) -> None:
        self.writes += 1
        await super().write(changes)


async def test_a_burst_of_creates_is_written_in_batches_not_one_write_each(tmp_path: Path) -> None:
    """The creates waiting together are stored together: a burst costs a few round trips to the store, not
    one read and one write per ticket, each waiting for the one before."""
    storage = CountingWrites(tmp_path / "state.db")
    store = StorageTicketStore(storage)
    made = await asyncio.gather(*(store.create(draft(f"29:u{n}", f"a:{n}")) for n in range(BURST)))
    assert sorted(t.number for t in made) == list(range(1, BURST + 1))
    assert storage.writes <= -(-BURST // MAX_BATCH) + 1
    found = await storage.read([user_key("29:u7"), conversation_key("a:7")])
    assert {doc["ticket"] for doc in found.values()} == {next(t.number for t in made if t.user.id == "29:u7")}
    storage.close()


LINES_AT_ONCE = 40


async def test_a_burst_of_lines_on_two_instances_keeps_every_line_once_in_order(backend: Backend) -> None:
    """40 lines appended to one ticket at the same moment, half through each of two instances (the relay under a
    burst): none is lost to "gave up", none is doubled, and each instance's lines keep the order they came in."""
    instances = [StorageTicketStore(backend.make()) for _ in range(2)]
    ticket = await instances[0].create(draft())

    def append(text: str) -> Any:
        line = Line(Role.USER, "u", text)
        return lambda t: t.with_line(line)

    texts = [f"via {n % 2}: line {n}" for n in range(LINES_AT_ONCE)]
    await asyncio.gather(*(instances[n % 2].change(ticket.number, append(text)) for n, text in enumerate(texts)))
    stored = await StorageTicketStore(backend.make()).get(ticket.number)
    assert stored is not None
    said = [line.text for line in stored.transcript]
    assert sorted(said) == sorted(texts), "every line once"
    for via in ("via 0:", "via 1:"):
        assert [t for t in said if t.startswith(via)] == [t for t in texts if t.startswith(via)], via


class OneUploadPerItem(Storage):  # type: ignore[misc]  # botbuilder ships no type information
    """One bot instance's client of a shared store that writes the items of a write one at a time, as Blob
    does (each item its own upload; a refused one undoes none before it), and just before its first upload
    of ``pause_at`` lets ``meanwhile`` run: another instance acting between two of its uploads."""

    def __init__(self, inner: Storage, pause_at: str, meanwhile: Callable[[], Awaitable[None]]) -> None:
        self.inner, self.pause_at = inner, pause_at
        self.meanwhile: Callable[[], Awaitable[None]] | None = meanwhile
        self.honours_create_only = honours_create_only(inner)

    async def read(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = await self.inner.read(keys)
        return found

    async def write(self, changes: dict[str, Any]) -> None:
        for key, item in changes.items():
            if key == self.pause_at and self.meanwhile is not None:
                meanwhile, self.meanwhile = self.meanwhile, None
                await meanwhile()
            await self.inner.write({key: item})

    async def delete(self, keys: list[str]) -> None:
        await self.inner.delete(keys)


async def test_a_create_refused_after_its_counter_was_stored_keeps_the_number_it_took(backend: Backend) -> None:
    """The first instance's counter upload is stored; before its ``open`` list upload the other instance
    creates a whole ticket, so that upload is refused. Number 1 is the first instance's all the same:
    the two tickets are #1 and #2, not #2 and #3, and the counter, open list and indexes agree."""
    other = StorageTicketStore(backend.make())
    meanwhile: list[Ticket] = []

    async def other_instance_creates() -> None:
        meanwhile.append(await other.create(draft("29:b", "a:b")))

    first = StorageTicketStore(OneUploadPerItem(backend.make(), OPEN_KEY, other_instance_creates))
    made = [await first.create(draft("29:a", "a:a")), *meanwhile]
    assert [t.number for t in made] == [1, 2]
    storage = backend.make()
    reader = StorageTicketStore(storage)  # a third client: what is stored, not what a process remembers
    found = await storage.read([COUNTER_KEY, OPEN_KEY])
    assert found[COUNTER_KEY]["next"] == 3
    assert sorted(found[OPEN_KEY]["tickets"]) == [1, 2]
    for ticket in made:
        assert await reader.get(ticket.number) == ticket
        assert await reader.open_for_user(ticket.user.id) == ticket
        assert await reader.open_in_conversation(ticket.conversation_id) == ticket
    assert (await reader.create(draft("29:c", "a:c"))).number == 3


async def test_a_number_a_refused_create_took_is_not_left_in_the_open_list(backend: Backend) -> None:
    """The first instance's counter and ``open`` list uploads are stored (listing #1); before its user
    index upload the same user confirms through the other instance, whose ticket is #2. The first instance
    then refuses the user (their ticket #2 is open) and takes #1 back out of the open list: it names only
    tickets that exist."""
    other = StorageTicketStore(backend.make())
    meanwhile: list[Ticket] = []

    async def same_user_confirms_through_the_other_instance() -> None:
        meanwhile.append(await other.create(draft("29:a", "a:other-chat")))

    first = StorageTicketStore(OneUploadPerItem(backend.make(), user_key("29:a"),
                                                same_user_confirms_through_the_other_instance))
    with pytest.raises(TicketStillOpen) as refused:
        await first.create(draft("29:a", "a:a"))
    assert [t.number for t in meanwhile] == [refused.value.ticket.number] == [2]
    storage = backend.make()
    found = await storage.read([COUNTER_KEY, OPEN_KEY])
    assert found[OPEN_KEY]["tickets"] == [2]
    reader = StorageTicketStore(storage)
    assert [t.number for t in await reader.open_tickets()] == [2]
    assert await reader.open_in_conversation("a:a") is None
    assert (await reader.create(draft("29:c", "a:c"))).number == 3


async def test_a_user_confirming_through_two_instances_between_two_uploads_gets_one_ticket(backend: Backend) -> None:
    """The first instance has stored the user's index (naming #1) but not yet ticket #1 itself when the same
    user confirms through the other instance: the other waits for that ticket instead of taking the index
    for a leftover, and refuses the second confirm with #1."""
    other = StorageTicketStore(backend.make())
    racing: list[asyncio.Task[Ticket]] = []

    async def same_user_confirms_through_the_other_instance() -> None:
        racing.append(asyncio.create_task(other.create(draft("29:a", "a:other-chat"))))
        await asyncio.sleep(0.002)  # the other instance reads the index, then this one's upload goes on

    first = StorageTicketStore(OneUploadPerItem(backend.make(), ticket_key(1),
                                                same_user_confirms_through_the_other_instance))
    made = await first.create(draft("29:a", "a:a"))
    with pytest.raises(TicketStillOpen) as refused:
        await racing[0]
    assert made.number == refused.value.ticket.number == 1
    assert [t.number for t in await StorageTicketStore(backend.make()).open_tickets()] == [1]
