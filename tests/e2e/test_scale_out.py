"""Scale-out: two real bot processes (``python -m bot serve``) sharing one real redis-server (and one Azurite).

A conversation moves freely between the instances: the language a user chose through one is used by
the other, card buttons pressed on one act on answers given by the other, feedback written through
either is in one report, and killing one instance loses nothing the other needs.

Tickets too: an agents' channel registered through one instance gets the ticket a user opened through
the other; two agents pressing "Take it" at the same moment on different instances give one owner and one
polite refusal (the Redis store's e-tag check decides); the relay and the resolve then work through
either instance. Messages of one conversation sent at once through both instances all reach its ticket.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.escalation import StorageTicketStore, Ticket, TicketState
from bot.escalation.tickets import Role
from bot.feedback.report import load_report
from bot.stores import aclose_storage, create_storage
from services import RunningService
from tests.e2e.conftest import ConnectorStub, teams_message
from tests.e2e.processes import BotProcess, bot_process
from tests.e2e.tickets_flow import (
    CHANNEL,
    USER_CONVERSATION,
    agent_message,
    ask_for_a_person,
    card_of,
    register,
    said,
    submits,
    thread_of,
    to_conversation,
)

SWEDISH_ERROR = "Ett fel uppstod vid validering av åtkomsttoken"
SEED = "error-validating-access-token-during-onboarding"
TAKE_RACES = 3
"""Tickets created at once, then each taken by two agents at once."""
PAUSE_MS = 400
"""How long Redis holds writes while the instances race (reads go on meanwhile)."""


@pytest.fixture
def state_url(redis_service: RunningService) -> str:
    """A Redis database of its own for each test (0-15 are there by default; 1-9 are used here)."""
    return redis_service.url.rsplit("/", 1)[0] + f"/{1 + uuid.uuid4().int % 9}"


@pytest.fixture
async def two_bots(tmp_path: Path, state_url: str, redis_service: RunningService) -> AsyncIterator[list[BotProcess]]:
    from redis.asyncio import Redis

    client = Redis.from_url(state_url)
    await client.flushdb()
    await client.aclose()
    async with AsyncExitStack() as stack:
        bots = await asyncio.gather(*(stack.enter_async_context(bot_process(tmp_path / name, STATE_STORE=state_url))
                                      for name in ("a", "b")))
        yield list(bots)


def cards(connector: ConnectorStub) -> list[dict[str, Any]]:
    return connector.cards()


def actions(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["data"]["insightDesk"]: a["data"] for a in card.get("actions", []) if a["type"] == "Action.Submit"}


async def test_language_chosen_on_one_instance_is_used_by_the_other(two_bots: list[BotProcess],
                                                                     connector: ConnectorStub) -> None:
    a, b = two_bots
    assert await a.post(teams_message(connector.url, "/language ko", locale="en-US")) == 201
    assert connector.received[-1]["text"] == "지금부터 한국어(으)로 답변하겠습니다."
    connector.received.clear()
    await b.post(teams_message(connector.url, SWEDISH_ERROR, locale="en-US"))
    assert "액세스 토큰" in cards(connector)[-1]["body"][0]["text"], "instance b answered in Korean"
    connector.received.clear()
    await b.post(teams_message(connector.url, "/language sv", locale="en-US"))
    await a.post(teams_message(connector.url, SWEDISH_ERROR, locale="en-US"))
    assert "åtkomsttoken" in cards(connector)[-1]["body"][0]["text"], "instance a sees b's change"


async def test_feedback_through_either_instance_is_in_one_report(two_bots: list[BotProcess], state_url: str,
                                                                 connector: ConnectorStub) -> None:
    a, b = two_bots
    await a.post(teams_message(connector.url, SWEDISH_ERROR, user="29:user-a"))
    buttons = actions(cards(connector)[-1])
    await b.post(teams_message(connector.url, value=buttons["not_helped"], user="29:user-a"))  # a's card, b's click
    await b.post(teams_message(connector.url, "Printer tray 2 is jammed with paper again", user="29:user-b"))
    await a.post(teams_message(connector.url, "Printer tray 2 is jammed with paper again", user="29:user-c"))
    rows = await asyncio.to_thread(load_report, state_url)
    by_query = {row.query: row for row in rows}
    assert by_query[SWEDISH_ERROR].not_helped == 1 and by_query[SWEDISH_ERROR].articles == (SEED,)
    assert by_query["Printer tray 2 is jammed with paper again"].unanswered == 2


async def test_a_redelivery_through_either_instance_is_answered_once(two_bots: list[BotProcess], state_url: str,
                                                                     connector: ConnectorStub) -> None:
    a, b = two_bots
    message = teams_message(connector.url, SWEDISH_ERROR, user="29:user-r")
    assert await a.post(message) == 201
    assert await b.post(message) == 201  # the channel retried through the other instance
    assert len(connector.received) == 1
    click = teams_message(connector.url, value=actions(cards(connector)[-1])["not_helped"], user="29:user-r")
    assert list(await asyncio.gather(a.post(click), b.post(click))) == [201, 201]  # both deliveries at once
    assert len(connector.received) == 2
    rows = await asyncio.to_thread(load_report, state_url)
    assert [row.not_helped for row in rows if row.query == SWEDISH_ERROR] == [1]


async def test_one_instance_killed_the_other_keeps_the_conversation(two_bots: list[BotProcess],
                                                                    connector: ConnectorStub) -> None:
    a, b = two_bots
    await a.post(teams_message(connector.url, "/language zh-TW", locale="en-US"))
    a.kill()
    connector.received.clear()
    await b.post(teams_message(connector.url, SWEDISH_ERROR, locale="en-US"))
    assert "存取權杖" in cards(connector)[-1]["body"][0]["text"]


async def test_many_users_alternating_instances_each_keep_their_language(two_bots: list[BotProcess],
                                                                         connector: ConnectorStub) -> None:
    languages = {"ko": "액세스 토큰", "sv": "åtkomsttoken", "zh-TW": "存取權杖"}
    users = [(f"29:user-{n}", list(languages)[n % 3]) for n in range(30)]
    await asyncio.gather(*(two_bots[n % 2].post(teams_message(connector.url, f"/language {lang}", user=user))
                           for n, (user, lang) in enumerate(users)))
    connector.received.clear()
    statuses = await asyncio.gather(*(two_bots[(n + 1) % 2].post(teams_message(connector.url, SWEDISH_ERROR,
                                                                               user=user, locale="en-US"))
                                      for n, (user, _) in enumerate(users)))
    assert statuses == [201] * len(users)
    by_user = {reply["recipient"]["id"]: reply for reply in connector.received}
    assert len(by_user) == len(users)
    for user, lang in users:
        card = by_user[user]["attachments"][0]["content"]
        assert languages[lang] in card["body"][0]["text"], (user, lang)


async def test_a_redis_outage_is_survived_and_nothing_is_lost_after_it(tmp_path: Path,
                                                                      connector: ConnectorStub) -> None:
    from services import free_port, redis_server

    folder, port = tmp_path / "redis", free_port()
    async with bot_process(tmp_path / "bot", STATE_STORE=f"redis://127.0.0.1:{port}/0") as bot:
        with redis_server(folder, port=port, append_only=True):
            await bot.post(teams_message(connector.url, "/language ko", locale="en-US"))
            assert connector.received[-1]["text"] == "지금부터 한국어(으)로 답변하겠습니다."
        # The outage: redis-server is stopped. The bot keeps answering, in the paste's language.
        connector.received.clear()
        assert await bot.post(teams_message(connector.url, SWEDISH_ERROR, locale="en-US")) == 201
        assert "åtkomsttoken" in cards(connector)[-1]["body"][0]["text"]
        assert "state store redis://127.0.0.1" in bot.output()
        # Redis is back on the same port and folder: the client reconnects, the choice is still there.
        with redis_server(folder, port=port, append_only=True):
            for _ in range(50):
                connector.received.clear()
                await bot.post(teams_message(connector.url, SWEDISH_ERROR, locale="en-US"))
                if "액세스 토큰" in cards(connector)[-1]["body"][0]["text"]:
                    break
                await asyncio.sleep(0.2)
            assert "액세스 토큰" in cards(connector)[-1]["body"][0]["text"], "the choice made before the outage"


async def test_two_instances_on_azure_blob_share_language_and_feedback(tmp_path: Path, connector: ConnectorStub,
                                                                       azurite_service: RunningService) -> None:
    url = f"azureblob://scale-{uuid.uuid4().hex[:10]}"
    env = {"STATE_STORE": url, "AZURE_STORAGE_CONNECTION_STRING": azurite_service.connection_string}
    async with AsyncExitStack() as stack:
        a, b = await asyncio.gather(*(stack.enter_async_context(bot_process(tmp_path / name, **env))
                                      for name in ("a", "b")))
        await a.post(teams_message(connector.url, "/language zh-TW", locale="en-US"))
        connector.received.clear()
        await b.post(teams_message(connector.url, SWEDISH_ERROR, locale="en-US"))
        card = cards(connector)[-1]
        assert "存取權杖" in card["body"][0]["text"], "instance b answered in the language set through a"
        await a.post(teams_message(connector.url, value=actions(card)["not_helped"]))
        await b.post(teams_message(connector.url, "Printer tray 2 is jammed with paper again"))
    rows = await asyncio.to_thread(load_report, url, 20,
                                   blob_connection_string=azurite_service.connection_string)
    assert {(row.query, row.not_helped, row.unanswered) for row in rows} == {
        (SWEDISH_ERROR, 1, 0), ("Printer tray 2 is jammed with paper again", 0, 1)}


async def pause_writes(state_url: str) -> None:
    """Hold every write to the shared Redis for ``PAUSE_MS`` (``CLIENT PAUSE ... WRITE``; reads go on): both
    instances then read the same state before either writes, the interleaving a race is about. Without
    it the instances usually happen to take turns and a missing e-tag check would go unnoticed."""
    from redis.asyncio import Redis

    client = Redis.from_url(state_url)
    try:
        await client.client_pause(PAUSE_MS, all=False)  # CLIENT PAUSE <ms> WRITE
    finally:
        await client.aclose()


async def stored_ticket(state_url: str, number: int) -> Ticket:
    """The ticket as the shared store holds it, read by a third client."""
    storage = create_storage(state_url)
    try:
        ticket = await StorageTicketStore(storage).get(number)
    finally:
        await aclose_storage(storage)
    assert ticket is not None
    return ticket


async def test_tickets_move_between_instances_and_two_takes_at_once_give_one_owner(
    two_bots: list[BotProcess], state_url: str, connector: ConnectorStub
) -> None:
    a, b = two_bots
    await register(a, connector)                                        # the agents' channel, through a
    users = [f"29:user-{n}" for n in range(1, 1 + TAKE_RACES)]
    confirms = [await ask_for_a_person(two_bots[n % 2], connector, "Locked out", user=user)
                for n, user in enumerate(users)]
    # The very first tickets are confirmed at once, on both instances: every one gets its own number.
    before = len(connector.received)
    await pause_writes(state_url)
    await asyncio.gather(*(two_bots[(n + 1) % 2].post(confirm) for n, confirm in enumerate(confirms)))
    posted = {}                                                         # ticket number → its card's post
    for sent in connector.received[before:]:
        card = card_of(sent)
        if sent["conversation"]["id"] == CHANNEL and card is not None:
            posted[int(card["body"][0]["text"].split("#")[1].split()[0])] = sent
    assert sorted(posted) == list(range(1, 1 + TAKE_RACES)), connector.received[before:]
    tickets = []                                                        # (card, thread) of tickets 1, 2, ...
    for number in sorted(posted):
        card = card_of(posted[number])
        assert card is not None and card["body"][0]["text"] == f"Request #{number} · Waiting"
        tickets.append((card, thread_of(connector, posted[number])))
    users = [(await stored_ticket(state_url, number)).user.id for number in sorted(posted)]

    # Each ticket: Anna presses "Take it" on instance a while Bo presses it on instance b, all at once,
    # each posting the card's own Action.Submit data.
    before = len(connector.received)
    presses = [bot.post(agent_message(connector, thread=thread, value=submits(card)["take"], agent=agent))
               for card, thread in tickets for bot, agent in ((a, "Anna"), (b, "Bo"))]
    await pause_writes(state_url)
    assert list(await asyncio.gather(*presses)) == [201] * len(presses)
    owners = []
    for number, ((_, thread), user) in enumerate(zip(tickets, users, strict=True), start=1):
        to_thread = [x["text"] for x in connector.received[before:] if x["conversation"]["id"] == thread]
        took = [t for t in to_thread if t.endswith(f" took request #{number}.")]
        assert len(took) == 1, to_thread
        owner = took[0].removesuffix(f" took request #{number}.")
        assert sorted(to_thread) == sorted([f"{owner} took request #{number}.",
                                            f"Request #{number} is already taken by {owner}."])
        joined = [said(x) for x in to_conversation(connector, f"a:personal-{user}") if "anslutit" in said(x)]
        assert joined == [f"{owner} från supporten har anslutit."]
        stored = await stored_ticket(state_url, number)
        assert stored.state is TicketState.ASSIGNED and stored.assignee is not None and stored.assignee.name == owner
        owners.append(owner)

    # User 1's ticket: the relay goes on whichever instance each message reaches; the resolve too.
    index = users.index("29:user-1")
    number, owner, other = index + 1, owners[index], "Bo" if owners[index] == "Anna" else "Anna"
    (card, thread) = tickets[index]
    for n, bot in enumerate((a, b, b, a)):
        words = f"Step {n}: try signing out and in again"
        await bot.post(agent_message(connector, words, thread=thread, agent=owner))
        assert (connector.received[-1]["conversation"]["id"], said(connector.received[-1])) == (
            USER_CONVERSATION, f"{owner} (support): {words}")
        await two_bots[(n + 1) % 2].post(teams_message(connector.url, f"Still failing ({n})", locale="sv-SE"))
        assert (connector.received[-1]["conversation"]["id"], connector.received[-1]["text"]) == (
            thread, f"**Admin:** Still failing ({n})")
    await b.post(agent_message(connector, "I can help too", thread=thread, agent=other))
    assert connector.received[-1]["text"] == f"Request #{number} is {owner}'s; your message was not sent to the user."
    await a.post(agent_message(connector, thread=thread, value=submits(card)["resolve"], agent=owner))
    assert f"{owner} har markerat din begäran #{number} som löst." in said(
        to_conversation(connector, USER_CONVERSATION)[-1])
    assert (await stored_ticket(state_url, number)).state is TicketState.RESOLVED


async def test_messages_of_one_conversation_at_once_on_both_instances_are_all_in_the_ticket(
    two_bots: list[BotProcess], state_url: str, connector: ConnectorStub
) -> None:
    """Five messages of one conversation at the same moment, spread over both instances, writes held so every
    turn reads the conversation's state before any saves it: each save after the first meets an e-tag
    conflict, merges and writes again; the ticket then holds every message once, in order of time."""
    a, b = two_bots
    await a.post(teams_message(connector.url, "hello there, anyone home?"))
    texts = [f"Printer on floor {n} prints only blank pages" for n in range(5)]
    await pause_writes(state_url)
    posts = [two_bots[n % 2].post(teams_message(connector.url, text)) for n, text in enumerate(texts)]
    assert list(await asyncio.gather(*posts)) == [201] * len(texts)
    assert len(to_conversation(connector, USER_CONVERSATION)) == 1 + len(texts), "every message answered"
    await b.post(teams_message(connector.url, "I want to talk to a human"))
    offer = card_of(connector.received[-1])
    assert offer is not None
    await a.post(teams_message(connector.url, value={**submits(offer)["escalate_confirm"], "description": "x"}))
    transcript = (await stored_ticket(state_url, 1)).transcript
    said_by_user = [line.text for line in transcript if line.role is Role.USER]
    assert said_by_user[0] == "hello there, anyone home?" and said_by_user[-1] == "I want to talk to a human"
    assert sorted(said_by_user[1:-1]) == sorted(texts), "each message exactly once"
    assert len([line for line in transcript if line.role is Role.BOT]) == 2 + len(texts), "each reply once"
    assert [line.at for line in transcript] == sorted(line.at for line in transcript)
