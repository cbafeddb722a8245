"""Escalation's cards: golden JSON, the agents' language, the transcript capped to fit.

Regenerate the golden files after an intended change with
``UPDATE_GOLDEN=1 pytest tests/bot/escalation/test_cards.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cards import MAX_CARD_BYTES, wire_size
from bot.escalation.cards import RECENT_LINES, confirm_card, notice_card, ticket_card
from bot.escalation.tickets import Line, Person, Role, Ticket
from bot.strings import strings_for

GOLDEN = Path(__file__).parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def ticket(lines: int = 3, text: str = "Ett fel uppstod vid validering av åtkomsttoken", **changes: Any) -> Ticket:
    transcript = tuple(Line(Role.USER if n % 2 == 0 else Role.BOT, "Admin" if n % 2 == 0 else "Insight Desk",
                            f"{text} ({n})", AT) for n in range(lines))
    base = Ticket(number=12, user=Person("29:u", "Admin"), conversation={"conversation": {"id": "a:1"}},
                  locale="sv-SE", questions=(text,), description="Händer efter varje inloggning",
                  article="error-validating-access-token-during-onboarding", score=91.2, transcript=transcript,
                  created=AT, updated=AT)
    return Ticket(**{**base.__dict__, **changes})


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "ticket-waiting-en-US": lambda: ticket_card(ticket(), strings=strings_for("en-US")),
    "ticket-assigned-ko-KR": lambda: ticket_card(ticket().take(Person("29:a", "지민"), AT),
                                                 strings=strings_for("ko-KR")),
    "escalate-confirm-sv-SE": lambda: confirm_card(query="Ett fel uppstod", article="art",
                                                   strings=strings_for("sv-SE")),
    "ticket-notice-zh-TW": lambda: notice_card(strings_for("zh-TW").text("agent_joined", agent="Anna"),
                                               buttons=[(strings_for("zh-TW").text("end_conversation"), "end", 12)],
                                               locale="zh-TW"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_card_matches_its_golden_file(name: str) -> None:
    card = CASES[name]()
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        path.write_text(json.dumps(card, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDEN=1 to create it"
    assert json.loads(path.read_text(encoding="utf-8")) == card


def test_the_agents_language_labels_the_card() -> None:
    card = ticket_card(ticket(), strings=strings_for("sv-SE"))
    assert card["body"][0]["text"] == "Begäran #12 · Väntar"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Språk"] == "Svenska · svenska (sv-SE)"
    assert facts["Visad artikel"] == "error-validating-access-token-during-onboarding (poäng 91)"
    assert [a["title"] for a in card["actions"]] == ["Ta den", "Lös"]


def test_closed_tickets_have_no_actions_and_reopened_ones_can_be_taken() -> None:
    en = strings_for("en-US")
    resolved = ticket().resolve(Person("29:a", "Anna"), AT)
    assert "actions" not in ticket_card(resolved, strings=en)
    reopened = ticket_card(resolved.reopen(AT), strings=en)
    assert [a["data"]["insightDesk"] for a in reopened["actions"]] == ["take", "resolve"]


def test_long_transcripts_are_capped_on_the_card_and_say_how_many_are_kept() -> None:
    long = ticket(lines=400, text="例外が発生しました " * 200)
    card = ticket_card(long, strings=strings_for("en-US"))
    assert wire_size(card) <= MAX_CARD_BYTES
    shown = [b for b in card["body"] if b["type"] == "TextBlock" and b["text"].startswith("**")]
    assert 0 < len(shown) <= RECENT_LINES
    assert all(len(b["text"]) < 400 for b in shown)
    assert card["body"][-1]["text"] == f"{400 - len(shown)} earlier messages are kept in the ticket."
    assert len(long.transcript) == 400


def test_huge_lines_in_every_slot_still_fit() -> None:
    huge = ticket(lines=50, text="x" * 4000, description="d" * 5000, questions=("q" * 9000,))
    assert wire_size(ticket_card(huge, strings=strings_for("en-US"))) <= MAX_CARD_BYTES


@pytest.mark.parametrize("locale", ["ar-SA", "he-IL"])
def test_escalation_cards_in_a_right_to_left_language_are_laid_out_right_to_left(locale: str) -> None:
    strings = strings_for(locale)
    made = [confirm_card(query="x", article=None, strings=strings), ticket_card(ticket(), strings=strings),
            notice_card(strings.text("agent_joined", agent="Anna"),
                        buttons=[(strings.text("end_conversation"), "end", 12)], locale=strings.locale)]
    assert [card.get("rtl") for card in made] == [True, True, True]


@pytest.mark.parametrize("locale", ["en-US", "ja-JP", "ru-RU", "zh-TW"])
def test_left_to_right_escalation_cards_do_not_carry_rtl(locale: str) -> None:
    strings = strings_for(locale)
    made = [confirm_card(query="x", article=None, strings=strings), ticket_card(ticket(), strings=strings),
            notice_card("x", buttons=[], locale=strings.locale)]
    assert all("rtl" not in card for card in made)
