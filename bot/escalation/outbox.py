"""The outbox of ticket cards: an acknowledged ticket reaches an agents' channel even when the channel fails.

A ticket's ``outbox/N`` entry (``bot.escalation.store``) is written in the same storage write as the ticket
itself, so a ticket the user was told about always has one; it goes once the card is posted (or no agents'
channel takes the ticket: it then waits in ``tickets``, as without the outbox, or the ticket closed). The
entry holds ``attempts``, ``due`` (when the next attempt may start), ``claimed_until`` and ``told``.

Who posts: the creating turn tries at once (the entry is created claimed by it, so the normal path costs no
extra round trip but the entry's delete); a failure leaves the entry due after a back-off. One drainer task
per process (``Outbox.run``) looks at the entries of open tickets every ``POLL_S`` and posts the due ones
(an open ticket seen twice without an entry is not looked at again: entries are only made with tickets).
Before posting, a drainer claims the entry with an e-tag write (``claimed_until`` = now + the lease): of
several processes on one store only the one whose write lands posts; a process killed mid-post leaves a
claim that runs out after ``OUTBOX_LEASE_S``, and the restarted (or any other) process posts then.

Delivery is at least once: a card send whose outcome is unknown (a timeout, a connection cut after the
request went out) counts as failed and is posted again later, and a send slower than the lease may be
posted by another process too. A duplicate card in the agents' channel is better than a lost ticket; the
ticket keeps the first card recorded (``Proactive._post_ticket`` does not replace a thread).

Back-off: ``FIRST_RETRY_S`` doubling up to ``MAX_RETRY_S``. After ``TELL_AFTER`` failed attempts the user is
told once, in their language (``ticket_post_delayed``), that support could not be reached yet and that their
request is kept and goes to the team when it can; the outbox keeps retrying every ``MAX_RETRY_S`` for as long
as the ticket is open, without a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from botbuilder.core import BotAdapter, Storage

from bot.escalation.store_keys import OPEN_KEY, OUTBOX_LEASE_S, outbox_key
from bot.escalation.ticket_store import TicketStore
from bot.escalation.tickets import Ticket
from bot.stores.base import EtagConflictError, StorageError

log = logging.getLogger(__name__)

FIRST_RETRY_S = 2.0
"""Wait after the first failed attempt; each further failure doubles it."""
MAX_RETRY_S = 60.0
"""The longest wait between attempts (and the interval once the user was told)."""
TELL_AFTER = 5
"""Failed attempts after which the user is told that support could not be reached yet."""
POLL_S = 2.0
"""How often a drainer looks for due entries."""


class PostOutcome(Enum):
    """What one attempt to post a ticket's card came to."""

    POSTED = "posted"
    NO_QUEUE = "no queue"
    """No agents' channel takes the ticket: it waits in ``tickets`` (nothing to retry)."""
    FAILED = "failed"


PostCard = Callable[[BotAdapter, Ticket], Awaitable[PostOutcome]]
"""Posts a ticket's card to the queue that takes it and records its thread."""
TellUser = Callable[[BotAdapter, Ticket], Awaitable[bool]]
"""Tells the ticket's user that support could not be reached yet; whether it was sent."""


