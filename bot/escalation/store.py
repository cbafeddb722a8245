"""Tickets in any botbuilder ``Storage``, with optimistic concurrency.

Every change reads the documents it touches (the ticket and the indexes that point to it), computes
the new ones and writes them in one ``Storage.write`` whose items carry the e-tags read: a store that
checks e-tags (``bot.stores.sqlite.SqliteStorage`` does, all items of one write together) refuses the write
when anyone changed one of them meanwhile, and the change is computed again from what is stored now.
So two agents taking one ticket at once give one owner: the second computation sees the first owner
and raises ``TicketTaken``. botbuilder's ``MemoryStorage`` does not check e-tags; over it (one
process only) the store serializes its own changes with a lock instead.

Changes of one ticket take turns within a process (a lock per ticket, first come first served), so they
never race each other: a burst of relayed lines is stored one after another, in the order it came, and
the e-tag check is left to settle races with other processes. A change is a function of the ticket as
stored now (``with_line`` appends to whatever transcript is there), so a retry after a conflict merges
this change into the other process's; those retries back off with jitter, up to ``MAX_CHANGE_ATTEMPTS``.
(Lines as separate append-only records would need a list of them, which is again one document every
append edits: botbuilder's ``Storage`` has no append or scan. So a line stays part of its ticket.)

Documents (keys under ``insight-desk/escalation/``): ``counter`` (the next ticket number),
``ticket/N``, ``open`` (numbers of open tickets), ``user/<hash>`` and ``conversation/<hash>`` (a
user's and a conversation's open ticket), ``thread/<hash>`` (the ticket an agents' thread is about),
``outbox/N`` (a ticket whose card is still to be posted to an agents' channel: written in the same write
as the ticket when the store is made with ``outbox=True``; see ``bot.escalation.outbox``).

A document that does not exist yet (the counter before the first ticket, the ``open`` list, a user's
first index entry, the ticket itself) is written with ``bot.stores.base.CREATE_ONLY_E_TAG``: our stores
(memory, SQLite, Redis, Blob) refuse it when another process created it meanwhile, so two processes
creating the very first ticket at once cannot both number it 1, and neither loses the other's index
entry. The counter is the first item of the write: over Blob, where each item is its own upload, a lost
race on it writes nothing. Over a store without create-only (another botbuilder ``Storage``) new documents
are written unconditionally, as before; within one process creation is serialized (in batches).

Creation is batched: each ``create`` waits in the store's queue, and one task per store writes the
waiting ones together, each batch in one ``Storage.write`` (counter first, then ``open``, the user and
conversation indexes and the tickets), numbered consecutively from the counter it read. Within one
process batches follow one another, so they never race each other for the counter; a batch that loses a
race to another process is computed again as a whole. A burst of confirmations costs a few store round
trips, not one read and one write per ticket queued behind the last. The ``open`` list is the one
document every creation and every close or reopen edits: in one process they take turns on it (a lock
from reading it to writing it), so a burst of them does not use up its retries racing itself.

Over Blob a batch's write can be refused after its counter went up: the counter stored, then another
process created the ``open`` list or a user's index first. The numbers that counter write took are the
batch's (no one else can take them: every counter write is conditional), so its next attempt numbers its
tickets from them before taking new ones from the counter, and drops from ``open`` any the refused attempt
listed but no ticket got (it was refused meanwhile). Without that two instances' very first tickets could
be #1 and #3. A number stays unused only when a ticket of the batch is refused on the next attempt (its
user opened one through another process meanwhile), or the batch gives up. The tickets are the last items
of the write (no refusal can follow one already stored), so a retry never finds its own ticket stored.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from botbuilder.core import MemoryStorage, Storage

from bot.escalation.store_keys import (
    COUNTER_KEY,
    OPEN_KEY,
    conversation_key,
    new_outbox_entry,
    outbox_key,
    thread_key,
    ticket_key,
    user_key,
)
from bot.escalation.ticket_store import Change
from bot.escalation.tickets import (
    Ticket,
    TicketStillOpen,
    ticket_from_document,
    ticket_to_document,
)
from bot.stores.base import CREATE_ONLY_E_TAG, EtagConflictError, StorageError, honours_create_only
from bot.stores.keyed_locks import KeyedLocks

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
"""Attempts of one batch of creations against concurrent writers before giving up with ``StorageError``."""
MAX_CHANGE_ATTEMPTS = 40
"""Attempts of one change of a ticket against other processes changing it (this process's changes take turns)
before giving up: each conflict means another process stored its change; see ``_change_backoff``."""
MAX_BATCH = 32
"""Tickets created by one write at most (the rest wait for the next one)."""
UNWRITTEN_TICKET_WAITS = 4
"""Attempts a creation waits for a ticket that a user's index already names but that is not stored yet (another
process is between the two uploads, over Blob); after them the index is taken as left over by a crash."""


def _change_backoff(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th (from 0) conflict of a change: doubling from 5 ms up to 200 ms,
    jittered so that two processes that collided do not collide again (about 7 s over all the attempts)."""
    return min(0.2, 0.005 * 2.0**attempt) * (0.5 + random.random())


