"""What a client sends cannot make stored state unreadable: jsonpickle's tags in ``from.properties`` (and
wherever else a channel puts free-form JSON), through the real server, its SQLite file and a restart; a
damaged document on disk is logged once and read as absent."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from bot.escalation.stored_reference import reference_from_document
from bot.stores.base import decode_item, encode_item
from tests.activity_strategies import ANY_TEXT, JSON_LEAF
from tests.e2e.conftest import BotServer, ConnectorStub, StartBot, teams_message
from tests.e2e.tickets_flow import (
    CHANNEL,
    USER_CONVERSATION,
    agent_message,
    ask_for_a_person,
    card_of,
    confirm_ticket_from,
    escalate_with_button,
    said,
    submits,
    thread_of,
    to_conversation,
)
from tests.fuzz_budget import fuzz_settings

TAGGED: dict[str, dict[str, Any]] = {
    "py/b64": {"py/b64": 1},
    "py/object": {"py/object": "botbuilder.core.StoreItem", "py/state": {"count": 1}},
    "py/reduce": {"py/reduce": [{"py/function": "builtins.print"}, {"py/tuple": ["hello"]}]},
    "py/id": {"nested": [{"py/id": 3}, {"py/b85": None}]},
}
"""Free-form JSON a client may send that jsonpickle would read as its own tags."""


def tagged(activity: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """``activity`` with ``properties`` wherever Bot Framework's accounts have a free-form field."""
    for account in ("from", "recipient", "conversation"):
        activity[account]["properties"] = properties
    activity["channelData"]["tagged"] = properties
    return activity


def stored_documents(state: Path) -> dict[str, Any]:
    """Every item in the SQLite file, as JSON (raises if one is not)."""
    with sqlite3.connect(state) as connection:
        rows = connection.execute("SELECT key, document FROM bot_state").fetchall()
    return {key: json.loads(document) for key, document in rows}


def keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(keys_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(v) for v in value))
    return set()


async def register_from(bot: Any, connector: ConnectorStub, activity: dict[str, Any]) -> None:
    await bot.post(activity)
    assert connector.received[-1]["text"] == "This channel now receives support requests (all languages)."


@pytest.mark.parametrize("tag", list(TAGGED))
async def test_jsonpickle_tags_from_a_client_leave_tickets_and_queues_working_across_a_restart(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path, tag: str
) -> None:
    state = tmp_path / "tagged.db"
    properties = TAGGED[tag]
    bot = await start_bot(state=state)
    await register_from(bot, connector, tagged(agent_message(connector, "register agents"), properties))
    confirm = await ask_for_a_person(bot, connector, "tagged")
    posted = await confirm_ticket_from(bot, connector, tagged(confirm, properties))
    assert "Din begäran #1 ligger hos supportteamet" in said(to_conversation(connector, USER_CONVERSATION)[-1])

    # every later turn works: the user's, the agents' list, a later user's ticket reaches the channel
    await bot.post(tagged(teams_message(connector.url, "status", locale="sv-SE"), properties))
    assert "#1" in said(connector.received[-1]) and connector.received[-1]["conversation"]["id"] == USER_CONVERSATION
    await bot.post(agent_message(connector, "tickets"))
    assert "#1 · Waiting · sv-SE · Admin" in connector.received[-1]["text"]
    await escalate_with_button(bot, connector, "after the tagged one", user="29:user-2")

    documents = stored_documents(state)
    found = set().union(*(keys_in(doc) for doc in documents.values()))
    assert "properties" not in found and not any(key.startswith("py/") for key in found), found
    await bot.stop()

    # a new app on the same file: the queue and both tickets read back; the tagged user is reached
    bot = await start_bot(state=state)
    await bot.post(agent_message(connector, "tickets"))
    assert "#1 · Waiting" in connector.received[-1]["text"] and "#2 · Waiting" in connector.received[-1]["text"]
    await escalate_with_button(bot, connector, "after the restart", user="29:user-3")
    card = card_of(posted)
    assert card is not None
    await bot.post(agent_message(connector, thread=thread_of(connector, posted), value=submits(card)["take"]))
    assert said(to_conversation(connector, USER_CONVERSATION)[-1]) == "Anna från supporten har anslutit."


