"""Faults around a turn: a connector that throttles, fails or hangs; a state store that fails mid-turn;
the server killed with SIGKILL under load and restarted on the same SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import create_app
from bot.escalation.store_keys import PREFIX as TICKETS
from bot.settings import Settings
from bot.stores.sqlite import SqliteStorage
from bot.stores.sqlite_database import SqliteDatabase
from bot.strings import strings_for
from knowledge.engine import KnowledgeEngine
from tests.e2e.conftest import StartBot, serve_receiver, teams_message
from tests.e2e.server_process import start_server
from tests.e2e.threaded_connector import threaded_connector

SWEDISH_PASTE = "Ett fel uppstod vid validering av åtkomsttoken"
SEED = "error-validating-access-token-during-onboarding"


@dataclass
class FlakyConnector:
    """A connector that answers ``status`` to the next ``failures`` posts (or holds them ``delay_s``)."""

    url: str = ""
    attempts: list[float] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0
    status: int = 500
    delay_s: float = 0.0
    retry_after: str | None = None

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.attempts.append(time.monotonic())
        if self.failures > 0:
            self.failures -= 1
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            return web.json_response({"error": {"code": "Throttled"}}, status=self.status, headers=headers)
        self.received.append(body)
        return web.json_response({"id": f"reply-{len(self.received)}"})


@pytest.fixture
async def flaky() -> AsyncIterator[FlakyConnector]:
    stub = FlakyConnector()
    async with serve_receiver(stub.receive) as stub.url:
        yield stub


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connector's retry policy with short waits, so a test measures it in well under a second."""
    monkeypatch.setattr("bot.channel.connector_pool.SEND_BACKOFF_S", 0.05)
    monkeypatch.setattr("bot.channel.connector_pool.SEND_TIMEOUT_S", 0.3)
    monkeypatch.setattr("bot.channel.connector_pool.MAX_RETRY_AFTER_S", 0.2)


# -- the connector ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])  # answers that say the reply was not taken
async def test_a_reply_the_connector_refuses_twice_is_sent_again_and_arrives(
    start_bot: StartBot, flaky: FlakyConnector, quick_retries: None, status: int
) -> None:
    bot = await start_bot()
    flaky.failures, flaky.status, flaky.retry_after = 2, status, "0.1"
    assert await bot.post(teams_message(flaky.url, SWEDISH_PASTE)) in (200, 201)
    assert len(flaky.attempts) == 3
    assert len(flaky.received) == 1 and flaky.received[0].get("attachments")
    waits = [b - a for a, b in zip(flaky.attempts, flaky.attempts[1:], strict=False)]
    assert min(waits) >= 0.09  # it honoured Retry-After rather than hammering


