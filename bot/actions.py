"""Every card button the bot's cards carry: declared once (name, owner, handler), dispatched once.

A button's data names its action under ``bot.cards.ACTION_KEY``. The plugin builds one
``ActionRegistry`` (``InsightDesk.actions``) from its own handlers and escalation's, and hands a
pressed button (``TurnInput.action``) to it, whether it came as ``Action.Submit`` (a message) or
``Action.Execute`` (an invoke).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from botbuilder.core import TurnContext

from bot.turn_input import TurnInput

if TYPE_CHECKING:
    from bot.escalation import Escalation
    from bot.feedback.proposals import LearningLoop

__all__ = ["DESK_ACTIONS", "ActionHandler", "ActionRegistry", "CardAction", "Owner",
           "escalation_actions", "learning_actions"]

ActionHandler = Callable[[TurnContext, TurnInput], Awaitable[bool]]
"""Handles one pressed button; ``False`` when it did not (the plugin then says it did not understand)."""


class Owner(StrEnum):
    """Who answers a button."""

    DESK = "insight-desk"
    ESCALATION = "escalation"
    LEARNING = "learning"


DESK_ACTIONS = ("choose", "language", "helped", "not_helped", "escalate")
"""The answer, suggestion and not-found cards' buttons (``bot.cards``)."""


@dataclass(frozen=True)
class CardAction:
    """One button: its name in the card's data, who owns it, what handles it."""

    name: str
    owner: Owner
    handler: ActionHandler


class ActionRegistry:
    """The buttons the bot answers, by name; a name is declared once."""

    def __init__(self, actions: Iterable[CardAction]) -> None:
        self._actions: dict[str, CardAction] = {}
        for action in actions:
            if action.name in self._actions:
                raise ValueError(f"card action {action.name!r} is declared twice "
                                 f"({self._actions[action.name].owner} and {action.owner})")
            self._actions[action.name] = action

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def owners(self) -> Mapping[str, Owner]:
        """Each declared action's owner."""
        return {name: action.owner for name, action in self._actions.items()}

    async def dispatch(self, turn_context: TurnContext, turn: TurnInput) -> bool:
        """Hand the turn's button to its one handler; ``False`` for a name nobody declared."""
        action = self._actions.get(turn.action or "")
        return action is not None and await action.handler(turn_context, turn)


def escalation_actions(escalation: Escalation) -> list[CardAction]:
    """Escalation's buttons (``Escalation.card_actions``: the confirmation card's, the ticket card's and the
    resolved note's), each answered by ``Escalation.on_card_action`` in the turn's words."""

    async def handle(turn_context: TurnContext, turn: TurnInput) -> bool:
        return await escalation.on_card_action(turn_context, turn.action_data, turn.strings)

    return [CardAction(name, Owner.ESCALATION, handle) for name in sorted(escalation.card_actions)]


def learning_actions(learning: LearningLoop) -> list[CardAction]:
    """The proposal card's Add and Dismiss (agents only: ``LearningLoop.on_card_action`` checks who pressed)."""
    from bot.feedback.proposal_cards import ADD, DISMISS

    async def handle(turn_context: TurnContext, turn: TurnInput) -> bool:
        return await learning.on_card_action(turn_context, turn.action_data)

    return [CardAction(name, Owner.LEARNING, handle) for name in (ADD, DISMISS)]
