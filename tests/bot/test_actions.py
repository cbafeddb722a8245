"""The card-action registry: every button the bot's cards carry is declared once, with its owner, and a
pressed button reaches exactly one handler."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import MemoryStorage, TurnContext
from botbuilder.core.adapters import TestAdapter

from bot import cards
from bot.actions import ActionRegistry, CardAction, Owner
from bot.escalation import Escalation
from bot.plugin import InsightDesk
from bot.stores.memory import MemoryFeedbackStore
from bot.strings import Strings, strings_for
from bot.turn_input import TurnInput
from knowledge.engine import KnowledgeEngine
from tests.bot.plugin_turns import message, replies

ESCALATION = Path(__file__).resolve().parents[2] / "bot" / "escalation"
_WRITTEN = re.compile(r"""\baction_data\(\s*"(\w+)"|, "(\w+)", \w+\.number\)""")
"""Where escalation writes an action name into a button: ``action_data("take", …)`` (its cards) and
``(title, "end", ticket.number)`` (the notices the relay sends users)."""


def _actions_of(card: dict[str, Any]) -> set[str]:
    found = set()
    for action in card.get("actions", []):
        if action["type"] == "Action.Submit":
            found.add(action["data"][cards.ACTION_KEY])
        elif action["type"] == "Action.ShowCard":
            found |= _actions_of(action["card"])
    return found


def written_actions() -> dict[str, Owner]:
    """Each action name a card of the bot carries, and who writes it: the plugin's cards, built here,
    and escalation's, read from its source."""
    strings = strings_for("en-US")
    desk_cards = [
        cards.answer_card(article_id="a", title="t", body="b", locale="en-US", note="n", query="q", strings=strings,
                          languages=[("sv-SE", "Svenska")]),
        cards.suggest_card([cards.Choice("a", "t")], query="q", strings=strings),
        cards.not_found_card(query="q", strings=strings),
        cards.escalate_card(query="q", article_id="a", strings=strings),
    ]
    found = {name: Owner.DESK for card in desk_cards for name in _actions_of(card)}
    for path in ESCALATION.rglob("*.py"):
        for match in _WRITTEN.finditer(path.read_text(encoding="utf-8")):
            found[match.group(1) or match.group(2)] = Owner.ESCALATION
    return found


def test_every_button_the_cards_carry_is_declared_once_with_its_owner(engine: KnowledgeEngine) -> None:
    storage = MemoryStorage()
    desk = InsightDesk(engine, storage, MemoryFeedbackStore(), Escalation(storage))
    written = written_actions()
    assert {"choose", "helped", "escalate", "escalate_confirm", "take", "end", "reopen"} <= set(written)
    owners = desk.actions.owners()
    assert owners == written


def test_without_escalation_its_buttons_are_not_declared(engine: KnowledgeEngine) -> None:
    desk = InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore())
    assert set(desk.actions.owners().values()) == {Owner.DESK}
    assert "take" not in desk.actions


def test_an_action_declared_twice_is_refused() -> None:
    async def handler(turn_context: TurnContext, turn: TurnInput) -> bool:
        return True

    with pytest.raises(ValueError, match="'take' is declared twice"):
        ActionRegistry([CardAction("take", Owner.ESCALATION, handler), CardAction("take", Owner.DESK, handler)])


class CountingEscalation(Escalation):
    """Escalation that counts how often it is asked about a button and about a message."""

    def __init__(self, storage: MemoryStorage) -> None:
        super().__init__(storage)
        self.asked: list[str] = []

    async def on_card_action(self, turn_context: TurnContext, data: Mapping[str, Any], strings: Strings) -> bool:
        self.asked.append(f"card:{data[cards.ACTION_KEY]}")
        return await super().on_card_action(turn_context, data, strings)

    async def on_message(self, turn_context: TurnContext, strings: Strings) -> bool:
        self.asked.append("message")
        return await super().on_message(turn_context, strings)


async def test_a_pressed_button_is_dispatched_once_to_its_owner(engine: KnowledgeEngine) -> None:
    storage = MemoryStorage()
    escalation = CountingEscalation(storage)
    desk = InsightDesk(engine, storage, MemoryFeedbackStore(), escalation)

    async def turn(turn_context: TurnContext) -> None:
        await desk.on_message(turn_context)

    adapter = TestAdapter(turn)
    await adapter.send(message(value={cards.ACTION_KEY: "escalate_cancel", "locale": "sv-SE"}))
    assert [a.text for a in replies(adapter)] == ["Okej, jag har inte kontaktat supporten."]
    await adapter.send(message(value={cards.ACTION_KEY: "helped", "article": "a", "locale": "sv-SE"}))
    assert [a.text for a in replies(adapter)] == ["Tack för att du berättade!"]
    # escalation's button went to escalation once; the plugin's own never asked escalation
    assert escalation.asked == ["card:escalate_cancel"]
