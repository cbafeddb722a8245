"""The learning loop inside Teams, through the real HTTP path: users find an article for a wording the bot
did not answer outright; a proposal card reaches the agents' channel; an agent's Add teaches every instance,
Dismiss keeps it from coming back, and a button pressed from the wrong place changes nothing."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.feedback.learned_kb import LEARNED_KEY
from bot.stores import aclose_storage, create_storage
from knowledge.alternates import ALTERNATES_FILE
from knowledge.engine import BUNDLED_ARTICLES, KnowledgeEngine
from knowledge.model import Tier
from services import RunningService
from tests.e2e.conftest import ConnectorStub, StartBot, teams_message
from tests.e2e.processes import BotProcess, bot_process
from tests.e2e.server_process import AGENT_TEAM
from tests.e2e.tickets_flow import CHANNEL, PostsActivities, agent_message, card_of, register, submits, thread_of

WORDING = "Access token validation failed"
SEED = "error-validating-access-token-during-onboarding"
PROPOSAL_TITLE = "New wording for an article"
ARTICLE_TITLE = "\"There was an error validating access token\" error during Desktop Analytics onboarding"
PAUSE_MS = 400


def replies_to(connector: ConnectorStub, user: str) -> list[dict[str, Any]]:
    return [a for a in connector.received if a["conversation"]["id"] == f"a:personal-{user}"]


def last_card_to(connector: ConnectorStub, user: str) -> dict[str, Any]:
    card = card_of(replies_to(connector, user)[-1])
    assert card is not None, replies_to(connector, user)[-1]
    return card


def choices(card: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(a["data"]["insightDesk"], a["data"].get("article")): a["data"]
            for a in card.get("actions", []) if a["type"] == "Action.Submit"}


def proposals(connector: ConnectorStub) -> list[dict[str, Any]]:
    """The proposal cards posted to the agents' channel (each a new thread there)."""
    return [a for a in connector.received if a["conversation"]["id"] == CHANNEL
            and (card_of(a) or {}).get("body", [{}])[0].get("text") == PROPOSAL_TITLE]


def decisions(connector: ConnectorStub) -> list[str]:
    """What the cards replaced in place say last (their fallback text)."""
    return [update["attachments"][0]["content"]["fallbackText"] for _, update in connector.updates]


async def paste(bot: PostsActivities, connector: ConnectorStub, user: str) -> dict[str, Any]:
    await bot.post(teams_message(connector.url, WORDING, locale="en-US", user=user))
    return last_card_to(connector, user)


async def choose(bot: PostsActivities, connector: ConnectorStub, user: str, suggest: dict[str, Any]) -> None:
    assert suggest["body"][0]["text"] == "Did you mean one of these?", suggest
    await bot.post(teams_message(connector.url, value=choices(suggest)[("choose", SEED)], locale="en-US", user=user))
    assert ("helped", SEED) in choices(last_card_to(connector, user)), "the article's answer card"


async def helped(bot: PostsActivities, connector: ConnectorStub, user: str) -> None:
    answer = last_card_to(connector, user)
    await bot.post(teams_message(connector.url, value=choices(answer)[("helped", SEED)], locale="en-US", user=user))
    assert replies_to(connector, user)[-1]["text"] == "Thanks for letting me know!"


async def find_it(bot: PostsActivities, connector: ConnectorStub, user: str) -> None:
    """A user pastes the wording, picks the article from "did you mean" and says it helped."""
    await choose(bot, connector, user, await paste(bot, connector, user))
    await helped(bot, connector, user)


def press(connector: ConnectorStub, posted: dict[str, Any], button: str, *, agent: str = "Anna") -> dict[str, Any]:
    """An agent pressing one of a proposal card's buttons in its thread (the card's own data, as Teams posts it)."""
    card = card_of(posted)
    assert card is not None
    return agent_message(connector, thread=thread_of(connector, posted), value=submits(card)[button], agent=agent)


def kb_check(*folders: Path | str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["kb", "check", *map(str, folders)], out=out, err=err)
    return code, out.getvalue()


def answered_outright(card: dict[str, Any]) -> bool:
    return card["body"][0]["text"] == ARTICLE_TITLE and ("helped", SEED) in choices(card)


# -- two real processes on one Redis ----------------------------------------------------------------


