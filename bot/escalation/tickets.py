"""Tickets: a user's request for a person, its transcript and its state, as immutable values.

States: ``waiting`` → ``assigned`` → ``resolved``; ``cancelled`` by the user; ``reopened`` after
``resolved``. Every change is a method that returns a new ``Ticket`` or raises a ``TicketError``
saying why it is not allowed (``TicketTaken``, ``TicketClosed``, ``NotYourTicket``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.escalation.stored_reference import reference_from_document

MAX_LINE_CHARS = 4000
"""One transcript line is kept up to this long (a pasted error rarely is longer)."""


class TicketState(StrEnum):
    WAITING = "waiting"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    REOPENED = "reopened"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


OPEN_STATES = frozenset({TicketState.WAITING, TicketState.ASSIGNED, TicketState.REOPENED})
ALLOWED: Mapping[TicketState, frozenset[TicketState]] = {
    TicketState.WAITING: frozenset({TicketState.ASSIGNED, TicketState.RESOLVED, TicketState.CANCELLED}),
    TicketState.ASSIGNED: frozenset({TicketState.RESOLVED, TicketState.CANCELLED}),
    TicketState.REOPENED: frozenset({TicketState.ASSIGNED, TicketState.RESOLVED, TicketState.CANCELLED}),
    TicketState.RESOLVED: frozenset({TicketState.REOPENED}),
    TicketState.CANCELLED: frozenset(),
}
"""Which state may follow which; anything else is refused."""


class Role(StrEnum):
    USER = "user"
    BOT = "bot"
    AGENT = "agent"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Line:
    """One message of a transcript: who said it (role and name), what, when."""

    role: Role
    name: str
    text: str
    at: datetime = field(default_factory=now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "text", str(self.text)[:MAX_LINE_CHARS])


@dataclass(frozen=True)
class Person:
    """A user or agent as the channel names them."""

    id: str
    name: str


class TicketError(Exception):
    """A change the ticket's state does not allow."""

    def __init__(self, ticket: Ticket, message: str) -> None:
        super().__init__(message)
        self.ticket = ticket


class TicketTaken(TicketError):
    """Someone else took the ticket first."""


class TicketClosed(TicketError):
    """The ticket is resolved or cancelled."""


class NotYourTicket(TicketError):
    """Another agent owns the ticket."""


class NotInQueue(TicketError):
    """The ticket belongs to another agents' queue than the one that asked."""


class TicketStillOpen(TicketError):
    """A ticket that is already open cannot be opened again."""