def damage(state: Path, key_part: str) -> list[str]:
    """Garbage in place of every document whose key contains ``key_part``; the keys damaged."""
    with sqlite3.connect(state) as connection:
        keys = [k for (k,) in connection.execute("SELECT key FROM bot_state") if key_part in k]
        for key in keys:
            connection.execute("UPDATE bot_state SET document = ? WHERE key = ?", ("\x00{garbage", key))
    return keys


async def test_damaged_documents_on_disk_are_logged_once_and_read_as_absent(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "damaged.db"
    bot = await start_bot(state=state)
    await register_from(bot, connector, agent_message(connector, "register agents"))
    await escalate_with_button(bot, connector, "first")
    await bot.stop()
    damaged = damage(state, "escalation/queues") + damage(state, "escalation/ticket/1") \
        + damage(state, "conversations/a:personal-29:user-1")  # its state and the ids of its processed activities
    assert len(damaged) == 4, damaged

    caplog.set_level(logging.ERROR)
    bot = await start_bot(state=state)
    # the user's conversation state and ticket read as absent: the user is answered and may ask again;
    # the queues read as absent (twice: logged once): the tickets wait until the channel registers again
    for user, number in (("29:user-1", 2), ("29:user-2", 3)):
        await bot.post(teams_message(connector.url, "talk to a person", locale="en-US", user=user))
        confirm = card_of(connector.received[-1])
        assert confirm is not None and set(submits(confirm)) == {"escalate_confirm", "escalate_cancel"}
        await bot.post(teams_message(connector.url, value=submits(confirm)["escalate_confirm"], locale="en-US",
                                     user=user))
        assert f"Your request #{number} is with the support team" in said(connector.received[-1])
    await register_from(bot, connector, agent_message(connector, "register agents"))
    await bot.post(agent_message(connector, "tickets"))
    listed = connector.received[-1]["text"]
    assert "#1 " not in listed and "#2 · Waiting" in listed and "#3 · Waiting" in listed, listed
    await escalate_with_button(bot, connector, "after registering again", user="29:user-4")

    unreadable = [r for r in caplog.records if "cannot be read and is treated as absent" in r.getMessage()]
    assert sorted(r.getMessage().split("'")[1] for r in unreadable) == sorted(damaged), \
        [r.getMessage() for r in unreadable]
    # what replaced two of them is readable JSON state (the conversation and the queues were written anew)
    with sqlite3.connect(state) as connection:
        rows = dict(connection.execute("SELECT key, document FROM bot_state"))
    assert json.loads(rows["insight-desk/escalation/queues"])["queues"][0]["channel_id"] == CHANNEL
    assert json.loads(rows["msteams/conversations/a:personal-29:user-1"])["InsightDeskTranscript"]


# -- whatever shapes a client sends ------------------------------------------------------------------

TAG_KEYS = st.sampled_from(["py/b64", "py/b85", "py/object", "py/reduce", "py/id", "py/tuple", "py/state",
                            "properties", "e_tag"])
FREE_JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(TAG_KEYS | ANY_TEXT, inner, max_size=4), max_leaves=10)
"""JSON whose keys are often jsonpickle's tags."""
FREE_OBJECT = st.dictionaries(TAG_KEYS | ANY_TEXT, FREE_JSON, max_size=4)


