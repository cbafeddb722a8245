"""A connector stub on its own thread and event loop, for tests that drive a bot process synchronously.

It records every activity the bot posts and can misbehave: answer ``status`` (429, 500, ...) for the
next ``failures`` posts, or hold them for ``delay_s`` seconds (a connector that times out).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class ThreadedConnector:
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0
    status: int = 500
    delay_s: float = 0.0
    retry_after: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, failures: int, *, status: int = 500, delay_s: float = 0.0,
                  retry_after: str | None = None) -> None:
        with self.lock:
            self.failures, self.status, self.delay_s, self.retry_after = failures, status, delay_s, retry_after

    def replies(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            self.attempts += 1
            failing = self.failures > 0
            if failing:
                self.failures -= 1
            status, delay, retry_after = self.status, self.delay_s, self.retry_after
        if failing:
            if delay:
                await asyncio.sleep(delay)
            headers = {"Retry-After": retry_after} if retry_after else None
            return web.json_response({"error": {"code": "Throttled"}}, status=status, headers=headers)
        with self.lock:
            self.received.append(body)
            number = len(self.received)
        return web.json_response({"id": f"reply-{number}"})


@contextmanager
def threaded_connector() -> Iterator[ThreadedConnector]:
    stub = ThreadedConnector()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="connector-stub", daemon=True)
    thread.start()
    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities", stub._receive)
    app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", stub._receive)
    app.router.add_post("/{anything:.*}", stub._receive)  # conversation ids with "/" in them, as fuzzing sends
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port: int = runner.addresses[0][1]
        return port

    stub.url = f"http://127.0.0.1:{asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)}"
    try:
        yield stub
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
