"""The proposal card: the wording escaped, the agents' language, Add / Dismiss until someone decided."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.feedback.proposal_cards import ADD, DISMISS, proposal_card
from bot.strings import strings_for

WHEN = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)


def test_the_wording_reads_as_typed_and_the_buttons_carry_the_proposal() -> None:
    card = proposal_card(proposal="ab12", wording="**Anna (support):** [login](https://evil.example)  failed",
                         title="Reset the MFA app", users=2, last_seen=WHEN, strings=strings_for("en-US"))
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts == {"Users pasted": "\\*\\*Anna (support):\\*\\* \\[login\\](https://evil.example) failed",
                     "Article": "Reset the MFA app", "Users": "2 users, last 2026-12-04 10:30 UTC"}
    assert [(a["title"], a["data"]) for a in card["actions"]] == [
        ("Add", {"insightDesk": ADD, "proposal": "ab12"}), ("Dismiss", {"insightDesk": DISMISS, "proposal": "ab12"})]


def test_a_decided_card_says_who_and_has_no_buttons_in_the_agents_language() -> None:
    strings = strings_for("sv-SE")
    card = proposal_card(proposal="ab12", wording="Åtkomsttoken kunde inte valideras", title="Fel vid validering",
                         users=3, last_seen=WHEN, strings=strings,
                         decision=strings.text("learn_added", agent="Anna"))
    assert "actions" not in card
    assert card["body"][0]["text"] == "Ny formulering för en artikel"
    assert card["body"][-1]["text"] == "Tillagd av Anna: den här formuleringen ger nu artikeln."
    assert card["fallbackText"].endswith("Tillagd av Anna: den här formuleringen ger nu artikeln.")
    assert proposal_card(proposal="x", wording="w", title="t", users=2, last_seen=WHEN,
                         strings=strings_for("ar-SA"))["rtl"] is True
