"""Channel messages that do not mention the bot, as Teams delivers them once the team granted the app's
``ChannelMessage.Read.Group`` permission: an owning agent's words in an open ticket's thread are relayed to
the user; everything else (chatter, commands, pasted errors, other agents, other channels) gets no answer."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import BotServer, ConnectorStub, StartBot, teams_message
from tests.e2e.tickets_flow import (
    CHANNEL,
    PASTE_SV,
    USER_CONVERSATION,
    agent_message,
    card_of,
    escalate_with_button,
    register,
    said,
    submits,
    thread_of,
)

OTHER_CHANNEL = "19:it-chatter@thread.tacv2"


def in_other_channel(connector: ConnectorStub, text: str, *, mention: bool = False) -> dict[str, Any]:
    """A message in a channel that is not an agents' channel (the app is installed in that team too)."""
    activity = teams_message(connector.url, text, channel=True, mention=mention, locale="sv-SE", user="29:user-9")
    activity["conversation"]["id"] = f"{OTHER_CHANNEL};messageid=1700000000777"
    activity["channelData"]["channel"]["id"] = OTHER_CHANNEL
    return activity


async def silent(bot: BotServer, connector: ConnectorStub, activity: dict[str, Any]) -> None:
    """Post ``activity``: accepted, and the bot sends, updates and stores no answer."""
    sent, updated = len(connector.received), len(connector.updates)
    assert await bot.post(activity) in (200, 201)
    assert connector.received[sent:] == [] and connector.updates[updated:] == [], connector.received[sent:]


async def test_unmentioned_channel_messages_are_relayed_only_from_the_owner_in_a_ticket_thread(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await register(bot, connector)
    posted = await escalate_with_button(bot, connector, "")
    card, thread = card_of(posted), thread_of(connector, posted)
    assert card is not None

    await silent(bot, connector, agent_message(connector, "Who has this one?", thread=thread, mention=False))
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["take"]))  # card data: no mention
    assert said(connector.received[-1]) == "Anna från supporten har anslutit."

    await bot.post(agent_message(connector, "Hej! Which browser do you use?", thread=thread, mention=False))
    assert (connector.received[-1]["conversation"]["id"], said(connector.received[-1])) == (
        USER_CONVERSATION, "Anna (support): Hej! Which browser do you use?")
    await bot.post(teams_message(connector.url, "Edge", locale="sv-SE"))
    assert (connector.received[-1]["conversation"]["id"], connector.received[-1]["text"]) == (thread, "**Admin:** Edge")

    # Everything else the bot reads in a channel gets no answer at all.
    await silent(bot, connector, agent_message(connector, "I can take the next one", thread=thread, agent="Bo",
                                               mention=False))
    await silent(bot, connector, agent_message(connector, "lunch at 12?", mention=False))
    await silent(bot, connector, agent_message(connector, "tickets", mention=False))
    await silent(bot, connector, agent_message(connector, PASTE_SV, mention=False))
    await silent(bot, connector, in_other_channel(connector, PASTE_SV))
    await silent(bot, connector, in_other_channel(connector, "prata med en människa"))
    await silent(bot, connector, in_other_channel(connector, "register agents"))
    for _ in range(15):  # more than the rate limit's burst: chatter is never told to slow down
        await silent(bot, connector, in_other_channel(connector, "build is green again"))

    # Mentioned, the bot still answers in any channel: the article for a paste, the ticket list.
    await bot.post(in_other_channel(connector, PASTE_SV, mention=True))
    answer = card_of(connector.received[-1])
    assert answer is not None and "Felet" in answer["body"][0]["text"]
    assert connector.received[-1]["conversation"]["id"].startswith(OTHER_CHANNEL)
    await bot.post(agent_message(connector, "tickets"))
    assert "#1 · Assigned · Anna" in connector.received[-1]["text"]
    assert connector.received[-1]["conversation"]["id"].startswith(CHANNEL)

    # Resolved: the owner's unmentioned words in the thread go nowhere and get no answer either.
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["resolve"]))
    await silent(bot, connector, agent_message(connector, "Closing this one", thread=thread, mention=False))
