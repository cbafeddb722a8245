"""The load test's connector stub: records every post and card update the bot makes, by conversation.

It stands in for the channel's ``serviceUrl`` (``/v3/conversations/{conversation}/activities[/{id}]``
for posts, ``PUT .../activities/{id}`` for cards updated in place). Each post is kept under its
conversation, split into *replies* (posted to an activity id: the answer inside a turn) and
*proactive* posts (no activity id: a ticket card starting a thread, a relayed line). Load drivers
wait for a count to be reached (``until``) instead of polling: a waiter is keyed by what it waits for,
so a post wakes only the waiters of its own conversation and activity.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bench.loopback import free_port


@dataclass(frozen=True)
class Post:
    """One activity the bot posted."""

    conversation: str
    reply_to: str | None
    """The activity id in the path (a reply inside a turn); ``None`` for a proactive post."""
    activity: dict[str, Any]
    id: str
    """The id the stub gave it (Teams' message id: a channel post's id names its thread)."""
    arrived: float

    @property
    def card(self) -> dict[str, Any] | None:
        for attachment in self.activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = attachment.get("content") or {}
                return content
        return None

    @property
    def said(self) -> str:
        """Its text, else its card's fallback text."""
        card = self.card
        return str(self.activity.get("text") or (card or {}).get("fallbackText") or "")

    def submits(self) -> dict[str, dict[str, Any]]:
        """Its card's ``Action.Submit`` data by action name (``insightDesk``)."""
        card = self.card or {}
        return {str(a["data"].get("insightDesk")): dict(a["data"]) for a in card.get("actions") or []
                if a.get("type") == "Action.Submit" and isinstance(a.get("data"), dict)}


@dataclass
class RecordingStub:
    posts: list[Post] = field(default_factory=list)
    other_posts: int = 0
    """Posts that were not messages (typing indicators, events)."""
    updates: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    """Card updates by ``conversation/activity id``."""
    replies: dict[str, list[Post]] = field(default_factory=lambda: defaultdict(list))
    """Replies by the activity they answer."""
    proactive: dict[str, list[Post]] = field(default_factory=lambda: defaultdict(list))
    """Proactive posts by conversation."""
    _waiters: dict[str, list[tuple[int, asyncio.Future[None]]]] = field(default_factory=lambda: defaultdict(list))

    def _counted(self, key: str) -> int:
        kind, _, name = key.partition(":")
        tables: dict[str, dict[str, list[Any]]] = {"r": self.replies, "p": self.proactive, "u": self.updates}
        table = tables[kind]
        return len(table.get(name, ()))

    def _wake(self, key: str) -> None:
        waiting = self._waiters.get(key)
        if not waiting:
            return
        count = self._counted(key)
        for n, future in list(waiting):
            if count >= n and not future.done():
                future.set_result(None)
        self._waiters[key] = [(n, f) for n, f in waiting if not f.done()]

    async def until(self, key: str, n: int, timeout: float) -> bool:
        """Wait until ``key`` (``r:<activity id>``, ``p:<conversation>``, ``u:<conversation>/<id>``) has
        ``n`` entries; ``False`` after ``timeout`` seconds."""
        if self._counted(key) >= n:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[key].append((n, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        return True

    async def _post(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        body = await request.json()
        conversation = request.match_info["conversation"]
        reply_to = request.match_info.get("activity")
        if body.get("type") != "message":
            self.other_posts += 1
            return web.json_response({"id": f"other-{self.other_posts}"})
        post = Post(conversation, reply_to, body, f"msg-{len(self.posts) + 1}", arrived)
        self.posts.append(post)
        if reply_to:
            self.replies[reply_to].append(post)
            self._wake(f"r:{reply_to}")
        else:
            self.proactive[conversation].append(post)
            self._wake(f"p:{conversation}")
        return web.json_response({"id": post.id})

    async def _update(self, request: web.Request) -> web.Response:
        key = f"{request.match_info['conversation']}/{request.match_info['activity']}"
        self.updates[key].append(await request.json())
        self._wake(f"u:{key}")
        return web.json_response({"id": request.match_info["activity"]})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._post)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        return app

    async def start(self) -> tuple[web.AppRunner, str]:
        """Listen on a free loopback port; the runner (``cleanup()`` stops it) and the service URL."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner, f"http://127.0.0.1:{port}/"
