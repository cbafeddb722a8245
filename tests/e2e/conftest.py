"""The real HTTP path: the bot's aiohttp app on a loopback port and a connector stub for its replies."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import create_app
from bot.settings import Settings
from knowledge.engine import KnowledgeEngine
from tests.e2e.server_process import AGENT_TEAM

BOT_ID = "28:insight-desk-bot"
BOT_NAME = "Insight Desk"
_ids = itertools.count(1)


@dataclass
class ConnectorStub:
    """Stands in for the channel's serviceUrl: records every activity the bot sends."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Activities replaced in place (``PUT .../activities/{id}``): the path and the new activity."""

    def cards(self) -> list[dict[str, Any]]:
        return [a["content"] for r in self.received for a in r.get("attachments") or []
                if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]


@contextlib.asynccontextmanager
async def serve_connector(*, delay: float = 0.0) -> AsyncIterator[ConnectorStub]:
    """A connector stub on a free loopback port, stopped on exit; it answers each post after ``delay`` seconds
    (a slow channel: every turn still sending its reply when the next turns start)."""
    stub = ConnectorStub()

    async def record(request: web.Request) -> web.Response:
        if delay:
            await asyncio.sleep(delay)
        stub.paths.append(request.path)
        stub.authorizations.append(request.headers.get("Authorization"))
        stub.received.append(await request.json())
        return web.json_response({"id": f"reply-{len(stub.received)}"})

    async def update(request: web.Request) -> web.Response:
        stub.updates.append((request.path, await request.json()))
        return web.json_response({"id": request.match_info["activity"]})

    app = web.Application()
    app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", update)
    app.router.add_post("/v3/conversations/{conversation}/activities", record)
    app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stub.url = f"http://127.0.0.1:{port}"
    try:
        yield stub
    finally:
        await runner.cleanup()


Receive = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve_receiver(receive: Receive) -> AsyncIterator[str]:
    """A connector on a free loopback port whose every post (a reply or a new message) goes to ``receive``;
    its URL, stopped on exit (not waiting for requests still held)."""
    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", receive)
    app.router.add_post("/v3/conversations/{conversation}/activities", receive)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def connector() -> AsyncIterator[ConnectorStub]:
    async with serve_connector() as stub:
        yield stub


@dataclass
class BotServer:
    """A running bot: its base URL and a way to post activities to it."""

    url: str
    session: aiohttp.ClientSession
    runner: web.AppRunner

    async def post(self, body: Any, *, raw: bytes | None = None, content_type: str = "application/json") -> int:
        data = raw if raw is not None else json.dumps(body).encode()
        # aiohttp warns that large raw bodies block the loop while written; a stream does not.
        payload: bytes | io.BytesIO = io.BytesIO(data) if len(data) > 1_000_000 else data
        async with self.session.post(f"{self.url}/api/messages", data=payload,
                                     headers={"Content-Type": content_type}) as response:
            await response.read()
            return response.status

    async def stop(self) -> None:
        await self.runner.cleanup()


StartBot = Callable[..., Any]


@pytest.fixture
async def start_bot(tmp_path: Path) -> AsyncIterator[StartBot]:
    """Start the real app (``create_app``) on a free loopback port; several may be started and stopped."""
    session = aiohttp.ClientSession()
    running: list[BotServer] = []
    engines: dict[tuple[str, ...], KnowledgeEngine] = {}

    async def start(*, kb: tuple[str, ...] = (), state: Path | None = None, engine: Any = None,
                    **overrides: Any) -> BotServer:
        if engine is None:
            if kb not in engines:
                engines[kb] = KnowledgeEngine.load(kb)
            engine = engines[kb]
        overrides.setdefault("agent_teams", frozenset({AGENT_TEAM}))
        overrides.setdefault("kb_learned_path", str(tmp_path / "learned"))  # never the checkout's var/learned
        settings = Settings(state_store=f"sqlite:///{state or tmp_path / 'state.db'}", kb_paths=kb,
                            kb_cache_dir=None, **overrides)
        runner = web.AppRunner(create_app(settings, engine=engine), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = BotServer(f"http://127.0.0.1:{runner.addresses[0][1]}", session, runner)
        running.append(server)
        return server

    yield start
    for server in running:
        await server.runner.cleanup()
    await session.close()


def teams_message(
    service_url: str,
    text: str = "",
    *,
    locale: str | None = None,
    client_locale: str | None = None,
    mention: bool = False,
    channel: bool = False,
    html: str | None = None,
    value: dict[str, Any] | None = None,
    user: str = "29:user-1",
) -> dict[str, Any]:
    """A message activity shaped like the ones Teams sends."""
    number = next(_ids)
    entities: list[dict[str, Any]] = []
    if mention:
        text = f"<at>{BOT_NAME}</at> {text}"
        entities.append({"type": "mention", "text": f"<at>{BOT_NAME}</at>",
                         "mentioned": {"id": BOT_ID, "name": BOT_NAME}})
    if client_locale:
        entities.append({"type": "clientInfo", "locale": client_locale, "country": "SE", "platform": "Web"})
    conversation: dict[str, Any] = {"id": f"a:personal-{user}", "conversationType": "personal", "tenantId": "t-1"}
    channel_data: dict[str, Any] = {"tenant": {"id": "t-1"}}
    if channel:
        conversation = {"id": "19:general@thread.tacv2;messageid=1700000000000", "conversationType": "channel",
                        "isGroup": True, "tenantId": "t-1"}
        channel_data.update(team={"id": AGENT_TEAM}, channel={"id": "19:general@thread.tacv2"})
    activity: dict[str, Any] = {
        "type": "message", "id": f"activity-{number}", "timestamp": "2026-11-22T10:00:00.000Z",
        "serviceUrl": service_url, "channelId": "msteams",
        "from": {"id": user, "name": "Admin", "aadObjectId": "00000000-0000-0000-0000-000000000001"},
        "conversation": conversation, "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "text": text, "textFormat": "plain", "entities": entities, "channelData": channel_data,
    }
    if locale:
        activity["locale"] = locale
    if html is not None:
        activity["attachments"] = [{"contentType": "text/html", "content": html}]
    if value is not None:
        activity["value"] = value
        activity["text"] = ""
    return activity


def write_mfa_kb(root: Path) -> Path:
    """A KB folder of two English articles whose headings start alike (a cut-off paste fits both)."""
    folder = root / "kb" / "en-US"
    folder.mkdir(parents=True)
    for stem, heading in [("reset-mfa-phone", "Reset the MFA phone number for a user"),
                          ("reset-mfa-app", "Reset the MFA authenticator app for a user")]:
        (folder / f"{stem}.md").write_text(f"---\ntitle: {heading}\nms.contentlocale: en-US\n---\n# {heading}\n\n"
                                           f"Steps for {stem}.\n", encoding="utf-8")
    return root / "kb"
