"""The agents' side of escalation through the ``Escalation`` facade: register, ``tickets``, ``ticket N``, Take,
Resolve, the owning agent's words relayed to the user (addressed or overheard), ``/kb``, and refusals: a forged
Take from a personal chat or from a channel of an unlisted team, a second agent, another agent's thread words."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.cards import ACTION_KEY
from bot.escalation import Person, Role, TicketState
from bot.strings import strings_for
from tests.bot.escalation.relay_world import (
    ANNA,
    BEN,
    CHANNEL,
    TEAM,
    TENANT,
    USER_CHAT,
    World,
    actions_of,
    channel_message,
    text_of,
    to,
    user_message,
)

EN = strings_for("en-US")
TAKE = {ACTION_KEY: "take", "ticket": "1"}


async def test_register_agents_records_the_channel_its_team_and_tenant() -> None:
    world = World()
    await world.register()
    (queue,) = await world.escalation.queues.all()
    assert (queue.channel_id, queue.name, queue.team, queue.tenant) == (CHANNEL, "Support", TEAM, TENANT)
    assert queue.reference["conversation"]["id"] == CHANNEL  # new posts start threads in the channel itself


async def test_register_agents_in_an_unlisted_team_is_refused() -> None:
    world = World()
    handled, sent = await world.turn(channel_message("register agents", team="19:other@thread.tacv2"))
    assert handled and [text_of(a) for a in sent] == [EN.text("agent_team_not_allowed", team="19:other@thread.tacv2")]
    assert await world.escalation.queues.all() == []


async def test_take_assigns_the_ticket_updates_its_card_and_tells_the_user() -> None:
    world = World()
    await world.register()
    ticket, thread = await world.open_ticket()
    sent = await world.take(thread)
    taken = await world.ticket(1)
    assert (taken.state, taken.assignee and taken.assignee.id) == (TicketState.ASSIGNED, ANNA.id)
    assert [text_of(a) for a in to(sent, thread)] == [EN.text("agent_took", agent="Anna", number="1")]
    (joined,) = to(sent, USER_CHAT)
    assert text_of(joined) == EN.text("agent_joined", agent="Anna")
    assert actions_of(joined) == [{ACTION_KEY: "end", "ticket": "1"}]
    (updated,) = world.adapter.updated_activities
    assert updated.id == ticket.card_id and EN.text("agent_state_assigned") in text_of(updated)
    assert world.entered == [TicketState.WAITING, TicketState.ASSIGNED]


async def test_a_second_agent_cannot_take_a_taken_ticket_and_the_owner_is_told_it_is_theirs() -> None:
    world = World()
    await world.register()
    _, thread = await world.open_ticket()
    await world.take(thread)
    sent = await world.take(thread, agent=BEN)
    assert [text_of(a) for a in sent] == [EN.text("agent_taken", number="1", agent="Anna")]
    sent = await world.take(thread)
    assert [text_of(a) for a in sent] == [EN.text("agent_yours", number="1")]
    assert (await world.ticket(1)).assignee == Person(ANNA.id, "Anna")
    assert world.entered == [TicketState.WAITING, TicketState.ASSIGNED]


async def test_the_owners_words_reach_the_user_and_the_users_reach_the_thread() -> None:
    world = World()
    await world.register()
    _, thread = await world.open_ticket()
    await world.take(thread)
    handled, sent = await world.turn(channel_message("Please restart the **client**", thread=thread))
    assert handled
    (said,) = sent
    assert said.conversation.id == USER_CHAT
    assert text_of(said) == EN.text("agent_says", agent="Anna", text="Please restart the \\*\\*client\\*\\*")
    handled, sent = await world.turn(user_message("Restarted, it works"))
    assert handled and [(a.conversation.id, text_of(a)) for a in sent] == [(thread, "**Ada:** Restarted, it works")]
    lines = [(line.role, line.name, line.text) for line in (await world.ticket(1)).transcript[-2:]]
    assert lines == [(Role.AGENT, "Anna", "Please restart the **client**"), (Role.USER, "Ada", "Restarted, it works")]


async def test_an_overheard_line_of_the_owner_is_relayed_and_anyone_elses_is_not() -> None:
    world = World()
    await world.register()
    _, thread = await world.open_ticket()
    await world.take(thread)
    handled, sent = await world.overheard(channel_message("Ben, can you look?", agent=BEN, thread=thread))
    assert (handled, sent) == (False, [])  # a colleague's aside stays in the channel
    handled, sent = await world.overheard(channel_message("Checking the logs now", thread=thread))
    assert handled and [(a.conversation.id, text_of(a)) for a in sent] == [
        (USER_CHAT, EN.text("agent_says", agent="Anna", text="Checking the logs now"))]


async def test_words_before_a_take_or_from_another_agent_are_not_sent() -> None:
    world = World()
    await world.register()
    _, thread = await world.open_ticket()
    _, sent = await world.turn(channel_message("hello?", thread=thread))
    assert [text_of(a) for a in sent] == [EN.text("agent_take_first", number="1")]
    await world.take(thread)
    _, sent = await world.turn(channel_message("I can help", agent=BEN, thread=thread))
    assert [text_of(a) for a in sent] == [EN.text("agent_not_sent", number="1", agent="Anna")]
    assert [line.role for line in (await world.ticket(1)).transcript].count(Role.AGENT) == 0


async def test_resolve_closes_the_ticket_and_offers_the_user_reopen() -> None:
    world = World()
    await world.register()
    _, thread = await world.open_ticket()
    await world.take(thread)
    handled, sent = await world.turn(channel_message(value={ACTION_KEY: "resolve", "ticket": "1"}, thread=thread))
    assert handled and (await world.ticket(1)).state is TicketState.RESOLVED
    assert [text_of(a) for a in to(sent, thread)] == [EN.text("agent_resolved", agent="Anna", number="1")]
    (resolved,) = to(sent, USER_CHAT)
    assert text_of(resolved) == EN.text("ticket_resolved", agent="Anna", number="1")
    assert actions_of(resolved) == [{ACTION_KEY: "reopen", "ticket": "1"}]
    _, sent = await world.turn(channel_message("one more thing", thread=thread))
    assert [text_of(a) for a in sent] == [EN.text("agent_closed_resolved", number="1")]
    assert world.entered == [TicketState.WAITING, TicketState.ASSIGNED, TicketState.RESOLVED]


async def test_a_forged_take_from_a_personal_chat_changes_nothing_and_says_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    await world.register()
    await world.open_ticket()
    with caplog.at_level(logging.WARNING, logger="bot.escalation"):
        handled, sent = await world.turn(user_message(value=TAKE))
    assert (handled, sent) == (True, [])
    assert (await world.ticket(1)).state is TicketState.WAITING and world.entered == [TicketState.WAITING]
    assert any("refused take of ticket 1" in r.getMessage() and "not an agents' channel" in r.getMessage()
               for r in caplog.records)


async def test_a_forged_take_from_a_channel_of_an_unlisted_team_is_refused() -> None:
    world = World()
    await world.register()
    _, thread = await world.open_ticket()
    other = "19:other@thread.tacv2"
    handled, sent = await world.turn(channel_message(value=TAKE, team=other, thread=thread))
    assert handled and [text_of(a) for a in sent] == [EN.text("agent_team_not_allowed", team=other)]
    handled, sent = await world.turn(channel_message(value=TAKE, tenant="tenant-2", thread=thread))
    assert handled and [text_of(a) for a in sent] == [EN.text("agent_not_a_queue")]
    assert (await world.ticket(1)).state is TicketState.WAITING and world.adapter.updated_activities == []


async def test_another_queues_agents_cannot_take_or_see_the_ticket() -> None:
    world = World()
    await world.register()
    await world.open_ticket()
    second = "19:second-line@thread.tacv2"
    await world.turn(channel_message("register agents", channel=second))
    handled, sent = await world.turn(channel_message(value=TAKE, channel=second, thread=f"{second};messageid=x-1"))
    assert handled and [text_of(a) for a in sent] == [EN.text("agent_unknown", number="1")]
    _, sent = await world.turn(channel_message("ticket 1", channel=second))
    assert [text_of(a) for a in sent] == [EN.text("agent_unknown", number="1")]
    _, sent = await world.turn(channel_message("tickets", channel=second))
    assert [text_of(a) for a in sent] == [EN.text("agent_no_tickets")]
    assert (await world.ticket(1)).state is TicketState.WAITING and world.adapter.updated_activities == []


async def test_tickets_and_ticket_n_show_this_queues_tickets() -> None:
    world = World()
    await world.register()
    await world.open_ticket()
    _, sent = await world.turn(channel_message("tickets"))
    (listing,) = sent
    assert text_of(listing).splitlines()[0] == EN.text("agent_open_tickets")
    assert "#1 · " + EN.text("agent_state_waiting") in text_of(listing)
    _, sent = await world.turn(channel_message("ticket #1"))
    assert EN.text("agent_ticket_title", number="1", state=EN.text("agent_state_waiting")) in text_of(sent[0])
    _, sent = await world.turn(channel_message("ticket 7"))
    assert [text_of(a) for a in sent] == [EN.text("agent_unknown", number="7")]


async def test_kb_sends_the_answer_the_bot_was_given_at_construction() -> None:
    asked: list[tuple[str, str]] = []

    def answer(text: str, locale: str) -> dict[str, Any] | None:
        asked.append((text, locale))
        return {"type": "AdaptiveCard", "body": [], "fallbackText": f"Answer to {text}"} if "VPN" in text else None

    world = World(answer=answer)
    await world.register()
    _, thread = await world.open_ticket()
    await world.take(thread)
    _, sent = await world.turn(channel_message("/kb", thread=thread))  # the user's question by default
    assert [(a.conversation.id, text_of(a)) for a in sent] == [
        (USER_CHAT, "Answer to My VPN keeps disconnecting"),
        (thread, EN.text("agent_kb_sent", query="My VPN keeps disconnecting"))]
    _, sent = await world.turn(channel_message("/kb printer offline", thread=thread))
    assert [text_of(a) for a in sent] == [EN.text("agent_kb_none", query="printer offline")]
    assert asked == [("My VPN keeps disconnecting", "en-US"), ("printer offline", "en-US")]
    last = (await world.ticket(1)).transcript[-1]
    assert (last.role, last.text) == (Role.BOT, "Answer to My VPN keeps disconnecting")
