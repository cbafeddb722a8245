"""Who gets an answer and what bad input gets back, through the real HTTP path (``POST /api/messages``).

Tenant allow-list, per-conversation rate limit, redacted transcripts, and the limits of the endpoint:
body size, non-activities, unknown activity types, odd text, deep nesting, forged card data.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import MAX_BODY_BYTES
from bot.strings import strings_for
from tests.e2e.conftest import ConnectorStub, StartBot, serve_connector, teams_message
from tests.e2e.tickets_flow import agent_message, card_of, confirm_ticket, register, said, submits, thread_of

SWEDISH_PASTE = "Ett fel uppstod vid validering av åtkomsttoken"


@pytest.fixture
async def decoy() -> AsyncIterator[ConnectorStub]:
    """A connector at a URL only user-controlled data names: it must never be called."""
    async with serve_connector() as stub:
        yield stub


def from_tenant(activity: dict[str, Any], channel_data: str | None, conversation: str | None) -> dict[str, Any]:
    activity["channelData"] = {"tenant": {"id": channel_data}} if channel_data else {}
    activity["conversation"] = {k: v for k, v in activity["conversation"].items() if k != "tenantId"}
    if conversation:
        activity["conversation"]["tenantId"] = conversation
    return activity


# -- tenants ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel_data", "conversation"), [
    ("t-evil", "t-evil"), ("t-1", "t-evil"), ("t-evil", None), (None, None)])
async def test_teams_activities_from_tenants_not_allowed_get_no_answer_and_are_logged(
    start_bot: StartBot, connector: ConnectorStub, caplog: pytest.LogCaptureFixture,
    channel_data: str | None, conversation: str | None,
) -> None:
    bot = await start_bot(allowed_tenants=frozenset({"t-1", "t-2"}))
    caplog.set_level(logging.WARNING, logger="bot.channel.tenants")
    activity = from_tenant(teams_message(connector.url, SWEDISH_PASTE), channel_data, conversation)
    assert await bot.post(activity) in (200, 201)
    assert connector.received == []
    assert "not in ALLOWED_TENANTS" in caplog.text
    # The same message from an allowed tenant is answered, and another channel carries no tenant.
    assert await bot.post(from_tenant(teams_message(connector.url, SWEDISH_PASTE), "t-2", "t-2")) in (200, 201)
    assert len(connector.received) == 1
    webchat = dict(from_tenant(teams_message(connector.url, SWEDISH_PASTE), None, None), channelId="webchat")
    assert await bot.post(webchat) in (200, 201)
    assert len(connector.received) == 2


async def test_without_an_allow_list_every_tenant_is_served(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    assert await bot.post(from_tenant(teams_message(connector.url, SWEDISH_PASTE), "t-any", "t-any")) in (200, 201)
    assert len(connector.received) == 1


# -- rate limit ---------------------------------------------------------------------------------------


async def test_a_conversation_over_its_rate_limit_is_told_once_in_its_language_and_others_are_served(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot(rate_limit_per_minute=1, rate_limit_burst=3)
    for _ in range(6):
        assert await bot.post(teams_message(connector.url, SWEDISH_PASTE, locale="sv-SE", user="29:flood")) in (
            200, 201)
    flood = [r for r in connector.received if r["conversation"]["id"] == "a:personal-29:flood"]
    assert len(flood) == 4  # three answers, then one "slow down", then silence
    assert all(r.get("attachments") for r in flood[:3])
    assert flood[3]["text"] == strings_for("sv-SE").text("slow_down")
    assert flood[3]["text"] != strings_for("en-US").text("slow_down")
    for _ in range(3):
        await bot.post(teams_message(connector.url, "액세스 토큰 유효성 검사 오류", locale="ko-KR", user="29:calm"))
    calm = [r for r in connector.received if r["conversation"]["id"] == "a:personal-29:calm"]
    assert len(calm) == 3 and all(r.get("attachments") for r in calm)


async def test_rate_limit_zero_turns_it_off(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot(rate_limit_per_minute=0, rate_limit_burst=1)
    for _ in range(15):
        await bot.post(teams_message(connector.url, SWEDISH_PASTE, user="29:busy"))
    assert len(connector.received) == 15
    assert all(r.get("attachments") for r in connector.received)


# -- redacted transcripts ------------------------------------------------------------------------


PASTE_WITH_IDS = ("Sync failed for alice.svensson@contoso.se from 10.20.30.40 and fe80::1ff:fe23:4567:890a,"
                  " correlation id 3f2a1b2c-1111-4222-8333-444455556666, quux frobnicator exploded")
PERSONAL = ("alice.svensson@contoso.se", "10.20.30.40", "fe80::1ff:fe23:4567:890a",
            "3f2a1b2c-1111-4222-8333-444455556666")


def stored_queries(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT query FROM feedback")]


@pytest.mark.parametrize("redacted", [True, False])
async def test_redact_transcripts_masks_ids_emails_and_ips_in_stored_queries(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path, redacted: bool
) -> None:
    state = tmp_path / f"state-{redacted}.db"
    bot = await start_bot(state=state, redact_transcripts=redacted)
    await bot.post(teams_message(connector.url, PASTE_WITH_IDS, locale="en-US"))
    assert len(connector.received) == 1  # "nothing found", and the query is recorded as unanswered
    [query] = stored_queries(state)
    if redacted:
        assert not [p for p in PERSONAL if p in query], query
        assert query.count("<ip>") == 2 and "<email>" in query and "<id>" in query
        assert "quux frobnicator exploded" in query
    else:
        assert all(p in query for p in PERSONAL)


def everything_stored(path: Path) -> str:
    """Every row of every table of the state file, as text."""
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))


@pytest.mark.parametrize("redacted", [True, False])
async def test_redact_transcripts_masks_tickets_their_transcripts_and_what_agents_see(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path, redacted: bool
) -> None:
    state = tmp_path / f"state-{redacted}.db"
    bot = await start_bot(state=state, redact_transcripts=redacted)
    await register(bot, connector)
    await bot.post(teams_message(connector.url, PASTE_WITH_IDS, locale="en-US"))
    await bot.post(teams_message(connector.url, "talk to a human", locale="en-US"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None
    described = {**submits(confirm)["escalate_confirm"], "description": f"Call {PERSONAL[0]} at {PERSONAL[1]}"}
    posted = await confirm_ticket(bot, connector, described, locale="en-US")
    thread = thread_of(connector, posted)
    await bot.post(agent_message(connector, thread=thread, value=submits(card_of(posted) or {})["take"]))
    await bot.post(teams_message(connector.url, f"My laptop is {PERSONAL[3]}", locale="en-US"))
    to_agents = connector.received[-1]["text"]
    await bot.post(agent_message(connector, "Send the logs to helpdesk@contoso.se", thread=thread))
    to_user = said(connector.received[-1])
    await bot.post(agent_message(connector, "ticket 1"))
    shown = json.dumps(card_of(connector.received[-1]), ensure_ascii=False)   # the card agents see

    stored = everything_stored(state)
    assert "quux frobnicator exploded" in stored and "Send the logs to" in stored   # the ticket, its transcript
    assert to_user == "Anna (support): Send the logs to helpdesk@contoso.se"  # the agent's words, as written
    if redacted:
        assert not [p for p in (*PERSONAL, "helpdesk@contoso.se") if p in stored]
        assert stored.count("<email>") >= 3 and "<ip>" in stored and "<id>" in stored
        assert to_agents == "**Admin:** My laptop is &lt;id&gt;"  # the mask, escaped: Teams shows "<id>"
        assert not [p for p in PERSONAL if p in shown] and "Call <email> at <ip>" in shown
    else:
        assert all(p in stored for p in PERSONAL) and "helpdesk@contoso.se" in stored
        assert to_agents == f"**Admin:** My laptop is {PERSONAL[3]}"
        assert f"Call {PERSONAL[0]} at {PERSONAL[1]}" in shown


# -- limits ------------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413_and_the_next_is_answered(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    huge = json.dumps(teams_message(connector.url, "x" * (MAX_BODY_BYTES + 10))).encode()
    assert await bot.post(None, raw=huge) == 413
    assert connector.received == []
    assert await bot.post(teams_message(connector.url, SWEDISH_PASTE)) in (200, 201)
    assert len(connector.received) == 1


@pytest.mark.parametrize("body", [[], "activity", 42, None, {}, {"type": 5}, {"type": ""}, {"type": None},
                                  {"type": ["message"]}])
async def test_json_that_is_not_an_activity_is_400(start_bot: StartBot, connector: ConnectorStub, body: Any) -> None:
    bot = await start_bot()
    assert await bot.post(body) == 400
    assert connector.received == []


@pytest.mark.parametrize("kind", ["typing", "endOfConversation", "messageReaction", "event", "handoff",
                                  "made-up-type", "message\u0000"])
async def test_unknown_or_unanswered_activity_types_are_accepted_and_ignored(
    start_bot: StartBot, connector: ConnectorStub, kind: str
) -> None:
    bot = await start_bot()
    assert await bot.post(dict(teams_message(connector.url, SWEDISH_PASTE), type=kind)) in (200, 201)
    assert connector.received == []


@pytest.mark.parametrize("text", ["", " ", "\n\t \u00a0\u3000", "\u200b\u200e\u2060", "\u0000\u0001\u001f\u007f",
                                  "\u202eEtt fel uppstod vid validering av åtkomsttoken\u202c",
                                  "Ett fel\u0000 uppstod\u0007 vid validering\u001b[31m av åtkomsttoken",
                                  "\ud800 lone surrogate \udfff", "\ufffe\uffff\U0010ffff"])
async def test_odd_text_gets_one_sensible_reply(start_bot: StartBot, connector: ConnectorStub, text: str) -> None:
    bot = await start_bot()
    raw = json.dumps(teams_message(connector.url, text)).encode()  # lone surrogates as \\ud800 escapes
    assert await bot.post(None, raw=raw) in (200, 201)
    assert len(connector.received) == 1
    if "av åtkomsttoken" in text:
        assert "Skrivbordsanalys" in json.dumps(connector.received[0], ensure_ascii=False)
    else:  # the help card for text that is empty once cleaned, else "nothing found"; never the apology
        assert connector.received[0].get("attachments") or connector.received[0].get("text")
        assert connector.received[0].get("text") != strings_for("en-US").text("apology")


async def test_a_lone_surrogate_in_a_query_that_is_stored_is_answered_and_kept(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    state = tmp_path / "surrogate.db"
    bot = await start_bot(state=state)
    raw = json.dumps(teams_message(connector.url, "quux \ud83d frobnicator failed")).encode()
    assert await bot.post(None, raw=raw) in (200, 201)
    assert len(connector.received) == 1
    assert connector.received[0].get("text") != strings_for("en-US").text("apology")
    [query] = stored_queries(state)
    assert "frobnicator" in query


@pytest.mark.parametrize("where", ["body", "value", "channelData", "entities"])
@pytest.mark.parametrize("depth", [200, 5_000, 200_000])
async def test_deeply_nested_json_is_400_or_answered_never_500(
    start_bot: StartBot, connector: ConnectorStub, where: str, depth: int
) -> None:
    bot = await start_bot()
    nested = "[" * depth + "]" * depth
    message = json.dumps(teams_message(connector.url, SWEDISH_PASTE))
    if where == "body":
        raw = ("[" * depth + message + "]" * depth).encode()
    else:
        raw = (message[:-1] + f', "{where}": {nested}' + "}").encode()
    status = await bot.post(None, raw=raw)
    assert status in (200, 201, 400), status
    assert await bot.post(teams_message(connector.url, SWEDISH_PASTE)) in (200, 201)


FORGED_VALUES: list[dict[str, Any]] = [
    {"insightDesk": "format-disk"},
    {"insightDesk": "choose", "article": "../../../../etc/passwd"},
    {"insightDesk": "choose", "article": "not-an-article", "query": "x"},
    {"insightDesk": "choose", "article": 12345},
    {"insightDesk": "language", "article": "error-validating-access-token-during-onboarding",
     "language": "xx-NOT-A-LOCALE"},
    {"insightDesk": "helped", "article": {"nested": ["object"]}, "query": ["not", "text"]},
    {"insightDesk": "escalate", "ticket": "ticket-of-someone-else", "conversation": "a:personal-29:victim",
     "user": "29:victim"},
    {"insightDesk": None},
    {"insightDesk": "choose" * 10_000, "article": "x" * 100_000},
]


@pytest.mark.parametrize("value", FORGED_VALUES, ids=range(len(FORGED_VALUES)))
async def test_forged_card_data_gets_a_plain_answer_and_calls_no_url_it_names(
    start_bot: StartBot, connector: ConnectorStub, decoy: ConnectorStub, value: dict[str, Any]
) -> None:
    bot = await start_bot()
    forged = dict(value, serviceUrl=decoy.url, url=f"{decoy.url}/v3/conversations/x/activities",
                  replyTo=decoy.url)
    assert await bot.post(teams_message(connector.url, value=forged)) in (200, 201)
    assert len(connector.received) == 1
    assert decoy.received == [] and decoy.paths == []
    reply = json.dumps(connector.received, ensure_ascii=False)
    assert strings_for("en-US").text("apology") not in reply
    assert "passwd" not in reply and decoy.url not in reply


BROKEN_FIELDS: list[tuple[str, Any]] = [
    ("channelId", None), ("channelId", " "), ("serviceUrl", None), ("serviceUrl", "not a url"),
    ("serviceUrl", "ftp://127.0.0.1/"), ("serviceUrl", "http://127.0.0.1:9/\r\nX-Injected: 1"),
    ("conversation", None), ("conversation", {"id": ""}), ("conversation", {"id": "a:x\r\nHost: evil"}),
    ("conversation", {"id": "a:\udf34"}), ("from", None), ("from", {"name": "no id"}), ("from", {"id": "29:\ud800"}),
    ("channelId", "msteams\u0000"), ("id", "activity\nX: y"), ("id", 42),
    ("channelData", {"tenant": ["t-1"]}), ("channelData", {"team": True}), ("channelData", "text"),
]


@pytest.mark.parametrize(("field", "junk"), BROKEN_FIELDS, ids=[f"{f}={j!r}"[:40] for f, j in BROKEN_FIELDS])
async def test_an_activity_missing_what_a_reply_needs_or_with_unsafe_ids_is_400(
    start_bot: StartBot, connector: ConnectorStub, field: str, junk: Any
) -> None:
    """Found by fuzzing: each of these failed inside the turn (state keys SQLite cannot encode, a reply URL
    aiohttp refuses as header injection, no URL to reply to) instead of being refused at the door."""
    bot = await start_bot()
    activity = teams_message(connector.url, SWEDISH_PASTE)
    activity[field] = junk
    assert await bot.post(None, raw=json.dumps(activity).encode()) == 400
    assert connector.received == []


@pytest.mark.parametrize("attachments", [[None], [42], ["text"], [{"contentType": None}], []])
async def test_attachments_of_the_wrong_shape_do_not_break_the_turn(
    start_bot: StartBot, connector: ConnectorStub, attachments: list[Any]
) -> None:
    bot = await start_bot()
    status = await bot.post(dict(teams_message(connector.url, SWEDISH_PASTE), attachments=attachments))
    assert status in (200, 201, 400)
    if status != 400:
        assert "Skrivbordsanalys" in json.dumps(connector.received, ensure_ascii=False)
