"""Learning a portal's wording through the real path: users paste it over HTTP and pick an article from
"did you mean" (one also says it helped); ``kb learn`` reads the SQLite state file; with its proposal
saved as the folder's alternate texts, the next user's paste is answered outright."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

from bot.__main__ import main
from knowledge.alternates import ALTERNATES_FILE
from knowledge.engine import KnowledgeEngine
from tests.e2e.conftest import ConnectorStub, StartBot, teams_message, write_mfa_kb

PORTAL = "The authenticator app registration could not be completed for this account"


def actions(card: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(a["data"]["insightDesk"], a["data"].get("article")): a["data"]
            for a in card.get("actions", []) if a["type"] == "Action.Submit"}


async def test_users_teach_the_bot_a_portal_wording(start_bot: StartBot, connector: ConnectorStub,
                                                    tmp_path: Path) -> None:
    kb = write_mfa_kb(tmp_path)
    state = tmp_path / "state.db"
    bot = await start_bot(kb=(str(kb),), state=state)
    for user, presses_helped in (("29:user-1", False), ("29:user-2", True)):
        connector.received.clear()
        await bot.post(teams_message(connector.url, f"Error: {PORTAL}", locale="en-US", user=user))
        suggest = connector.cards()[-1]
        assert suggest["body"][0]["text"] == "Did you mean one of these?"
        await bot.post(teams_message(connector.url, locale="en-US", user=user,
                                     value=actions(suggest)[("choose", "reset-mfa-app")]))
        answer = connector.cards()[-1]
        assert "Steps for reset-mfa-app." in str(answer)
        if presses_helped:
            await bot.post(teams_message(connector.url, locale="en-US", user=user,
                                         value=actions(answer)[("helped", "reset-mfa-app")]))
            assert connector.received[-1]["text"] == "Thanks for letting me know!"
    await bot.stop()
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT kind, article FROM feedback ORDER BY id").fetchall()
    assert rows == [("chosen", "reset-mfa-app"), ("chosen", "reset-mfa-app"), ("helped", "reset-mfa-app")]

    out, err = io.StringIO(), io.StringIO()
    assert main(["kb", "learn", "--store", f"sqlite:///{state}", "--kb", str(kb)], out=out, err=err) == 0
    assert "1 texts proposed from 3 feedback events" in err.getvalue()
    (kb / ALTERNATES_FILE).write_text(out.getvalue(), encoding="utf-8")

    connector.received.clear()
    learned = await start_bot(engine=KnowledgeEngine.load([kb]), state=tmp_path / "state2.db")
    async with learned.session.get(f"{learned.url}/healthz") as response:
        assert (await response.json())["alternate_texts"] == 1
    await learned.post(teams_message(connector.url, f"<p>{PORTAL}</p>", locale="en-US", user="29:user-3"))
    card = connector.cards()[-1]
    assert card["body"][0]["text"] == "Reset the MFA authenticator app for a user"
    assert ("helped", "reset-mfa-app") in actions(card)
