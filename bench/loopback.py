"""Loopback pieces of the throughput benchmark: free ports, a connector stub, a closed-loop load generator.

The connector stub is an aiohttp app standing in for the channel's ``serviceUrl``: it accepts
``POST /v3/conversations/{conversation}/activities[/{activity}]`` and wakes whoever waits for the
reply to that activity. The load generator runs N conversations at once; each posts its next
message only after the bot's reply to the previous one reached the stub *and* the POST itself was
answered (a closed loop: offered load follows the bot's speed, nothing queues without bound).
Latency is from the start of the POST to the reply's arrival at the stub.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

REPLY_TIMEOUT_S = 15.0
"""A reply slower than this counts as an error (the bot lost it)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_until_listening(port: int, timeout_s: float, alive: Callable[[], bool] = lambda: True) -> None:
    """Return once something accepts TCP connections on 127.0.0.1:``port``.

    TimeoutError after ``timeout_s``, or as soon as ``alive()`` says the server process is gone.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if not alive():
                raise TimeoutError(f"the server for 127.0.0.1:{port} exited before listening") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


@dataclass
class ConnectorStub:
    """Records the bot's outgoing activities and hands each reply to whoever waits for it."""

    replies: int = 0
    other_posts: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    """Replies by what they carry: the first attachment's content type, else ``text``."""
    _waiters: dict[str, asyncio.Future[float]] = field(default_factory=dict)

    def expect(self, activity_id: str) -> asyncio.Future[float]:
        """A future resolved with the arrival time (``perf_counter``) of the reply to ``activity_id``."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[activity_id] = waiter
        return waiter

    def forget(self, activity_id: str) -> None:
        self._waiters.pop(activity_id, None)

    async def _receive(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        body = await request.json()
        reply_to = request.match_info.get("activity_id") or body.get("replyToId") or ""
        if body.get("type") == "message":
            self.replies += 1
            attachments = body.get("attachments") or []
            self.kinds[attachments[0].get("contentType", "?") if attachments else "text"] += 1
            waiter = self._waiters.pop(reply_to, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(arrived)
        else:
            self.other_posts += 1
        return web.json_response({"id": f"stub-{self.replies + self.other_posts}"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._receive)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{activity_id}", self._receive)
        return app


@contextlib.asynccontextmanager
async def running_stub() -> AsyncIterator[tuple[ConnectorStub, str]]:
    """A connector stub listening on a free loopback port; yields it and its service URL."""
    stub = ConnectorStub()
    runner = web.AppRunner(stub.app(), access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield stub, f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


def teams_message(
    service_url: str, conversation: int, activity_id: str, text: str, locale: str | None
) -> dict[str, object]:
    """A Teams-shaped personal-chat message activity."""
    activity: dict[str, object] = {
        "type": "message",
        "id": activity_id,
        "timestamp": "2025-01-01T00:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:bench-user-{conversation}", "name": f"User {conversation}",
                 "aadObjectId": f"00000000-0000-0000-0000-{conversation:012d}"},
        "conversation": {"id": f"a:bench-conversation-{conversation}", "conversationType": "personal",
                         "tenantId": "bench-tenant"},
        "recipient": {"id": "28:bench-bot", "name": "Insight Desk"},
        "text": text,
        "textFormat": "plain",
        "channelData": {"tenant": {"id": "bench-tenant"}},
    }
    if locale:
        activity["locale"] = locale
        activity["entities"] = [{"type": "clientInfo", "locale": locale, "platform": "Web"}]
    return activity


@dataclass(frozen=True)
class Query:
    """One pasted text and the client locale it comes with."""

    text: str
    locale: str | None


@dataclass(frozen=True)
class RoundResult:
    """What one bounded round against one bot measured."""

    replies: int
    errors: int
    seconds: float
    latencies_ms: tuple[float, ...]

    @property
    def per_second(self) -> float:
        return self.replies / self.seconds if self.seconds > 0 else 0.0


async def run_round(
    bot_url: str,
    stub: ConnectorStub,
    service_url: str,
    queries: Sequence[Query],
    *,
    conversations: int,
    seconds: float,
    max_messages: int,
    first_query: int = 0,
    id_prefix: str = "m",
) -> RoundResult:
    """Drive ``conversations`` closed loops against ``bot_url`` for at most ``seconds`` and ``max_messages``."""
    next_query = itertools.count(first_query)
    budget = itertools.count()
    latencies: list[float] = []
    errors = 0
    timeout = ClientTimeout(total=REPLY_TIMEOUT_S)
    started = time.perf_counter()
    stop_at = started + seconds
    last_done = started

    async def conversation(number: int, session: ClientSession) -> None:
        nonlocal errors, last_done
        sequence = 0
        while time.perf_counter() < stop_at and next(budget) < max_messages:
            query = queries[next(next_query) % len(queries)]
            sequence += 1
            activity_id = f"{id_prefix}-{number}-{sequence}"
            body = teams_message(service_url, number, activity_id, query.text, query.locale)
            waiter = stub.expect(activity_id)
            sent = time.perf_counter()
            try:
                async with session.post(bot_url, json=body) as response:
                    await response.read()
                    ok = response.status < 300
                arrived = await asyncio.wait_for(waiter, REPLY_TIMEOUT_S) if ok else 0.0
            except (ClientError, TimeoutError):
                ok = False
            if ok:
                latencies.append((arrived - sent) * 1000)
                last_done = time.perf_counter()
            else:
                errors += 1
                stub.forget(activity_id)

    connector = TCPConnector(limit=conversations, force_close=False)
    async with ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(conversation(n, session) for n in range(conversations)))
    return RoundResult(len(latencies), errors, last_done - started, tuple(latencies))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def load_queries(path: str, limit: int | None = None) -> list[Query]:
    """Texts and client locales from an eval JSON Lines file (``{"text", "locale", ...}`` per line)."""
    queries: list[Query] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                queries.append(Query(str(row["text"]), row.get("locale")))
            if limit is not None and len(queries) >= limit:
                break
    return queries
