"""Escalation inside the bot: tickets from users, ticket cards in agents' channels, messages relayed
both ways, the handoff protocol for contact-center hubs.

``Escalation`` is called by the plugin (``bot.plugin.InsightDesk``) before its own handling of a
message; it says whether it handled it. It is the facade over the flows, each in its own module:

- ``bot.escalation.user_flow``: the user's messages, the offer, creating a ticket, End and Reopen, status;
- ``bot.escalation.agent_flow``: the agents' channel (register, ``tickets``, ``ticket N``, Take, Resolve,
  the thread's relay, refusals);
- ``bot.escalation.hub_flow``: ``handoff.status`` events from a contact-center hub;
- ``bot.escalation.proactive``: sending to a stored conversation reference, posting and updating ticket cards;
- ``bot.escalation.transcript``: the conversation's recent lines before a ticket exists.

Replies inside a turn go through the turn; everything else (the ticket card in the agents' channel, the
agent's words to the user, the user's words to the thread) goes proactively to a stored conversation
reference, taken from an authenticated activity. Every change is stored first (see
``bot.escalation.store``), then announced. Card actions are declared once, by the flow that owns them, and
dispatched from one table (``card_actions`` names them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botbuilder.core import Storage, TurnContext
from botbuilder.schema import Activity

from bot import cards as bot_cards
from bot.channel.channel_text import turn_text
from bot.escalation.agent_channels import AgentChannels
from bot.escalation.agent_flow import AgentFlow
from bot.escalation.handoff import HandoffMode
from bot.escalation.hooks import AnswerCard, CardHandler, ObserveState
from bot.escalation.hub_flow import HubFlow
from bot.escalation.origin import channel_id_of
from bot.escalation.outbox import Outbox
from bot.escalation.proactive import SEND_ERRORS, Proactive
from bot.escalation.queues import Queue, QueueRegistry
from bot.escalation.store import StorageTicketStore
from bot.escalation.ticket_store import MaskingTicketStore, TicketStore
from bot.escalation.transcript import MAX_EARLY_LINE_CHARS, MAX_TRANSCRIPT_LINES, ConversationMemory, merge_transcript
from bot.escalation.user_flow import UserFlow
from bot.stores.keyed_locks import KeyedLocks
from bot.strings import Strings
from bot.turn_state import DeskConversationState

__all__ = ["MAX_EARLY_LINE_CHARS", "MAX_TRANSCRIPT_LINES", "SEND_ERRORS", "AnswerCard", "Escalation", "HandoffMode",
           "merge_transcript"]


class Escalation:
    """Tickets, queues and relay over one botbuilder ``Storage``; ``app_id`` signs proactive sends."""

    def __init__(self, storage: Storage, *, app_id: str = "", mode: HandoffMode | str = HandoffMode.TEAMS,
                 tickets: TicketStore | None = None, mask: Callable[[str], str] | None = None,
                 agent_teams: frozenset[str] = frozenset(), conversation_state: DeskConversationState | None = None,
                 answer: AnswerCard | None = None, observe_state: ObserveState | None = None) -> None:
        """``mask`` (``bot.redact.redact`` when ``REDACT_TRANSCRIPTS`` is on) is applied to every text people
        typed before it is stored (tickets, the conversation's recent lines) and to the user's words the
        agents see; what an agent writes still reaches the user as written (it is stored masked).
        ``agent_teams`` (``AGENT_TEAMS``) are the Teams team ids or AAD group ids whose channels may act as
        support; empty: none may.

        ``conversation_state`` keeps each conversation's recent lines and last answer (by default a
        ``DeskConversationState`` over ``storage``: the plugin loads and saves this one, ``conversation_state``
        below); ``answer(text, locale)`` is the knowledge base's answer card, for an agent's ``/kb``;
        ``observe_state`` is called with the state a ticket entered, once the change is stored and announced."""
        self.mode = HandoffMode(mode)
        posts_cards = tickets is None and self.mode is not HandoffMode.HUB
        store: TicketStore = tickets if tickets is not None else StorageTicketStore(storage, outbox=posts_cards)
        self.mask: Callable[[str], str] = mask or _as_typed
        if mask is not None:
            store = MaskingTicketStore(store, mask)
        self.tickets = store
        self.queues = QueueRegistry(storage)
        self.channels = AgentChannels(self.queues, agent_teams)
        self.proactive = Proactive(app_id=app_id, tickets=store, channels=self.channels)
        self.outbox: Outbox | None = Outbox(storage, store, self.proactive.post_card, self.proactive.tell_delayed) \
            if posts_cards else None
        """Tickets' cards on their way to agents' channels (``bot.escalation.outbox``); ``None`` with a
        ticket store of the caller's (cards are then posted once, inline) or in hub mode."""
        self.conversation_state: DeskConversationState = conversation_state if conversation_state is not None \
            else DeskConversationState(storage)
        """The state the conversation's lines are kept in; the plugin shares it (one read loads both)."""
        self.memory = ConversationMemory(self.conversation_state, self.mask)
        relay_order = KeyedLocks()
        """Held by each relayed line of a ticket from storing it to sending it: lines that reach this process
        at once are stored and sent one at a time, in the same order (both ways share it)."""
        self.users = UserFlow(tickets=store, mode=self.mode, mask=self.mask, memory=self.memory,
                              proactive=self.proactive, outbox=self.outbox, relay_order=relay_order,
                              observe_state=observe_state)
        self.agents = AgentFlow(tickets=store, mode=self.mode, channels=self.channels, proactive=self.proactive,
                                relay_order=relay_order, answer=answer, observe_state=observe_state)
        self.hub = HubFlow(tickets=store, observe_state=observe_state)
        self._card_handlers: Mapping[str, CardHandler] = _one_table(self.users.card_handlers(),
                                                                    self.agents.card_handlers())
        self.card_actions: frozenset[str] = frozenset(self._card_handlers)
        """The card actions escalation owns (``bot.cards.ACTION_KEY`` values); ``on_card_action`` handles them."""

    @property
    def app_id(self) -> str:
        """The bot's app id, signing proactive sends."""
        return self.proactive.app_id

    @property
    def agent_teams(self) -> frozenset[str]:
        """The teams whose registered channels act as support (``AGENT_TEAMS``)."""
        return self.channels.agent_teams

    # -- who is support -----------------------------------------------------------------------------

    async def active_queues(self) -> list[Queue]:
        """The registered queues whose team is still listed in ``AGENT_TEAMS``: the only ones tickets reach."""
        return await self.channels.active()

    async def queue_of(self, activity: Activity) -> Queue | None:
        """The agents' queue an agent's button was pressed in, by Take's rule (``AgentChannels.queue_here``);
        else ``None``."""
        return await self.channels.queue_here(activity)

    async def log_unlisted_queues(self) -> None:
        """At start: say which registered channels no longer receive tickets because their team is not listed."""
        await self.channels.log_unlisted()

    # -- the conversation so far ------------------------------------------------------------------

    async def begin_turn(self, turn_context: TurnContext) -> None:
        """Record the user's message, and what the bot sends in this turn, in the conversation's transcript."""
        await self.memory.begin_turn(turn_context)

    async def note_answer(self, turn_context: TurnContext, article: str, score: float, query: str) -> None:
        """Remember the article last shown in this conversation (for the ticket: which, how sure)."""
        await self.memory.note_answer(turn_context, article, score, query)

    # -- messages, cards, events --------------------------------------------------------------------

    async def on_message(self, turn_context: TurnContext, strings: Strings) -> bool:
        """Handle a message that belongs to escalation; ``False`` for the plugin's own handling. Card
        buttons never come here: ``bot.actions`` dispatches each to its owner (``on_card_action``)."""
        activity = turn_context.activity
        text = turn_text(turn_context)
        if channel_id_of(activity) is not None:
            handled = await self.agents.on_channel_message(turn_context, text)
            if handled is not None:
                return handled
        return await self.users.on_message(turn_context, text, strings)  # users may ask in any other channel

    async def on_overheard(self, turn_context: TurnContext) -> bool:
        """A channel message that does not mention the bot (Teams sends them with ``ChannelMessage.Read.Group``):
        relayed when it is the owning agent's, in the thread of an open ticket of an agents' channel;
        ``False`` (and not a word) for anything else: the bot reads channels, it does not join in."""
        return await self.agents.on_overheard(turn_context, turn_text(turn_context))

    async def offer(self, turn_context: TurnContext, strings: Strings, *, query: str, article: str | None) -> None:
        """Ask before making a ticket, with a box for a description (the card's "Talk to a person", words)."""
        await self.users.offer(turn_context, strings, query=query, article=article)

    async def on_card_action(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> bool:
        """Handle one of ``card_actions``; ``False`` for any other action."""
        handler = self._card_handlers.get(str(data.get(bot_cards.ACTION_KEY)))
        if handler is None:
            return False
        await handler(turn_context, data, strings)
        return True

    async def on_event(self, turn_context: TurnContext) -> bool:
        """``handoff.status`` from a hub: accepted → assigned, completed → resolved, failed → cancelled."""
        return await self.hub.on_event(turn_context)


def _one_table(*tables: Mapping[str, CardHandler]) -> dict[str, CardHandler]:
    """The flows' card actions in one table; an action two flows claim is a programming error."""
    merged: dict[str, CardHandler] = {}
    for table in tables:
        for name, handler in table.items():
            if name in merged:
                raise ValueError(f"card action {name!r} is declared twice")
            merged[name] = handler
    return merged


def _as_typed(text: str) -> str:
    return text