@dataclass(frozen=True)
class _Creation:
    """One ``create`` waiting for its batch: the ticket's builder, a draft of it (its user and conversation)
    and where its caller waits for the outcome."""

    build: Callable[[int], Ticket]
    probe: Ticket
    done: asyncio.Future[Ticket]


def _doc(found: dict[str, Any], key: str, new: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored document (a copy carrying its e-tag), or a copy of ``new`` (a new one without e-tag)."""
    item = found.get(key)
    return dict(item) if isinstance(item, dict) else dict(new or {})


class StorageTicketStore:
    """``TicketStore`` over a botbuilder ``Storage`` (the bot's state store, or its own)."""

    def __init__(self, storage: Storage, *, outbox: bool = False) -> None:
        """``outbox``: every ticket is created with its ``outbox/N`` entry (its card is to be posted)."""
        self.storage = storage
        self.outbox = outbox
        self._waiting: list[_Creation] = []
        self._creator: asyncio.Task[None] | None = None
        """The task creating the waiting tickets, while there are any."""
        self._open_lock = asyncio.Lock()
        """Held from reading the ``open`` list to writing it: this process's changes of it never race."""
        self._ticket_locks = KeyedLocks()
        """Held by a change of a ticket from reading it to storing it: this process's changes of one ticket
        (a burst of relayed lines, a take) never race each other, and are stored in the order they came."""
        self._memory_lock = asyncio.Lock() if isinstance(storage, MemoryStorage) else None
        self._new: dict[str, Any] = {"e_tag": CREATE_ONLY_E_TAG} if honours_create_only(storage) else {}
        """What a document that does not exist yet starts as: written only if it still does not."""

    def _serial(self) -> AbstractAsyncContextManager[Any]:
        return self._memory_lock if self._memory_lock is not None else nullcontext()

    async def _retry(self, what: str, attempt: Callable[[], Awaitable[Any]], *, attempts: int = MAX_ATTEMPTS,
                     backoff: Callable[[int], float] = lambda n: 0.005 * (n + 1)) -> Any:
        for n in range(attempts):
            try:
                async with self._serial():
                    return await attempt()
            except EtagConflictError as e:
                log.info("%s: concurrent change, trying again (%d): %s", what, n + 1, e)
                await asyncio.sleep(backoff(n))
        raise StorageError(f"{what}: gave up after {attempts} concurrent changes", operation="write")

    async def create(self, build: Callable[[int], Ticket]) -> Ticket:
        creation = _Creation(build, build(0), asyncio.get_running_loop().create_future())
        self._waiting.append(creation)
        creator = self._creator
        if creator is None or creator.done() or creator.get_loop() is not creation.done.get_loop():
            self._creator = asyncio.create_task(self._create_waiting())
        return await creation.done

    async def _create_waiting(self) -> None:
        """Create the waiting tickets, a batch per write, until none waits (one such task per store)."""
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            batch = [c for c in batch if not c.done.cancelled()]  # its caller gave up before it was stored
            if batch:
                await self._create_batch(batch)

    async def _create_batch(self, batch: list[_Creation]) -> None:
        """Store ``batch`` (again while other processes win the race) and hand each caller its outcome."""
        outcomes: list[Ticket | Exception]
        reserved: list[int] = []  # numbers an attempt's stored counter took, its other items refused (module)
        waits = [0]  # attempts spent waiting for a ticket a user's index names (UNWRITTEN_TICKET_WAITS)
        try:
            outcomes = await self._retry(f"create {len(batch)} tickets", lambda: self._create(batch, reserved, waits))
        except Exception as e:  # the store failed: every caller of the batch sees it raised
            outcomes = [e] * len(batch)
        unused = sorted(set(reserved) - {t.number for t in outcomes if isinstance(t, Ticket)})
        if unused:
            log.warning("ticket numbers %s were taken from the counter but no ticket got them", unused)
        for creation, outcome in zip(batch, outcomes, strict=True):
            if creation.done.cancelled():  # its caller gave up waiting (its ticket may be stored all the same)
                continue
            if isinstance(outcome, Ticket):
                creation.done.set_result(outcome)
            else:
                creation.done.set_exception(outcome)

    async def _create(self, batch: list[_Creation], reserved: list[int], waits: list[int]) -> list[Ticket | Exception]:
        """Number and store the tickets of ``batch`` in one write; ``TicketStillOpen`` instead for each
        whose user has an open ticket (stored, or made earlier in the batch)."""
        async with self._open_lock:
            return await self._create_under_lock(batch, reserved, waits)

    async def _create_under_lock(self, batch: list[_Creation], reserved: list[int],
                                 waits: list[int]) -> list[Ticket | Exception]:
        """One attempt at ``batch``: numbers from ``reserved`` first, then from the counter. When the write is
        refused after the counter was stored, the numbers it took join ``reserved`` (see the module)."""
        users = [user_key(c.probe.user.id) for c in batch]
        conversations = [conversation_key(c.probe.conversation_id) for c in batch]
        found = await self.storage.read([COUNTER_KEY, OPEN_KEY, *users, *conversations])
        still_open, unwritten = await self._open_tickets_of(found, users)
        if unwritten and waits[0] < UNWRITTEN_TICKET_WAITS:  # that user's ticket is being stored: look again
            waits[0] += 1
            raise EtagConflictError(f"tickets {unwritten} are named by a user's index but not stored yet")
        counter = _doc(found, COUNTER_KEY, self._new)
        open_doc = _doc(found, OPEN_KEY, self._new)
        spare = iter(reserved)
        first_free = fresh = int(counter.get("next") or 1)
        indexes: dict[str, Any] = {}
        entries: dict[str, Any] = {}
        tickets: dict[str, Any] = {}
        outcomes: list[Ticket | Exception] = []
        for creation, user, conversation in zip(batch, users, conversations, strict=True):
            existing = still_open.get(user)
            if existing is not None:
                outcomes.append(TicketStillOpen(existing, f"user already has open ticket {existing.number}"))
                continue
            number = next(spare, None)
            if number is None:
                number, fresh = fresh, fresh + 1
            ticket = still_open[user] = creation.build(number)
            outcomes.append(ticket)
            for key in (user, conversation):
                indexes[key] = indexes.get(key) or _doc(found, key, self._new)
                indexes[key]["ticket"] = number
            tickets[ticket_key(number)] = {**ticket_to_document(ticket), **self._new}
            if self.outbox:  # unconditional: the number is this batch's, and a retry may write it again
                entries[outbox_key(number)] = new_outbox_entry(number, time.time())
        listed = open_doc.get("tickets", [])
        open_doc["tickets"] = [*(n for n in listed if n not in reserved), *(t.number for t in outcomes
                                                                          if isinstance(t, Ticket))]
        changes: dict[str, Any] = {}
        if fresh > first_free:
            counter["next"] = fresh
            changes[COUNTER_KEY] = counter  # the first item (see the module)
        if tickets or open_doc["tickets"] != listed:
            changes[OPEN_KEY] = open_doc
        if changes:
            sent = counter.get("e_tag")
            try:  # the tickets last: nothing of the write can be refused after one of them was stored
                await self.storage.write({**changes, **indexes, **entries, **tickets})
            except EtagConflictError:
                if COUNTER_KEY in changes and counter.get("e_tag") != sent:  # a store hands the e-tag back
                    reserved.extend(range(first_free, fresh))  # only once the item is stored: these are ours
                raise
        return outcomes

    async def _open_tickets_of(self, found: dict[str, Any], users: list[str]) -> tuple[dict[str, Ticket], list[int]]:
        """The open tickets that the user indexes among ``found`` point to, by index key; and the numbers they
        point to that no ticket is stored under (yet)."""
        numbers = {key: _doc(found, key).get("ticket") for key in users}
        numbered = {key: n for key, n in numbers.items() if isinstance(n, int)}
        if not numbered:
            return {}, []
        items = await self.storage.read([ticket_key(n) for n in numbered.values()])
        tickets = {key: self._ticket(items.get(ticket_key(n))) for key, n in numbered.items()}
        unwritten = sorted({n for n in numbered.values() if items.get(ticket_key(n)) is None})
        return {key: t for key, t in tickets.items() if t is not None and t.is_open}, unwritten

    async def get(self, number: int) -> Ticket | None:
        found = await self.storage.read([ticket_key(number)])
        return self._ticket(found.get(ticket_key(number)))

    def _ticket(self, item: Any) -> Ticket | None:
        if not isinstance(item, dict):
            return None
        try:
            return ticket_from_document(item)
        except (KeyError, TypeError, ValueError) as e:
            log.error("a stored ticket could not be read (%s): %s", item.get("number"), e)
            return None

    async def change(self, number: int, change: Change) -> tuple[Ticket, Ticket] | None:
        async with self._ticket_locks.hold(number):  # in this process, one change of a ticket at a time
            result: tuple[Ticket, Ticket] | None = await self._retry(
                f"change ticket {number}", lambda: self._change(number, change), attempts=MAX_CHANGE_ATTEMPTS,
                backoff=_change_backoff)
        return result

    async def _change(self, number: int, change: Change) -> tuple[Ticket, Ticket] | None:
        key = ticket_key(number)
        found = await self.storage.read([key])
        item = found.get(key)
        before = self._ticket(item)
        if before is None or not isinstance(item, dict):
            return None
        after = change(before)
        if after == before:
            return before, after
        document = ticket_to_document(after)
        document["e_tag"] = item.get("e_tag")
        if document["e_tag"] is None:
            document.pop("e_tag")
        changes: dict[str, Any] = {key: document}
        if after.is_open != before.is_open:
            async with self._open_lock:
                changes.update(await self._indexes(before, after))
                await self.storage.write(changes)
            return before, after
        if after.thread != before.thread:
            changes.update(await self._indexes(before, after))
        await self.storage.write(changes)
        return before, after

    async def _indexes(self, before: Ticket, after: Ticket) -> dict[str, Any]:
        """The index documents that change with ``before`` → ``after`` (read now, written with their e-tags)."""
        keys = [OPEN_KEY, user_key(after.user.id), conversation_key(after.conversation_id)]
        if after.thread:
            keys.append(thread_key(after.thread))
        found = await self.storage.read(keys)
        changes: dict[str, Any] = {}
        if after.thread and after.thread != before.thread:
            thread_doc = _doc(found, thread_key(after.thread), self._new)
            thread_doc["ticket"] = after.number
            changes[thread_key(after.thread)] = thread_doc
        if after.is_open == before.is_open:
            return changes
        open_doc = _doc(found, OPEN_KEY, self._new)
        numbers = [n for n in open_doc.get("tickets", []) if n != after.number]
        open_doc["tickets"] = [*numbers, after.number] if after.is_open else numbers
        changes[OPEN_KEY] = open_doc
        for key in keys[1:3]:
            doc = _doc(found, key, self._new)
            if after.is_open:
                other = doc.get("ticket")
                if isinstance(other, int) and other != after.number:
                    current = await self.get(other)
                    if current is not None and current.is_open:
                        raise TicketStillOpen(current, f"ticket {other} of the same user is open")
                doc["ticket"] = after.number
            elif doc.get("ticket") == after.number:
                doc["ticket"] = None
            changes[key] = doc
        return changes

    async def _indexed(self, key: str) -> Ticket | None:
        found = await self.storage.read([key])
        number = _doc(found, key).get("ticket")
        return await self.get(number) if isinstance(number, int) else None

    async def open_for_user(self, user_id: str) -> Ticket | None:
        ticket = await self._indexed(user_key(user_id))
        return ticket if ticket is not None and ticket.is_open and ticket.user.id == user_id else None

    async def open_in_conversation(self, conversation_id: str) -> Ticket | None:
        ticket = await self._indexed(conversation_key(conversation_id))
        return ticket if ticket is not None and ticket.is_open and ticket.conversation_id == conversation_id else None

    async def for_thread(self, thread_id: str) -> Ticket | None:
        ticket = await self._indexed(thread_key(thread_id))
        return ticket if ticket is not None and ticket.thread == thread_id else None

    async def open_tickets(self) -> list[Ticket]:
        found = await self.storage.read([OPEN_KEY])
        numbers = [n for n in _doc(found, OPEN_KEY).get("tickets", []) if isinstance(n, int)]
        if not numbers:
            return []
        items = await self.storage.read([ticket_key(n) for n in numbers])
        tickets = [t for t in (self._ticket(items.get(ticket_key(n))) for n in numbers) if t and t.is_open]
        return sorted(tickets, key=lambda t: (t.created, t.number))
