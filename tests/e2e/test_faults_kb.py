"""Fault under load: an article file that turns bad while a real ``python -m bot serve`` answers 20
requests at a time. Every request is answered; while the bad file is on disk the last good index
answers (its exact version); each good save after it loads again."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

from tests.e2e.conftest import ConnectorStub, teams_message
from tests.e2e.processes import bot_process
from tests.e2e.test_kb_hot_reload import BUNDLED, OLD, SWEDISH, SWEDISH_ERROR, write

CYCLES = 4
BAD = b"---\ntitle: half saved\n---\n# \xff\xfe"  # a save that went wrong: not UTF-8
BAD_FOR_S = 0.6
"""How long each bad file stays on disk (twelve polls at 0.05 s)."""


async def test_a_file_turning_bad_under_load_keeps_the_last_good_index(tmp_path: Path,
                                                                       connector: ConnectorStub) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(BUNDLED, kb)
    original = (kb / SWEDISH).read_text(encoding="utf-8")
    seen: set[str] = set()
    sent: dict[str, tuple[float, float]] = {}      # user id -> (sent, answered), perf_counter
    bad_windows: list[tuple[float, float, str]] = []  # (bad file written, next good save starts, last good)

    def good(version: int) -> str:
        return f"Skrivbordsanalys, v{version}"

    async with bot_process(tmp_path / "bot", KB_PATH=str(kb), KB_RELOAD_SECONDS="0.05", LOG_LEVEL="INFO") as bot:

        async def ask(n: int) -> int:
            user = f"29:kb-fault-{n}"
            started = time.perf_counter()
            status = await bot.post(teams_message(connector.url, SWEDISH_ERROR, user=user))
            sent[user] = (started, time.perf_counter())
            for reply in connector.received[-40:]:
                if reply["recipient"]["id"] == user and reply.get("attachments"):
                    seen.add(reply["attachments"][0]["content"]["body"][0]["text"])
            return status

        async def edit() -> None:
            for version in range(1, CYCLES + 1):
                write(kb / SWEDISH, original.replace(OLD, f"registrering av {good(version)}</span>"))
                for _ in range(300):                               # until the load's answers show it
                    if any(h.endswith(good(version)) for h in seen):
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError(f"{good(version)} never loaded; seen {seen}")
                start = time.perf_counter()
                write(kb / SWEDISH, BAD)
                await asyncio.sleep(BAD_FOR_S)
                bad_windows.append((start, time.perf_counter(), good(version)))

        editing = asyncio.create_task(edit())
        statuses: list[int] = []
        while not editing.done():                                   # 20 at a time while the file changes
            start = len(statuses)
            statuses += await asyncio.gather(*(ask(n) for n in range(start, start + 20)))
            assert len(statuses) <= 20_000, "the edits never finished"
        await editing
        status, metrics = await bot.get("/metrics")
        output = bot.output()

    assert statuses == [201] * len(statuses)
    replies = {r["recipient"]["id"]: r for r in connector.received if r.get("attachments")}
    assert len(replies) == len(statuses) == len(connector.received), "one answer card per request"
    heading = {user: r["attachments"][0]["content"]["body"][0]["text"] for user, r in replies.items()}
    during_bad = 0
    for user, (started, answered) in sent.items():
        for bad_from, bad_until, last_good in bad_windows:
            if bad_from <= started and answered <= bad_until:        # asked and answered while the file was bad
                during_bad += 1
                assert heading[user].endswith(last_good), (heading[user], last_good)
    assert during_bad >= CYCLES * 5, f"only {during_bad} requests ran while a file was bad"
    assert all("Skrivbordsanalys" in h for h in heading.values())
    assert status == 200
    kept = output.count("knowledge base NOT reloaded")
    assert kept >= CYCLES and f'insight_desk_kb_reloads_total{{outcome="kept"}} {float(kept)}' in metrics
