"""Sending outside the turn: to a stored conversation reference (the user's conversation, an agents' channel or
one of its threads) through ``adapter.continue_conversation(reference, callback, app_id)``.

Ticket cards are posted here (a new thread per ticket) and updated in place; a send the channel refuses or
cannot take is logged and reported as ``None``, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from botbuilder.core import BotAdapter, CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ConversationReference, ResourceResponse
from botframework.connector.models import ErrorResponseException
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.escalation import cards
from bot.escalation.agent_channels import AgentChannels
from bot.escalation.outbox import PostOutcome
from bot.escalation.queues import Queue, route
from bot.escalation.ticket_store import TicketStore
from bot.escalation.tickets import Ticket
from bot.strings import strings_for

log = logging.getLogger(__name__)

SEND_ERRORS = (ErrorResponseException, HttpOperationError, ClientRequestError, aiohttp.ClientError, OSError)
"""What a send to a channel's connector raises when the channel refuses it or cannot be reached."""


def card_activity(card: dict[str, Any]) -> Activity:
    """A message carrying one Adaptive Card."""
    activity: Activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    return activity


def in_thread(queue: Queue, thread: str) -> dict[str, Any]:
    """The queue's stored reference, pointed at one of its threads."""
    reference = dict(queue.reference)
    reference["conversation"] = {**dict(reference.get("conversation") or {}), "id": thread}
    return reference


class Proactive:
    """Proactive sends signed as ``app_id``; tickets' cards go to ``channels``' queues and are recorded in
    ``tickets``."""

    def __init__(self, *, app_id: str, tickets: TicketStore, channels: AgentChannels) -> None:
        self.app_id = app_id
        self.tickets = tickets
        self.channels = channels

    async def send(self, adapter: BotAdapter, reference: Mapping[str, Any], activity: Activity, *,
                   update: str | None = None) -> str | None:
        """Send (or with ``update``, replace) one activity in a stored conversation; its id, ``None`` on failure."""
        target = ConversationReference().deserialize(dict(reference))
        sent: list[str | None] = []

        async def new_message(context: TurnContext, activities: list[Activity],
                              send: Callable[[], Awaitable[Any]]) -> Any:
            for each in activities:  # not a reply to the continuation's made-up id: a new post (in a channel, a thread)
                each.reply_to_id = None
            return await send()

        async def callback(context: TurnContext) -> None:
            context.on_send_activities(new_message)
            try:
                if update is not None:
                    activity.id = update
                    response: ResourceResponse | None = await context.update_activity(activity)
                    sent.append(response.id if response and response.id else update)
                else:
                    response = await context.send_activity(activity)
                    sent.append(response.id if response else None)
            except SEND_ERRORS as e:
                log.error("could not send to conversation %s: %s", target.conversation.id if target.conversation
                          else None, e)

        await adapter.continue_conversation(target, callback, self.app_id)
        return sent[0] if sent else None

    async def to_thread(self, adapter: BotAdapter, ticket: Ticket, key: str | None, *, said: str = "") -> None:
        """Post in the ticket's thread: ``said`` as it is, or the catalog's ``key`` in the channel's language."""
        if not ticket.thread or not ticket.queue:
            return
        queue = await self.channels.registry.find(ticket.queue)
        if queue is None:
            return
        text = strings_for(queue.agent_locale).text(key, number=str(ticket.number)) if key else said
        await self.send(adapter, in_thread(queue, ticket.thread), MessageFactory.text(text))

    async def update_card(self, adapter: BotAdapter, ticket: Ticket) -> None:
        """Replace the ticket card in its thread (the conversation Teams gives the card's own buttons)."""
        if not ticket.card_id or not ticket.queue or not ticket.thread:
            return
        queue = await self.channels.registry.find(ticket.queue)
        if queue is not None:
            card = cards.ticket_card(ticket, strings=strings_for(queue.agent_locale))
            await self.send(adapter, in_thread(queue, ticket.thread), card_activity(card), update=ticket.card_id)

    async def post_card(self, adapter: BotAdapter, ticket: Ticket) -> PostOutcome:
        """Post ``ticket``'s card to the agents' channel that takes it (``route``), if any."""
        queue = route(await self.channels.active(), locale=ticket.locale, article=ticket.article,
                      tenant=ticket.tenant)
        if queue is None:
            log.warning("ticket %d: no agents' channel of tenant %s takes locale %s; it waits in `tickets`",
                        ticket.number, ticket.tenant or "none", ticket.locale)
            return PostOutcome.NO_QUEUE
        return PostOutcome.POSTED if await self._post_ticket(adapter, queue, ticket) else PostOutcome.FAILED

    async def _post_ticket(self, adapter: BotAdapter, queue: Queue, ticket: Ticket) -> bool:
        """Start the ticket's thread in the queue's channel with its card; remember thread and card (unless a
        thread is known by then: a card posted twice keeps the first); whether the card was sent."""
        card = cards.ticket_card(ticket, strings=strings_for(queue.agent_locale))
        sent = await self.send(adapter, queue.reference, card_activity(card))
        if sent is None:
            return False
        thread = f"{queue.channel_id};messageid={sent}"
        await self.tickets.change(ticket.number,
                                  lambda t: t if t.thread else t.with_card(thread, sent, queue.channel_id))
        return True

    async def tell_delayed(self, adapter: BotAdapter, ticket: Ticket) -> bool:
        """Tell the user, in their language, that support could not be reached yet and their request is kept."""
        text = strings_for(ticket.locale).text("ticket_post_delayed", number=str(ticket.number))
        return await self.send(adapter, ticket.conversation, MessageFactory.text(text)) is not None
