"""Escalation through the real server: users ask for a person, agents take tickets in a Teams channel,
messages are relayed both ways; a hub gets handoff.initiate; the relay survives a killed server."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.conftest import BOT_ID, BotServer, ConnectorStub, StartBot, teams_message
from tests.e2e.server_process import start_server
from tests.e2e.tickets_flow import (
    CHANNEL,
    PASTE_SV,
    USER_CONVERSATION,
    agent_message,
    card_of,
    confirm_ticket,
    confirm_ticket_from,
    escalate_with_button,
    register,
    said,
    submits,
    thread_of,
    to_conversation,
)

AGENTS = ("Anna", "Bo", "Cai", "Dana", "Eli", "Fay", "Gus", "Hal")
REPO = Path(__file__).resolve().parents[2]


async def test_button_escalation_take_relay_and_resolve(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    await register(bot, connector)
    posted = await escalate_with_button(bot, connector, "Tried signing in twice")
    user_side = to_conversation(connector, USER_CONVERSATION)
    assert "Din begäran #1 ligger hos supportteamet" in said(user_side[-1])
    card = card_of(posted)
    assert card is not None
    assert card["body"][0]["text"] == "Request #1 · Waiting"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Language"] == "Svenska · Swedish (sv-SE)"
    assert facts["Question"] == PASTE_SV
    assert facts["Article shown"].startswith("error-validating-access-token-during-onboarding (score ")
    assert facts["Description"] == "Tried signing in twice"
    recent = " ".join(block["text"] for block in card["body"][2:])
    assert PASTE_SV in recent and "Felet" in recent  # the user's paste and the bot's answer: the transcript
    assert set(submits(card)) == {"take", "resolve"}

    replies = list(connector.received)
    assert connector.paths[replies.index(posted)] == f"/v3/conversations/{CHANNEL}/activities"  # a new thread
    thread = f"{CHANNEL};messageid=reply-{replies.index(posted) + 1}"
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["take"]))
    path, updated = connector.updates[-1]
    assert path == f"/v3/conversations/{thread}/activities/reply-{replies.index(posted) + 1}"
    updated_card = card_of(updated)
    assert updated_card is not None and updated_card["body"][0]["text"] == "Request #1 · Assigned"
    assert set(submits(updated_card)) == {"resolve"}
    assert said(to_conversation(connector, USER_CONVERSATION)[-1]) == "Anna från supporten har anslutit."

    await bot.post(agent_message(connector, "Try signing out and in again", thread=thread))
    await bot.post(teams_message(connector.url, "Still the same error", locale="sv-SE"))
    await bot.post(agent_message(connector, "Which browser?", thread=thread))
    await bot.post(teams_message(connector.url, "Edge", locale="sv-SE"))
    user_lines = [said(a) for a in to_conversation(connector, USER_CONVERSATION)][-2:]
    assert user_lines == ["Anna (support): Try signing out and in again", "Anna (support): Which browser?"]
    thread_lines = [a["text"] for a in to_conversation(connector, thread) if a.get("text")]
    assert thread_lines[-2:] == ["**Admin:** Still the same error", "**Admin:** Edge"]

    # while the ticket is open the user's pastes go to the agent, not to the knowledge base ...
    await bot.post(teams_message(connector.url, PASTE_SV, locale="sv-SE"))
    assert connector.received[-1]["conversation"]["id"] == thread
    # ... unless the agent asks the bot to answer
    await bot.post(agent_message(connector, "/kb", thread=thread))
    kb_card = card_of(connector.received[-2])
    assert connector.received[-2]["conversation"]["id"] == USER_CONVERSATION
    assert kb_card is not None and "helped" in submits(kb_card) and "Felet" in kb_card["body"][0]["text"]
    assert connector.received[-1]["text"] == f'I sent the user the article for "{PASTE_SV}".'
    await bot.post(agent_message(connector, "/kb the coffee machine in building 4 is leaking", thread=thread))
    assert connector.received[-1]["text"].startswith("The knowledge base has no confident answer")

    await bot.post(teams_message(connector.url, "status", locale="sv-SE"))
    assert said(connector.received[-1]) == "Din begäran #1 hanteras av Anna."

    await bot.post(agent_message(connector, thread=thread, value=submits(card)["resolve"]))
    assert "Anna har markerat din begäran #1 som löst." in said(to_conversation(connector, USER_CONVERSATION)[-1])
    resolved = card_of(connector.updates[-1][1])
    assert resolved is not None and resolved["body"][0]["text"] == "Request #1 · Resolved"
    assert "actions" not in resolved
    # resolved: agents' words are no longer relayed, and the bot answers the user from the knowledge base again
    await bot.post(agent_message(connector, "one more thing", thread=thread))
    assert connector.received[-1]["text"] == "Request #1 is resolved; nothing to do."
    await bot.post(teams_message(connector.url, PASTE_SV, locale="sv-SE"))
    answer = card_of(connector.received[-1])
    assert answer is not None and "helped" in submits(answer)
    # a second Resolve, and a Take of an unknown ticket, get clear answers
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["resolve"]))
    assert connector.received[-1]["text"] == "Request #1 is resolved; nothing to do."
    await bot.post(agent_message(connector, thread=thread, value={"insightDesk": "take", "ticket": "99"}))
    assert connector.received[-1]["text"] == "There is no request #99."
    # the user says it is not solved: the ticket is back in the queue, its card offers "Take it" again
    resolved_notice = card_of([a for a in to_conversation(connector, USER_CONVERSATION) if "löst" in said(a)][-1])
    assert resolved_notice is not None
    await bot.post(teams_message(connector.url, value=submits(resolved_notice)["reopen"], locale="sv-SE"))
    assert said(connector.received[-2]) == "Din begäran #1 är öppen igen; supportteamet har fått veta det."
    assert connector.received[-1]["text"] == "The user reopened request #1."
    reopened = card_of(connector.updates[-1][1])
    assert reopened is not None and reopened["body"][0]["text"] == "Request #1 · Reopened"
    assert set(submits(reopened)) == {"take", "resolve"}
    # an agent's button in a channel that is not an agents' channel does nothing but say so
    stray = agent_message(connector, value=submits(card)["take"])
    stray["channelData"]["channel"]["id"] = "19:random@thread.tacv2"
    stray["conversation"]["id"] = "19:random@thread.tacv2;messageid=5"
    await bot.post(stray)
    assert "not an agents' channel" in connector.received[-1]["text"]


async def test_words_escalate_in_korean_and_english(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    await register(bot, connector)
    # a pasted error that contains the words is an error, not a request
    paste = "Error: cannot talk to a human resources server at 10.0.0.7, the certificate expired 2026-11-01"
    await bot.post(teams_message(connector.url, paste, locale="en-US", user="29:user-2"))
    assert "confirm" not in str(card_of(connector.received[-1]))
    await bot.post(teams_message(connector.url, "상담원 연결", locale="ko-KR"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None and confirm["body"][0]["text"].startswith("지금까지의 대화와 함께")
    posted = await confirm_ticket(bot, connector, submits(confirm)["escalate_confirm"], locale="ko-KR")
    assert "요청 #1" in said(to_conversation(connector, USER_CONVERSATION)[-1])
    card = card_of(posted)
    assert card is not None
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Language"] == "한국어 · Korean (ko-KR)"

    await bot.post(teams_message(connector.url, "I want to talk to a human please", locale="en-US",
                                 user="29:user-2"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None and confirm["body"][0]["text"].startswith("I'll pass this to the support team")
    await bot.post(teams_message(connector.url, value=submits(confirm)["escalate_confirm"], locale="en-US",
                                 user="29:user-2"))
    assert "Your request #2 is with the support team" in said(
        to_conversation(connector, "a:personal-29:user-2")[-1])
    # while it is open, the user's words go to the agents, not to the knowledge base
    await bot.post(teams_message(connector.url, "talk to a person", locale="en-US", user="29:user-2"))
    assert said(connector.received[-1]) == "**Admin:** talk to a person"
    assert connector.received[-1]["conversation"]["id"].startswith(f"{CHANNEL};messageid=")
    # the same user in another chat: told about the open request instead of opening a second one
    elsewhere = teams_message(connector.url, "talk to a person", locale="en-US", user="29:user-2")
    elsewhere["conversation"]["id"] = "19:group-chat@thread.v2"
    await bot.post(elsewhere)
    assert said(connector.received[-1]).startswith("You already have an open request (#2).")

    await bot.post(agent_message(connector, "tickets"))
    listing = connector.received[-1]["text"]
    assert listing.index("#1 · Waiting · ko-KR") < listing.index("#2 · Waiting · en-US")
    await bot.post(agent_message(connector, "ticket 2"))
    detail = card_of(connector.received[-1])
    assert detail is not None and detail["body"][0]["text"] == "Request #2 · Waiting"
    await bot.post(agent_message(connector, "ticket 42"))
    assert connector.received[-1]["text"] == "There is no request #42."

    # the user ends the request before anyone took it: the card says so in place, the thread is told
    created = card_of(next(a for a in to_conversation(connector, "a:personal-29:user-2") if "#2" in said(a)))
    assert created is not None
    await bot.post(teams_message(connector.url, value=submits(created)["end"], locale="en-US", user="29:user-2"))
    assert said(connector.received[-2]).startswith("Your request #2 is closed.")
    assert connector.received[-1]["text"] == "The user ended request #2."
    ended = card_of(connector.updates[-1][1])
    assert ended is not None and ended["body"][0]["text"] == "Request #2 · Cancelled" and "actions" not in ended
    # someone else's End button (forged data) ends nothing
    await bot.post(teams_message(connector.url, value=submits(created)["end"], locale="ko-KR"))
    assert said(connector.received[-1]) == "요청 #1이(가) 상담원을 기다리고 있습니다."
    assert [a["conversation"]["id"] for a in connector.received[-1:]] == [USER_CONVERSATION]
    await bot.post(teams_message(connector.url, "status", locale="ko-KR"))
    assert said(connector.received[-1]) == "요청 #1이(가) 상담원을 기다리고 있습니다."


async def test_a_ticket_made_before_any_agents_channel_is_taken_from_its_ticket_card(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "register agents", locale="en-US"))
    assert connector.received[-1]["text"] == "Register agents in a Teams channel, mentioning me."
    await bot.post(teams_message(connector.url, "talk to a human", locale="en-US"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None
    await bot.post(teams_message(connector.url, value=submits(confirm)["escalate_confirm"], locale="en-US"))
    assert "Your request #1 is with the support team" in said(connector.received[-1])
    await register(bot, connector)
    await bot.post(agent_message(connector, "tickets"))
    assert "#1 · Waiting · en-US · Admin" in connector.received[-1]["text"]
    asked = agent_message(connector, "ticket 1")
    await bot.post(asked)
    card = card_of(connector.received[-1])
    assert card is not None
    thread = asked["conversation"]["id"]
    take = agent_message(connector, thread=f"{CHANNEL};messageid=1700000000000", value=submits(card)["take"])
    take["replyToId"] = f"reply-{len(connector.received)}"
    await bot.post(take)
    assert said(to_conversation(connector, USER_CONVERSATION)[-1]) == "Anna from support has joined."
    assert connector.updates[-1][0].endswith(f"/activities/{take['replyToId']}")
    await bot.post(agent_message(connector, "Hello from the channel", thread=thread))
    assert said(connector.received[-1]) == "Anna (support): Hello from the channel"
    await bot.post(teams_message(connector.url, "Hi Anna", locale="en-US"))
    assert connector.received[-1]["conversation"]["id"] == thread
    assert connector.received[-1]["text"] == "**Admin:** Hi Anna"
    # the agent is also a user: in her own chat with the bot she is a user like any other
    await bot.post(teams_message(connector.url, "status", locale="en-US", user="29:agent-anna"))
    assert said(connector.received[-1]) == "You have no open request."
    await bot.post(teams_message(connector.url, "talk to a person", locale="en-US", user="29:agent-anna"))
    own = card_of(connector.received[-1])
    assert own is not None and connector.received[-1]["conversation"]["id"] == "a:personal-29:agent-anna"
    assert set(submits(own)) == {"escalate_confirm", "escalate_cancel"}
    await bot.post(teams_message(connector.url, value=submits(own)["escalate_cancel"], user="29:agent-anna"))
    assert said(connector.received[-1]) == "OK, I haven't contacted support."


async def test_a_user_in_another_teams_channel_escalates_and_talks_in_that_thread(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await register(bot, connector)
    user_thread = "19:it-help@thread.tacv2;messageid=1700000000555"

    def in_help_channel(text: str = "", value: dict[str, Any] | None = None) -> dict[str, Any]:
        activity = teams_message(connector.url, text, channel=True, mention=not value, value=value,
                                 locale="sv-SE", user="29:user-7")
        activity["conversation"]["id"] = user_thread
        activity["channelData"]["channel"]["id"] = "19:it-help@thread.tacv2"
        return activity

    await bot.post(in_help_channel("prata med en människa"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None and connector.received[-1]["conversation"]["id"] == user_thread
    posted = await confirm_ticket_from(bot, connector, in_help_channel(value=submits(confirm)["escalate_confirm"]))
    card = card_of(posted)
    assert card is not None
    thread = thread_of(connector, posted)
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["take"]))
    await bot.post(agent_message(connector, "Hej! Vad ser du?", thread=thread))
    assert connector.received[-1]["conversation"]["id"] == user_thread
    assert said(connector.received[-1]) == "Anna (support): Hej! Vad ser du?"
    await bot.post(in_help_channel("Samma fel som innan"))
    assert connector.received[-1]["conversation"]["id"] == thread
    assert connector.received[-1]["text"] == "**Admin:** Samma fel som innan"


async def test_two_unanswered_messages_offer_a_person(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "Printer tray 2 is jammed with paper again", locale="en-US"))
    assert said(connector.received[-1]).startswith("I couldn't find an article")
    await bot.post(teams_message(connector.url, "The coffee machine in building 4 is leaking", locale="en-US"))
    card = card_of(connector.received[-1])
    assert card is not None and card["body"][0]["text"].startswith("I couldn't answer your last two messages")
    assert set(submits(card)) == {"escalate"}


async def test_two_agents_take_at_once_one_owner(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    await register(bot, connector)
    posted = await escalate_with_button(bot, connector, "")
    card = card_of(posted)
    assert card is not None
    thread = thread_of(connector, posted)
    take = submits(card)["take"]
    before = len(connector.received)
    await asyncio.gather(*(bot.post(agent_message(connector, thread=thread, value=take, agent=name))
                           for name in AGENTS))
    to_thread = [a["text"] for a in connector.received[before:] if a["conversation"]["id"] == thread]
    took = [t for t in to_thread if " took request #1" in t]
    refused = [t for t in to_thread if "is already taken by" in t]
    assert len(took) == 1 and len(refused) == len(AGENTS) - 1, to_thread
    owner = took[0].split(" took")[0]
    assert all(t == f"Request #1 is already taken by {owner}." for t in refused)
    joined = [said(a) for a in to_conversation(connector, USER_CONVERSATION) if "anslutit" in said(a)]
    assert joined == [f"{owner} från supporten har anslutit."]


async def test_handoff_initiate_carries_the_transcript_and_status_completed_closes(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot(escalation_handoff="hub")
    await bot.post(teams_message(connector.url, PASTE_SV, locale="sv-SE"))
    await bot.post(teams_message(connector.url, "prata med en människa", locale="sv-SE"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None
    await bot.post(teams_message(connector.url, value={**submits(confirm)["escalate_confirm"],
                                                       "description": "Blocked since Monday"}, locale="sv-SE"))
    events = [a for a in connector.received if a["type"] == "event"]
    assert len(events) == 1
    event = events[0]
    assert event["name"] == "handoff.initiate"
    assert event["conversation"]["id"] == USER_CONVERSATION
    assert event["value"]["ticket"] == 1 and event["value"]["locale"] == "sv-SE"
    assert event["value"]["description"] == "Blocked since Monday"
    assert event["relatesTo"]["conversation"]["id"] == USER_CONVERSATION
    (transcript,) = event["attachments"]
    assert transcript["name"] == "Transcript" and transcript["contentType"] == "application/json"
    texts = [a["text"] for a in transcript["content"]["activities"]]
    assert texts[0] == PASTE_SV and "prata med en människa" in texts
    assert any(t.startswith("**Felet") or "Felet" in t for t in texts[1:])  # the bot's answer too
    assert not [a for a in connector.received if a["conversation"]["id"] == CHANNEL]

    def status(state: str, message: str = "") -> dict[str, Any]:
        return {"type": "event", "name": "handoff.status", "value": {"state": state, "message": message},
                "id": f"hub-{state}", "channelId": "msteams", "serviceUrl": connector.url,
                "from": {"id": "hub", "name": "Contoso hub"}, "recipient": {"id": BOT_ID},
                "conversation": {"id": USER_CONVERSATION, "conversationType": "personal"}}

    assert await bot.post(status("accepted", "Eva")) in (200, 201)
    await bot.post(teams_message(connector.url, "status", locale="sv-SE"))
    assert said(connector.received[-1]) == "Din begäran #1 hanteras av Eva."
    await bot.post(status("completed"))
    assert said(connector.received[-1]) == "Eva har markerat din begäran #1 som löst."
    await bot.post(teams_message(connector.url, "status", locale="sv-SE"))
    assert said(connector.received[-1]) == "Du har ingen öppen begäran."
    assert await bot.post(status("sideways")) in (200, 201)  # unknown states are never rejected

    # a hub that cannot take the conversation: the ticket is closed and the user told
    await bot.post(teams_message(connector.url, "talk to a human", locale="en-US"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None
    await bot.post(teams_message(connector.url, value=submits(confirm)["escalate_confirm"], locale="en-US"))
    assert [a["value"]["ticket"] for a in connector.received if a["type"] == "event"] == [1, 2]
    await bot.post(status("failed", "no agents online"))
    assert said(connector.received[-1]) == "I couldn't reach the support team right now. Please try again in a while."
    await bot.post(teams_message(connector.url, "status", locale="en-US"))
    assert said(connector.received[-1]) == "You have no open request."


async def test_relay_continues_after_the_server_is_killed(connector: ConnectorStub, tmp_path: Path) -> None:
    state, log = tmp_path / "state.db", tmp_path / "server.log"
    settings = {"MicrosoftAppId": "", "ESCALATION_HANDOFF": "teams"}
    server = await asyncio.to_thread(start_server, state, log, env=settings)
    session = aiohttp.ClientSession()
    bot = BotServer(server.url, session, None)  # type: ignore[arg-type]
    try:
        await register(bot, connector)
        posted = await escalate_with_button(bot, connector, "")
        thread = thread_of(connector, posted)
        card = card_of(posted)
        assert card is not None
        await bot.post(agent_message(connector, thread=thread, value=submits(card)["take"]))
        await bot.post(agent_message(connector, "Before the crash", thread=thread))
        assert said(connector.received[-1]) == "Anna (support): Before the crash"

        server.kill()
        assert server.process.returncode == -signal.SIGKILL
        port = server.port
        server = await asyncio.to_thread(start_server, state, log, port=port, env=settings)

        await bot.post(agent_message(connector, "After the restart", thread=thread))
        assert connector.received[-1]["conversation"]["id"] == USER_CONVERSATION
        assert said(connector.received[-1]) == "Anna (support): After the restart"
        await bot.post(teams_message(connector.url, "Thanks, it works", locale="sv-SE"))
        assert connector.received[-1]["conversation"]["id"] == thread
        assert connector.received[-1]["text"] == "**Admin:** Thanks, it works"
    finally:
        await session.close()
        server.kill()
