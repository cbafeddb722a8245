"""A paste whose best article clearly leads but is below the answer bar, through POST /api/messages:
the explanation under "Is this it?", the runners-up as buttons, and the feedback events they leave."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from bot.feedback.events import hash_user_id
from tests.e2e.conftest import ConnectorStub, StartBot, teams_message

ARTICLES = {
    "exchange": "Cannot connect to the Exchange server",
    "sharepoint": "Cannot connect to the SharePoint site",
    "subscription": "Your subscription has expired",
    "license": "The license could not be assigned to the user",
}
PASTE = "Could not connect to Exchange server"
"""Closest to the Exchange article, far ahead of the others, but not close enough to answer outright."""


def write_kb(root: Path) -> Path:
    folder = root / "kb" / "en-US"
    folder.mkdir(parents=True)
    for stem, heading in ARTICLES.items():
        (folder / f"{stem}.md").write_text(f"---\ntitle: {heading}\nms.contentlocale: en-US\n---\n# {heading}\n\n"
                                           f"Steps for {stem}.\n", encoding="utf-8")
    return root / "kb"


def the_card(connector: ConnectorStub) -> dict[str, Any]:
    cards = connector.cards()
    assert len(connector.received) == 1 and len(cards) == 1, connector.received
    return cards[0]


def buttons(actions: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(a["data"]["insightDesk"], a["data"].get("article")): a["data"]
            for a in actions if a["type"] == "Action.Submit"}


async def test_a_clear_leader_is_shown_with_is_this_it_and_the_runners_up_as_buttons(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    bot = await start_bot(kb=(str(write_kb(tmp_path)),))
    await bot.post(teams_message(connector.url, PASTE, locale="en-US"))
    card = the_card(connector)
    texts = [block.get("text") for block in card["body"]]
    assert texts[:2] == ["Is this it?", ARTICLES["exchange"]]
    assert "Steps for exchange." in texts
    (choices,) = [block["actions"] for block in card["body"] if block["type"] == "ActionSet"]
    runners_up = buttons(choices)
    assert set(runners_up) == {("choose", "sharepoint"), ("choose", "license")}
    assert [a["title"] for a in choices] == [ARTICLES["sharepoint"], ARTICLES["license"]]
    feedback = buttons(card["actions"])
    assert set(feedback) == {("helped", "exchange"), ("not_helped", "exchange"), ("escalate", "exchange")}
    assert "Is this it?" in card["fallbackText"] and ARTICLES["license"] in card["fallbackText"]

    connector.received.clear()
    await bot.post(teams_message(connector.url, locale="en-US", value=feedback[("helped", "exchange")]))
    assert connector.received[-1]["text"] == "Thanks for letting me know!"
    connector.received.clear()
    await bot.post(teams_message(connector.url, locale="en-US", value=runners_up[("choose", "sharepoint")]))
    answer = the_card(connector)
    assert answer["body"][0]["text"] == ARTICLES["sharepoint"]
    assert "Steps for sharepoint." in json.dumps(answer)

    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute("SELECT kind, query, article, user_id FROM feedback ORDER BY id").fetchall()
    user = hash_user_id("29:user-1")
    assert rows == [("helped", PASTE, "exchange", user), ("chosen", PASTE, "sharepoint", user)]

    connector.received.clear()  # two articles alike: still "did you mean", no explanation
    await bot.post(teams_message(connector.url, "Cannot connect to", locale="en-US"))
    suggest = the_card(connector)
    assert [block["text"] for block in suggest["body"]] == ["Did you mean one of these?"]
    assert {"exchange", "sharepoint"} <= {a["data"].get("article") for a in suggest["actions"]}

