"""A real bot process with an HTTP session to talk to it (``tests.e2e.server_process`` starts it).

    async with bot_process(tmp_path, STATE_STORE=redis_url) as bot:
        status = await bot.post(activity)
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from services import free_port
from tests.e2e.server_process import ServerProcess, start_server


@dataclass
class BotProcess:
    server: ServerProcess
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.server.process

    async def post(self, body: Any) -> int:
        async with self.session.post(f"{self.url}/api/messages", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}) as response:
            await response.read()
            return response.status

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(f"{self.url}{path}") as response:
            return response.status, await response.text()

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as a crash would leave it."""
        self.server.kill()

    def output(self) -> str:
        return self.server.output()


@asynccontextmanager
async def bot_process(folder: Path, **settings: str) -> AsyncIterator[BotProcess]:
    """One ``python -m bot serve`` with ``settings`` as its environment, listening when the block starts."""
    port = free_port()
    log = folder / f"bot-{port}.log"
    server = await asyncio.to_thread(start_server, None, log, port=port, env=settings)
    session = aiohttp.ClientSession()
    try:
        yield BotProcess(server, session)
    finally:
        await session.close()
        await asyncio.to_thread(server.stop)
