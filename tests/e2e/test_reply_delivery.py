"""How replies reach the channel's connector: at most once when the outcome is unknown, never redirected or
signed with a login from the serviceUrl, and without holding the channel's request or starving other hosts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import SERVICES
from bot.strings import strings_for
from tests.e2e.conftest import StartBot, serve_receiver, teams_message

PASTE = "Ett fel uppstod vid validering av åtkomsttoken"
SEED = "error-validating-access-token-during-onboarding"


@dataclass
class Endpoint:
    """A connector stub that records each post as it arrives, then answers as scripted: the next of
    ``statuses`` (else 200), after ``delay_s`` or once ``hold`` is set, a 307 to ``redirect_to``, or
    (``drop``) not at all, cutting the connection."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    hold: asyncio.Event | None = None
    redirect_to: str | None = None
    drop: bool = False

    async def receive(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        self.authorizations.append(request.headers.get("Authorization"))
        if self.drop and request.transport is not None:
            request.transport.abort()  # the connection breaks after the reply went out, before any answer
        if self.redirect_to is not None:
            raise web.HTTPTemporaryRedirect(self.redirect_to + request.path)
        if self.hold is not None:
            await self.hold.wait()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"id": f"reply-{len(self.received)}"}, status=status)


@contextlib.asynccontextmanager
async def endpoint(**script: Any) -> AsyncIterator[Endpoint]:
    stub = Endpoint(**script)
    async with serve_receiver(stub.receive) as stub.url:
        yield stub


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_reply_answered_after_the_send_timeout_arrives_once_without_apology_and_the_request_is_answered(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.channel.connector_pool.SEND_TIMEOUT_S", 3.0)  # longer than the bot takes to answer
    bot = await start_bot()
    async with endpoint(delay_s=3.5) as slow:  # answers only after the bot stopped waiting
        started = time.monotonic()
        assert await bot.post(teams_message(slow.url, PASTE)) in (200, 201, 202)
        held = time.monotonic() - started
        await asyncio.sleep(3.5 + 1.0 - held)  # past the timeout, when a resend or an apology would go out
    assert held < 2.9, f"the channel's request was held {held:.1f} s"
    assert len(slow.received) == 1 and slow.received[0].get("attachments")
    (warning,) = problems(caplog)
    assert warning.levelno == logging.WARNING and "a:personal-29:user-1" in warning.getMessage()


async def test_a_reply_whose_connection_breaks_after_sending_is_not_sent_again(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    async with endpoint(drop=True) as stub:
        assert await bot.post(teams_message(stub.url, PASTE)) in (200, 201, 202)
    assert len(stub.received) == 1  # it may have been taken: neither resent nor followed by an apology
    (warning,) = problems(caplog)
    assert warning.levelno == logging.WARNING and warning.exc_info is None


async def test_a_service_url_on_a_closed_port_costs_one_warning_and_no_wait(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.channel.connector_pool.CONNECT_BACKOFF_S", 0.05)
    bot = await start_bot()
    started = time.monotonic()
    assert await bot.post(teams_message(f"http://127.0.0.1:{closed_port()}", PASTE)) in (200, 201, 202)
    assert time.monotonic() - started < 2.9
    deadline = time.monotonic() + 10
    while not problems(caplog) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # room for a second line, were there one
    (warning,) = problems(caplog)
    assert warning.levelno == logging.WARNING and warning.exc_info is None
    assert "a:personal-29:user-1" in warning.getMessage()
    assert "Traceback" not in caplog.text


async def test_a_redirecting_connector_is_not_followed(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    async with endpoint() as target, endpoint() as redirecting:
        redirecting.redirect_to = target.url
        assert await bot.post(teams_message(redirecting.url, PASTE)) in (200, 201, 202)
    assert target.received == []
    assert len(redirecting.received) == 1  # the answer, and no apology after it
    (warning,) = problems(caplog)
    assert "307" in warning.getMessage()


async def test_a_service_url_with_a_login_is_refused_and_the_login_never_sent(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    async with endpoint() as stub:
        with_login = stub.url.replace("http://", "http://user:secret@")
        # without authentication the endpoint refuses it before any turn (bot.channel.service_urls); with it,
        # serviceurl claim must match, and the connector refuses a login anyway (bot.channel.connector)
        assert await bot.post(teams_message(with_login, PASTE)) == 403
    assert stub.received == [] and stub.authorizations == []
    (warning,) = problems(caplog)
    assert "credentials" in warning.getMessage() and "secret" not in caplog.text


@pytest.mark.parametrize("status", [500, 502, 504, 503])  # 503 without Retry-After
async def test_a_reply_the_connector_failed_is_not_sent_again(start_bot: StartBot, status: int) -> None:
    bot = await start_bot()
    async with endpoint(statuses=[status]) as stub:
        assert await bot.post(teams_message(stub.url, PASTE)) in (200, 201, 202)
    answer, apology = stub.received  # the connector may have taken the answer: only the apology follows it
    assert answer.get("attachments") and apology["text"] == strings_for("en-US").text("apology")


async def test_a_connector_hanging_on_many_replies_does_not_delay_a_reply_to_another(start_bot: StartBot) -> None:
    bot = await start_bot(rate_limit_per_minute=0)
    hold = asyncio.Event()
    channel = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    other: asyncio.Task[int] | None = None
    async with endpoint(hold=hold) as hanging, endpoint() as healthy:
        try:
            stuck = [asyncio.create_task(channel.post(f"{bot.url}/api/messages",
                                                      json=teams_message(hanging.url, "hello", user=f"29:u{n}")))
                     for n in range(260)]
            deadline, seen = time.monotonic() + 15, -1
            while (len(hanging.received) < 64 or seen != len(hanging.received)) and time.monotonic() < deadline:
                seen = len(hanging.received)  # until no more get through
                await asyncio.sleep(0.5)
            assert len(hanging.received) >= 64
            started = time.monotonic()
            other = asyncio.create_task(bot.post(teams_message(healthy.url, "hello", user="29:elsewhere")))
            while not healthy.received and time.monotonic() - started < 10:
                await asyncio.sleep(0.01)
            waited = time.monotonic() - started
        finally:
            hold.set()
            for response in await asyncio.gather(*stuck, return_exceptions=True):
                if isinstance(response, aiohttp.ClientResponse):
                    response.release()
            if other is not None:
                await other
            await channel.close()
    assert len(healthy.received) == 1
    assert waited < 5, f"the healthy connector waited {waited:.1f} s"


async def test_an_invoke_still_gets_its_answer_in_the_response_when_the_connector_is_slow(
    start_bot: StartBot
) -> None:
    bot = await start_bot()
    async with endpoint() as stub:
        await bot.post(teams_message(stub.url, PASTE))
        card = stub.received[0]["attachments"][0]["content"]
        helped = next(a["data"] for a in card["actions"] if a["type"] == "Action.Submit")
        stub.delay_s = 2.5  # longer than the bot waits before answering an ordinary message
        invoke = teams_message(stub.url)
        invoke.update(type="invoke", name="adaptiveCard/action", text=None,
                      value={"action": {"type": "Action.Execute", "verb": "helped", "data": helped}})
        async with bot.session.post(f"{bot.url}/api/messages", json=invoke) as response:
            assert response.status == 200
            assert (await response.json())["statusCode"] == 200
        assert stub.received[-1]["text"] == "Tack för att du berättade!"


async def test_shutting_down_waits_for_a_reply_still_being_sent(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    async with endpoint(delay_s=3.0) as stub:
        assert await bot.post(teams_message(stub.url, PASTE)) in (200, 201, 202)
        turns = bot.runner.app[SERVICES].turns
        assert len(turns) == 1  # the request was answered while the reply is still on its way
        await bot.stop()
        assert len(turns) == 0
    assert len(stub.received) == 1
    assert problems(caplog) == []  # neither cancelled nor timed out: it finished