async def test_a_connector_that_keeps_failing_ends_the_turn_logged_and_the_server_keeps_serving(
    start_bot: StartBot, flaky: FlakyConnector, quick_retries: None, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    flaky.failures, flaky.status = 1_000, 500
    started = time.monotonic()
    assert await bot.post(teams_message(flaky.url, SWEDISH_PASTE)) in (200, 201)
    assert time.monotonic() - started < 5
    assert len(flaky.attempts) == 2  # the answer and then the apology, each sent once (a 500 may have been taken)
    assert flaky.received == []
    assert "unhandled error in turn" in caplog.text and "could not send the apology" in caplog.text
    flaky.failures = 0
    assert await bot.post(teams_message(flaky.url, SWEDISH_PASTE)) in (200, 201)
    assert len(flaky.received) == 1


async def test_a_connector_that_does_not_answer_does_not_hold_the_turn(
    start_bot: StartBot, flaky: FlakyConnector, quick_retries: None
) -> None:
    bot = await start_bot()
    flaky.failures, flaky.delay_s = 2, 5.0  # each held far longer than the 0.3 s an attempt may take
    started = time.monotonic()
    assert await bot.post(teams_message(flaky.url, SWEDISH_PASTE)) in (200, 201)
    assert time.monotonic() - started < 3
    assert len(flaky.attempts) == 1 and flaky.received == []  # it may have been taken: neither resent nor apologised


# -- the state store ------------------------------------------------------------------------------


async def test_a_state_store_that_fails_mid_turn_gets_the_apology_and_keeps_nothing_partial(
    flaky: FlakyConnector, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    storage = SqliteStorage(SqliteDatabase(path, busy_timeout=0.2))
    runner = web.AppRunner(create_app(Settings(kb_cache_dir=None), engine=KnowledgeEngine.load(), storage=storage),
                           access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/messages"
    escalate = {"insightDesk": "escalate", "article": SEED, "query": SWEDISH_PASTE, "language": "sv-SE"}
    try:
        async with aiohttp.ClientSession() as session:
            async def post(activity: dict[str, Any]) -> int:
                async with session.post(url, json=activity) as response:
                    return response.status

            assert await post(teams_message(flaky.url, SWEDISH_PASTE, locale="sv-SE")) in (200, 201)
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # another writer holds the file: every write of the bot fails
            try:
                assert await post(teams_message(flaky.url, value=escalate, locale="sv-SE")) in (200, 201)
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            assert flaky.received[-1]["text"] == strings_for("sv-SE").text("apology")
            assert "could not store feedback escalated" in caplog.text
            with sqlite3.connect(path) as db:
                assert db.execute("SELECT COUNT(*) FROM feedback WHERE kind = 'escalated'").fetchone() == (0,)
            # Once the store is back, the same request is kept once and the user is asked to confirm.
            assert await post(teams_message(flaky.url, value=escalate, locale="sv-SE")) in (200, 201)
            confirm = flaky.received[-1]["attachments"][0]["content"]
            data = next(a["data"] for a in confirm["actions"] if a["data"]["insightDesk"] == "escalate_confirm")
            with sqlite3.connect(path) as db:
                assert db.execute("SELECT COUNT(*) FROM feedback WHERE kind = 'escalated'").fetchone() == (1,)
            # The confirmation while the store is locked: the apology, and no ticket or part of one.
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                assert await post(teams_message(flaky.url, value=data, locale="sv-SE")) in (200, 201)
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            assert flaky.received[-1]["text"] == strings_for("sv-SE").text("apology")
            tickets = "SELECT COUNT(*) FROM bot_state WHERE key LIKE ?"
            with sqlite3.connect(path) as db:
                assert db.execute(tickets, (f"{TICKETS}%",)).fetchone() == (0,)
            # And once it is back, exactly one ticket.
            assert await post(teams_message(flaky.url, value=data, locale="sv-SE")) in (200, 201)
            with sqlite3.connect(path) as db:
                assert db.execute(tickets, (f"{TICKETS}ticket/%",)).fetchone() == (1,)
    finally:
        await runner.cleanup()
        storage.close()


# -- SIGKILL under load ------------------------------------------------------------------------------


def test_sigkill_under_load_loses_no_acknowledged_feedback_and_the_restart_serves_the_same_state(
    tmp_path: Path,
) -> None:
    import requests

    state, log = tmp_path / "state.db", tmp_path / "server.log"
    acknowledged: list[str] = []
    failed = 0
    lock = threading.Lock()
    stop = threading.Event()
    with threaded_connector() as stub:
        server = start_server(state, log, env={"RATE_LIMIT_PER_MINUTE": "0"})
        try:
            def sender(worker: int) -> None:
                nonlocal failed
                session = requests.Session()
                for n in range(10_000):
                    if stop.is_set():
                        return
                    marker = f"kill-test-{worker}-{n}"
                    value = {"insightDesk": "helped", "article": SEED, "query": marker}
                    activity = teams_message(stub.url, value=value, user=f"29:kill-{worker}")
                    try:
                        response = session.post(f"{server.url}/api/messages", data=json.dumps(activity),
                                                headers={"Content-Type": "application/json"}, timeout=10)
                    except requests.RequestException:
                        with lock:
                            failed += 1
                        return
                    if response.status_code in (200, 201):
                        with lock:
                            acknowledged.append(marker)

            threads = [threading.Thread(target=sender, args=(w,)) for w in range(8)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 20
            while len(acknowledged) < 150 and time.monotonic() < deadline:
                time.sleep(0.02)
            server.kill()  # SIGKILL while the senders are mid-request
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
        finally:
            server.stop()
        assert len(acknowledged) >= 150, server.log_tail()
        with sqlite3.connect(state) as db:
            kept = {row[0] for row in db.execute("SELECT query FROM feedback WHERE kind = 'helped'")}
        lost = [m for m in acknowledged if m not in kept]
        print(f"\nSIGKILL after {len(acknowledged)} acknowledged feedback posts ({failed} senders cut off):"
              f" {len(kept)} rows kept, {len(lost)} acknowledged lost")
        assert lost == []
        restarted = start_server(state, log, env={"RATE_LIMIT_PER_MINUTE": "0"})
        try:
            session = requests.Session()
            language = teams_message(stub.url, "/language ko", user="29:kill-0")
            assert session.post(f"{restarted.url}/api/messages", json=language, timeout=10).status_code in (200, 201)
            value = {"insightDesk": "helped", "article": SEED, "query": "after-restart"}
            response = session.post(f"{restarted.url}/api/messages", json=teams_message(stub.url, value=value),
                                    timeout=10)
            assert response.status_code in (200, 201)
        finally:
            restarted.stop()
        with sqlite3.connect(state) as db:
            queries = [row[0] for row in db.execute("SELECT query FROM feedback")]
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert "after-restart" in queries and set(acknowledged) <= set(queries)



def test_the_servers_own_log_at_info_holds_no_secret_or_paste(tmp_path: Path) -> None:
    """The real process with its real logging set-up (access log included), read from its output."""
    import requests

    secret, paste = "s3cret-app-password-77f1", "Zyxqv-9931 mailbox quota exceeded paste marker b7e2"
    log = tmp_path / "server.log"
    with threaded_connector() as stub:
        server = start_server(tmp_path / "state.db", log, env={"LOG_LEVEL": "INFO", "MicrosoftAppPassword": secret})
        try:
            session = requests.Session()
            url = f"{server.url}/api/messages"
            assert session.post(url, json=teams_message(stub.url, paste), timeout=10).status_code in (200, 201)
            card = teams_message(stub.url, value={"insightDesk": "no-such-action", "query": paste})
            assert session.post(url, json=card, timeout=10).status_code in (200, 201)
            broken = dict(teams_message(stub.url, paste), entities=[paste], attachments=[{"content": [paste]}])
            assert session.post(url, json=broken, timeout=10).status_code == 400
            assert session.post(url, data=paste.encode(), headers={"Content-Type": "application/json"},
                                timeout=10).status_code == 400
        finally:
            server.stop()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "POST /api/messages" in text and "rejected a malformed activity" in text  # INFO and WARNING lines
    assert secret not in text
    assert "Zyxqv" not in text and "b7e2" not in text
