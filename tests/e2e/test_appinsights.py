"""Application Insights through botbuilder's telemetry client, shipped to a loopback ingestion stub."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tests.e2e.conftest import ConnectorStub, StartBot, teams_message

KEY = "11111111-2222-3333-4444-555555555555"
PASTE = "Ett fel uppstod vid validering av åtkomsttoken"


@pytest.fixture
async def ingestion() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def track(request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        received.extend(json.loads(body))
        return web.json_response({"itemsReceived": 1, "itemsAccepted": 1, "errors": []})

    app = web.Application()
    app.router.add_post("/v2/track", track)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/", received
    await runner.cleanup()


async def test_activities_are_tracked_without_personal_information(
        start_bot: StartBot, connector: ConnectorStub, ingestion: tuple[str, list[dict[str, Any]]]) -> None:
    endpoint, received = ingestion
    bot = await start_bot(appinsights_connection_string=f"InstrumentationKey={KEY};IngestionEndpoint={endpoint}")
    assert await bot.post(teams_message(connector.url, PASTE, user="29:telemetry-user")) == 201
    assert connector.cards(), "the bot still answers"
    await bot.stop()                                          # cleanup flushes the telemetry
    for _ in range(100):
        if len(received) >= 2:
            break
        await asyncio.sleep(0.1)
    names = [item["data"]["baseData"]["name"] for item in received if item["data"]["baseType"] == "EventData"]
    assert "BotMessageReceived" in names and "BotMessageSend" in names
    assert {item["iKey"] for item in received} == {KEY}
    text = json.dumps(received, ensure_ascii=False)
    assert PASTE not in text and "åtkomsttoken" not in text, "no pasted text leaves the bot"


def test_connection_strings_and_missing_keys() -> None:
    from bot.ops.telemetry import create_telemetry, parse_connection_string

    assert parse_connection_string(f"InstrumentationKey={KEY};IngestionEndpoint=https://x.example/") == (
        KEY, "https://x.example/v2/track")
    assert parse_connection_string(f"instrumentationkey={KEY}") == (KEY, "https://dc.services.visualstudio.com/v2/track")
    with pytest.raises(ValueError, match="no InstrumentationKey"):
        parse_connection_string("IngestionEndpoint=https://x.example/")
    assert create_telemetry("", "") is None
