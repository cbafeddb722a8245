"""Escalation inside the bot: tickets from users, ticket cards in agents' channels, messages relayed
both ways, the handoff protocol for contact-center hubs.

``Escalation`` is called by the plugin (``bot.plugin.InsightDesk``) before its own handling of a
message; it says whether it handled it. Replies inside a turn go through the turn; everything else
(the ticket card in the agents' channel, the agent's words to the user, the user's words to the thread)
goes proactively to a stored conversation reference, taken from an authenticated activity:
``adapter.continue_conversation(reference, callback, app_id)``. Every change is stored first (see
``bot.escalation.store``), then announced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import aiohttp
from botbuilder.core import (
    BotAdapter,
    CardFactory,
    ConversationState,
    MessageFactory,
    StatePropertyAccessor,
    Storage,
    TurnContext,
)
from botbuilder.schema import Activity, ActivityTypes, ConversationReference, ResourceResponse
from botframework.connector.models import ErrorResponseException
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot import cards as bot_cards
from bot.channel_text import client_locale, turn_text
from bot.escalation import cards
from bot.escalation.handoff import STATUS, HandoffState, handoff_context, handoff_initiation, parse_status
from bot.escalation.outbox import Outbox, PostOutcome
from bot.escalation.queues import Queue, QueueRegistry, holds, parse_register, route
from bot.escalation.store import MaskingTicketStore, StorageTicketStore, TicketStore
from bot.escalation.stored_reference import stored_reference
from bot.escalation.tickets import (
    Line,
    NotInQueue,
    NotYourTicket,
    Person,
    Role,
    Ticket,
    TicketError,
    TicketState,
    TicketStillOpen,
    TicketTaken,
)
from bot.escalation.words import escalation_phrases, is_status_command, status_phrases
from bot.keyed_locks import KeyedLocks
from bot.markdown_escape import escape_markdown
from bot.storage import StorageError
from bot.strings import N_, Strings, strings_for
from bot.tenants import activity_tenants
from bot.turn_state import DeskConversationState

log = logging.getLogger(__name__)

MAX_TRANSCRIPT_LINES = 40
"""Lines of the conversation kept before a ticket exists (the ticket keeps every line after)."""
MAX_EARLY_LINE_CHARS = 2000
"""Each of those lines is kept up to this long: the conversation state is rewritten every turn."""
MAX_LIST = 20
"""Tickets the ``tickets`` command lists."""
ESCALATION_ACTIONS = frozenset({"escalate_confirm", "escalate_cancel", "take", "resolve", "end", "reopen"})
_TICKET_COMMAND = re.compile(r"^\s*/?ticket\s+#?(\S+)\s*$", re.IGNORECASE)
_TICKETS_COMMAND = re.compile(r"^\s*/?tickets\s*$", re.IGNORECASE)
_KB_COMMAND = re.compile(r"^\s*/kb(?:\s+(.+?))?\s*$", re.IGNORECASE | re.DOTALL)
AnswerCard = Callable[[str, str], dict[str, Any] | None]
"""The knowledge base's answer card for a text in a locale, ``None`` when it has no confident answer."""
SEND_ERRORS = (ErrorResponseException, HttpOperationError, ClientRequestError, aiohttp.ClientError, OSError)
"""What a send to a channel's connector raises when the channel refuses it or cannot be reached."""

class HandoffMode(StrEnum):
    """Where tickets go: agents' channels in Teams, a contact-center hub (``handoff.initiate``), or both."""

    TEAMS = "teams"
    HUB = "hub"
    BOTH = "both"


def _data_ticket(data: Mapping[str, Any]) -> int | None:
    try:
        return int(str(data.get("ticket", "")).strip().lstrip("#"))
    except ValueError:
        return None


def channel_id_of(activity: Activity) -> str | None:
    """The Teams channel an activity was posted in (``None`` outside channels)."""
    conversation = activity.conversation
    if conversation is None or conversation.conversation_type != "channel":
        return None
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = channel_data.get("channel")
    channel = channel if isinstance(channel, dict) else {}
    return str(channel.get("id") or (conversation.id or "").split(";", 1)[0]) or None


