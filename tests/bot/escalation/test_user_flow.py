"""The user's side of escalation through the ``Escalation`` facade: a request for a person, the ticket made
from the conversation so far, status, cancel, End and Reopen, and the user's words relayed to the thread.
Assertions are on the stored tickets and on every activity the bot sent, wherever it went."""

from __future__ import annotations

from botbuilder.core import TurnContext
from botbuilder.schema import ChannelAccount

from bot.cards import ACTION_KEY
from bot.escalation import Role, TicketState
from bot.feedback.redact import redact
from bot.strings import strings_for
from tests.bot.escalation.relay_world import (
    CHANNEL,
    TENANT,
    USER,
    USER_CHAT,
    World,
    actions_of,
    channel_message,
    text_of,
    to,
    user_message,
)

EN = strings_for("en-US")
SV = strings_for("sv-SE")


async def test_confirming_the_offer_makes_a_ticket_from_the_conversation_and_posts_its_card() -> None:
    world = World()
    await world.register()
    handled, _ = await world.turn(user_message("My VPN keeps disconnecting"))
    assert not handled  # the plugin's to answer
    handled, sent = await world.turn(user_message("talk to a human"))
    assert handled and [text_of(a) for a in sent] == [EN.text("confirm_escalation")]
    confirm, cancel = actions_of(sent[0])
    assert (confirm[ACTION_KEY], cancel[ACTION_KEY]) == ("escalate_confirm", "escalate_cancel")

    handled, sent = await world.turn(user_message(value={**confirm, "description": "Drops every hour"}))
    assert handled
    ticket = await world.ticket(1)
    assert (ticket.user.id, ticket.locale, ticket.tenant, ticket.state) == (USER.id, "en-US", TENANT,
                                                                            TicketState.WAITING)
    assert ticket.questions == ("My VPN keeps disconnecting",) and ticket.description == "Drops every hour"
    assert [(line.role, line.text) for line in ticket.transcript][:1] == [(Role.USER, "My VPN keeps disconnecting")]
    assert ticket.conversation_id == USER_CHAT and ticket.queue == CHANNEL
    (notice,) = to(sent, USER_CHAT)
    assert text_of(notice) == EN.text("ticket_created", number="1")
    assert actions_of(notice) == [{ACTION_KEY: "end", "ticket": "1"}]
    (card,) = to(sent, CHANNEL)  # a new post in the channel itself: it starts the ticket's thread
    assert ticket.thread == f"{CHANNEL};messageid={ticket.card_id}" and card.reply_to_id is None
    assert EN.text("agent_ticket_title", number="1", state=EN.text("agent_state_waiting")) in text_of(card)
    assert world.entered == [TicketState.WAITING]


async def test_cancel_on_the_offer_makes_no_ticket() -> None:
    world = World()
    _, sent = await world.turn(user_message("talk to a human"))
    _, cancel = actions_of(sent[0])
    handled, sent = await world.turn(user_message(value=cancel))
    assert handled and [text_of(a) for a in sent] == [EN.text("escalation_cancelled")]
    assert await world.escalation.tickets.open_for_user(USER.id) is None and world.entered == []


async def test_a_second_offer_names_the_ticket_already_open() -> None:
    world = World()
    await world.register()
    ticket, _ = await world.open_ticket()
    _, sent = await world.turn(user_message("talk to a human", conversation="a:other-chat"))
    assert [text_of(a) for a in sent] == [EN.text("ticket_already_open", number=str(ticket.number))]


async def test_status_before_a_ticket_while_it_waits_and_once_an_agent_has_it() -> None:
    world = World()
    await world.register()
    _, sent = await world.turn(user_message("status"))
    assert [text_of(a) for a in sent] == [EN.text("status_none")]
    _, thread = await world.open_ticket()
    _, sent = await world.turn(user_message("status"))
    assert [text_of(a) for a in sent] == [EN.text("status_waiting", number="1")]
    await world.take(thread)
    _, sent = await world.turn(user_message("status"))
    assert [text_of(a) for a in sent] == [EN.text("status_assigned", number="1", agent="Anna")]


