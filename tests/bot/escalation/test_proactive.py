"""Proactive sending (``bot.escalation.proactive``): to a stored conversation reference as a new post, replacing
a card by id, a refused send reported as ``None`` and logged, tickets' cards routed to their tenant's queue with
the thread recorded once, the user told in their language that support could not be reached yet."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest
from botbuilder.core import MessageFactory, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ResourceResponse

from bot.escalation import Person, Queue, Ticket
from bot.escalation.outbox import PostOutcome
from bot.escalation.proactive import in_thread
from bot.strings import strings_for
from tests.bot.escalation.relay_world import CHANNEL, SERVICE_URL, TEAM, TENANT, USER_CHAT, World, text_of

USER_REFERENCE = {"channelId": "msteams", "serviceUrl": SERVICE_URL, "conversation": {"id": USER_CHAT},
                  "user": {"id": "29:user-ada"}, "bot": {"id": "28:bot"}, "activityId": "m-7"}


def queue(channel: str, tenant: str, agent_locale: str = "en-US") -> Queue:
    reference = {**USER_REFERENCE, "conversation": {"id": channel}, "activityId": None}
    return Queue(channel_id=channel, name=channel, reference=reference, agent_locale=agent_locale, team=TEAM,
                 tenant=tenant)


def ticket(number: int = 1, *, tenant: str = TENANT, locale: str = "en-US") -> Ticket:
    return Ticket(number=number, user=Person("29:user-ada", "Ada"), conversation=USER_REFERENCE, locale=locale,
                  questions=("My VPN keeps disconnecting",), tenant=tenant)


async def stored(world: World, **fields: Any) -> Ticket:
    return await world.escalation.tickets.create(lambda n: ticket(n, **fields))


async def test_a_send_goes_to_the_stored_conversation_as_a_new_post() -> None:
    world = World()
    sent_id = await world.escalation.proactive.send(world.adapter, USER_REFERENCE, MessageFactory.text("hello"))
    (sent,) = world.sent()
    assert (sent.conversation.id, sent.service_url, sent.text) == (USER_CHAT, SERVICE_URL, "hello")
    assert sent.reply_to_id is None  # not a reply to the reference's activity: a new post
    assert world.adapter.ids == [sent_id]


async def test_an_update_replaces_the_activity_it_names() -> None:
    world = World()
    sent_id = await world.escalation.proactive.send(world.adapter, USER_REFERENCE, MessageFactory.text("v2"),
                                                    update="card-9")
    (updated,) = world.adapter.updated_activities
    assert (sent_id, updated.id, updated.text, updated.conversation.id) == ("card-9", "card-9", "v2", USER_CHAT)
    assert world.sent() == []


class RefusingAdapter(TestAdapter):  # type: ignore[misc]  # botbuilder ships no types
    """A channel whose connector cannot be reached."""

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
        raise aiohttp.ClientConnectionError("connection refused")


async def test_a_refused_send_is_none_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    with caplog.at_level(logging.ERROR, logger="bot.escalation.proactive"):
        sent_id = await world.escalation.proactive.send(RefusingAdapter(), USER_REFERENCE,
                                                        MessageFactory.text("hello"))
    assert sent_id is None
    assert [r.getMessage() for r in caplog.records] == [
        f"could not send to conversation {USER_CHAT}: connection refused"]


async def test_a_card_goes_to_the_first_queue_of_the_tickets_tenant_and_its_thread_is_recorded() -> None:
    world = World()
    await world.escalation.queues.register(queue("19:other-tenant@thread.tacv2", "tenant-2"))
    await world.escalation.queues.register(queue(CHANNEL, TENANT, agent_locale="sv-SE"))
    made = await stored(world)
    assert await world.escalation.proactive.post_card(world.adapter, made) is PostOutcome.POSTED
    (card,) = world.sent()
    assert card.conversation.id == CHANNEL
    sv = strings_for("sv-SE")  # the channel's language
    assert sv.text("agent_ticket_title", number="1", state=sv.text("agent_state_waiting")) in text_of(card)
    posted = await world.ticket(1)
    assert (posted.queue, [posted.card_id]) == (CHANNEL, world.adapter.ids)
    assert posted.thread == f"{CHANNEL};messageid={posted.card_id}"

    assert await world.escalation.proactive.post_card(world.adapter, posted) is PostOutcome.POSTED  # posted twice
    assert (await world.ticket(1)).thread == posted.thread  # the first card keeps the thread


async def test_no_queue_of_the_tenant_leaves_the_ticket_waiting_unposted() -> None:
    world = World()
    await world.escalation.queues.register(queue(CHANNEL, TENANT))
    made = await stored(world, tenant="tenant-2")
    assert await world.escalation.proactive.post_card(world.adapter, made) is PostOutcome.NO_QUEUE
    assert world.sent() == [] and (await world.ticket(1)).thread is None


async def test_a_queue_of_an_unlisted_team_receives_no_card() -> None:
    world = World()
    await world.escalation.queues.register(Queue(channel_id=CHANNEL, name="Support", reference={}, team="19:gone",
                                                 tenant=TENANT))
    assert await world.escalation.proactive.post_card(world.adapter, await stored(world)) is PostOutcome.NO_QUEUE
    assert world.sent() == []


async def test_a_failed_card_post_is_reported_failed_and_records_no_thread() -> None:
    world = World()
    await world.escalation.queues.register(queue(CHANNEL, TENANT))
    made = await stored(world)
    assert await world.escalation.proactive.post_card(RefusingAdapter(), made) is PostOutcome.FAILED
    assert (await world.ticket(1)).thread is None


async def test_the_user_is_told_of_a_delay_in_their_language() -> None:
    world = World()
    made = await stored(world, locale="ko-KR")
    assert await world.escalation.proactive.tell_delayed(world.adapter, made)
    (told,) = world.sent()
    assert (told.conversation.id, told.text) == (USER_CHAT, strings_for("ko-KR").text("ticket_post_delayed",
                                                                                      number="1"))


async def test_a_line_for_the_thread_goes_to_the_thread_in_the_channels_language() -> None:
    world = World()
    channel = queue(CHANNEL, TENANT, agent_locale="de-DE")
    await world.escalation.queues.register(channel)
    thread = f"{CHANNEL};messageid=card-1"
    on_thread = (await stored(world)).with_card(thread, "card-1", CHANNEL)
    await world.escalation.proactive.to_thread(world.adapter, on_thread, "agent_user_ended")
    (said,) = world.sent()
    assert (said.conversation.id, said.text) == (thread, strings_for("de-DE").text("agent_user_ended", number="1"))
    assert in_thread(channel, thread)["conversation"] == {"id": thread}
    await world.escalation.proactive.to_thread(world.adapter, await world.ticket(1), "agent_user_ended")
    assert world.sent() == []  # no thread yet: nothing to say it in
