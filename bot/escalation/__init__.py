"""Escalation to a human agent inside the bot: tickets, agents' channels, relay, the handoff protocol."""

from bot.escalation.handoff import HandoffMode
from bot.escalation.queues import Queue, QueueRegistry
from bot.escalation.relay import Escalation
from bot.escalation.store import StorageTicketStore
from bot.escalation.ticket_store import TicketStore
from bot.escalation.tickets import Line, Person, Role, Ticket, TicketError, TicketState

__all__ = [
    "Escalation",
    "HandoffMode",
    "Line",
    "Person",
    "Queue",
    "QueueRegistry",
    "Role",
    "StorageTicketStore",
    "Ticket",
    "TicketError",
    "TicketState",
    "TicketStore",
]
