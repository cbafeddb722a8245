"""The user's side of escalation: asking for a person, the ticket made from the conversation so far, its
status, ending or reopening it, and the user's words relayed to the ticket's thread.

Replies inside the turn go through the turn; the thread hears the user through ``bot.escalation.proactive``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from botbuilder.core import BotAdapter, TurnContext

from bot.escalation import cards
from bot.escalation.agent_channels import agent_strings
from bot.escalation.handoff import HandoffMode, handoff_context, handoff_initiation
from bot.escalation.hooks import CardHandler, ObserveState, count_change
from bot.escalation.origin import conversation_id_of, person_of, shown, tenant_of, ticket_number
from bot.escalation.outbox import Outbox
from bot.escalation.proactive import Proactive, card_activity
from bot.escalation.queues import parse_register
from bot.escalation.stored_reference import stored_reference
from bot.escalation.ticket_store import TicketStore
from bot.escalation.tickets import Line, Person, Role, Ticket, TicketError, TicketState, TicketStillOpen
from bot.escalation.transcript import ConversationMemory
from bot.escalation.words import escalation_phrases, is_status_command, status_phrases
from bot.stores.base import StorageError
from bot.stores.keyed_locks import KeyedLocks
from bot.strings import N_, Strings

log = logging.getLogger(__name__)


class UserFlow:
    """A user's messages and card actions about their ticket; see the module."""

    def __init__(self, *, tickets: TicketStore, mode: HandoffMode, mask: Callable[[str], str],
                 memory: ConversationMemory, proactive: Proactive, outbox: Outbox | None, relay_order: KeyedLocks,
                 observe_state: ObserveState | None) -> None:
        self.tickets = tickets
        self.mode = mode
        self.mask = mask
        self.memory = memory
        self.proactive = proactive
        self.outbox = outbox
        self.relay_order = relay_order
        self.observe_state = observe_state
        self._requests = escalation_phrases()
        self._status = status_phrases()

    def card_handlers(self) -> dict[str, CardHandler]:
        """The user's card actions: send or cancel the request, end or reopen the ticket."""
        return {"escalate_confirm": self._create, "escalate_cancel": self._cancel,
                "end": self._end, "reopen": self._reopen}

    async def on_message(self, turn_context: TurnContext, text: str, strings: Strings) -> bool:
        """A user's message: status, words for their open ticket's thread, a request for a person; ``False``
        for anything else."""
        activity = turn_context.activity
        user = person_of(activity)
        ticket = await self.tickets.open_in_conversation(conversation_id_of(activity))
        if ticket is not None and ticket.user.id != user.id:
            ticket = None
        if is_status_command(self._status, text):
            await turn_context.send_activity(self.status_text(ticket or await self.tickets.open_for_user(user.id),
                                                              strings))
            return True
        if ticket is not None:
            if text:
                await self.relay_from_user(turn_context.adapter, ticket, user, text)
            return True
        if self._requests.found_in(text):
            await self.offer(turn_context, strings, query="", article=None)
            return True
        if parse_register(text) is not None:  # outside a channel
            await turn_context.send_activity(agent_strings(activity, None).text("agent_not_a_channel"))
            return True
        return False

    def status_text(self, ticket: Ticket | None, strings: Strings) -> str:
        """Where the user's ticket stands (or that they have none)."""
        if ticket is None:
            return strings.text("status_none")
        if ticket.state is TicketState.ASSIGNED and ticket.assignee:
            return strings.text("status_assigned", number=str(ticket.number), agent=shown(ticket.assignee.name))
        return strings.text("status_waiting", number=str(ticket.number))

    async def offer(self, turn_context: TurnContext, strings: Strings, *, query: str, article: str | None) -> None:
        """Ask before making a ticket, with a box for a description (the card's "Talk to a person", words)."""
        user = person_of(turn_context.activity)
        existing = await self.tickets.open_for_user(user.id)
        if existing is not None:
            await turn_context.send_activity(strings.text("ticket_already_open", number=str(existing.number)))
            return
        card = cards.confirm_card(query=query, article=article, strings=strings)
        await turn_context.send_activity(card_activity(card))

    async def _cancel(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> None:
        await turn_context.send_activity(strings.text("escalation_cancelled"))

    async def _create(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> None:
        """The confirm card sent: a ticket from the conversation so far, announced to the user and the agents."""
        activity = turn_context.activity
        user = person_of(activity)
        transcript = await self.memory.transcript(turn_context)
        last = await self.memory.last_answer(turn_context)
        article = data.get("article") if isinstance(data.get("article"), str) else last.get("article")
        score = last.get("score") if last.get("article") == article else None
        query = str(data.get("query") or "") or str(last.get("query") or "")
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
        await turn_context.send_activity(card_activity(notice))
        if self.mode is not HandoffMode.TEAMS:
            await turn_context.send_activity(handoff_initiation(turn_context, ticket, handoff_context(ticket)))
        if self.outbox is not None:
            try:  # at once; when it fails the outbox posts it later (its entry was stored with the ticket)
                await self.outbox.post_new(turn_context.adapter, ticket)
            except StorageError as e:
                log.error("ticket %d: its card's outcome could not be stored; the outbox posts it again: %s",
                          ticket.number, e)
        elif self.mode is not HandoffMode.HUB:
            await self.proactive.post_card(turn_context.adapter, ticket)
        count_change(self.observe_state, None, ticket)

    async def _end(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> None:
        await self._user_action(turn_context, "end", ticket_number(data), strings)

    async def _reopen(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> None:
        await self._user_action(turn_context, "reopen", ticket_number(data), strings)

    async def _user_action(self, turn_context: TurnContext, action: str, number: int | None,
                           strings: Strings) -> None:
        user = person_of(turn_context.activity)
        current = await self.tickets.get(number) if number is not None else None
        if current is None or current.user.id != user.id:  # not theirs: tell them about their own
            await turn_context.send_activity(self.status_text(await self.tickets.open_for_user(user.id), strings))
            return
        try:
            result = await self.tickets.change(current.number, (lambda t: t.cancel()) if action == "end"
                                               else (lambda t: t.reopen()))
        except TicketStillOpen as e:
            await turn_context.send_activity(strings.text("ticket_already_open", number=str(e.ticket.number)))
            return
        except TicketError:
            await turn_context.send_activity(self.status_text(await self.tickets.open_for_user(user.id), strings)
                                             if current.is_open else strings.text("ticket_ended",
                                                                                  number=str(current.number)))
            return
        if result is None:
            await turn_context.send_activity(strings.text("status_none"))
            return
        before, after = result
        await self.proactive.update_card(turn_context.adapter, after)
        n = str(after.number)
        if action == "end":
            await turn_context.send_activity(strings.text("ticket_ended", number=n))
            await self.proactive.to_thread(turn_context.adapter, after, N_("agent_user_ended"))
        else:
            await turn_context.send_activity(strings.text("ticket_reopened", number=n))
            await self.proactive.to_thread(turn_context.adapter, after, N_("agent_user_reopened"))
        count_change(self.observe_state, before, after)

    async def relay_from_user(self, adapter: BotAdapter, ticket: Ticket, user: Person, text: str) -> None:
        """The user's words into the ticket (masked) and its thread, in the order they came."""
        text = self.mask(text)
        async with self.relay_order.hold(ticket.number):  # sent in the order the transcript keeps
            line = Line(Role.USER, user.name or user.id, text)
            result = await self.tickets.change(ticket.number, lambda t: t.with_line(line))
            current = result[1] if result else ticket
            if current.handoff and self.mode is HandoffMode.HUB:
                return  # the hub carries the conversation; the bot keeps the record
            await self.proactive.to_thread(adapter, current, None,
                                           said=f"**{shown(line.name)}:** {shown(text)}")
