"""Bot Framework's handoff protocol for contact-center hubs, built to its published shape.

botbuilder-python has no ``EventFactory``; the other SDKs build the initiation as an ``event`` activity
named ``handoff.initiate`` whose ``value`` is the hub-specific context, ``conversation`` the user's
conversation (the correlation id for later events), ``from``/``relatesTo``/``replyToId``/``serviceUrl``/
``channelId`` taken from the user's activity, and an attachment ``{"contentType": "application/json",
"name": "Transcript", "content": {"activities": [...]}}``. The hub answers with ``handoff.status``
events whose ``value`` is ``{"state": "accepted" | "failed" | "completed", "message": ...}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, Attachment, ChannelAccount

from bot.escalation.tickets import Role, Ticket

INITIATE = "handoff.initiate"
STATUS = "handoff.status"
TRANSCRIPT_NAME = "Transcript"


class HandoffMode(StrEnum):
    """Where tickets go: agents' channels in Teams, a contact-center hub (``handoff.initiate``), or both."""

    TEAMS = "teams"
    HUB = "hub"
    BOTH = "both"


class HandoffState(StrEnum):
    ACCEPTED = "accepted"
    FAILED = "failed"
    COMPLETED = "completed"


@dataclass(frozen=True)
class HandoffStatus:
    state: HandoffState
    message: str


def transcript_activities(ticket: Ticket, activity: Activity) -> list[dict[str, Any]]:
    """The ticket's transcript as message activities (JSON), who said what and when."""
    bot = activity.recipient or ChannelAccount(id="bot")
    user = activity.from_property or ChannelAccount(id=ticket.user.id, name=ticket.user.name)
    activities = []
    for line in ticket.transcript:
        sender = bot if line.role is Role.BOT else user
        recipient = user if line.role is Role.BOT else bot
        message = Activity(type=ActivityTypes.message, text=line.text, timestamp=line.at,
                           from_property=ChannelAccount(id=sender.id, name=line.name or sender.name),
                           recipient=recipient, conversation=activity.conversation,
                           channel_id=activity.channel_id)
        activities.append(message.serialize())
    return activities


def handoff_initiation(turn_context: TurnContext, ticket: Ticket, context: Mapping[str, Any]) -> Activity:
    """The ``handoff.initiate`` event for the ticket, sent in the user's conversation."""
    activity = turn_context.activity
    transcript = Attachment(content_type="application/json", name=TRANSCRIPT_NAME,
                            content={"activities": transcript_activities(ticket, activity)})
    return Activity(
        type=ActivityTypes.event,
        name=INITIATE,
        id=str(uuid.uuid4()),
        timestamp=datetime.now(UTC),
        value=dict(context),
        conversation=activity.conversation,
        from_property=activity.from_property,
        relates_to=TurnContext.get_conversation_reference(activity),
        reply_to_id=activity.id,
        service_url=activity.service_url,
        channel_id=activity.channel_id,
        attachments=[transcript],
        entities=[],
    )


def handoff_context(ticket: Ticket) -> dict[str, Any]:
    """What the hub routes on: the ticket number, the user's language, the article, the question."""
    return {
        "ticket": ticket.number,
        "locale": ticket.locale,
        "article": ticket.article,
        "score": ticket.score,
        "question": ticket.questions[-1] if ticket.questions else "",
        "description": ticket.description,
    }


def parse_status(value: Any) -> HandoffStatus | None:
    """A ``handoff.status`` value, or ``None`` when it is not one we know (the protocol says: never reject)."""
    if not isinstance(value, dict):
        return None
    try:
        state = HandoffState(str(value.get("state", "")).strip().lower())
    except ValueError:
        return None
    message = value.get("message")
    return HandoffStatus(state, str(message) if message is not None else "")
