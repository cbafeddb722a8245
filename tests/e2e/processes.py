"""Real bot processes: ``python -m bot serve`` in a subprocess on a free loopback port.

    async with bot_process(tmp_path, STATE_STORE=redis_url) as bot:
        status = await bot.post(activity)

The process gets a clean environment (no ``.env``: it runs in its own folder, importing the bot from
this checkout), authentication off, the bundled articles unless ``KB_PATH`` is given, no index cache.
It is stopped by its PID: SIGTERM (aiohttp's graceful shutdown closes the stores), SIGKILL after 10 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@dataclass
class BotProcess:
    url: str
    process: subprocess.Popen[bytes]
    session: aiohttp.ClientSession
    log: Path

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
        self.process.kill()
        self.process.wait()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def _wait_until_healthy(bot: BotProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise RuntimeError(f"bot exited with {bot.process.returncode}:\n{bot.output()[-3000:]}")
        try:
            status, _ = await bot.get("/healthz")
            if status == 200:
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"bot did not answer /healthz within {START_TIMEOUT:.0f} s:\n{bot.output()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@asynccontextmanager
async def bot_process(folder: Path, **settings: str) -> AsyncIterator[BotProcess]:
    """One ``python -m bot serve`` with ``settings`` as its environment, healthy when the block starts."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TMPDIR", "CI")}
    env.update({"PYTHONPATH": str(REPO), "HOST": "127.0.0.1", "PORT": str(port), "KB_CACHE_DIR": "",
                "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    env.update(settings)
    log = folder / f"bot-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=folder, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    session = aiohttp.ClientSession()
    bot = BotProcess(f"http://127.0.0.1:{port}", process, session, log)
    try:
        await _wait_until_healthy(bot)
        yield bot
    finally:
        await session.close()
        await asyncio.to_thread(_stop, process)
