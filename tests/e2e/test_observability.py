"""/metrics in the Prometheus text format and JSON logs with the turn's ids, through the real HTTP path."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ops.log_format import JsonFormatter, configure_logging
from knowledge.engine import KnowledgeEngine
from tests.e2e.conftest import BotServer, ConnectorStub, StartBot, teams_message
from tests.e2e.test_conversation import ExplodingEngine
from tests.e2e.tickets_flow import (
    USER_CONVERSATION,
    agent_message,
    card_of,
    escalate_with_button,
    register,
    said,
    submits,
    thread_of,
    to_conversation,
)

SWEDISH_ERROR = "Ett fel uppstod vid validering av åtkomsttoken"


async def scrape(bot: BotServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics``, parsed by prometheus_client's own parser."""
    async with bot.session.get(f"{bot.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_messages_matches_errors_and_rejects(start_bot: StartBot,
                                                                 connector: ConnectorStub) -> None:
    bot = await start_bot(engine=ExplodingEngine(KnowledgeEngine.load()))
    await bot.post(teams_message(connector.url, SWEDISH_ERROR))                          # answer, sv-SE
    await bot.post(teams_message(connector.url, SWEDISH_ERROR, locale="ko-KR"))           # answer, sv-SE
    await bot.post(teams_message(connector.url, "Printer tray 2 is jammed with paper again", locale="ko-KR"))
    await bot.post(teams_message(connector.url, "boom"))                                  # a failing turn
    assert await bot.post(None, raw=b"{not json") == 400
    assert await bot.post({"text": "no type"}) == 400
    samples = await scrape(bot)
    assert value(samples, "insight_desk_activities_total", type="message", channel="msteams") == 4
    assert value(samples, "insight_desk_matches_total", tier="answer", locale="sv-SE") == 2
    assert value(samples, "insight_desk_matches_total", tier="none", locale="ko-KR") == 1
    assert value(samples, "insight_desk_errors_total", where="turn") == 1
    assert value(samples, "insight_desk_http_requests_total", route="/api/messages", status="400") == 2
    assert value(samples, "insight_desk_http_requests_total", route="/api/messages", status="201") == 4
    assert value(samples, "insight_desk_turn_seconds_count", type="message") == 4
    assert value(samples, "insight_desk_turn_seconds_bucket", type="message", le="+Inf") == 4
    assert value(samples, "insight_desk_turn_seconds_sum", type="message") > 0
    assert value(samples, "insight_desk_kb_articles") == 1
    assert value(samples, "insight_desk_kb_locales") == 3


async def test_two_apps_in_one_process_keep_their_own_counts(start_bot: StartBot, connector: ConnectorStub) -> None:
    first, second = await start_bot(), await start_bot()
    await first.post(teams_message(connector.url, SWEDISH_ERROR))
    assert value(await scrape(first), "insight_desk_activities_total", type="message", channel="msteams") == 1
    assert value(await scrape(second), "insight_desk_activities_total", type="message", channel="msteams") == 0


def test_escalations_are_counted_by_state() -> None:
    from bot.ops.metrics import BotMetrics

    metrics = BotMetrics()
    for state in ("waiting", "assigned", "assigned", "resolved"):
        metrics.escalation(state)
    text = metrics.exposition().decode()
    assert 'insight_desk_escalations_total{state="assigned"} 2.0' in text
    assert 'insight_desk_escalations_total{state="waiting"} 1.0' in text


async def test_every_stored_ticket_state_change_is_counted(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    states = ("waiting", "assigned", "resolved", "reopened", "cancelled")
    await register(bot, connector)
    posted = await escalate_with_button(bot, connector, "Locked out")                       # waiting
    card, thread = card_of(posted), thread_of(connector, posted)
    assert card is not None
    await asyncio.gather(*(bot.post(agent_message(connector, thread=thread, value=submits(card)["take"], agent=name))
                           for name in ("Anna", "Bo")))                                    # assigned, once
    owner = next(said(x) for x in connector.received if " took request #1" in said(x)).split()[0]
    await bot.post(agent_message(connector, "Try again", thread=thread, agent=owner))       # a line, same state
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["take"], agent=owner))  # no change
    await bot.post(agent_message(connector, thread=thread, value=submits(card)["resolve"], agent=owner))  # resolved
    resolved = card_of(to_conversation(connector, USER_CONVERSATION)[-1])
    assert resolved is not None and "löst" in said(to_conversation(connector, USER_CONVERSATION)[-1])
    await bot.post(teams_message(connector.url, value=submits(resolved)["reopen"], locale="sv-SE"))  # reopened
    await bot.post(teams_message(connector.url, value={"insightDesk": "end", "ticket": "1"}, locale="sv-SE"))
    await bot.post(teams_message(connector.url, value={"insightDesk": "end", "ticket": "1"}, locale="sv-SE"))
    samples = await scrape(bot)                                                             # cancelled, once
    assert {s: value(samples, "insight_desk_escalations_total", state=s) for s in states} == dict.fromkeys(states, 1)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_json_logs_carry_the_activity_and_conversation_ids(start_bot: StartBot, connector: ConnectorStub,
                                                                 json_log: io.StringIO) -> None:
    bot = await start_bot(engine=ExplodingEngine(KnowledgeEngine.load()))
    activity = teams_message(connector.url, "boom", user="29:user-log")
    await bot.post(activity)
    failures = [r for r in records(json_log) if r["message"].startswith("unhandled error in turn")]
    assert len(failures) == 1
    (failure,) = failures
    assert failure["level"] == "ERROR" and failure["logger"] == "bot.app"
    assert failure["activity_id"] == activity["id"]
    assert failure["conversation_id"] == "a:personal-29:user-log"
    assert failure["channel_id"] == "msteams"
    assert "RuntimeError: index corrupted" in failure["exception"]
    assert failure["time"].endswith("+00:00")
    outside = [r for r in records(json_log) if "activity_id" not in r]
    assert all("conversation_id" not in r for r in outside)


def test_configure_logging_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of text, json"):
        configure_logging("INFO", "xml")