@pytest.fixture
async def two_bots(tmp_path: Path, redis_service: RunningService) -> AsyncIterator[tuple[str, list[BotProcess]]]:
    """Two ``python -m bot serve`` on one Redis database of their own, each in its own folder (its own disk:
    ``var/learned`` is relative to it), with the bundled articles."""
    from redis.asyncio import Redis

    url = redis_service.url.rsplit("/", 1)[0] + f"/{10 + uuid.uuid4().int % 6}"
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    async with AsyncExitStack() as stack:
        bots = await asyncio.gather(*(stack.enter_async_context(bot_process(tmp_path / name, STATE_STORE=url))
                                      for name in ("a", "b")))
        yield url, list(bots)


async def pause_writes(url: str) -> None:
    """Hold every write to Redis for ``PAUSE_MS`` (reads go on): both instances read before either writes."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.client_pause(PAUSE_MS, all=False)
    finally:
        await client.aclose()


async def test_users_teach_a_wording_an_agent_adds_it_and_every_instance_answers_it(
    two_bots: tuple[str, list[BotProcess]], connector: ConnectorStub, tmp_path: Path
) -> None:
    url, (a, b) = two_bots
    assert KnowledgeEngine.load().ask(WORDING).tier is Tier.SUGGEST, "the bundled articles answer it with a question"
    await register(a, connector)
    await find_it(a, connector, "29:user-1")
    assert proposals(connector) == [], "one user is not enough"
    # Users 2 and 3 pick the article at the same moment, through different instances: both instances count a
    # second user and want to post; the store's e-tag lets one of them.
    suggests = [await paste(bot, connector, user) for bot, user in ((a, "29:user-2"), (b, "29:user-3"))]
    await pause_writes(url)
    await asyncio.gather(choose(a, connector, "29:user-2", suggests[0]), choose(b, connector, "29:user-3", suggests[1]))
    await helped(b, connector, "29:user-2")
    await helped(a, connector, "29:user-3")
    posted = proposals(connector)
    assert len(posted) == 1, "posted once, not once per instance"
    card = card_of(posted[0])
    assert card is not None
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Users pasted"] == WORDING
    assert facts["Article"] == ARTICLE_TITLE
    assert facts["Users"].startswith(("2 users, last ", "3 users, last ")) and facts["Users"].endswith(" UTC")
    assert [a["title"] for a in card["actions"]] == ["Add", "Dismiss"]

    await b.post(press(connector, posted[0], "learn_add", agent="Anna"))
    (decision,) = decisions(connector)
    assert decision.startswith(f"**{PROPOSAL_TITLE}**\n\nUsers pasted: {WORDING}\n\nArticle: {ARTICLE_TITLE}")
    assert decision.endswith("\n\nUsers: 3 users, last " + decision.split("last ")[1].split(" UTC")[0]
                             + " UTC\n\nAdded by Anna: this wording now gets the article.")
    assert "actions" not in connector.updates[-1][1]["attachments"][0]["content"]

    # The instance the agent pressed Add on reloads at once; the other picks the text up through the store.
    for bot, user in ((b, "29:user-4"), (a, "29:user-5")):
        for _ in range(150):
            status, body = await bot.get("/healthz")
            if status == 200 and json.loads(body)["alternate_texts"] == 1:
                break
            await asyncio.sleep(0.2)
        assert answered_outright(await paste(bot, connector, user))
    for name in ("a", "b"):
        learned = tmp_path / name / "var" / "learned"
        assert WORDING in (learned / ALTERNATES_FILE).read_text(encoding="utf-8")
        assert kb_check(BUNDLED_ARTICLES, learned) == (0, "3 files and 1 alternate texts loaded, 0 bad\n")
    assert len(proposals(connector)) == 1, "an added wording is not proposed again"


# -- one process, SQLite ----------------------------------------------------------------------------


async def test_a_dismissed_proposal_never_returns(start_bot: StartBot, connector: ConnectorStub,
                                                  tmp_path: Path) -> None:
    state, learned = tmp_path / "state.db", tmp_path / "learned"
    bot = await start_bot(state=state, kb_learned_path=str(learned))
    await register(bot, connector)
    for user in ("29:user-1", "29:user-2"):
        await find_it(bot, connector, user)
    (posted,) = proposals(connector)
    await bot.post(press(connector, posted, "learn_dismiss", agent="Bo"))
    assert decisions(connector)[-1].endswith("Dismissed by Bo: it won't be proposed again.")
    await bot.post(press(connector, posted, "learn_add", agent="Anna"))  # too late: decided
    assert not decisions(connector)[-1].endswith("Anna: this wording now gets the article.")
    for user in ("29:user-3", "29:user-4"):
        await find_it(bot, connector, user)
    await bot.stop()
    again = await start_bot(state=state, kb_learned_path=str(learned))  # remembered across a restart
    await find_it(again, connector, "29:user-5")
    assert len(proposals(connector)) == 1
    assert not learned.exists()


async def stored(state: Path, key: str) -> Any:
    storage = create_storage(f"sqlite:///{state}")
    try:
        found = await storage.read([key])
    finally:
        await aclose_storage(storage)
    return {k: v for k, v in found[key].items() if k != "e_tag"} if key in found else None


async def test_add_or_dismiss_from_the_wrong_place_changes_nothing(start_bot: StartBot, connector: ConnectorStub,
                                                                   tmp_path: Path) -> None:
    other_team = "19:other-team@thread.tacv2"
    state, learned = tmp_path / "state.db", tmp_path / "learned"
    bot = await start_bot(state=state, kb_learned_path=str(learned), agent_teams=frozenset({AGENT_TEAM, other_team}))
    await register(bot, connector)
    other_channel = agent_message(connector, "register agents")  # a listed team's channel, another tenant's
    other_channel["conversation"].update(id="19:other@thread.tacv2", tenantId="t-2")
    other_channel["channelData"].update(tenant={"id": "t-2"}, team={"id": other_team},
                                        channel={"id": "19:other@thread.tacv2", "name": "Support"})
    await bot.post(other_channel)
    for user in ("29:user-1", "29:user-2"):
        await find_it(bot, connector, user)
    (posted,) = proposals(connector)
    proposal = "insight-desk/learning/proposal/" + submits(card_of(posted) or {})["learn_add"]["proposal"]
    before = await stored(state, proposal)
    assert before["state"] == "proposed"

    wrong: list[dict[str, Any]] = []
    for button in ("learn_add", "learn_dismiss"):
        data = submits(card_of(posted) or {})[button]
        wrong.append(teams_message(connector.url, value=data, user="29:user-1"))  # a user, in their personal chat
        unlisted = press(connector, posted, button)  # an agent of a team not in AGENT_TEAMS
        unlisted["channelData"]["team"]["id"] = "19:unlisted@thread.tacv2"
        wrong.append(unlisted)
        foreign = press(connector, posted, button)  # the agents' channel, the activity naming another tenant
        foreign["conversation"]["tenantId"] = "t-2"
        foreign["channelData"]["tenant"] = {"id": "t-2"}
        wrong.append(foreign)
        elsewhere = press(connector, posted, button)  # the other tenant's own agents' channel
        elsewhere["conversation"].update(id="19:other@thread.tacv2;messageid=1", tenantId="t-2")
        elsewhere["channelData"].update(tenant={"id": "t-2"}, team={"id": other_team},
                                        channel={"id": "19:other@thread.tacv2", "name": "Support"})
        wrong.append(elsewhere)
    for activity in wrong:
        sent = len(connector.received)
        assert await bot.post(activity) == 201
        said = [x.get("text") for x in connector.received[sent:]]
        if activity["from"]["id"] == "29:user-1" or activity["channelData"]["team"]["id"] == other_team:
            assert said == [], "nothing said where no agent of that proposal works"
        elif activity["channelData"]["team"]["id"] != AGENT_TEAM:
            assert said == ["Only channels of teams an admin has listed in AGENT_TEAMS can receive support "
                            "requests. Ask an admin to add this team (19:unlisted@thread.tacv2) to AGENT_TEAMS."]
        else:  # the right channel, but the activity names another tenant than it was registered from
            assert said == ["This channel is not an agents' channel; type \"register agents\" here to make it one."]
    assert connector.updates == [] and not learned.exists()
    assert await stored(state, proposal) == before
    assert await stored(state, LEARNED_KEY) is None

    await bot.post(press(connector, posted, "learn_add"))  # the right agent, in the right place: it works
    assert decisions(connector)[-1].endswith("Added by Anna: this wording now gets the article.")
    assert WORDING in (learned / ALTERNATES_FILE).read_text(encoding="utf-8")
    assert (await stored(state, LEARNED_KEY))["version"] == 1
