"""`make loadtest`'s scenario, small: 20 conversations x 10 messages against `python -m bot serve`, with
escalations confirmed, raced, taken, relayed and resolved, and every ticket accounted for in the
SQLite file. Then the same accounting is shown to fail on a duplicated ticket, a lost relayed line
and a ticket lost from the store."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from bench import loadtest
from bench.loopback import load_queries
from knowledge.engine import BUNDLED_ARTICLES

TEXTS = [  # the bundled articles answer the first three; nothing answers the others
    ("Ett fel uppstod vid validering av åtkomsttoken", "sv-SE"),
    ("錯誤：「驗證存取權杖時發生錯誤」", "zh-TW"),
    ("Desktop Analytics를 접속하는 동안 액세스 토큰 오류 유효성 검사 오류가 발생했습니다.", "ko-KR"),
    ("Printer tray 2 is jammed with paper again", "en-US"),
    ("The coffee machine in building 4 is leaking", "en-US"),
    ("VPN-klienten kopplar ner var femte minut", "sv-SE"),
]


@pytest.mark.timeout(120)
def test_small_load_accounts_for_every_ticket_and_line(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"text": t, "locale": loc}) + "\n" for t, loc in TEXTS), encoding="utf-8")
    args = loadtest.parse_args(["--conversations", "20", "--messages", "10", "--kb", str(BUNDLED_ARTICLES),
                                "--texts", str(texts), "--startup", "60", "--deadline", "90"])
    state, log = tmp_path / "state.db", tmp_path / "bot.log"
    stub, tally, seconds = asyncio.run(loadtest.scenario(args, load_queries(str(texts)), state, log))
    assert loadtest.report(args, stub, tally, seconds, state, log) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "200 sent" in out and "0 lost, 0 failed posts" in out
    assert "5 cancelled, 5 confirmed (2 from two chats at once); tickets stored: 5 (resolved 3, waiting 2);" \
           " ticket cards in the agents' channel: 5" in out
    assert "3 tickets taken (1 by two agents at once, one owner each)" in out
    paths = next(line for line in out.splitlines() if line.startswith("paste replies: "))
    assert "answer " in paths and "not found " in paths, paths  # both paths ran (listed most frequent first)
    assert loadtest.check_store(state, tally)[0] == []

    # the accounting fails when a ticket is duplicated ...
    with sqlite3.connect(state) as db:
        key, e_tag, document, updated = db.execute(
            "SELECT key, e_tag, document, updated FROM bot_state WHERE key = ?",
            (loadtest.ESCALATION_PREFIX + "ticket/1",)).fetchone()
        copy = {**json.loads(document), "number": 99}
        db.execute("INSERT INTO bot_state VALUES (?, ?, ?, ?)",
                   (loadtest.ESCALATION_PREFIX + "ticket/99", e_tag, json.dumps(copy), updated))
    problems = loadtest.check_store(state, tally)[0]
    assert any("6 tickets stored for 5 confirmed" in p for p in problems), problems
    assert any("users have more than one ticket" in p for p in problems), problems
    # ... or lost from the store ...
    with sqlite3.connect(state) as db:
        db.execute("DELETE FROM bot_state WHERE key LIKE ?", (loadtest.ESCALATION_PREFIX + "ticket/%",))
        db.execute("INSERT INTO bot_state VALUES (?, ?, ?, ?)", (key, e_tag, document, updated))
    assert any("1 tickets stored for 5 confirmed" in p for p in loadtest.check_store(state, tally)[0])
    # ... or when a relayed line goes missing in a thread, or arrives twice
    assert loadtest.check_relay(stub, tally) == []
    flow = next(f for f in tally.escalated.values() if f.thread and len(stub.proactive[f.thread]) > 1)
    assert flow.thread is not None
    lines = stub.proactive[flow.thread]
    stub.proactive[flow.thread] = lines[1:]
    assert any("thread got" in p for p in loadtest.check_relay(stub, tally))
    stub.proactive[flow.thread] = [lines[1], lines[0], *lines[2:]]
    assert any("(in order: False)" in p for p in loadtest.check_relay(stub, tally))
    stub.proactive[flow.thread] = [*lines, lines[-1]]
    assert any("thread got" in p for p in loadtest.check_relay(stub, tally))
