"""The bot's commands through POST /api/messages as Teams sends them: every title of the Teams app's
command menu in every scope it is offered in, never counted as a message nothing answered, and the
user's remembered language for everything the bot says afterwards."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.strings import CATALOG
from tests.e2e.conftest import BOT_ID, BOT_NAME, ConnectorStub, StartBot, teams_message
from tests.e2e.tickets_flow import card_of, said

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "teams" / "manifest.json"
EN = CATALOG["en-US"]
SV = CATALOG["sv-SE"]
UNKNOWN = "Printer tray 2 is jammed with paper again"


def menu() -> list[tuple[str, str]]:
    """Every ``(scope, title)`` of the manifest's command lists."""
    bots = json.loads(MANIFEST.read_text(encoding="utf-8"))["bots"]
    found = [(scope, command["title"]) for bot in bots for commands in bot.get("commandLists", [])
             for scope in commands["scopes"] for command in commands["commands"]]
    assert {scope for scope, _ in found} == {"personal", "groupChat", "team"}, "the menu is read whole"
    return found


def in_scope(service_url: str, scope: str, text: str, *, locale: str = "en-US") -> dict[str, Any]:
    """A message in ``scope`` as Teams sends a command chosen from the menu: in a team's channel and in a
    group chat with the bot's mention before it."""
    if scope == "team":
        return teams_message(service_url, text, channel=True, mention=True, locale=locale)
    activity = teams_message(service_url, text, mention=scope == "groupChat", locale=locale)
    if scope == "groupChat":
        activity["conversation"] = {"id": "19:group-chat@thread.v2", "conversationType": "groupChat",
                                    "isGroup": True, "tenantId": "t-1"}
    else:
        assert scope == "personal", f"a scope this test does not know: {scope}"
    return activity


def expected_reply(scope: str, title: str) -> str:
    """What each menu command answers in a fresh bot (no ticket yet), by title."""
    if title == "language":
        return str(EN["language_usage"]).format(example="sv")
    if title == "help":
        return f"**{EN['welcome_title']}**\n\n{EN['welcome_text']}"
    if title == "status":
        return str(EN["status_none"])
    if title == "tickets":  # no agents' channel is registered: not one anywhere in this bot
        return str(EN["agents_command_elsewhere"]).format(command="tickets")
    if title == "register agents" and scope == "team":
        return "This channel now receives support requests (all languages)."
    raise AssertionError(f"the manifest offers {title!r} in {scope!r}: say here what it answers")


@pytest.mark.parametrize("slash", ["", "/"], ids=["as-teams-sends-it", "with-slash"])
@pytest.mark.parametrize(("scope", "title"), menu())
async def test_every_command_of_the_teams_menu_is_handled_in_its_scope(
    start_bot: StartBot, connector: ConnectorStub, scope: str, title: str, slash: str
) -> None:
    bot = await start_bot()
    assert await bot.post(in_scope(connector.url, scope, f"{slash}{title}")) in (200, 201, 202)
    assert [said(a) for a in connector.received] == [expected_reply(scope, title)]


async def test_commands_are_never_counted_as_unanswered_messages(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    """Before, "tickets" typed twice in a personal chat got "I couldn't answer your last two messages"."""
    bot = await start_bot()
    for text in ("tickets", "tickets", "help", "status", "language", "register agents", "/kb reset", "ticket 3"):
        await bot.post(teams_message(connector.url, text, locale="en-US"))
    replies = [said(a) for a in connector.received]
    assert EN["not_found"] not in replies and EN["not_found_again"] not in replies, replies
    connector.received.clear()
    await bot.post(teams_message(connector.url, UNKNOWN, locale="en-US"))
    assert [said(a) for a in connector.received] == [EN["not_found"]]  # the first miss, not the ninth
    with sqlite3.connect(tmp_path / "state.db") as db:
        unanswered = db.execute("SELECT query FROM feedback WHERE kind = 'unanswered'").fetchall()
    assert unanswered == [(UNKNOWN,)]
    # a command is the whole message: a paste that begins with a command's word is searched
    connector.received.clear()
    await bot.post(teams_message(connector.url, "help There was an error validating access token", locale="en-US"))
    assert said(connector.received[-1]).startswith('**"There was an error validating access token"')


async def test_a_users_command_in_the_wrong_place_is_explained_in_one_line_in_their_language(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "tickets", locale="sv-SE"))
    await bot.post(teams_message(connector.url, "/kb Ett fel uppstod", locale="sv-SE"))
    assert [said(a) for a in connector.received] == [
        str(SV["agents_command_elsewhere"]).format(command="tickets"),
        str(SV["agents_command_elsewhere"]).format(command="/kb")]
    assert all("\n" not in said(a) for a in connector.received)


async def test_after_language_sv_a_later_sessions_welcome_is_swedish(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    """Issue 15 item 10: the remembered language applies to the welcome of a later session too."""
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "/language sv", locale="en-US"))
    assert connector.received[-1]["text"] == SV["language_set"].format(language="svenska")
    connector.received.clear()
    update = teams_message(connector.url, locale="en-US")  # the same user, a new conversation, an English client
    update.update(type="conversationUpdate", text=None,
                  membersAdded=[{"id": BOT_ID, "name": BOT_NAME}, {"id": "29:user-1", "name": "Admin"}])
    update["conversation"]["id"] = "a:later-session"
    await bot.post(update)
    welcome = card_of(connector.received[-1])
    assert welcome is not None and welcome["body"][0]["text"] == SV["welcome_title"]
    connector.received.clear()
    for text in ("help", UNKNOWN, "tickets", "status"):
        await bot.post(teams_message(connector.url, text, locale="en-US"))
    assert [said(a) for a in connector.received] == [
        f"**{SV['welcome_title']}**\n\n{SV['welcome_text']}", SV["not_found"],
        str(SV["agents_command_elsewhere"]).format(command="tickets"), SV["status_none"]]


async def test_suggestions_after_an_english_answer_are_english_when_the_article_has_english(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    """Issue 15 item 3: "Did you mean" offered a Korean heading to an English-speaking user although the
    (span-format) article carries English text."""
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "There was an error validating access token", locale="en-US"))
    answer = card_of(connector.received[-1])
    assert answer is not None and answer["body"][0]["text"].startswith('"There was an error validating access token"')
    connector.received.clear()
    await bot.post(teams_message(connector.url, "This did not help, I want to talk to a person", locale="en-US"))
    card = card_of(connector.received[-1])
    assert card is not None and card["body"][0]["text"] == EN["did_you_mean"]
    choices = [a for a in card["actions"] if a["data"]["insightDesk"] == "choose"]
    assert choices, card
    for choice in choices:
        assert choice["title"].startswith('"There was an error validating access token"'), choice["title"]
        assert choice["data"]["locale"] == "en-US"