@dataclass(frozen=True, kw_only=True)
class Ticket:
    """One escalation. ``conversation`` is the user's stored ``ConversationReference`` (its known fields only:
    ``bot.escalation.stored_reference``), the only address replies to the user go to; ``thread`` is the
    agents' thread the ticket card started."""

    number: int
    user: Person
    conversation: Mapping[str, Any]
    locale: str
    questions: tuple[str, ...]
    description: str = ""
    article: str | None = None
    score: float | None = None
    transcript: tuple[Line, ...] = ()
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    state: TicketState = TicketState.WAITING
    assignee: Person | None = None
    queue: str | None = None
    thread: str | None = None
    card_id: str | None = None
    handoff: bool = False
    """Sent to a contact-center hub with ``handoff.initiate`` (the hub relays, not the bot)."""
    tenant: str = ""
    """The user's tenant as their activity named it (``""`` when it named none): only that tenant's queues see it."""

    @property
    def conversation_id(self) -> str:
        conversation = self.conversation.get("conversation") or {}
        return str(conversation.get("id") or "")

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    def _to(self, state: TicketState, at: datetime | None, **changes: Any) -> Ticket:
        if state not in ALLOWED[self.state]:
            if not self.is_open:
                raise TicketClosed(self, f"ticket {self.number} is {self.state.value}")
            raise TicketError(self, f"ticket {self.number} cannot go from {self.state.value} to {state.value}")
        return replace(self, state=state, updated=at or now(), **changes)

    def take(self, agent: Person, at: datetime | None = None) -> Ticket:
        """The agent owns it; refused when someone else does (``TicketTaken``) or it is closed."""
        if self.state is TicketState.ASSIGNED:
            if self.assignee and self.assignee.id == agent.id:
                return self
            raise TicketTaken(self, f"ticket {self.number} is already taken")
        return self._to(TicketState.ASSIGNED, at, assignee=agent)

    def resolve(self, agent: Person, at: datetime | None = None) -> Ticket:
        """Closed by an agent: its owner, or anyone while nobody owns it."""
        if self.state is TicketState.ASSIGNED and self.assignee and self.assignee.id != agent.id:
            raise NotYourTicket(self, f"ticket {self.number} belongs to another agent")
        return self._to(TicketState.RESOLVED, at, assignee=self.assignee or agent)

    def cancel(self, at: datetime | None = None) -> Ticket:
        """Ended by the user."""
        return self._to(TicketState.CANCELLED, at)

    def reopen(self, at: datetime | None = None) -> Ticket:
        """A resolved ticket back in the queue, unowned."""
        return self._to(TicketState.REOPENED, at, assignee=None)

    def with_line(self, line: Line) -> Ticket:
        """One more transcript line (kept whatever the state: a late message is still the record)."""
        return replace(self, transcript=(*self.transcript, line), updated=line.at)

    def with_card(self, thread: str, card_id: str, queue: str) -> Ticket:
        return replace(self, thread=thread, card_id=card_id, queue=queue)


# -- storage form ---------------------------------------------------------------------------------


def ticket_to_document(ticket: Ticket) -> dict[str, Any]:
    """The ticket as plain JSON values (what goes into Storage)."""
    return {
        "number": ticket.number,
        "user": {"id": ticket.user.id, "name": ticket.user.name},
        "conversation": reference_from_document(ticket.conversation),
        "locale": ticket.locale,
        "questions": list(ticket.questions),
        "description": ticket.description,
        "article": ticket.article,
        "score": ticket.score,
        "transcript": [{"role": ln.role.value, "name": ln.name, "text": ln.text, "at": ln.at.isoformat()}
                       for ln in ticket.transcript],
        "created": ticket.created.isoformat(),
        "updated": ticket.updated.isoformat(),
        "state": ticket.state.value,
        "assignee": {"id": ticket.assignee.id, "name": ticket.assignee.name} if ticket.assignee else None,
        "queue": ticket.queue,
        "thread": ticket.thread,
        "card_id": ticket.card_id,
        "handoff": ticket.handoff,
        "tenant": ticket.tenant,
    }


def ticket_from_document(doc: Mapping[str, Any]) -> Ticket:
    """The ticket a ``ticket_to_document`` dict holds; ``KeyError``/``ValueError`` when it is not one."""
    assignee = doc.get("assignee")
    return Ticket(
        number=int(doc["number"]),
        user=Person(str(doc["user"]["id"]), str(doc["user"]["name"])),
        conversation=reference_from_document(doc["conversation"]),
        locale=str(doc["locale"]),
        questions=tuple(str(q) for q in doc.get("questions") or ()),
        description=str(doc.get("description") or ""),
        article=doc.get("article"),
        score=float(doc["score"]) if doc.get("score") is not None else None,
        transcript=tuple(Line(Role(ln["role"]), str(ln["name"]), str(ln["text"]), datetime.fromisoformat(ln["at"]))
                         for ln in doc.get("transcript") or ()),
        created=datetime.fromisoformat(doc["created"]),
        updated=datetime.fromisoformat(doc["updated"]),
        state=TicketState(doc["state"]),
        assignee=Person(str(assignee["id"]), str(assignee["name"])) if assignee else None,
        queue=doc.get("queue"),
        thread=doc.get("thread"),
        card_id=doc.get("card_id"),
        handoff=bool(doc.get("handoff")),
        tenant=str(doc.get("tenant") or ""),
    )
