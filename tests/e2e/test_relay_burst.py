"""Bursts of relayed lines through the real server: nothing is lost, nothing doubled, order kept.

A ticket is assigned; then the user sends ``AT_ONCE`` messages at the same instant, in ``ROUNDS`` rounds, and
the owning agent does the same in the ticket's thread. Every line reaches the other side once, in the order
the ticket's transcript records it (rounds one after another), and every line is in the transcript; none
of the user's words is answered from the knowledge base. The same with two bot processes on one SQLite file
(``AT_ONCE`` into each at once),
and on one Redis (Redis databases 10-15 are this file's; ``test_scale_out`` uses 1-9).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.escalation import StorageTicketStore
from bot.stores import aclose_storage, create_storage
from services import RunningService
from tests.e2e.conftest import ConnectorStub, StartBot, teams_message
from tests.e2e.processes import BotProcess, bot_process
from tests.e2e.tickets_flow import (
    USER_CONVERSATION,
    PostsActivities,
    agent_message,
    card_of,
    escalate_with_button,
    register,
    said,
    submits,
    thread_of,
    to_conversation,
)

AT_ONCE = 10
ROUNDS = 3
UNLIMITED = {"rate_limit_per_minute": 100_000.0, "rate_limit_burst": 10_000}
"""Rate limits far above the bursts: what is tested is the relay, not the limiter."""
USER_LINE = "Still failing, attempt {r}.{n}"
AGENT_LINE = "Try step {r}.{n}"


async def stored_transcript(state_url: str, number: int = 1) -> list[tuple[str, str]]:
    """``(role, text)`` of each line of ticket ``number`` as the store holds it, read by a third client."""
    storage = create_storage(state_url)
    try:
        ticket = await StorageTicketStore(storage).get(number)
    finally:
        await aclose_storage(storage)
    assert ticket is not None
    return [(line.role.value, line.text) for line in ticket.transcript]


async def assigned_ticket(bots: list[PostsActivities], connector: ConnectorStub) -> str:
    """Register the agents' channel, open ticket #1 and let Anna take it; the ticket's thread."""
    await register(bots[0], connector)
    posted = await escalate_with_button(bots[-1], connector, "Locked out")
    card = card_of(posted)
    assert card is not None
    thread = thread_of(connector, posted)
    await bots[0].post(agent_message(connector, thread=thread, value=submits(card)["take"]))
    assert said(to_conversation(connector, USER_CONVERSATION)[-1]) == "Anna från supporten har anslutit."
    return thread


def rounds_in_order(texts: list[str], line: str) -> bool:
    """Whether every line of round r comes before every line of round r + 1."""
    rounds = [next(r for r in range(ROUNDS) if text.startswith(line.format(r=r, n=""))) for text in texts]
    return rounds == sorted(rounds)


async def burst_both_ways(bots: list[PostsActivities], connector: ConnectorStub, thread: str,
                          state_url: str) -> None:
    """``ROUNDS`` rounds of ``AT_ONCE`` user messages at once into each bot, then the same from the agent; checks
    every line."""
    at_once = AT_ONCE * len(bots)
    sent_to_user = len(to_conversation(connector, USER_CONVERSATION))
    in_thread = len(to_conversation(connector, thread))
    for r in range(ROUNDS):
        posts = [bots[n % len(bots)].post(teams_message(connector.url, USER_LINE.format(r=r, n=n), locale="sv-SE"))
                 for n in range(at_once)]
        assert await asyncio.gather(*posts) == [201] * at_once
    answered = to_conversation(connector, USER_CONVERSATION)[sent_to_user:]
    assert answered == [], f"the user's words were answered, not relayed: {[said(a) for a in answered]}"
    relayed = [a["text"].removeprefix("**Admin:** ") for a in to_conversation(connector, thread)
               if str(a.get("text") or "").startswith("**Admin:** Still failing")]
    wanted = sorted(USER_LINE.format(r=r, n=n) for r in range(ROUNDS) for n in range(at_once))
    assert sorted(relayed) == wanted, "each user line relayed once"
    assert rounds_in_order(relayed, USER_LINE)
    user_lines = [text for _, text in await stored_transcript(state_url) if text.startswith("Still failing")]
    assert sorted(user_lines) == wanted, "each user line in the transcript once"
    if len(bots) == 1:
        assert relayed == user_lines, "the agent reads them in the order the transcript keeps"

    for r in range(ROUNDS):
        posts = [bots[n % len(bots)].post(agent_message(connector, AGENT_LINE.format(r=r, n=n), thread=thread))
                 for n in range(at_once)]
        assert await asyncio.gather(*posts) == [201] * at_once
    delivered = [said(a).removeprefix("Anna (support): ") for a in to_conversation(connector, USER_CONVERSATION)
                 if said(a).startswith("Anna (support): Try step")]
    wanted = sorted(AGENT_LINE.format(r=r, n=n) for r in range(ROUNDS) for n in range(at_once))
    assert sorted(delivered) == wanted, "each agent line delivered to the user once"
    assert rounds_in_order(delivered, AGENT_LINE)
    agent_lines = [text for role, text in await stored_transcript(state_url) if role == "agent"]
    assert sorted(agent_lines) == wanted, "each agent line in the transcript once"
    if len(bots) == 1:
        assert delivered == agent_lines, "the user reads them in the order the transcript keeps"
    not_relayed = [said(a) for a in to_conversation(connector, thread)[in_thread:]
                   if not said(a).startswith("**Admin:** Still failing")]
    assert not_relayed == [], "no answer to the agent in the thread"


async def test_bursts_of_relayed_lines_each_arrive_once_in_order(start_bot: StartBot, connector: ConnectorStub,
                                                                 tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    bot = await start_bot(**UNLIMITED)
    thread = await assigned_ticket([bot], connector)
    await burst_both_ways([bot], connector, thread, f"sqlite:///{tmp_path / 'state.db'}")
    assert "gave up" not in caplog.text


@pytest.fixture(params=["sqlite", "redis"])
async def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The state store two processes share: one SQLite file, or a database of its own on the test run's Redis."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    from redis.asyncio import Redis

    service: RunningService = request.getfixturevalue("redis_service")
    url = service.url.rsplit("/", 1)[0] + f"/{10 + uuid.uuid4().int % 6}"
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


@pytest.fixture
async def two_processes(tmp_path: Path, shared_store: str) -> AsyncIterator[list[BotProcess]]:
    """Two ``python -m bot serve`` processes on one store."""
    settings = {"STATE_STORE": shared_store, **{k.upper(): str(v) for k, v in UNLIMITED.items()}}
    async with AsyncExitStack() as stack:
        bots = await asyncio.gather(*(stack.enter_async_context(bot_process(tmp_path / name, **settings))
                                      for name in ("a", "b")))
        yield list(bots)


async def test_bursts_through_two_processes_on_one_store_lose_nothing(
        two_processes: list[BotProcess], connector: ConnectorStub, shared_store: str) -> None:
    bots: list[PostsActivities] = list(two_processes)
    thread = await assigned_ticket(bots, connector)
    await burst_both_ways(bots, connector, thread, shared_store)
    for bot in two_processes:
        assert "gave up" not in bot.output()
