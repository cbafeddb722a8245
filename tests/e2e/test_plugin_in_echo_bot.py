"""The plugin proof: a plain echo bot with Insight Desk added answers errors and still echoes the rest.

Both ways of adding it: a call at the top of the bot's message handler, and adapter middleware.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from botbuilder.core import ActivityHandler, MemoryStorage, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from bot import InsightDesk, InsightDeskMiddleware
from bot.stores.memory import MemoryFeedbackStore
from knowledge.engine import KnowledgeEngine
from tests.e2e.conftest import ConnectorStub, teams_message


class EchoBot(ActivityHandler):  # type: ignore[misc]  # botbuilder ships no types
    """The canonical echo bot."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))


class EchoBotWithDesk(EchoBot):
    """A team's existing bot, with Insight Desk added in three lines."""

    def __init__(self, desk: InsightDesk) -> None:
        self.desk = desk

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        if await self.desk.on_message(turn_context):
            return
        await super().on_message_activity(turn_context)


class Config:
    APP_ID = ""
    APP_PASSWORD = ""


@pytest.fixture(params=["handler", "middleware"])
async def echo_bot_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    desk = InsightDesk(KnowledgeEngine.load(), MemoryStorage(), MemoryFeedbackStore())
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
    bot: Any
    if request.param == "handler":
        bot = EchoBotWithDesk(desk)
    else:
        adapter.use(InsightDeskMiddleware(desk))
        bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot) or web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/messages"
    await runner.cleanup()


async def test_echo_bot_with_the_plugin_answers_the_seed_error_and_echoes_the_rest(
    echo_bot_url: str, connector: ConnectorStub
) -> None:
    async with aiohttp.ClientSession() as session:
        for text in ("Ett fel uppstod vid validering av åtkomsttoken", "hello there, how are you?", "hello"):
            async with session.post(echo_bot_url, json=teams_message(connector.url, text)) as response:
                assert response.status in (200, 201)
    answer, echo, hello = connector.received
    card = answer["attachments"][0]["content"]
    assert "Skrivbordsanalys" in card["body"][0]["text"]
    assert echo["text"] == "Echo: hello there, how are you?"
    assert hello["text"] == "Echo: hello"
    assert not echo.get("attachments")


async def test_the_plugin_remembers_the_language_in_a_host_bot_that_saves_nothing(
    echo_bot_url: str, connector: ConnectorStub
) -> None:
    async with aiohttp.ClientSession() as session:
        for text in ("/language ko", "Ett fel uppstod vid validering av åtkomsttoken"):
            async with session.post(echo_bot_url, json=teams_message(connector.url, text)) as response:
                assert response.status in (200, 201)
    changed, answer = connector.received
    assert changed["text"] == "지금부터 한국어(으)로 답변하겠습니다."
    assert "액세스 토큰" in answer["attachments"][0]["content"]["body"][0]["text"]
