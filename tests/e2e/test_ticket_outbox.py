"""The ticket outbox through the real server: a ticket the user was told about reaches the agents' channel
when the channel refuses its card for a while, when it fails for longer than the bound (the user is told
once, in their language), and when the bot is killed (SIGKILL) while posting it and restarted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.escalation.store_keys import ticket_key
from bot.escalation.tickets import Ticket, ticket_from_document
from bot.strings import strings_for
from tests.e2e.conftest import ConnectorStub, StartBot, serve_receiver
from tests.e2e.processes import bot_process
from tests.e2e.tickets_flow import CHANNEL, USER_CONVERSATION, ask_for_a_person, register, said, to_conversation

WAIT_S = 60.0
"""Upper bound for anything the outbox should do (a hang is the bug; these pass in a few seconds)."""


@dataclass
class ChannelOutage(ConnectorStub):
    """A connector whose agents' channel (posts to ``CHANNEL`` itself: new ticket cards) answers 500 to the
    next ``refuse`` posts, or holds them until ``release`` is set; everything else it accepts."""

    refuse: int = 0
    refused: int = 0
    held: int = 0
    hold: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("conversation", {}).get("id") == CHANNEL:
            if self.hold:
                self.held += 1
                await self.release.wait()
                return web.json_response({"error": {"code": "ServiceUnavailable"}}, status=503)
            if self.refuse > 0:
                self.refuse -= 1
                self.refused += 1
                return web.json_response({"error": {"code": "InternalServerError"}}, status=500)
        self.received.append(body)
        return web.json_response({"id": f"reply-{len(self.received)}"})

    def cards_in_channel(self) -> list[dict[str, Any]]:
        return to_conversation(self, CHANNEL)

    def to_user(self) -> list[str]:
        return [said(a) for a in to_conversation(self, USER_CONVERSATION)]


@pytest.fixture
async def outage() -> AsyncIterator[ChannelOutage]:
    stub = ChannelOutage()
    async with serve_receiver(stub.receive) as stub.url:
        yield stub
        stub.release.set()


@pytest.fixture
def quick_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connector's and the outbox's waits made short, so a test sees several attempts in a second."""
    monkeypatch.setattr("bot.channel.connector_pool.SEND_BACKOFF_S", 0.02)
    monkeypatch.setattr("bot.escalation.outbox.FIRST_RETRY_S", 0.1)
    monkeypatch.setattr("bot.escalation.outbox.MAX_RETRY_S", 0.2)
    monkeypatch.setattr("bot.escalation.outbox.POLL_S", 0.05)


async def until(condition: Callable[[], bool], what: str, limit_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {limit_s:.0f} s: {what}"
        await asyncio.sleep(0.05)


def stored_ticket(state: Path, number: int) -> Ticket:
    with contextlib.closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT document FROM bot_state WHERE key = ?", (ticket_key(number),)).fetchone()
    assert row is not None, f"ticket {number} is not stored"
    return ticket_from_document(json.loads(row[0]))


def acknowledged(stub: ChannelOutage, number: int = 1) -> bool:
    created = strings_for("sv-SE").text("ticket_created", number=str(number))
    return created in stub.to_user()


async def test_a_ticket_card_the_channel_refuses_is_posted_once_it_accepts(
    start_bot: StartBot, outage: ChannelOutage, quick_outbox: None, tmp_path: Path
) -> None:
    bot = await start_bot()
    await register(bot, outage)
    confirm = await ask_for_a_person(bot, outage, "Kan inte logga in")
    outage.refuse = 6  # more than the connector's own retries of one send
    assert await bot.post(confirm) in (200, 201)
    assert acknowledged(outage)
    await until(lambda: len(outage.cards_in_channel()) == 1, "the ticket card reached the agents' channel")
    assert outage.refused == 6
    await until(lambda: stored_ticket(tmp_path / "state.db", 1).thread is not None, "the ticket got its thread")
    await asyncio.sleep(0.5)  # several drainer rounds: none posts the card again
    assert len(outage.cards_in_channel()) == 1
    ticket = stored_ticket(tmp_path / "state.db", 1)
    assert ticket.thread == f"{CHANNEL};messageid=reply-{outage.received.index(outage.cards_in_channel()[0]) + 1}"
    assert ticket.queue == CHANNEL


async def test_a_channel_down_past_the_bound_tells_the_user_once_in_their_language_then_gets_the_card(
    start_bot: StartBot, outage: ChannelOutage, quick_outbox: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("bot.escalation.outbox.TELL_AFTER", 3)
    bot = await start_bot()
    await register(bot, outage)
    confirm = await ask_for_a_person(bot, outage, "Kan inte logga in")
    outage.refuse = 1_000_000
    assert await bot.post(confirm) in (200, 201)
    assert acknowledged(outage)
    told = strings_for("sv-SE").text("ticket_post_delayed", number="1")
    assert "supportteamet" in told  # Swedish, from the catalog
    await until(lambda: told in outage.to_user(), "the user was told that support could not be reached")
    refused = outage.refused
    await until(lambda: outage.refused >= refused + 8, "the outbox keeps trying after telling the user")
    outage.refuse = 0
    await until(lambda: len(outage.cards_in_channel()) == 1, "the ticket card reached the agents' channel")
    await until(lambda: stored_ticket(tmp_path / "state.db", 1).thread is not None, "the ticket got its thread")
    await asyncio.sleep(0.5)
    assert outage.to_user().count(told) == 1
    assert len(outage.cards_in_channel()) == 1


async def test_a_bot_killed_while_posting_a_ticket_card_posts_it_after_a_restart(
    outage: ChannelOutage, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    async with bot_process(tmp_path, STATE_STORE=f"sqlite:///{state}") as bot:
        await register(bot, outage)
        confirm = await ask_for_a_person(bot, outage, "Kan inte logga in")
        outage.hold = True
        posting = asyncio.create_task(bot.post(confirm))
        await until(lambda: acknowledged(outage) and outage.held == 1, "the user acknowledged, the card on its way")
        bot.kill()  # SIGKILL while the card post is in flight
        with contextlib.suppress(aiohttp.ClientError, OSError):  # the bot's answer to the confirm is cut off with it
            await posting
    outage.hold = False
    outage.release.set()
    assert stored_ticket(state, 1).thread is None
    assert outage.cards_in_channel() == []
    async with bot_process(tmp_path, STATE_STORE=f"sqlite:///{state}") as bot:
        await until(lambda: len(outage.cards_in_channel()) == 1, "the restarted bot posted the ticket card")
        await until(lambda: stored_ticket(state, 1).thread is not None, "the ticket got its thread")
    assert len(outage.cards_in_channel()) == 1
    assert stored_ticket(state, 1).queue == CHANNEL
