"""A contact-center hub's side of escalation: its ``handoff.status`` events move the ticket it was handed
(accepted → assigned, completed → resolved, failed → cancelled), counted only from the channel and connector
the ticket was handed through."""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.escalation.handoff import STATUS, HandoffState, parse_status
from bot.escalation.hooks import ObserveState, count_change
from bot.escalation.origin import person_of, shown
from bot.escalation.ticket_store import TicketStore
from bot.escalation.tickets import Person, Ticket, TicketError
from bot.strings import strings_for

log = logging.getLogger(__name__)


class HubFlow:
    """``handoff.status`` events for the tickets in ``tickets``."""

    def __init__(self, *, tickets: TicketStore, observe_state: ObserveState | None) -> None:
        self.tickets = tickets
        self.observe_state = observe_state

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
                        person_of(activity).id)
            return True
        hub = person_of(activity)
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
                    await turn_context.send_activity(strings.text("ticket_resolved", agent=shown(name),
                                                                  number=str(ticket.number)))
            else:
                result = await self.tickets.change(ticket.number, lambda t: t.cancel())
                await turn_context.send_activity(strings.text("handoff_failed"))
        except TicketError as e:
            log.warning("handoff.status %s for ticket %d refused: %s", status.state.value, ticket.number, e)
            return True
        if result is not None:
            count_change(self.observe_state, *result)
        return True


def _from_hub(activity: Activity, ticket: Ticket) -> bool:
    """Whether a ``handoff.*`` event may change ``ticket``: the ticket was handed to a hub, and the event comes
    through the channel and connector it was handed through, not from the user who asked."""
    handed = ticket.conversation
    return (ticket.handoff and activity.channel_id == handed.get("channelId")
            and activity.service_url == handed.get("serviceUrl") and person_of(activity).id != ticket.user.id)
