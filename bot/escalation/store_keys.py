"""Where tickets live in the state store: the keys of tickets, their indexes, the counter and the outbox
(all under ``PREFIX``; see ``bot.escalation.store``)."""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["COUNTER_KEY", "OPEN_KEY", "OUTBOX_LEASE_S", "PREFIX", "conversation_key", "new_outbox_entry",
           "outbox_key", "thread_key", "ticket_key", "user_key"]

PREFIX = "insight-desk/escalation/"


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


def outbox_key(number: int) -> str:
    return f"{PREFIX}outbox/{number}"


COUNTER_KEY = PREFIX + "counter"
OPEN_KEY = PREFIX + "open"
OUTBOX_LEASE_S = 20.0
"""How long a claim on an outbox entry holds (``claimed_until``): another process posts that ticket's card only
after it ran out (a process killed mid-post leaves its claim behind). Also the first claim, the creator's."""


def new_outbox_entry(number: int, now: float) -> dict[str, Any]:
    """The outbox entry of a ticket just created: claimed by its creator (who posts its card at once)."""
    return {"ticket": number, "attempts": 0, "due": now, "claimed_until": now + OUTBOX_LEASE_S, "told": False}
