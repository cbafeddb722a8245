"""The agents' side of escalation, in a registered channel of a team listed in ``AGENT_TEAMS``: ``register
agents``, ``tickets``, ``ticket N``, the ticket card's Take and Resolve, and an owning agent's words in a
ticket's thread relayed to the user (``/kb`` sends the knowledge base's answer instead).

Everything is refused outside the queue's own channel and tickets: a forged button from a personal chat or
another team changes nothing and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botbuilder.core import MessageFactory, TurnContext

from bot.escalation import cards
from bot.escalation.agent_channels import AgentChannels, agent_strings
from bot.escalation.handoff import HandoffMode
from bot.escalation.hooks import AnswerCard, CardHandler, ObserveState, count_change
from bot.escalation.origin import (
    channel_id_of,
    conversation_id_of,
    person_of,
    shown,
    team_of,
    tenant_of,
    ticket_number,
)
from bot.escalation.proactive import Proactive, card_activity
from bot.escalation.queues import Queue, holds, parse_register
from bot.escalation.stored_reference import stored_reference
from bot.escalation.ticket_store import TicketStore
from bot.escalation.tickets import (
    Line,
    NotInQueue,
    NotYourTicket,
    Person,
    Role,
    Ticket,
    TicketError,
    TicketState,
    TicketTaken,
)
from bot.escalation.words import KB_COMMAND, TICKET_COMMAND, TICKETS_COMMAND
from bot.stores.keyed_locks import KeyedLocks
from bot.strings import N_, Strings, strings_for

log = logging.getLogger(__name__)

MAX_LIST = 20
"""Tickets the ``tickets`` command lists."""


class AgentFlow:
    """Agents' commands, buttons and words; see the module."""

    def __init__(self, *, tickets: TicketStore, mode: HandoffMode, channels: AgentChannels, proactive: Proactive,
                 relay_order: KeyedLocks, answer: AnswerCard | None, observe_state: ObserveState | None) -> None:
        self.tickets = tickets
        self.mode = mode
        self.channels = channels
        self.proactive = proactive
        self.relay_order = relay_order
        self.answer = answer
        self.observe_state = observe_state

    def card_handlers(self) -> dict[str, CardHandler]:
        """The ticket card's buttons."""
        return {"take": self._take, "resolve": self._resolve}

    async def on_channel_message(self, turn_context: TurnContext, text: str) -> bool | None:
        """A message addressed to the bot in a Teams channel: ``register agents``, or in a queue's channel its
        commands and relay; ``None`` when the channel is no queue (the user's side decides)."""
        registration = parse_register(text)
        if registration is not None:
            await self._register(turn_context, registration.locales, registration.articles, registration.problem)
            return True
        queue = await self.channels.queue_here(turn_context.activity)  # one read of the queues per message
        if queue is None:
            return None
        return await self._on_agents_message(turn_context, text, queue)

    async def on_overheard(self, turn_context: TurnContext, text: str) -> bool:
        """A channel message not addressed to the bot: relayed when it is the owning agent's in the thread of
        an open ticket of this queue; ``False`` (and not a word) for anything else."""
        activity = turn_context.activity
        queue = await self.channels.queue_here(activity) if text else None
        if queue is None:
            return False
        ticket = await self.tickets.for_thread(conversation_id_of(activity))
        agent = person_of(activity)
        if ticket is None or not ticket.is_open or ticket.assignee is None or ticket.assignee.id != agent.id:
            return False
        if ticket.queue != queue.channel_id:
            log.warning("refused a relay into ticket %d from channel %s: the ticket is in %s", ticket.number,
                        queue.channel_id, ticket.queue)
            return False
        await self._relay_from_agent(turn_context, ticket, agent, text, agent_strings(activity, queue))
        return True

    async def _on_agents_message(self, turn_context: TurnContext, text: str, queue: Queue) -> bool:
        """A message in ``queue``'s channel (or one of its threads): a command, or an agent's words to relay."""
        activity = turn_context.activity
        say = agent_strings(activity, queue)
        if TICKETS_COMMAND.match(text):
            await turn_context.send_activity(await self._list_text(say, queue))
            return True
        command = TICKET_COMMAND.match(text)
        if command:
            number = ticket_number({"ticket": command.group(1)})
            ticket = await self.tickets.get(number) if number is not None else None
            if ticket is not None and not holds(queue, ticket):
                log.warning("refused `ticket %d` in channel %s: another queue's ticket", ticket.number,
                            queue.channel_id)
                ticket = None
            if ticket is None:
                await turn_context.send_activity(say.text("agent_unknown", number=shown(command.group(1)[:20])))
            else:
                await turn_context.send_activity(card_activity(cards.ticket_card(ticket, strings=say)))
            return True
        ticket = await self.tickets.for_thread(conversation_id_of(activity))
        if ticket is not None and ticket.queue != queue.channel_id:
            log.warning("refused a message into ticket %d's thread from channel %s", ticket.number, queue.channel_id)
            ticket = None
        if ticket is None:
            return False
        if text:
            await self._relay_from_agent(turn_context, ticket, person_of(activity), text, say)
        return True

    async def _register(self, turn_context: TurnContext, locales: tuple[str, ...], articles: tuple[str, ...],
                        problem: str | None) -> None:
        activity = turn_context.activity
        channel = channel_id_of(activity)
        say = agent_strings(activity, None)
        if channel is None:
            await turn_context.send_activity(say.text("agent_not_a_channel"))
            return
        team, group = team_of(activity)
        tenant = tenant_of(activity)
        if not self.channels.listed(team, group):
            log.warning("register agents refused in channel %s: team %s (group %s) of tenant %s is not in "
                        "AGENT_TEAMS", channel, team or "none", group or "none", tenant or "none")
            await turn_context.send_activity(say.text("agent_team_not_allowed", team=shown(team or "?")))
            return
        registered = await self.channels.registry.find(channel)
        if not tenant or "|" in tenant or (registered is not None and registered.tenant not in ("", tenant)):
            # a Teams channel names exactly one tenant, always the same: anything else is not Teams speaking
            log.warning("register agents refused in channel %s of team %s: the activity names tenant %r, the "
                        "channel is registered for %r", channel, team, tenant or "none",
                        registered.tenant if registered else "none")
            await turn_context.send_activity(say.text("agent_not_a_channel"))
            return
        if problem is not None:
            await turn_context.send_activity(say.text("agent_register_problem", word=shown(problem)))
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.conversation.id = channel  # new posts go to the channel itself: each one starts a thread
        reference.activity_id = None
        channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        name = str((channel_data.get("channel") or {}).get("name") or channel)
        queue = Queue(channel_id=channel, name=name, reference=stored_reference(reference), locales=locales,
                      articles=articles, agent_locale=say.locale, team=team, team_group=group, tenant=tenant)
        await self.channels.registry.register(queue)
        scope = [", ".join(locales) or say.text("agent_all_languages")]
        if articles:
            scope.append(say.text("agent_articles", patterns=shown(", ".join(articles))))
        log.info("agents' channel registered: %s of team %s, tenant %s (%s)", channel, team, tenant or "none",
                 queue.describe())
        await turn_context.send_activity(say.text("agent_registered", scope="; ".join(scope)))

    async def _list_text(self, say: Strings, queue: Queue) -> str:
        tickets = [t for t in await self.tickets.open_tickets() if holds(queue, t)]
        if not tickets:
            return say.text("agent_no_tickets")
        rows = [say.text("agent_open_tickets")]
        for t in tickets[:MAX_LIST]:
            question = shown(" ".join((t.questions[-1] if t.questions else t.description).split())[:80])
            who = f" · {shown(t.assignee.name)}" if t.assignee else ""
            state = cards.state_name(t.state, say)
            rows.append(f"- #{t.number} · {state}{who} · {t.locale} · {shown(t.user.name)}: {question}")
        return "\n".join(rows)

    # -- Take and Resolve -------------------------------------------------------------------------

    async def _take(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> None:
        await self._agent_action(turn_context, "take", ticket_number(data))

    async def _resolve(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> None:
        await self._agent_action(turn_context, "resolve", ticket_number(data))

    async def _agent_action(self, turn_context: TurnContext, action: str, number: int | None) -> None:
        activity = turn_context.activity
        queue = await self.channels.queue_here(activity)
        say = agent_strings(activity, queue)
        if queue is None:
            await self._refuse_agent_action(turn_context, action, number, say)
            return
        agent = person_of(activity)
        if number is None:
            await turn_context.send_activity(say.text("agent_unknown", number="?"))
            return
        n = str(number)
        here = conversation_id_of(activity)
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
        await self.proactive.update_card(turn_context.adapter, after)
        strings = strings_for(after.locale)
        name = shown(agent.name or agent.id)
        if action == "take":
            text = strings.text("agent_joined", agent=name)
            buttons = [(strings.text("end_conversation"), "end", after.number)]
            await turn_context.send_activity(say.text("agent_took", agent=name, number=n))
        else:
            text = strings.text("ticket_resolved", agent=name, number=n)
            buttons = [(strings.text("reopen"), "reopen", after.number)]
            await turn_context.send_activity(say.text("agent_resolved", agent=name, number=n))
        if not after.handoff or self.mode is HandoffMode.BOTH:
            await self.proactive.send(turn_context.adapter, after.conversation,
                                      card_activity(cards.notice_card(text, buttons=buttons, locale=strings.locale)))
        count_change(self.observe_state, before, after)

    async def _refuse_agent_action(self, turn_context: TurnContext, action: str, number: int | None,
                                   say: Strings) -> None:
        await self.channels.refuse(turn_context, action, f"ticket {number}", say)

    # -- the agent's words to the user --------------------------------------------------------------

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
        kb = KB_COMMAND.match(text)
        if kb and self.answer is not None:
            await self._answer_from_kb(turn_context, ticket, self.answer, kb.group(1) or "", say)
            return
        async with self.relay_order.hold(ticket.number):  # delivered in the order the transcript keeps
            line = Line(Role.AGENT, agent.name or agent.id, text)
            await self.tickets.change(ticket.number, lambda t: t.with_line(line))
            said = strings_for(ticket.locale).text("agent_says", agent=shown(line.name), text=shown(text))
            delivered = await self.proactive.send(turn_context.adapter, ticket.conversation,
                                                  MessageFactory.text(said))
        if delivered is None:
            await turn_context.send_activity(say.text("agent_not_delivered", number=n))

    async def _answer_from_kb(self, turn_context: TurnContext, ticket: Ticket, answer: AnswerCard, query: str,
                              say: Strings) -> None:
        """The agent asks the bot to answer: the knowledge base's card for ``query`` (or the user's question)."""
        query = query or (ticket.questions[-1] if ticket.questions else "")
        card = answer(query, ticket.locale) if query else None
        asked = shown(query[:80])
        if card is None:
            await turn_context.send_activity(say.text("agent_kb_none", query=asked))
            return
        line = Line(Role.BOT, "Insight Desk", str(card.get("fallbackText") or ""))
        await self.tickets.change(ticket.number, lambda t: t.with_line(line))
        if await self.proactive.send(turn_context.adapter, ticket.conversation, card_activity(card)) is None:
            await turn_context.send_activity(say.text("agent_not_delivered", number=str(ticket.number)))
            return
        await turn_context.send_activity(say.text("agent_kb_sent", query=asked))


def _holder(ticket: Ticket) -> str:
    return shown(ticket.assignee.name or ticket.assignee.id) if ticket.assignee else "?"


def _closed(say: Strings, ticket: Ticket) -> str:
    key = N_("agent_closed_resolved") if ticket.state is TicketState.RESOLVED else N_("agent_closed_cancelled")
    return say.text(key, number=str(ticket.number))
