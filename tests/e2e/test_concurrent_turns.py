"""Several messages of one conversation at the same instant, through the real server: every message (and
the bot's reply to it) is in the conversation's transcript once, and so in the ticket made when the user
then asks for a person. The connector stub answers slowly, so every turn has read the conversation's state
before any turn saves it: each save after the first meets an e-tag conflict on the real SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ConnectorStub, StartBot, serve_connector, teams_message
from tests.e2e.tickets_flow import USER_CONVERSATION, card_of, submits, to_conversation

AT_ONCE = 5
SLOW_CHANNEL_S = 0.3
"""How long the connector stub takes to accept each reply: far longer than a turn takes to read its state."""
NOT_FOUND = "Der Drucker im dritten Stock druckt nur noch leere Seiten, Auftrag {n}"


@pytest.fixture
async def slow_connector() -> AsyncIterator[ConnectorStub]:
    async with serve_connector(delay=SLOW_CHANNEL_S) as stub:
        yield stub


def stored_tickets(state: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT document FROM bot_state WHERE key LIKE 'insight-desk/escalation/ticket/%'")
        return [json.loads(document) for (document,) in rows]


async def test_messages_sent_at_once_are_each_in_the_ticket_transcript_once(
        start_bot: StartBot, slow_connector: ConnectorStub, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    connector = slow_connector
    bot = await start_bot()
    assert await bot.post(teams_message(connector.url, "hello there, anyone home?")) in (200, 201)
    texts = [NOT_FOUND.format(n=n) for n in range(AT_ONCE)]
    statuses = await asyncio.gather(*(bot.post(teams_message(connector.url, text)) for text in texts))
    assert set(statuses) <= {200, 201}
    replies = to_conversation(connector, USER_CONVERSATION)
    assert len(replies) == 1 + AT_ONCE, "every message answered"

    await bot.post(teams_message(connector.url, "I want to talk to a human"))
    offer = card_of(connector.received[-1])
    assert offer is not None
    await bot.post(teams_message(connector.url, value={**submits(offer)["escalate_confirm"], "description": "x"}))

    (ticket,) = stored_tickets(tmp_path / "state.db")
    said = [line["text"] for line in ticket["transcript"] if line["role"] == "user"]
    assert said[0] == "hello there, anyone home?" and said[-1] == "I want to talk to a human"
    assert sorted(said[1:-1]) == sorted(texts), "each message of the burst exactly once"
    bot_lines = [line for line in ticket["transcript"] if line["role"] == "bot"]
    assert len(bot_lines) == 2 + AT_ONCE, "each reply (and the offer) exactly once"
    times = [datetime.fromisoformat(line["at"]) for line in ticket["transcript"]]
    assert times == sorted(times), "in the order they were said"
    assert "could not save" not in caplog.text and "gave up" not in caplog.text