def shaped(base: dict[str, Any], fields: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with any of ``fields`` (and free-form extras) set to text or to any JSON."""
    optional = {name: ANY_TEXT | FREE_JSON for name in fields}
    return st.builds(lambda extra, chosen: {**extra, **base, **chosen}, FREE_OBJECT,
                     st.fixed_dictionaries({}, optional={"properties": FREE_JSON, **optional}))


ROUTABLE_IDS = st.text(st.sampled_from("abcXYZ019:-_.@é中"), min_size=1, max_size=40)
"""Ids the connector stub routes replies for (its paths have no room for '/', '?' or '#'); odd ids are the
endpoint fuzzer's subject, the shapes around them are this test's."""
ACCOUNT_FIELDS = ("name", "aadObjectId", "role")
CONVERSATION_FIELDS = ("name", "tenantId", "tenantID", "conversationType", "isGroup", "aadObjectId", "role")


@st.composite
def hostile_turns(draw: st.DrawFn, service_url: str) -> dict[str, Any]:
    """A user's confirmation of a ticket, or an agents' channel registering, with free-form shapes everywhere."""
    register = draw(st.booleans())
    user = draw(st.sampled_from(["29:user-1", "29:user-2"]) | ROUTABLE_IDS)
    if register:
        activity = agent_message_for(service_url, "register agents", user)
    else:
        activity = teams_message(service_url, value={"insightDesk": "escalate_confirm", "description": "help"},
                                 locale="en-US", user=user)
    activity["from"] = draw(shaped(activity["from"], ACCOUNT_FIELDS))
    activity["recipient"] = draw(shaped(activity["recipient"], ACCOUNT_FIELDS))
    activity["conversation"] = draw(shaped(activity["conversation"], CONVERSATION_FIELDS))
    activity["channelData"] = draw(shaped(activity["channelData"], ("tenant", "team", "channel", "eventType")))
    return activity


def agent_message_for(service_url: str, text: str, user: str) -> dict[str, Any]:
    activity = teams_message(service_url, text, channel=True, mention=True, user=user, locale="en-US")
    activity["channelData"]["channel"]["name"] = "Support"
    return activity


def next_turn(service_url: str, hostile: dict[str, Any]) -> dict[str, Any]:
    """A plain message in the conversation ``hostile`` was sent in, by the same sender."""
    if hostile["conversation"].get("conversationType") == "channel" and isinstance(hostile["channelData"], dict):
        activity = agent_message_for(service_url, "tickets", hostile["from"]["id"])
    else:
        activity = teams_message(service_url, "status", locale="en-US", user=hostile["from"]["id"])
    activity["conversation"]["id"] = hostile["conversation"]["id"]
    return activity


def assert_every_document_round_trips(state: Path) -> None:
    with sqlite3.connect(state) as connection:
        rows = connection.execute("SELECT key, document FROM bot_state").fetchall()
    for key, document in rows:
        assert encode_item(key, decode_item(state, key, document, "e")) == document, key
        item = json.loads(document)
        for reference in (item.get("conversation"), *(q.get("reference") for q in item.get("queues", []))):
            if isinstance(reference, dict) and "serviceUrl" in reference:
                assert reference_from_document(reference) == reference, key


# each example starts an app on a file of its own (fixtures are shared by examples): a failure is reported as
# drawn, not shrunk, which would start hundreds of apps
@settings(fuzz_settings(0.4), phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[*fuzz_settings().suppress_health_check, HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_whatever_shapes_a_client_sends_what_is_stored_round_trips_and_the_next_turn_works(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    """Each example on a new app and a new SQLite file, with a registered agents' channel."""
    hostile = data.draw(hostile_turns(connector.url))
    state = tmp_path / f"fuzzed-{uuid.uuid4().hex}.db"
    bot: BotServer = await start_bot(state=state, rate_limit_per_minute=0)
    try:
        await register_from(bot, connector, agent_message(connector, "register agents"))
        caplog.set_level(logging.ERROR)
        caplog.clear()
        status = await bot.post(hostile)
        event(f"{'register' if 'register' in hostile['text'] else 'escalate'}: HTTP {status}")
        assert status < 500
        assert_every_document_round_trips(state)
        before = len(connector.received)
        assert await bot.post(next_turn(connector.url, hostile)) in (200, 201)
        assert len(connector.received) > before
        await bot.post(agent_message(connector, "tickets"))
        assert connector.received[-1]["text"].startswith(("Open requests", "No open requests."))
        failures = [r.getMessage() for r in caplog.records if r.name in ("bot.app", "bot.plugin")]
        assert not failures, failures
    finally:
        await bot.stop()
