"""What escalation asks of a ticket store (``TicketStore``), and a store that masks what people typed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from bot.escalation.tickets import Ticket

__all__ = ["Change", "MaskingTicketStore", "TicketStore", "masked_ticket"]

Change = Callable[[Ticket], Ticket]


class TicketStore(Protocol):
    """Where tickets live. Failures of the store raise ``bot.stores.base.StorageError``."""

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


def masked_ticket(ticket: Ticket, mask: Callable[[str], str]) -> Ticket:
    """``ticket`` with ``mask`` applied to the text people typed: questions, description, transcript lines."""
    return replace(ticket, questions=tuple(mask(q) for q in ticket.questions), description=mask(ticket.description),
                   transcript=tuple(replace(line, text=mask(line.text)) for line in ticket.transcript))


class MaskingTicketStore:
    """A ``TicketStore`` that stores every ticket with ``mask`` applied (``bot.feedback.redact.redact`` when
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