async def test_the_users_words_go_to_the_ticket_and_its_thread_escaped() -> None:
    world = World()
    await world.register()
    _, thread = await world.open_ticket()
    handled, sent = await world.turn(user_message("still *failing* on <b>wifi</b>"))
    assert handled
    (posted,) = sent
    assert posted.conversation.id == thread and posted.reply_to_id is None
    assert text_of(posted) == "**Ada:** still \\*failing\\* on &lt;b&gt;wifi&lt;/b&gt;"
    ticket = await world.ticket(1)
    assert (ticket.transcript[-1].role, ticket.transcript[-1].text) == (Role.USER, "still *failing* on <b>wifi</b>")


async def test_end_cancels_the_ticket_updates_its_card_and_tells_both_sides() -> None:
    world = World()
    await world.register()
    ticket, thread = await world.open_ticket()
    handled, sent = await world.turn(user_message(value={ACTION_KEY: "end", "ticket": "1"}))
    assert handled and (await world.ticket(1)).state is TicketState.CANCELLED
    assert [text_of(a) for a in to(sent, USER_CHAT)] == [EN.text("ticket_ended", number="1")]
    assert [text_of(a) for a in to(sent, thread)] == [EN.text("agent_user_ended", number="1")]
    (updated,) = world.adapter.updated_activities
    assert updated.id == ticket.card_id and EN.text("agent_state_cancelled") in text_of(updated)
    assert world.entered == [TicketState.WAITING, TicketState.CANCELLED]


async def test_another_users_end_button_changes_nothing() -> None:
    world = World()
    await world.register()
    await world.open_ticket()
    eve = ChannelAccount(id="29:user-eve", name="Eve")
    handled, sent = await world.turn(user_message(value={ACTION_KEY: "end", "ticket": "1"}, user=eve,
                                                  conversation="a:chat-eve"))
    assert handled and [text_of(a) for a in sent] == [EN.text("status_none")]
    assert (await world.ticket(1)).state is TicketState.WAITING and world.entered == [TicketState.WAITING]


async def test_reopen_after_resolve_puts_the_ticket_back_unowned() -> None:
    world = World()
    await world.register()
    _, thread = await world.open_ticket()
    await world.take(thread)
    await world.turn(channel_message(value={ACTION_KEY: "resolve", "ticket": "1"}, thread=thread))
    handled, sent = await world.turn(user_message(value={ACTION_KEY: "reopen", "ticket": "1"}))
    ticket = await world.ticket(1)
    assert handled and (ticket.state, ticket.assignee) == (TicketState.REOPENED, None)
    assert [text_of(a) for a in to(sent, USER_CHAT)] == [EN.text("ticket_reopened", number="1")]
    assert [text_of(a) for a in to(sent, thread)] == [EN.text("agent_user_reopened", number="1")]


async def test_a_swedish_user_is_answered_in_swedish() -> None:
    world = World()
    await world.register()
    _, sent = await world.turn(user_message("jag vill prata med en människa", locale="sv-SE"), SV)
    confirm, _ = actions_of(sent[0])
    assert text_of(sent[0]) == SV.text("confirm_escalation") and confirm["locale"] == "sv-SE"
    _, sent = await world.turn(user_message(value=confirm, locale="sv-SE"), SV)
    assert [text_of(a) for a in to(sent, USER_CHAT)] == [SV.text("ticket_created", number="1")]
    assert (await world.ticket(1)).locale == "sv-SE"


async def test_escalation_owns_its_card_actions_and_declines_any_other() -> None:
    world = World()
    assert world.escalation.card_actions == {"escalate_confirm", "escalate_cancel", "end", "reopen", "take",
                                             "resolve"}
    context = TurnContext(world.adapter, user_message(value={ACTION_KEY: "feedback"}))
    assert not await world.escalation.on_card_action(context, {ACTION_KEY: "feedback"}, EN)
    handled, sent = await world.turn(user_message(value={ACTION_KEY: "feedback", "helped": "yes"}))
    assert (handled, sent) == (False, [])


async def test_with_a_mask_the_users_words_are_masked_in_the_ticket_and_the_thread() -> None:
    world = World(mask=redact)
    await world.register()
    _, thread = await world.open_ticket(description="write to ada@example.com")
    ticket = await world.ticket(1)
    assert ticket.description == "write to <email>"
    _, sent = await world.turn(user_message("or call ada@example.com"))
    assert [(a.conversation.id, text_of(a)) for a in sent] == [(thread, "**Ada:** or call &lt;email&gt;")]
    assert (await world.ticket(1)).transcript[-1].text == "or call <email>"
