"""Who may act as support, tried as an attacker would through the real server: only channels of teams in
``AGENT_TEAMS`` register, each queue sees and acts on its own tickets only, tickets stay in their tenant,
and people's words reach other people as words."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.escalation.queues import QueueRegistry
from bot.stores.sqlite import SqliteStorage
from tests.e2e.conftest import ConnectorStub, StartBot, teams_message
from tests.e2e.server_process import AGENT_TEAM
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
    to_conversation,
)

INTRUDER_TEAM = "19:intruder-team@thread.tacv2"
INTRUDER_CHANNEL = "19:intruder@thread.tacv2"
REFUSED = ("Only channels of teams an admin has listed in AGENT_TEAMS can receive support requests. Ask an admin "
           "to add this team ({team}) to AGENT_TEAMS.")


def in_channel(activity: dict[str, Any], *, channel: str, team: str, tenant: str | None = None,
               thread: str | None = None) -> dict[str, Any]:
    """``activity`` moved to another Teams channel (of ``team``, in ``tenant``), at its root or in a thread."""
    activity["channelData"]["channel"]["id"] = channel
    activity["channelData"]["team"] = {"id": team}
    activity["conversation"]["id"] = thread or f"{channel};messageid=1700000000999"
    if tenant is not None:
        activity["channelData"]["tenant"] = {"id": tenant}
        activity["conversation"]["tenantId"] = tenant
    return activity


def intruder(connector: ConnectorStub, text: str = "", *, value: dict[str, Any] | None = None,
             thread: str | None = None, tenant: str = "t-evil") -> dict[str, Any]:
    """Mallory, in a channel of a team nobody listed (by default in another tenant)."""
    activity = agent_message(connector, text, agent="Mallory", value=value)
    return in_channel(activity, channel=INTRUDER_CHANNEL, team=INTRUDER_TEAM, tenant=tenant, thread=thread)


async def stored_queues(state: Path) -> list[str]:
    storage = SqliteStorage(state)
    try:
        return [q.channel_id for q in await QueueRegistry(storage).all()]
    finally:
        storage.close()


def texts_in(card: Any) -> Iterator[str]:
    """Every text value of a card (TextBlocks, facts, fallback)."""
    if isinstance(card, dict):
        for value in card.values():
            yield from texts_in(value)
    elif isinstance(card, list):
        for item in card:
            yield from texts_in(item)
    elif isinstance(card, str):
        yield card


def renders_markup(text: str, *, html: bool = False) -> bool:
    """Whether ``text`` holds bold, a link, an image or HTML that a Teams client would render, past the bot's own
    speaker label (``**Admin:**`` before a transcript line)."""
    text = re.sub(r"^\*\*(?:Admin|Insight Desk):\*\* ", "", text, flags=re.MULTILINE)
    if html and "<img" in text:  # Teams message text renders some HTML; a card renders none
        return True
    return bool(re.search(r"(?<!\\)\*\*(?:Anna|Admin)|(?<!\\)\]\(|^#", text, re.MULTILINE))


async def test_register_from_a_team_not_listed_is_refused_logged_and_stores_nothing(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    caplog.set_level(logging.WARNING)
    await bot.post(intruder(connector, "register agents"))
    assert connector.received[-1]["text"] == REFUSED.format(team=INTRUDER_TEAM)
    assert connector.received[-1]["conversation"]["id"].startswith(INTRUDER_CHANNEL)
    warned = [r.getMessage() for r in caplog.records if "register agents refused" in r.getMessage()]
    assert len(warned) == 1 and INTRUDER_TEAM in warned[0] and "t-evil" in warned[0]
    # the refusal is in the sender's language
    swedish = intruder(connector, "register agents")
    swedish["locale"] = "sv-SE"
    swedish["entities"].append({"type": "clientInfo", "locale": "sv-SE"})
    await bot.post(swedish)
    assert connector.received[-1]["text"].startswith("Bara kanaler i team som en administratör har angett i ")
    assert await stored_queues(tmp_path / "state.db") == []


async def test_with_agent_teams_empty_no_channel_registers(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    bot = await start_bot(agent_teams=frozenset())
    await bot.post(agent_message(connector, "register agents"))
    assert connector.received[-1]["text"] == REFUSED.format(team=AGENT_TEAM)
    assert await stored_queues(tmp_path / "state.db") == []


async def test_a_team_listed_by_its_aad_group_id_registers(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot(agent_teams=frozenset({"0b1c2d3e-0000-4000-8000-00000000beef"}))
    activity = agent_message(connector, "register agents")
    activity["channelData"]["team"]["aadGroupId"] = "0b1c2d3e-0000-4000-8000-00000000beef"
    await bot.post(activity)
    assert connector.received[-1]["text"] == "This channel now receives support requests (all languages)."


async def test_the_intruder_cannot_see_take_or_talk_and_the_real_agent_keeps_the_ticket(
    start_bot: StartBot, connector: ConnectorStub, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    await register(bot, connector)
    posted = await escalate_with_button(bot, connector, "Tried signing in twice")
    card = card_of(posted)
    assert card is not None
    thread = thread_of(connector, posted)
    caplog.set_level(logging.WARNING)

    # register, list and look at tickets from a foreign team's channel (in this tenant and in another)
    for tenant in ("t-evil", "t-1"):
        await bot.post(intruder(connector, "register agents", tenant=tenant))
        assert connector.received[-1]["text"] == REFUSED.format(team=INTRUDER_TEAM)
        before = len(connector.received)
        await bot.post(intruder(connector, "tickets", tenant=tenant))
        await bot.post(intruder(connector, "ticket 1", tenant=tenant))
        for reply in connector.received[before:]:
            assert "#1" not in said(reply) and PASTE_SV not in str(reply), reply
            assert card_of(reply) is None or "Request #1" not in str(card_of(reply))

    # Take and Resolve forged from a personal chat: nothing changes, nothing is said there
    before = len(connector.received)
    for action in ("take", "resolve"):
        await bot.post(teams_message(connector.url, value=submits(card)[action], user="29:mallory"))
    assert connector.received[before:] == []
    # ... and from the foreign channel (and a thread of it): refused with the reason
    for action in ("take", "resolve"):
        await bot.post(intruder(connector, value=submits(card)[action]))
        assert connector.received[-1]["text"] == REFUSED.format(team=INTRUDER_TEAM)
    assert not [a for a in to_conversation(connector, USER_CONVERSATION) if "Mallory" in said(a)]
    # ... and in the real agents' channel, naming another tenant or another team than it was registered from
    for tenant, team in (("t-evil", AGENT_TEAM), ("t-1", INTRUDER_TEAM)):
        await bot.post(in_channel(agent_message(connector, agent="Mallory", value=submits(card)["take"]),
                                  channel=CHANNEL, team=team, tenant=tenant, thread=thread))
    refusals = [r.getMessage() for r in caplog.records
                if r.getMessage().startswith(("refused take", "refused resolve"))]
    assert len(refusals) == 6

    # the real agent still takes it; the user is told about Anna, never about Mallory
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["take"]))
    assert said(to_conversation(connector, USER_CONVERSATION)[-1]) == "Anna från supporten har anslutit."
    # Mallory writes into the ticket's thread id from her channel: nothing reaches the user
    before = len(connector.received)
    await bot.post(intruder(connector, "Security check: sign in again at https://evil.example", thread=thread))
    assert not [a for a in connector.received[before:] if a["conversation"]["id"] == USER_CONVERSATION]
    # the user still talks to the real agent, both ways
    await bot.post(teams_message(connector.url, "Still broken", locale="sv-SE"))
    assert connector.received[-1]["conversation"]["id"] == thread
    assert connector.received[-1]["text"] == "**Admin:** Still broken"
    await bot.post(agent_message(connector, "Try again now", thread=thread))
    assert said(connector.received[-1]) == "Anna (support): Try again now"
    await bot.post(teams_message(connector.url, "status", locale="sv-SE"))
    assert said(connector.received[-1]) == "Din begäran #1 hanteras av Anna."


async def test_another_queue_of_a_listed_team_acts_only_on_its_own_tickets(
    start_bot: StartBot, connector: ConnectorStub, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    await register(bot, connector)  # CHANNEL: every language
    korean = "19:korean-desk@thread.tacv2"
    await bot.post(in_channel(agent_message(connector, "register agents ko", agent="Bo"), channel=korean,
                              team=AGENT_TEAM))
    assert connector.received[-1]["text"] == "This channel now receives support requests (ko)."
    posted = await escalate_with_button(bot, connector, "")  # Swedish: CHANNEL's ticket
    card = card_of(posted)
    assert card is not None
    caplog.set_level(logging.WARNING)

    def from_korean_desk(text: str = "", value: dict[str, Any] | None = None) -> dict[str, Any]:
        return in_channel(agent_message(connector, text, agent="Bo", value=value), channel=korean, team=AGENT_TEAM)

    await bot.post(from_korean_desk("tickets"))
    assert connector.received[-1]["text"] == "No open requests."
    await bot.post(from_korean_desk("ticket 1"))
    assert connector.received[-1]["text"] == "There is no request #1."
    await bot.post(from_korean_desk(value=submits(card)["take"]))
    assert connector.received[-1]["text"] == "There is no request #1."
    assert any("refused take of ticket 1 from channel 19:korean-desk" in r.getMessage() for r in caplog.records)
    await bot.post(agent_message(connector, "tickets"))
    assert "#1 · Waiting" in connector.received[-1]["text"]
    thread = thread_of(connector, posted)
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["take"]))
    assert said(to_conversation(connector, USER_CONVERSATION)[-1]) == "Anna från supporten har anslutit."
    # Bo writes into ticket 1's thread id from the Korean desk (mentioning the bot, and not): nothing reaches the user
    before = len(connector.received)
    for mention in (True, False):
        bo = in_channel(agent_message(connector, "Bo here, send me your password", agent="Bo", mention=mention),
                        channel=korean, team=AGENT_TEAM, thread=thread)
        bo["from"]["id"] = "29:agent-anna"  # even as the owner's id
        await bot.post(bo)
    assert not [a for a in connector.received[before:] if a["conversation"]["id"] == USER_CONVERSATION]


async def test_a_ticket_of_tenant_a_never_reaches_a_queue_of_tenant_b(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    team_b = "19:team-b@thread.tacv2"
    bot = await start_bot(agent_teams=frozenset({AGENT_TEAM, team_b}))
    channel_b = "19:support-b@thread.tacv2"
    await bot.post(in_channel(agent_message(connector, "register agents", agent="Bea"), channel=channel_b,
                              team=team_b, tenant="t-2"))  # registered first: the old rule sent everything here
    assert connector.received[-1]["text"] == "This channel now receives support requests (all languages)."
    await register(bot, connector)  # tenant t-1
    posted = await escalate_with_button(bot, connector, "")  # a user of tenant t-1
    assert posted["conversation"]["id"] == CHANNEL
    assert not [a for a in connector.received if a["conversation"]["id"] == channel_b and card_of(a)]
    # a user of a third tenant: no queue of theirs, so the ticket is posted nowhere and waits
    before = len(connector.received)
    await bot.post(in_tenant(teams_message(connector.url, "talk to a human", locale="en-US", user="29:u-3"), "t-3"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None
    await bot.post(in_tenant(teams_message(connector.url, value=submits(confirm)["escalate_confirm"],
                                           locale="en-US", user="29:u-3"), "t-3"))
    assert "Your request #2 is with the support team" in said(connector.received[-1])
    assert not [a for a in connector.received[before:] if a["conversation"]["id"] in (CHANNEL, channel_b)]
    # and neither tenant's agents see it in `tickets`
    await bot.post(agent_message(connector, "tickets"))
    assert "#2" not in connector.received[-1]["text"]
    await bot.post(in_channel(agent_message(connector, "tickets", agent="Bea"), channel=channel_b, team=team_b,
                              tenant="t-2"))
    assert connector.received[-1]["text"] == "No open requests."


def in_tenant(activity: dict[str, Any], tenant: str) -> dict[str, Any]:
    activity["channelData"]["tenant"] = {"id": tenant}
    activity["conversation"]["tenantId"] = tenant
    return activity


async def test_a_team_no_longer_listed_stops_receiving_tickets_and_the_start_says_so(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = await start_bot()
    await register(first, connector)
    await first.stop()
    caplog.set_level(logging.WARNING)
    bot = await start_bot(agent_teams=frozenset({"19:some-other-team@thread.tacv2"}))
    assert any(f"agents' channel {CHANNEL} (team {AGENT_TEAM}, tenant t-1) is registered but its team is not in "
               "AGENT_TEAMS" in r.getMessage() for r in caplog.records)
    before = len(connector.received)
    await bot.post(teams_message(connector.url, "talk to a human", locale="en-US"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None
    await bot.post(teams_message(connector.url, value=submits(confirm)["escalate_confirm"], locale="en-US"))
    assert not [a for a in connector.received[before:] if a["conversation"]["id"] == CHANNEL]
    await bot.post(agent_message(connector, "tickets"))  # no longer an agents' channel: no listing
    assert "#1" not in said(connector.received[-1])


async def test_injected_markdown_reaches_the_other_side_as_words(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    await register(bot, connector)
    injected = ("**Admin:** please reset [https://login.microsoftonline.com/reset](https://evil.example/phish)\n"
                "**Anna (support):** Security check: sign in again ![x](https://evil.example/p.png) <img src=x "
                "onerror=alert(1)>\n# Urgent")
    await bot.post(teams_message(connector.url, injected, locale="en-US"))
    posted = await escalate_with_button(bot, connector, injected)
    card = card_of(posted)
    assert card is not None
    texts = list(texts_in(card))
    assert any("\\*\\*Anna (support):\\*\\*" in t for t in texts)  # the words are there, escaped
    assert any("\\[https://login.microsoftonline.com/reset\\](https://evil.example/phish)" in t for t in texts)
    assert not [t for t in texts if renders_markup(t)], texts
    thread = thread_of(connector, posted)
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["take"]))
    await bot.post(teams_message(connector.url, injected, locale="sv-SE"))
    relayed = connector.received[-1]
    assert relayed["conversation"]["id"] == thread
    assert relayed["text"].startswith("**Admin:** \\*\\*Admin:\\*\\* please reset \\[https://login")
    assert "&lt;img src=x onerror=alert(1)&gt;" in relayed["text"]
    assert not renders_markup(relayed["text"], html=True)
    # an agent's link reaches the user as a plain URL that shows its real target
    await bot.post(agent_message(connector, "See [the docs](https://evil.example/x) or https://learn.microsoft.com/a_b",
                                 thread=thread))
    to_user = said(connector.received[-1])
    assert to_user == ("Anna (support): See \\[the docs\\](https://evil.example/x) or "
                       "https://learn.microsoft.com/a_b")
    # the user's name is shown as words too
    named = teams_message(connector.url, "hello", locale="sv-SE")
    named["from"]["name"] = "**Anna (support)**"
    await bot.post(named)
    assert connector.received[-1]["text"] == "**\\*\\*Anna (support)\\*\\*:** hello"


@pytest.mark.parametrize("value", ["[Sign in](https://evil.example/x)", "<img src=x onerror=alert(1)>"])
async def test_the_language_command_never_echoes_what_it_was_given(
    start_bot: StartBot, connector: ConnectorStub, value: str
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, f"/language {value}", locale="en-US"))
    reply = said(connector.received[-1])
    assert reply.startswith("I don't know that language. Try one of: ")
    assert "evil.example" not in reply and "<img" not in reply and "Sign in" not in reply


async def test_handoff_status_counts_only_from_the_channel_the_ticket_was_handed_to(
    start_bot: StartBot, connector: ConnectorStub, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(escalation_handoff="hub")
    await bot.post(teams_message(connector.url, "talk to a human", locale="en-US"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None
    await bot.post(teams_message(connector.url, value=submits(confirm)["escalate_confirm"], locale="en-US"))
    assert [a["name"] for a in connector.received if a["type"] == "event"] == ["handoff.initiate"]

    sent = itertools.count(1)  # each event its own activity id: a redelivered one would be ignored

    def status(state: str, **changes: Any) -> dict[str, Any]:
        event = {"type": "event", "name": "handoff.status", "value": {"state": state, "message": "Eva"},
                 "id": f"hub-{state}-{next(sent)}", "channelId": "msteams", "serviceUrl": connector.url,
                 "from": {"id": "hub", "name": "Contoso hub"}, "recipient": {"id": "28:insight-desk-bot"},
                 "conversation": {"id": USER_CONVERSATION, "conversationType": "personal"}}
        event.update(changes)
        return event

    caplog.set_level(logging.WARNING)
    forged = [status("accepted", channelId="directline"), status("accepted", serviceUrl="http://127.0.0.1:9/"),
              status("accepted", **{"from": {"id": "29:user-1", "name": "Admin"}}),
              status("completed", channelId="webchat")]
    for event in forged:
        assert await bot.post(event) in (200, 201)
    assert len([r for r in caplog.records if r.getMessage().startswith("handoff.status refused")]) == len(forged)
    await bot.post(teams_message(connector.url, "status", locale="en-US"))
    assert said(connector.received[-1]) == "Your request #1 is waiting for an agent."
    await bot.post(status("accepted"))  # the hub itself
    await bot.post(teams_message(connector.url, "status", locale="en-US"))
    assert said(connector.received[-1]) == "Your request #1 is with Eva."


async def test_a_registration_naming_no_tenant_or_another_tenant_than_the_channels_is_refused(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    nameless = agent_message(connector, "register agents")
    del nameless["channelData"]["tenant"], nameless["conversation"]["tenantId"]
    await bot.post(nameless)
    assert connector.received[-1]["text"] == "Register agents in a Teams channel, mentioning me."
    assert await stored_queues(tmp_path / "state.db") == []
    await register(bot, connector)  # tenant t-1
    caplog.set_level(logging.WARNING)
    await bot.post(in_channel(agent_message(connector, "register agents"), channel=CHANNEL, team=AGENT_TEAM,
                              tenant="t-evil"))  # the same channel, taken over from another tenant
    assert connector.received[-1]["text"] == "Register agents in a Teams channel, mentioning me."
    assert any("the channel is registered for 't-1'" in r.getMessage() for r in caplog.records)
    await bot.post(agent_message(connector, "tickets"))
    assert connector.received[-1]["text"] == "No open requests."  # still t-1's queue
