"""Tickets in any botbuilder ``Storage``, with optimistic concurrency.

Every change reads the documents it touches (the ticket and the indexes that point to it), computes
the new ones and writes them in one ``Storage.write`` whose items carry the e-tags read: a store that
checks e-tags (``bot.storage.SqliteStorage`` does, all items of one write together) refuses the write
when anyone changed one of them meanwhile, and the change is computed again from what is stored now.
So two agents taking one ticket at once give one owner: the second computation sees the first owner
and raises ``TicketTaken``. botbuilder's ``MemoryStorage`` does not check e-tags; over it (one
process only) the store serializes its own changes with a lock instead.

Documents (keys under ``insight-desk/escalation/``): ``counter`` (the next ticket number),
``ticket/N``, ``open`` (numbers of open tickets), ``user/<hash>`` and ``conversation/<hash>`` (a
user's and a conversation's open ticket), ``thread/<hash>`` (the ticket an agents' thread is about).

A document that does not exist yet (the counter before the first ticket, the ``open`` list, a user's
first index entry, the ticket itself) is written with ``bot.storage.CREATE_ONLY_E_TAG``: our stores
(memory, SQLite, Redis, Blob) refuse it when another process created it meanwhile, so two processes
creating the very first ticket at once cannot both number it 1, and neither loses the other's index
entry. The counter is the first item of the write: over Blob, where each item is its own upload, a lost
race on it writes nothing. Over a store without create-only (another botbuilder ``Storage``) new documents
are written unconditionally, as before; within one process creation is serialized.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from typing import Any, Protocol

from botbuilder.core import MemoryStorage, Storage

from bot.escalation.tickets import (
    Ticket,
    TicketStillOpen,
    ticket_from_document,
    ticket_to_document,
)
from bot.storage import CREATE_ONLY_E_TAG, EtagConflictError, StorageError, honours_create_only

log = logging.getLogger(__name__)

PREFIX = "insight-desk/escalation/"
MAX_ATTEMPTS = 8
"""Attempts of one change against concurrent writers before giving up with ``StorageError``."""

Change = Callable[[Ticket], Ticket]


class TicketStore(Protocol):
    """Where tickets live. Failures of the store raise ``bot.storage.StorageError``."""

    async def create(self, build: Callable[[int], Ticket]) -> Ticket:
        """Store ``build(number)`` under a fresh number; ``TicketStillOpen`` when its user has an open ticket."""
        ...

    async def get(self, number: int) -> Ticket | None: ...

    async def change(self, number: int, change: Change) -> tuple[Ticket, Ticket] | None:
        """Apply ``change`` (which may raise ``TicketError``) until it is stored; ``(before, after)``,
        ``None`` for an unknown ticket."""
        ...

    async def open_for_user(self, user_id: str) -> Ticket | None: ...

    async def open_in_conversation(self, conversation_id: str) -> Ticket | None: ...

    async def for_thread(self, thread_id: str) -> Ticket | None: ...

    async def open_tickets(self) -> list[Ticket]:
        """Open tickets, oldest first."""
        ...


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def ticket_key(number: int) -> str:
    return f"{PREFIX}ticket/{number}"


def user_key(user_id: str) -> str:
    return f"{PREFIX}user/{_hash(user_id)}"


def conversation_key(conversation_id: str) -> str:
    return f"{PREFIX}conversation/{_hash(conversation_id)}"


def thread_key(thread_id: str) -> str:
    return f"{PREFIX}thread/{_hash(thread_id)}"


COUNTER_KEY = PREFIX + "counter"
OPEN_KEY = PREFIX + "open"


def _doc(found: dict[str, Any], key: str, new: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored document (a copy carrying its e-tag), or a copy of ``new`` (a new one without e-tag)."""
    item = found.get(key)
    return dict(item) if isinstance(item, dict) else dict(new or {})