def retry_after(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed attempts."""
    return float(min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


def _log_if_failed(task: asyncio.Task[None]) -> None:
    """A drainer that ended by an error says so at once (cards wait for a restart or another instance)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("ticket outbox: the drainer stopped; unposted ticket cards wait for a restart or another "
                  "instance", exc_info=task.exception())


class Outbox:
    """Posts the cards of ``outbox/N`` entries in ``storage`` with ``post``; see the module."""

    def __init__(self, storage: Storage, tickets: TicketStore, post: PostCard, tell: TellUser) -> None:
        self.storage = storage
        self.tickets = tickets
        self.post = post
        self.tell = tell
        self._busy: set[int] = set()
        """Tickets this process is posting now (its drainer leaves them alone, whatever their lease)."""
        self._absent: set[int] = set()
        """Open tickets seen without an entry once (over Azure Blob the ``open`` list is written just before it)."""
        self._settled: set[int] = set()
        """Open tickets seen without an entry twice: posted (an entry is only ever made with its ticket), not
        read again; so a drainer reads the entries of new and pending tickets, not of every open one."""
        self._task: asyncio.Task[None] | None = None

    async def post_new(self, adapter: BotAdapter, ticket: Ticket) -> PostOutcome:
        """The creating turn's attempt for a ticket just created (its entry is claimed by its creation)."""
        entry = {"ticket": ticket.number, "attempts": 0, "told": False}
        return await self._attempt(adapter, ticket.number, entry, ticket)

    async def drain(self, adapter: BotAdapter) -> int:
        """Claim and post every due entry of an open ticket once; how many were attempted."""
        found = await self.storage.read([OPEN_KEY])
        opened = found.get(OPEN_KEY)
        numbers = {n for n in (opened.get("tickets", []) if isinstance(opened, dict) else []) if isinstance(n, int)}
        self._settled &= numbers
        self._absent &= numbers
        candidates = [n for n in sorted(numbers) if n not in self._settled and n not in self._busy]
        entries = await self.storage.read([outbox_key(n) for n in candidates]) if candidates else {}
        for n in candidates:
            if outbox_key(n) not in entries:
                (self._settled if n in self._absent else self._absent).add(n)
        attempted = 0
        for key, entry in entries.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("ticket"), int):
                continue
            number = int(entry["ticket"])
            now = time.time()
            if number in self._busy or float(entry.get("due") or 0) > now \
                    or float(entry.get("claimed_until") or 0) > now:
                continue
            entry = dict(entry)
            entry["claimed_until"] = now + OUTBOX_LEASE_S
            try:
                await self.storage.write({key: entry})  # carries the e-tag read: one claimant wins
            except EtagConflictError:
                log.info("ticket %d: another process claimed its card", number)
                continue
            attempted += 1
            await self._attempt(adapter, number, entry, None)
        return attempted

    async def _attempt(self, adapter: BotAdapter, number: int, entry: dict[str, Any], ticket: Ticket | None) -> \
            PostOutcome:
        """Post ``number``'s card holding its claim; the entry goes, or waits for its next attempt."""
        self._busy.add(number)
        try:
            current = ticket if ticket is not None else await self.tickets.get(number)
            if current is None or not current.is_open or current.thread:
                await self.storage.delete([outbox_key(number)])  # gone, closed, or posted (its thread is known)
                return PostOutcome.POSTED if current is not None and current.thread else PostOutcome.NO_QUEUE
            outcome = await self.post(adapter, current)
            if outcome is not PostOutcome.FAILED:
                await self.storage.delete([outbox_key(number)])
                if int(entry.get("attempts") or 0):
                    log.info("ticket %d: card posted after %d failed attempts", number, entry["attempts"])
                return outcome
            attempts = int(entry.get("attempts") or 0) + 1
            told = bool(entry.get("told"))
            if attempts >= TELL_AFTER and not told:
                told = await self.tell(adapter, current)
            wait = retry_after(attempts)
            log.warning("ticket %d: its card could not be posted (attempt %d); next attempt in %.0f s%s", number,
                        attempts, wait, ", the user was told" if told and not entry.get("told") else "")
            now = time.time()
            await self.storage.write({outbox_key(number): {"ticket": number, "attempts": attempts, "due": now + wait,
                                                           "claimed_until": 0.0, "told": told}})
            return outcome
        finally:
            self._busy.discard(number)

    async def run(self, adapter: BotAdapter) -> None:
        """Drain due entries every ``POLL_S`` until cancelled; a failing store is logged and tried again."""
        while True:
            try:
                await self.drain(adapter)
            except StorageError as e:
                log.error("ticket outbox: the state store failed; trying again in %.0f s: %s", POLL_S, e)
            await asyncio.sleep(POLL_S)

    def start(self, adapter: BotAdapter) -> None:
        """Start this process's drainer (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(adapter), name="ticket-outbox")
            self._task.add_done_callback(_log_if_failed)

    async def stop(self) -> None:
        """Stop the drainer; an attempt in flight is cut off (its claim runs out, and it is posted again)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
