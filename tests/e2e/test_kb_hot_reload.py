"""Hot reload under a running server (a real ``python -m bot serve``): edit an article, the next answer
shows the edit; SIGHUP reloads at once; a file turning bad keeps the last good answer; logs are JSON."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path

from tests.e2e.conftest import ConnectorStub, teams_message
from tests.e2e.processes import BotProcess, bot_process

BUNDLED = Path(__file__).resolve().parents[2] / "knowledge" / "articles"
SWEDISH = "sv-SE/error-validating-access-token-during-onboarding.md"
SWEDISH_ERROR = "Ett fel uppstod vid validering av åtkomsttoken"
OLD = "registrering av Skrivbordsanalys</span>"


async def answer_heading(bot: BotProcess, connector: ConnectorStub) -> str:
    connector.received.clear()
    assert await bot.post(teams_message(connector.url, SWEDISH_ERROR)) == 201
    text: str = connector.cards()[-1]["body"][0]["text"]
    return text


async def until(condition_text: str, bot: BotProcess, connector: ConnectorStub, seconds: float = 15.0) -> str:
    heading = ""
    for _ in range(int(seconds / 0.1)):
        heading = await answer_heading(bot, connector)
        if condition_text in heading:
            return heading
        await asyncio.sleep(0.1)
    raise AssertionError(f"{condition_text!r} never appeared; last heading {heading!r}")


def write(path: Path, text: str | bytes) -> None:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


async def test_an_edited_article_shows_in_the_next_answer(tmp_path: Path, connector: ConnectorStub) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(BUNDLED, kb)
    original = (kb / SWEDISH).read_text(encoding="utf-8")
    async with bot_process(tmp_path / "bot", KB_PATH=str(kb), KB_RELOAD_SECONDS="0.2", LOG_FORMAT="json",
                           LOG_LEVEL="INFO") as bot:
        assert (await answer_heading(bot, connector)).endswith("registrering av Skrivbordsanalys")
        write(kb / SWEDISH, original.replace(OLD, "registrering av Skrivbordsanalys, version 2</span>"))
        assert (await until("version 2", bot, connector)).endswith("version 2")

        write(kb / SWEDISH, b"---\ntitle: half saved\n---\n# \xff\xfe")             # a save that went wrong
        await asyncio.sleep(1.0)                                                       # five polls
        assert (await answer_heading(bot, connector)).endswith("version 2"), "the last good index answers"

        write(kb / SWEDISH, original.replace(OLD, "registrering av Skrivbordsanalys, version 3</span>"))
        await until("version 3", bot, connector)
        status, metrics = await bot.get("/metrics")
        assert status == 200
        assert 'insight_desk_kb_reloads_total{outcome="loaded"} 2.0' in metrics
        assert 'insight_desk_kb_reloads_total{outcome="kept"} 1.0' in metrics
    lines = [json.loads(line) for line in bot.output().splitlines() if line.startswith("{")]
    assert sum(line["message"].startswith("knowledge base reloaded") for line in lines) == 2
    assert sum(line["message"].startswith("knowledge base NOT reloaded") for line in lines) == 1
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)


async def test_sighup_reloads_without_polling(tmp_path: Path, connector: ConnectorStub) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(BUNDLED, kb)
    original = (kb / SWEDISH).read_text(encoding="utf-8")
    async with bot_process(tmp_path / "bot", KB_PATH=str(kb)) as bot:
        write(kb / SWEDISH, original.replace(OLD, "registrering av Skrivbordsanalys, efter SIGHUP</span>"))
        await asyncio.sleep(0.5)
        assert (await answer_heading(bot, connector)).endswith("Skrivbordsanalys"), "no polling: not yet"
        os.kill(bot.process.pid, signal.SIGHUP)
        await until("efter SIGHUP", bot, connector)


async def test_no_request_is_dropped_while_the_index_is_swapped(tmp_path: Path, connector: ConnectorStub) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(BUNDLED, kb)
    original = (kb / SWEDISH).read_text(encoding="utf-8")
    async with bot_process(tmp_path / "bot", KB_PATH=str(kb), KB_RELOAD_SECONDS="0.05", LOG_LEVEL="INFO") as bot:

        async def edit_repeatedly() -> None:
            for version in range(1, 11):
                write(kb / SWEDISH, original.replace(OLD, f"registrering av Skrivbordsanalys, v{version}</span>"))
                await asyncio.sleep(0.15)

        async def ask(n: int) -> int:
            return await bot.post(teams_message(connector.url, SWEDISH_ERROR, user=f"29:load-{n}"))

        editing = asyncio.create_task(edit_repeatedly())
        statuses: list[int] = []
        while len(statuses) < 200 or not editing.done():           # 20 at a time, for as long as edits go on
            start = len(statuses)
            statuses += await asyncio.gather(*(ask(n) for n in range(start, start + 20)))
            assert len(statuses) <= 4000, "the edits never finished"
        await editing
        reloads = bot.output().count("knowledge base reloaded")
    assert statuses == [201] * len(statuses)
    replies = [r for r in connector.received if r.get("attachments")]
    assert len(replies) == len(statuses) and len({r["recipient"]["id"] for r in replies}) == len(statuses)
    headings = {r["attachments"][0]["content"]["body"][0]["text"] for r in replies}
    assert all("Skrivbordsanalys" in h for h in headings)
    assert reloads >= 3 and len(headings) >= 2, (reloads, headings)        # the swaps happened under load