def team_of(activity: Activity) -> tuple[str, str]:
    """The Teams team a channel activity came from: its id (``channelData.team.id``) and AAD group id."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = channel_data.get("team")
    team = team if isinstance(team, dict) else {}
    return str(team.get("id") or ""), str(team.get("aadGroupId") or "")


def tenant_of(activity: Activity) -> str:
    """The tenant an activity names (``""`` for none); two different ones give a value no queue has."""
    return "|".join(sorted(activity_tenants(activity)))


def _shown(text: str) -> str:
    """One person's words for another's Teams message: markdown and HTML cannot take effect."""
    return escape_markdown(text, html=True)


def _person(activity: Activity) -> Person:
    who = activity.from_property
    return Person(str(who.id if who and who.id else "unknown"), str(who.name if who and who.name else ""))


def _card_activity(card: dict[str, Any]) -> Activity:
    activity: Activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    return activity


class Escalation:
    """Tickets, queues and relay over one botbuilder ``Storage``; ``app_id`` signs proactive sends."""

    def __init__(self, storage: Storage, *, app_id: str = "", mode: HandoffMode | str = HandoffMode.TEAMS,
                 tickets: TicketStore | None = None, mask: Callable[[str], str] | None = None,
                 agent_teams: frozenset[str] = frozenset()) -> None:
        """``mask`` (``bot.redact.redact`` when ``REDACT_TRANSCRIPTS`` is on) is applied to every text people
        typed before it is stored (tickets, the conversation's recent lines) and to the user's words the
        agents see; what an agent writes still reaches the user as written (it is stored masked).
        ``agent_teams`` (``AGENT_TEAMS``) are the Teams team ids or AAD group ids whose channels may act as
        support; empty: none may."""
        self.mode = HandoffMode(mode)
        posts_cards = tickets is None and self.mode is not HandoffMode.HUB
        self.tickets: TicketStore = tickets if tickets is not None else StorageTicketStore(storage,
                                                                                        outbox=posts_cards)
        self.mask: Callable[[str], str] = mask or _as_typed
        if mask is not None:
            self.tickets = MaskingTicketStore(self.tickets, mask)
        self.outbox: Outbox | None = Outbox(storage, self.tickets, self._post_card, self._tell_delayed) \
            if posts_cards else None
        """Tickets' cards on their way to agents' channels (``bot.escalation.outbox``); ``None`` with a
        ticket store of the caller's (cards are then posted once, inline) or in hub mode."""
        self.queues = QueueRegistry(storage)
        self.app_id = app_id
        self.agent_teams = frozenset(t.strip() for t in agent_teams if t.strip())
        self._requests = escalation_phrases()
        self._status = status_phrases()
        self._transcript: StatePropertyAccessor | None = None
        self._shown: StatePropertyAccessor | None = None
        self._answer: AnswerCard | None = None
        self._relay_order = KeyedLocks()
        """Held by each relayed line of a ticket from storing it to sending it: lines that reach this process
        at once are stored and sent one at a time, in the same order."""
        self.observe_state: Callable[[TicketState], None] | None = None
        """Called with the state a ticket entered, once the change is stored and announced (``bot.metrics``)."""

    def attach(self, conversation_state: ConversationState, answer: AnswerCard | None = None) -> None:
        """Keep each conversation's recent lines and last answer in the plugin's conversation state;
        ``answer(text, locale)`` is the knowledge base's answer card, for an agent's ``/kb``."""
        self._transcript = conversation_state.create_property("InsightDeskTranscript")
        if isinstance(conversation_state, DeskConversationState):  # two turns at once: both turns' lines kept
            conversation_state.merge_property("InsightDeskTranscript", merge_transcript)
        self._shown = conversation_state.create_property("InsightDeskShown")
        self._answer = answer

    # -- who is support -----------------------------------------------------------------------------

    def _listed(self, team: str, group: str) -> bool:
        return bool(team and team in self.agent_teams) or bool(group and group in self.agent_teams)

    async def active_queues(self) -> list[Queue]:
        """The registered queues whose team is still listed in ``AGENT_TEAMS``: the only ones tickets reach."""
        return [q for q in await self.queues.all() if self._listed(q.team, q.team_group)]

    async def _queue_here(self, activity: Activity) -> Queue | None:
        """The agents' queue ``activity`` was posted in: a registered channel of a listed team, the activity
        naming the team and tenant it was registered from; ``None`` anywhere else."""
        channel = channel_id_of(activity)
        queue = await self.queues.find(channel) if channel else None
        if queue is None or not self._listed(queue.team, queue.team_group):
            return None
        if team_of(activity)[0] != queue.team or tenant_of(activity) != queue.tenant:
            return None
        return queue

    async def log_unlisted_queues(self) -> None:
        """At start: say which registered channels no longer receive tickets because their team is not listed."""
        for queue in await self.queues.all():
            if not self._listed(queue.team, queue.team_group):
                log.warning("agents' channel %s (team %s, tenant %s) is registered but its team is not in "
                            "AGENT_TEAMS: it receives no tickets", queue.channel_id, queue.team or "unknown",
                            queue.tenant or "none")

    def _count(self, before: Ticket | None, after: Ticket) -> None:
        """The last step of every change: stored, announced, now counted (when the state changed)."""
        if self.observe_state is not None and (before is None or before.state is not after.state):
            self.observe_state(after.state)

    # -- the conversation so far ------------------------------------------------------------------

    async def begin_turn(self, turn_context: TurnContext) -> None:
        """Record the user's message, and what the bot sends in this turn, in the conversation's transcript."""
        activity = turn_context.activity
        if self._transcript is None:
            return
        lines = await self._lines(turn_context)
        text = turn_text(turn_context)
        if text:
            user = _person(activity)
            lines.append(_line_document(Line(Role.USER, user.name or user.id, self.mask(text))))

        async def record(ctx: TurnContext, activities: list[Activity], send: Callable[[], Awaitable[Any]]) -> Any:
            for sent in activities:
                said = _said(sent)
                if said:
                    lines.append(_line_document(Line(Role.BOT, sent.from_property.name if sent.from_property
                                                     and sent.from_property.name else "Insight Desk",
                                                     self.mask(said))))
            del lines[:-MAX_TRANSCRIPT_LINES]
            return await send()

        turn_context.on_send_activities(record)
        del lines[:-MAX_TRANSCRIPT_LINES]

    async def _lines(self, turn_context: TurnContext) -> list[dict[str, Any]]:
        if self._transcript is None:
            return []
        try:
            lines = await self._transcript.get(turn_context, list)
        except StorageError as e:
            log.error("could not read the transcript (activity %s): %s", turn_context.activity.id, e)
            return []
        if not isinstance(lines, list):
            lines = []
            await self._transcript.set(turn_context, lines)
        return lines

    async def note_answer(self, turn_context: TurnContext, article: str, score: float, query: str) -> None:
        """Remember the article last shown in this conversation (for the ticket: which, how sure)."""
        if self._shown is None:
            return
        try:
            await self._shown.set(turn_context, {"article": article, "score": score,
                                                 "query": self.mask(query[:500])})
        except StorageError as e:
            log.error("could not remember the answer (activity %s): %s", turn_context.activity.id, e)

    # -- messages -----------------------------------------------------------------------------------

    async def on_message(self, turn_context: TurnContext, strings: Strings) -> bool:
        """Handle a message that belongs to escalation; ``False`` for the plugin's own handling."""
        activity = turn_context.activity
        data = activity.value if isinstance(activity.value, dict) else None
        if data and str(data.get(bot_cards.ACTION_KEY)) in ESCALATION_ACTIONS:
            return await self.on_card_action(turn_context, data, strings)
        if data and bot_cards.ACTION_KEY in data:
            return False
        text = turn_text(turn_context)
        if channel_id_of(activity) is not None:
            registration = parse_register(text)
            if registration is not None:
                await self._register(turn_context, registration.locales, registration.articles, registration.problem)
                return True
            queue = await self._queue_here(activity)  # one read of the queues per channel message
            if queue is not None:
                return await self._on_agents_message(turn_context, text, queue)
        return await self._on_user_message(turn_context, text, strings)  # users may ask in any other channel

    async def on_overheard(self, turn_context: TurnContext) -> bool:
        """A channel message that does not mention the bot (Teams sends them with ``ChannelMessage.Read.Group``):
        relayed when it is the owning agent's, in the thread of an open ticket of an agents' channel;
        ``False`` (and not a word) for anything else: the bot reads channels, it does not join in."""
        activity = turn_context.activity
        text = turn_text(turn_context)
        queue = await self._queue_here(activity) if text else None
        if queue is None:
            return False
        ticket = await self.tickets.for_thread(activity.conversation.id if activity.conversation else "")
        agent = _person(activity)
        if ticket is None or not ticket.is_open or ticket.assignee is None or ticket.assignee.id != agent.id:
            return False
        if ticket.queue != queue.channel_id:
            log.warning("refused a relay into ticket %d from channel %s: the ticket is in %s", ticket.number,
                        queue.channel_id, ticket.queue)
            return False
        await self._relay_from_agent(turn_context, ticket, agent, text, _agent_strings(activity, queue))
        return True

    async def _on_user_message(self, turn_context: TurnContext, text: str, strings: Strings) -> bool:
        activity = turn_context.activity
        user = _person(activity)
        conversation_id = activity.conversation.id if activity.conversation else ""
        ticket = await self.tickets.open_in_conversation(conversation_id)
        if ticket is not None and ticket.user.id != user.id:
            ticket = None
        if is_status_command(self._status, text):
            await turn_context.send_activity(self._status_text(ticket or await self.tickets.open_for_user(user.id),
                                                               strings))
            return True
        if ticket is not None:
            if text:
                await self._relay_from_user(turn_context.adapter, ticket, user, text)
            return True
        if self._requests.found_in(text):
            await self.offer(turn_context, strings, query="", article=None)
            return True
        if parse_register(text) is not None:  # outside a channel
            await turn_context.send_activity(_agent_strings(activity, None).text("agent_not_a_channel"))
            return True
        return False

    def _status_text(self, ticket: Ticket | None, strings: Strings) -> str:
        if ticket is None:
            return strings.text("status_none")
        if ticket.state is TicketState.ASSIGNED and ticket.assignee:
            return strings.text("status_assigned", number=str(ticket.number), agent=_shown(ticket.assignee.name))
        return strings.text("status_waiting", number=str(ticket.number))

    async def offer(self, turn_context: TurnContext, strings: Strings, *, query: str, article: str | None) -> None:
        """Ask before making a ticket, with a box for a description (the card's "Talk to a person", words)."""
        user = _person(turn_context.activity)
        existing = await self.tickets.open_for_user(user.id)
        if existing is not None:
            await turn_context.send_activity(strings.text("ticket_already_open", number=str(existing.number)))
            return
        card = cards.confirm_card(query=query, article=article, strings=strings)
        await turn_context.send_activity(_card_activity(card))

    # -- card actions -------------------------------------------------------------------------------

    async def on_card_action(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> bool:
        action = str(data.get(bot_cards.ACTION_KEY))
        if action == "escalate_confirm":
            await self._create(turn_context, data, strings)
        elif action == "escalate_cancel":
            await turn_context.send_activity(strings.text("escalation_cancelled"))
        elif action in ("take", "resolve"):
            await self._agent_action(turn_context, action, _data_ticket(data))
        elif action in ("end", "reopen"):
            await self._user_action(turn_context, action, _data_ticket(data), strings)
        else:
            return False
        return True

    async def _create(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> None:
        activity = turn_context.activity
        user = _person(activity)
        lines = [_line_from_document(d) for d in await self._lines(turn_context)]
        transcript = tuple(line for line in lines if line is not None)
        shown = await self._shown.get(turn_context, dict) if self._shown is not None else {}
        shown = shown if isinstance(shown, dict) else {}
        article = data.get("article") if isinstance(data.get("article"), str) else shown.get("article")
        score = shown.get("score") if shown.get("article") == article else None
        query = str(data.get("query") or "") or str(shown.get("query") or "")
        asked = [ln.text for ln in transcript if ln.role is Role.USER and not self._requests.found_in(ln.text)]
        questions = tuple(dict.fromkeys(q for q in [query, *asked[-3:]] if q))
        description = str(data.get(cards.DESCRIPTION_INPUT) or "").strip()[: cards.MAX_DESCRIPTION_CHARS]
        reference = stored_reference(TurnContext.get_conversation_reference(activity))

        def build(number: int) -> Ticket:
            return Ticket(number=number, user=user, conversation=reference, locale=strings.locale,
                          questions=questions, description=description, article=article,
                          score=float(score) if isinstance(score, (int, float)) else None, transcript=transcript,
                          handoff=self.mode is not HandoffMode.TEAMS, tenant=tenant_of(activity))

        try:
            ticket = await self.tickets.create(build)
        except TicketStillOpen as e:
            await turn_context.send_activity(strings.text("ticket_already_open", number=str(e.ticket.number)))
            return
        log.info("ticket %d created (conversation %s, locale %s)", ticket.number, ticket.conversation_id,
                 ticket.locale)
        notice = cards.notice_card(strings.text("ticket_created", number=str(ticket.number)),
                                   buttons=[(strings.text("end_conversation"), "end", ticket.number)],
                                   locale=strings.locale)
        await turn_context.send_activity(_card_activity(notice))
        if self.mode is not HandoffMode.TEAMS:
            await turn_context.send_activity(handoff_initiation(turn_context, ticket, handoff_context(ticket)))
        if self.outbox is not None:
            try:  # at once; when it fails the outbox posts it later (its entry was stored with the ticket)
                await self.outbox.post_new(turn_context.adapter, ticket)
            except StorageError as e:
                log.error("ticket %d: its card's outcome could not be stored; the outbox posts it again: %s",
                          ticket.number, e)
        elif self.mode is not HandoffMode.HUB:
            await self._post_card(turn_context.adapter, ticket)
        self._count(None, ticket)

    async def _post_card(self, adapter: BotAdapter, ticket: Ticket) -> PostOutcome:
        """Post ``ticket``'s card to the agents' channel that takes it (``route``), if any."""
        queue = route(await self.active_queues(), locale=ticket.locale, article=ticket.article, tenant=ticket.tenant)
        if queue is None:
            log.warning("ticket %d: no agents' channel of tenant %s takes locale %s; it waits in `tickets`",
                        ticket.number, ticket.tenant or "none", ticket.locale)
            return PostOutcome.NO_QUEUE
        return PostOutcome.POSTED if await self._post_ticket(adapter, queue, ticket) else PostOutcome.FAILED

    async def _tell_delayed(self, adapter: BotAdapter, ticket: Ticket) -> bool:
        """Tell the user, in their language, that support could not be reached yet and their request is kept."""
        text = strings_for(ticket.locale).text("ticket_post_delayed", number=str(ticket.number))
        return await self._send(adapter, ticket.conversation, MessageFactory.text(text)) is not None

    async def _post_ticket(self, adapter: BotAdapter, queue: Queue, ticket: Ticket) -> bool:
        """Start the ticket's thread in the queue's channel with its card; remember thread and card (unless a
        thread is known by then: a card posted twice keeps the first); whether the card was sent."""
        card = cards.ticket_card(ticket, strings=strings_for(queue.agent_locale))
        sent = await self._send(adapter, queue.reference, _card_activity(card))
        if sent is None:
            return False
        thread = f"{queue.channel_id};messageid={sent}"
        await self.tickets.change(ticket.number,
                                  lambda t: t if t.thread else t.with_card(thread, sent, queue.channel_id))
        return True

    async def _agent_action(self, turn_context: TurnContext, action: str, number: int | None) -> None:
        activity = turn_context.activity
        queue = await self._queue_here(activity)
        say = _agent_strings(activity, queue)
        if queue is None:
            await self._refuse_agent_action(turn_context, action, number, say)
            return
        agent = _person(activity)
        if number is None:
            await turn_context.send_activity(say.text("agent_unknown", number="?"))
            return
        n = str(number)
        here = activity.conversation.id if activity.conversation else ""
        card_id = activity.reply_to_id or ""

        def change(ticket: Ticket) -> Ticket:
            if not holds(queue, ticket):
                raise NotInQueue(ticket, f"ticket {ticket.number} is not in {queue.channel_id}")
            if ticket.thread is None and here and card_id:  # a ticket no thread was started for (no channel
                ticket = ticket.with_card(here, card_id, queue.channel_id)  # took it then): this one is its thread
            return ticket.take(agent) if action == "take" else ticket.resolve(agent)

        try:
            result = await self.tickets.change(number, change)
        except NotInQueue:
            log.warning("refused %s of ticket %d from channel %s (team %s, tenant %s): another queue's ticket",
                        action, number, queue.channel_id, queue.team, queue.tenant or "none")
            await turn_context.send_activity(say.text("agent_unknown", number=n))
            return
        except TicketTaken as e:
            await turn_context.send_activity(say.text("agent_taken", number=n, agent=_holder(e.ticket)))
            return
        except NotYourTicket as e:
            await turn_context.send_activity(say.text("agent_not_yours", number=n, agent=_holder(e.ticket)))
            return
        except TicketError as e:
            await turn_context.send_activity(_closed(say, e.ticket))
            return
        if result is None:
            await turn_context.send_activity(say.text("agent_unknown", number=n))
            return
        before, after = result
        if before == after:
            await turn_context.send_activity(say.text("agent_yours", number=n))
            return
        await self._update_card(turn_context.adapter, after)
        strings = strings_for(after.locale)
        name = _shown(agent.name or agent.id)
        if action == "take":
            text = strings.text("agent_joined", agent=name)
            buttons = [(strings.text("end_conversation"), "end", after.number)]
            await turn_context.send_activity(say.text("agent_took", agent=name, number=n))
        else:
            text = strings.text("ticket_resolved", agent=name, number=n)
            buttons = [(strings.text("reopen"), "reopen", after.number)]
            await turn_context.send_activity(say.text("agent_resolved", agent=name, number=n))
        if not after.handoff or self.mode is HandoffMode.BOTH:
            await self._send(turn_context.adapter, after.conversation,
                             _card_activity(cards.notice_card(text, buttons=buttons, locale=strings.locale)))
        self._count(before, after)

    async def _refuse_agent_action(self, turn_context: TurnContext, action: str, number: int | None,
                                   say: Strings) -> None:
        """An agent's button pressed (or forged) outside an agents' channel: nothing changes. In a channel the
        sender learns why; in a personal or group chat the bot says nothing (no agent works there)."""
        activity = turn_context.activity
        channel = channel_id_of(activity)
        team, group = team_of(activity)
        log.warning("refused %s of ticket %s from %s %s (team %s, tenant %s, user %s): not an agents' channel",
                    action, number, activity.conversation.conversation_type if activity.conversation else None,
                    channel or (activity.conversation.id if activity.conversation else None), team or "none",
                    tenant_of(activity) or "none", _person(activity).id)
        if channel is None:
            return
        if not self._listed(team, group):
            await turn_context.send_activity(say.text("agent_team_not_allowed", team=_shown(team or "?")))
        else:
            await turn_context.send_activity(say.text("agent_not_a_queue"))

    async def _user_action(self, turn_context: TurnContext, action: str, number: int | None,
                           strings: Strings) -> None:
        user = _person(turn_context.activity)
        current = await self.tickets.get(number) if number is not None else None
        if current is None or current.user.id != user.id:  # not theirs: tell them about their own
            await turn_context.send_activity(self._status_text(await self.tickets.open_for_user(user.id), strings))
            return
        try:
            result = await self.tickets.change(current.number, (lambda t: t.cancel()) if action == "end"
                                               else (lambda t: t.reopen()))
        except TicketStillOpen as e:
            await turn_context.send_activity(strings.text("ticket_already_open", number=str(e.ticket.number)))
            return
        except TicketError:
            await turn_context.send_activity(self._status_text(await self.tickets.open_for_user(user.id), strings)
                                             if current.is_open else strings.text("ticket_ended",
                                                                                  number=str(current.number)))
            return
        if result is None:
            await turn_context.send_activity(strings.text("status_none"))
            return
        before, after = result
        await self._update_card(turn_context.adapter, after)
        n = str(after.number)
        if action == "end":
            await turn_context.send_activity(strings.text("ticket_ended", number=n))
            await self._to_thread(turn_context.adapter, after, N_("agent_user_ended"))
        else:
            await turn_context.send_activity(strings.text("ticket_reopened", number=n))
            await self._to_thread(turn_context.adapter, after, N_("agent_user_reopened"))
        self._count(before, after)

    # -- the agents' channel ------------------------------------------------------------------------

    async def _on_agents_message(self, turn_context: TurnContext, text: str, queue: Queue) -> bool:
        """A message in ``queue``'s channel (or one of its threads): a command, or an agent's words to relay."""
        activity = turn_context.activity
        say = _agent_strings(activity, queue)
        if _TICKETS_COMMAND.match(text):
            await turn_context.send_activity(await self._list_text(say, queue))
            return True
        command = _TICKET_COMMAND.match(text)
        if command:
            number = _data_ticket({"ticket": command.group(1)})
            ticket = await self.tickets.get(number) if number is not None else None
            if ticket is not None and not holds(queue, ticket):
                log.warning("refused `ticket %d` in channel %s: another queue's ticket", ticket.number,
                            queue.channel_id)
                ticket = None
            if ticket is None:
                await turn_context.send_activity(say.text("agent_unknown", number=_shown(command.group(1)[:20])))
            else:
                await turn_context.send_activity(_card_activity(cards.ticket_card(ticket, strings=say)))
            return True
        conversation_id = activity.conversation.id if activity.conversation else ""
        ticket = await self.tickets.for_thread(conversation_id)
        if ticket is not None and ticket.queue != queue.channel_id:
            log.warning("refused a message into ticket %d's thread from channel %s", ticket.number, queue.channel_id)
            ticket = None
        if ticket is None:
            return False
        if text:
            await self._relay_from_agent(turn_context, ticket, _person(activity), text, say)
        return True

    async def _register(self, turn_context: TurnContext, locales: tuple[str, ...], articles: tuple[str, ...],
                        problem: str | None) -> None:
        activity = turn_context.activity
        channel = channel_id_of(activity)
        say = _agent_strings(activity, None)
        if channel is None:
            await turn_context.send_activity(say.text("agent_not_a_channel"))
            return
        team, group = team_of(activity)
        tenant = tenant_of(activity)
        if not self._listed(team, group):
            log.warning("register agents refused in channel %s: team %s (group %s) of tenant %s is not in "
                        "AGENT_TEAMS", channel, team or "none", group or "none", tenant or "none")
            await turn_context.send_activity(say.text("agent_team_not_allowed", team=_shown(team or "?")))
            return
        registered = await self.queues.find(channel)
        if not tenant or "|" in tenant or (registered is not None and registered.tenant not in ("", tenant)):
            # a Teams channel names exactly one tenant, always the same: anything else is not Teams speaking
            log.warning("register agents refused in channel %s of team %s: the activity names tenant %r, the "
                        "channel is registered for %r", channel, team, tenant or "none",
                        registered.tenant if registered else "none")
            await turn_context.send_activity(say.text("agent_not_a_channel"))
            return
        if problem is not None:
            await turn_context.send_activity(say.text("agent_register_problem", word=_shown(problem)))
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.conversation.id = channel  # new posts go to the channel itself: each one starts a thread
        reference.activity_id = None
        channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        name = str((channel_data.get("channel") or {}).get("name") or channel)
        queue = Queue(channel, name, stored_reference(reference), locales, articles, agent_locale=say.locale,
                      team=team, team_group=group, tenant=tenant)
        await self.queues.register(queue)
        scope = [", ".join(locales) or say.text("agent_all_languages")]
        if articles:
            scope.append(say.text("agent_articles", patterns=_shown(", ".join(articles))))
        log.info("agents' channel registered: %s of team %s, tenant %s (%s)", channel, team, tenant or "none",
                 queue.describe())
        await turn_context.send_activity(say.text("agent_registered", scope="; ".join(scope)))

    async def _list_text(self, say: Strings, queue: Queue) -> str:
        tickets = [t for t in await self.tickets.open_tickets() if holds(queue, t)]
        if not tickets:
            return say.text("agent_no_tickets")
        rows = [say.text("agent_open_tickets")]
        for t in tickets[:MAX_LIST]:
            question = _shown(" ".join((t.questions[-1] if t.questions else t.description).split())[:80])
            who = f" · {_shown(t.assignee.name)}" if t.assignee else ""
            state = cards.state_name(t.state, say)
            rows.append(f"- #{t.number} · {state}{who} · {t.locale} · {_shown(t.user.name)}: {question}")
        return "\n".join(rows)

    # -- relay ------------------------------------------------------------------------------------

    async def _relay_from_user(self, adapter: BotAdapter, ticket: Ticket, user: Person, text: str) -> None:
        text = self.mask(text)
        async with self._relay_order.hold(ticket.number):  # sent in the order the transcript keeps
            line = Line(Role.USER, user.name or user.id, text)
            result = await self.tickets.change(ticket.number, lambda t: t.with_line(line))
            current = result[1] if result else ticket
            if current.handoff and self.mode is HandoffMode.HUB:
                return  # the hub carries the conversation; the bot keeps the record
            await self._to_thread(adapter, current, None, said=f"**{_shown(line.name)}:** {_shown(text)}")

    async def _relay_from_agent(self, turn_context: TurnContext, ticket: Ticket, agent: Person, text: str,
                                say: Strings) -> None:
        n = str(ticket.number)
        if not ticket.is_open:
            await turn_context.send_activity(_closed(say, ticket))
            return
        if ticket.assignee is None:
            await turn_context.send_activity(say.text("agent_take_first", number=n))
            return
        if ticket.assignee.id != agent.id:
            await turn_context.send_activity(say.text("agent_not_sent", number=n, agent=_holder(ticket)))
            return
        kb = _KB_COMMAND.match(text)
        if kb and self._answer is not None:
            await self._answer_from_kb(turn_context, ticket, self._answer, kb.group(1) or "", say)
            return
        async with self._relay_order.hold(ticket.number):  # delivered in the order the transcript keeps
            line = Line(Role.AGENT, agent.name or agent.id, text)
            await self.tickets.change(ticket.number, lambda t: t.with_line(line))
            said = strings_for(ticket.locale).text("agent_says", agent=_shown(line.name), text=_shown(text))
            delivered = await self._send(turn_context.adapter, ticket.conversation, MessageFactory.text(said))
        if delivered is None:
            await turn_context.send_activity(say.text("agent_not_delivered", number=n))

    async def _answer_from_kb(self, turn_context: TurnContext, ticket: Ticket, answer: AnswerCard, query: str,
                              say: Strings) -> None:
        """The agent asks the bot to answer: the knowledge base's card for ``query`` (or the user's question)."""
        query = query or (ticket.questions[-1] if ticket.questions else "")
        card = answer(query, ticket.locale) if query else None
        shown = _shown(query[:80])
        if card is None:
            await turn_context.send_activity(say.text("agent_kb_none", query=shown))
            return
        line = Line(Role.BOT, "Insight Desk", str(card.get("fallbackText") or ""))
        await self.tickets.change(ticket.number, lambda t: t.with_line(line))
        if await self._send(turn_context.adapter, ticket.conversation, _card_activity(card)) is None:
            await turn_context.send_activity(say.text("agent_not_delivered", number=str(ticket.number)))
            return
        await turn_context.send_activity(say.text("agent_kb_sent", query=shown))

    async def _to_thread(self, adapter: BotAdapter, ticket: Ticket, key: str | None, *, said: str = "") -> None:
        """Post in the ticket's thread: ``said`` as it is, or the catalog's ``key`` in the channel's language."""
        if not ticket.thread or not ticket.queue:
            return
        queue = await self.queues.find(ticket.queue)
        if queue is None:
            return
        text = strings_for(queue.agent_locale).text(key, number=str(ticket.number)) if key else said
        await self._send(adapter, _in_thread(queue, ticket.thread), MessageFactory.text(text))

    async def _update_card(self, adapter: BotAdapter, ticket: Ticket) -> None:
        """Replace the ticket card in its thread (the conversation Teams gives the card's own buttons)."""
        if not ticket.card_id or not ticket.queue or not ticket.thread:
            return
        queue = await self.queues.find(ticket.queue)
        if queue is not None:
            card = cards.ticket_card(ticket, strings=strings_for(queue.agent_locale))
            await self._send(adapter, _in_thread(queue, ticket.thread), _card_activity(card), update=ticket.card_id)

    async def _send(self, adapter: BotAdapter, reference: Mapping[str, Any], activity: Activity, *,
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

    # -- the handoff protocol -----------------------------------------------------------------------

    async def on_event(self, turn_context: TurnContext) -> bool:
        """``handoff.status`` from a hub: accepted → assigned, completed → resolved, failed → cancelled."""
        activity = turn_context.activity
        if activity.type != ActivityTypes.event or activity.name != STATUS:
            return False
        status = parse_status(activity.value)
        conversation_id = activity.conversation.id if activity.conversation else ""
        ticket = await self.tickets.open_in_conversation(conversation_id)
        if status is None or ticket is None:
            log.warning("handoff.status ignored (conversation %s): %s", conversation_id,
                        "unknown state" if status is None else "no open ticket")
            return True
        if not _from_hub(activity, ticket):
            log.warning("handoff.status refused for ticket %d (conversation %s): not from the channel it was handed "
                        "to (channel %s, sender %s)", ticket.number, conversation_id, activity.channel_id,
                        _person(activity).id)
            return True
        hub = _person(activity)
        agent = Person(hub.id, status.message if status.state is HandoffState.ACCEPTED and status.message
                       else hub.name or "support")
        strings = strings_for(ticket.locale)
        try:
            if status.state is HandoffState.ACCEPTED:
                result = await self.tickets.change(ticket.number, lambda t: t.take(agent))
            elif status.state is HandoffState.COMPLETED:
                result = await self.tickets.change(ticket.number, lambda t: t.resolve(t.assignee or agent))
                if result:
                    name = result[1].assignee.name if result[1].assignee else agent.name
                    await turn_context.send_activity(strings.text("ticket_resolved", agent=_shown(name),
                                                                  number=str(ticket.number)))
            else:
                result = await self.tickets.change(ticket.number, lambda t: t.cancel())
                await turn_context.send_activity(strings.text("handoff_failed"))
        except TicketError as e:
            log.warning("handoff.status %s for ticket %d refused: %s", status.state.value, ticket.number, e)
            return True
        if result is not None:
            self._count(*result)
        return True


def _from_hub(activity: Activity, ticket: Ticket) -> bool:
    """Whether a ``handoff.*`` event may change ``ticket``: the ticket was handed to a hub, and the event comes
    through the channel and connector it was handed through, not from the user who asked."""
    handed = ticket.conversation
    return (ticket.handoff and activity.channel_id == handed.get("channelId")
            and activity.service_url == handed.get("serviceUrl") and _person(activity).id != ticket.user.id)


def _as_typed(text: str) -> str:
    return text


def _agent_strings(activity: Activity, queue: Queue | None) -> Strings:
    """An agent's language: their client's, else their channel's."""
    locale = client_locale(activity)
    return strings_for(locale) if locale else strings_for(queue.agent_locale if queue else None)


def _in_thread(queue: Queue, thread: str) -> dict[str, Any]:
    """The queue's stored reference, pointed at one of its threads."""
    reference = dict(queue.reference)
    reference["conversation"] = {**dict(reference.get("conversation") or {}), "id": thread}
    return reference


def _holder(ticket: Ticket) -> str:
    return _shown(ticket.assignee.name or ticket.assignee.id) if ticket.assignee else "?"


def _closed(say: Strings, ticket: Ticket) -> str:
    key = N_("agent_closed_resolved") if ticket.state is TicketState.RESOLVED else N_("agent_closed_cancelled")
    return say.text(key, number=str(ticket.number))


def _said(activity: Activity) -> str:
    """What a sent message says: its text, else its card's fallback text."""
    if activity.type != ActivityTypes.message:
        return ""
    if activity.text:
        return str(activity.text)
    for attachment in activity.attachments or []:
        content = attachment.content
        if isinstance(content, dict) and content.get("fallbackText"):
            return str(content["fallbackText"])
    return ""


def _line_document(line: Line) -> dict[str, Any]:
    return {"role": line.role.value, "name": line.name, "text": line.text[:MAX_EARLY_LINE_CHARS],
            "at": line.at.isoformat()}


def _line_from_document(doc: Any) -> Line | None:
    try:
        return Line(Role(doc["role"]), str(doc["name"]), str(doc["text"]), datetime.fromisoformat(doc["at"]))
    except (KeyError, TypeError, ValueError):
        return None


def merge_transcript(stored: Any, loaded: Any, mine: Any) -> list[dict[str, Any]]:
    """The transcript to store when another turn of the conversation saved since this one read it: the lines
    stored now, then this turn's new ones (in ``mine``, not in ``loaded``) that are not stored yet, in the
    order they were said (their time; stable for equal times), the last ``MAX_TRANSCRIPT_LINES`` kept.
    A line is who, what and when: the same words said again later are a new line."""
    kept = [line for line in stored if isinstance(line, dict)] if isinstance(stored, list) else []
    old = {_line_key(line) for line in loaded if isinstance(line, dict)} if isinstance(loaded, list) else set()
    seen = {_line_key(line) for line in kept}
    for line in mine if isinstance(mine, list) else []:
        if isinstance(line, dict) and _line_key(line) not in old | seen:
            kept.append(line)
            seen.add(_line_key(line))
    kept.sort(key=_said_at)
    return kept[-MAX_TRANSCRIPT_LINES:]


def _line_key(doc: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(doc.get(field)) for field in ("role", "name", "text", "at"))


def _said_at(doc: dict[str, Any]) -> datetime:
    """When a stored line was said; a line without a readable time sorts first."""
    try:
        at = datetime.fromisoformat(str(doc.get("at")))
    except ValueError:
        return _EARLIEST
    return at if at.tzinfo else at.replace(tzinfo=UTC)


_EARLIEST = datetime.min.replace(tzinfo=UTC)
