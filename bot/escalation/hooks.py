"""What escalation is given by the rest of the bot at construction, and the shape of its card actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from botbuilder.core import TurnContext

from bot.escalation.tickets import Ticket, TicketState
from bot.strings import Strings

AnswerCard = Callable[[str, str], dict[str, Any] | None]
"""The knowledge base's answer card for a text in a locale, ``None`` when it has no confident answer."""
ObserveState = Callable[[TicketState], None]
"""Called with the state a ticket entered, once the change is stored and announced (``bot.ops.metrics``)."""
CardHandler = Callable[[TurnContext, Mapping[str, Any], Strings], Awaitable[None]]
"""Handles one card action's data, with the strings of the language the card was in."""


def count_change(observe: ObserveState | None, before: Ticket | None, after: Ticket) -> None:
    """The last step of every change: stored, announced, now counted (when the state changed)."""
    if observe is not None and (before is None or before.state is not after.state):
        observe(after.state)