class StorageTicketStore:
    """``TicketStore`` over a botbuilder ``Storage`` (the bot's state store, or its own)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._create_lock = asyncio.Lock()
        self._memory_lock = asyncio.Lock() if isinstance(storage, MemoryStorage) else None
        self._new: dict[str, Any] = {"e_tag": CREATE_ONLY_E_TAG} if honours_create_only(storage) else {}
        """What a document that does not exist yet starts as: written only if it still does not."""

    def _serial(self) -> AbstractAsyncContextManager[Any]:
        return self._memory_lock if self._memory_lock is not None else nullcontext()

    async def _retry(self, what: str, attempt: Callable[[], Awaitable[Any]]) -> Any:
        for n in range(MAX_ATTEMPTS):
            try:
                async with self._serial():
                    return await attempt()
            except EtagConflictError as e:
                log.info("%s: concurrent change, trying again (%d): %s", what, n + 1, e)
                await asyncio.sleep(0.005 * (n + 1))
        raise StorageError(f"{what}: gave up after {MAX_ATTEMPTS} concurrent changes", operation="write")

    async def create(self, build: Callable[[int], Ticket]) -> Ticket:
        async with self._create_lock:
            result: Ticket = await self._retry("create a ticket", lambda: self._create(build))
            return result

    async def _create(self, build: Callable[[int], Ticket]) -> Ticket:
        probe = build(0)
        keys = [COUNTER_KEY, OPEN_KEY, user_key(probe.user.id), conversation_key(probe.conversation_id)]
        found = await self.storage.read(keys)
        user_doc = _doc(found, keys[2], self._new)
        existing = user_doc.get("ticket")
        if isinstance(existing, int):
            current = await self.get(existing)
            if current is not None and current.is_open:
                raise TicketStillOpen(current, f"user already has open ticket {existing}")
        counter = _doc(found, COUNTER_KEY, self._new)
        number = int(counter.get("next") or 1)
        ticket = build(number)
        counter["next"] = number + 1
        open_doc = _doc(found, OPEN_KEY, self._new)
        open_doc["tickets"] = [*open_doc.get("tickets", []), number]
        user_doc["ticket"] = number
        conversation_doc = _doc(found, keys[3], self._new)
        conversation_doc["ticket"] = number
        await self.storage.write({
            COUNTER_KEY: counter, OPEN_KEY: open_doc, keys[2]: user_doc, keys[3]: conversation_doc,
            ticket_key(number): {**ticket_to_document(ticket), **self._new},
        })
        return ticket

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
        result: tuple[Ticket, Ticket] | None = await self._retry(
            f"change ticket {number}", lambda: self._change(number, change))
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
        if after.is_open != before.is_open or after.thread != before.thread:
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


def masked_ticket(ticket: Ticket, mask: Callable[[str], str]) -> Ticket:
    """``ticket`` with ``mask`` applied to the text people typed: questions, description, transcript lines."""
    return replace(ticket, questions=tuple(mask(q) for q in ticket.questions), description=mask(ticket.description),
                   transcript=tuple(replace(line, text=mask(line.text)) for line in ticket.transcript))


class MaskingTicketStore:
    """A ``TicketStore`` that stores every ticket with ``mask`` applied (``bot.redact.redact`` when
    ``REDACT_TRANSCRIPTS`` is on); what it returns is what it stored."""

    def __init__(self, inner: TicketStore, mask: Callable[[str], str]) -> None:
        self.inner = inner
        self.mask = mask

    async def create(self, build: Callable[[int], Ticket]) -> Ticket:
        return await self.inner.create(lambda number: masked_ticket(build(number), self.mask))

    async def get(self, number: int) -> Ticket | None:
        return await self.inner.get(number)

    async def change(self, number: int, change: Change) -> tuple[Ticket, Ticket] | None:
        return await self.inner.change(number, lambda ticket: masked_ticket(change(ticket), self.mask))

    async def open_for_user(self, user_id: str) -> Ticket | None:
        return await self.inner.open_for_user(user_id)

    async def open_in_conversation(self, conversation_id: str) -> Ticket | None:
        return await self.inner.open_in_conversation(conversation_id)

    async def for_thread(self, thread_id: str) -> Ticket | None:
        return await self.inner.for_thread(thread_id)

    async def open_tickets(self) -> list[Ticket]:
        return await self.inner.open_tickets()
