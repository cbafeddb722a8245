"""A channel's redelivery of an activity is handled once: one reply, one feedback row, whichever instance
gets it; a new activity with the same text is answered again (``bot/once_per_activity.py``)."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.feedback.events import FeedbackKind
from bot.feedback.report import load_events
from tests.e2e.conftest import BotServer, ConnectorStub, StartBot, teams_message

SWEDISH_ERROR = "Ett fel uppstod vid validering av åtkomsttoken"
SEED = "error-validating-access-token-during-onboarding"


def answer_actions(connector: ConnectorStub) -> dict[str, dict[str, Any]]:
    """The data of the Action.Submit buttons of the last card the bot sent."""
    card = connector.cards()[-1]
    return {a["data"]["insightDesk"]: a["data"] for a in card.get("actions", []) if a["type"] == "Action.Submit"}


def feedback_kinds(state: Path) -> list[FeedbackKind]:
    """Every feedback event in the state file, read through the feedback store the command line uses."""
    return [event.kind for event in load_events(f"sqlite:///{state}")]


async def test_the_same_helped_click_delivered_twice_counts_once(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, SWEDISH_ERROR))
    click = teams_message(connector.url, value=answer_actions(connector)["helped"])
    connector.received.clear()
    assert await bot.post(click) in (200, 201)
    assert await bot.post(copy.deepcopy(click)) in (200, 201)  # the channel delivers it again
    assert [r["text"] for r in connector.received] == ["Tack för att du berättade!"]
    assert feedback_kinds(tmp_path / "state.db").count(FeedbackKind.HELPED) == 1


async def test_the_same_message_delivered_twice_is_answered_once_and_logged(
    start_bot: StartBot, connector: ConnectorStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.channel.once_per_activity")
    bot = await start_bot()
    message = teams_message(connector.url, SWEDISH_ERROR)
    assert await bot.post(message) in (200, 201)
    assert await bot.post(message) in (200, 201)
    assert len(connector.received) == 1
    assert [r for r in caplog.records if "redelivered" in r.getMessage() and message["id"] in r.getMessage()]


async def test_a_new_activity_with_the_same_text_is_answered_again(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    for _ in range(2):
        assert await bot.post(teams_message(connector.url, SWEDISH_ERROR)) in (200, 201)  # a new id each time
    assert len(connector.received) == 2
    assert connector.received[0]["attachments"] == connector.received[1]["attachments"]


async def test_the_same_activity_id_in_another_conversation_is_answered(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    first = teams_message(connector.url, SWEDISH_ERROR, user="29:user-1")
    other = dict(teams_message(connector.url, SWEDISH_ERROR, user="29:user-2"), id=first["id"])
    assert first["conversation"]["id"] != other["conversation"]["id"]
    for activity in (first, other):
        assert await bot.post(activity) in (200, 201)
    assert len(connector.received) == 2


async def test_activities_without_an_id_are_each_answered(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    message = teams_message(connector.url, SWEDISH_ERROR)
    del message["id"]
    for _ in range(2):
        assert await bot.post(message) in (200, 201)
    assert len(connector.received) == 2


async def test_two_instances_on_one_sqlite_file_answer_a_redelivery_once(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    state = tmp_path / "shared.db"
    first: BotServer = await start_bot(state=state)
    second: BotServer = await start_bot(state=state)
    message = teams_message(connector.url, SWEDISH_ERROR)
    assert await first.post(message) in (200, 201)
    assert await second.post(message) in (200, 201)  # the channel retried, and its load balancer chose the other
    assert len(connector.received) == 1
    click = teams_message(connector.url, value=answer_actions(connector)["helped"])
    assert await second.post(click) in (200, 201)
    assert await first.post(click) in (200, 201)
    assert len(connector.received) == 2
    assert feedback_kinds(state).count(FeedbackKind.HELPED) == 1


async def test_a_redelivered_card_invoke_gets_200_and_counts_once(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, SWEDISH_ERROR))
    helped = answer_actions(connector)["helped"]
    connector.received.clear()
    invoke = teams_message(connector.url)
    invoke.update(type="invoke", name="adaptiveCard/action", text=None,
                  value={"action": {"type": "Action.Execute", "verb": "helped", "data": helped}, "trigger": "manual"})
    for _ in range(2):
        async with bot.session.post(f"{bot.url}/api/messages", json=invoke) as response:
            assert response.status == 200
    assert len(connector.received) == 1
    assert feedback_kinds(tmp_path / "state.db").count(FeedbackKind.HELPED) == 1


async def test_a_redelivered_message_is_one_line_of_the_transcript_handed_to_a_person(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot(escalation_handoff="hub")
    paste = teams_message(connector.url, SWEDISH_ERROR, locale="sv-SE")
    for _ in range(2):
        assert await bot.post(paste) in (200, 201)
    await bot.post(teams_message(connector.url, "prata med en människa", locale="sv-SE"))
    confirm = connector.cards()[-1]
    data = next(a["data"] for a in confirm["actions"] if a["data"].get("insightDesk") == "escalate_confirm")
    await bot.post(teams_message(connector.url, value={**data, "description": "Blocked"}, locale="sv-SE"))
    (event,) = [a for a in connector.received if a["type"] == "event" and a["name"] == "handoff.initiate"]
    texts = [a["text"] for a in event["attachments"][0]["content"]["activities"]]
    assert texts.count(SWEDISH_ERROR) == 1, texts
