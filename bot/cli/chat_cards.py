"""What the terminal chat shows of an activity, and its buttons as numbered choices a person can type.

A card's buttons become ``Choice``s that send what the client would: ``Action.Submit`` its data (with the
card's inputs, asked for first, merged in; Teams' ``msteams`` ``imBack``/``messageBack`` data as text and
value), ``Action.Execute`` an ``adaptiveCard/action`` invoke, ``Action.ShowCard`` the buttons of the card it
shows; a hero card's or a suggestion's ``imBack``/``postBack`` its value as text, ``messageBack`` its text and
value. Links (``Action.OpenUrl``, ``openUrl``) are listed with their address, not numbered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botbuilder.schema import Activity

from bot import cards

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
SUBMIT_ACTIONS = frozenset({"Action.Submit", "Action.Execute"})
TEXT_ACTIONS = frozenset({"imBack", "postBack"})
"""Card actions (hero cards, suggestions) that send their value as the message's text."""


@dataclass(frozen=True)
class CardInput:
    """An input of a card the person fills in before its button is sent: text, or one of ``choices``."""

    id: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    """``(title, value)`` pairs of an ``Input.ChoiceSet``; empty for a text input."""
    default: str = ""


@dataclass(frozen=True)
class Choice:
    """One button: what pressing it sends (``text`` and/or ``value``; ``invoke`` for ``Action.Execute``)."""

    title: str
    text: str | None = None
    value: Any = None
    inputs: tuple[CardInput, ...] = ()
    """Inputs whose answers join ``value`` (``Action.Submit``, ``Action.Execute``)."""
    invoke: str | None = None
    """The verb of an ``Action.Execute``: the choice is sent as an ``adaptiveCard/action`` invoke."""

    def submitted(self, answers: Mapping[str, str]) -> Any:
        """The value sent with ``answers`` (input id → what was typed; empty answers left out) merged in."""
        filled = {key: text for key, text in answers.items() if text}
        if self.invoke is not None:
            data = {**(self.value if isinstance(self.value, dict) else {}), **filled}
            return {"action": {"type": "Action.Execute", "verb": self.invoke, "data": data}}
        if isinstance(self.value, dict):
            return {**self.value, **filled}
        if self.value is None and filled:
            return filled
        return self.value


@dataclass
class Shown:
    """An activity as the terminal shows it: its words, the buttons to number, its links."""

    text: str
    choices: list[Choice] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


def _get(item: Any, key: str) -> Any:
    """A field of a card action that botbuilder may hand over typed (``CardAction``) or as a dict."""
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def _elements(items: Any) -> Iterable[dict[str, Any]]:
    """Every element of a card body, depth first, through containers and column sets."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        yield item
        yield from _elements(item.get("items"))
        yield from _elements(item.get("columns"))


def _inputs(body: Any) -> tuple[CardInput, ...]:
    found = []
    for element in _elements(body):
        kind = str(element.get("type") or "")
        if not kind.startswith("Input.") or not element.get("id"):
            continue
        choices = tuple((str(c.get("title") or c.get("value")), str(c.get("value")))
                        for c in element.get("choices") or [] if isinstance(c, dict) and c.get("value") is not None)
        label = str(element.get("label") or element.get("placeholder") or element["id"])
        found.append(CardInput(str(element["id"]), label, choices, str(element.get("value") or "")))
    return tuple(found)


def _submit_choice(title: str, action: dict[str, Any], inputs: tuple[CardInput, ...]) -> Choice:
    data = action.get("data")
    if action.get("associatedInputs") == "none":
        inputs = ()
    teams = data.get("msteams") if isinstance(data, dict) else None
    if isinstance(teams, dict) and teams.get("type") == "imBack":
        return Choice(title, text=str(teams.get("value") or ""))
    if isinstance(teams, dict) and teams.get("type") == "messageBack":
        return Choice(title, text=teams.get("text"), value=teams.get("value"))
    if isinstance(data, str):  # a string as data is sent as the message's text
        return Choice(title, text=data)
    if action.get("type") == "Action.Execute":
        return Choice(title, value=data, inputs=inputs, invoke=str(action.get("verb") or ""))
    return Choice(title, value=data if data is not None else {}, inputs=inputs)


def adaptive_card_choices(card: Mapping[str, Any], *, prefix: str = "", inputs: tuple[CardInput, ...] = ()) -> \
        tuple[list[Choice], list[tuple[str, str]]]:
    """The card's buttons (those of an ``ActionSet`` in its body, then its actions) and its links."""
    body = card.get("body")
    inputs = inputs + _inputs(body)
    actions = [a for e in _elements(body) if e.get("type") == "ActionSet" for a in e.get("actions") or []]
    actions += card.get("actions") or []
    choices: list[Choice] = []
    links: list[tuple[str, str]] = []
    for action in actions:
        if not isinstance(action, dict):
            continue
        kind, title = action.get("type"), prefix + str(action.get("title") or "")
        if kind in SUBMIT_ACTIONS:
            choices.append(_submit_choice(title, action, inputs))
        elif kind == "Action.ShowCard" and isinstance(action.get("card"), dict):
            shown, shown_links = adaptive_card_choices(action["card"], prefix=f"{title} › ", inputs=inputs)
            choices += shown
            links += shown_links
        elif kind == "Action.OpenUrl" and action.get("url"):
            links.append((title, str(action["url"])))
    return choices, links


def card_action_choice(action: Any) -> Choice | tuple[str, str] | None:
    """A hero card's button or a suggestion (``CardAction``): a choice, a ``(title, url)`` link, or ``None``."""
    kind, title, value = _get(action, "type"), str(_get(action, "title") or ""), _get(action, "value")
    if kind in TEXT_ACTIONS:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return Choice(title or text, text=text)
    if kind == "messageBack":
        return Choice(title or str(_get(action, "display_text") or _get(action, "text") or ""),
                      text=_get(action, "text"), value=value)
    if kind == "openUrl" and value:
        return (title or str(value), str(value))
    return None


def _language_commands(card: Mapping[str, Any]) -> list[str]:
    """The language picker's choices as the command a person can type instead."""
    found = []
    for action in card.get("actions") or []:
        if isinstance(action, dict) and action.get("type") == "Action.ShowCard":
            for element in _elements(action.get("card", {}).get("body")):
                if element.get("type") == "Input.ChoiceSet" and element.get("id") == cards.LANGUAGE_INPUT:
                    found += [f"/language {c['value']} ({c['title']})" for c in element.get("choices") or []]
    return found


def shown(activity: Activity) -> Shown:
    """The activity's text, each card's markdown fallback (and language commands), buttons and links."""
    result = Shown("")
    parts = [str(activity.text)] if activity.text else []
    for attachment in activity.attachments or []:
        content: Any = attachment.content
        if not isinstance(content, dict):
            continue
        if attachment.content_type == ADAPTIVE_CARD or content.get("type") == "AdaptiveCard":
            parts.append(str(content.get("fallbackText") or json.dumps(content, ensure_ascii=False)))
            commands = _language_commands(content)
            if commands:
                parts.append("\n" + " · ".join(commands))
            choices, links = adaptive_card_choices(content)
            result.choices += choices
            result.links += links
        else:  # a hero or thumbnail card
            parts += [str(content[key]) for key in ("title", "subtitle", "text") if content.get(key)]
            _add_card_actions(result, content.get("buttons"))
    suggested = activity.suggested_actions
    _add_card_actions(result, _get(suggested, "actions") if suggested is not None else None)
    result.text = "\n".join(parts)
    return result


def _add_card_actions(result: Shown, actions: Any) -> None:
    for action in actions if isinstance(actions, list) else []:
        made = card_action_choice(action)
        if isinstance(made, Choice):
            result.choices.append(made)
        elif made is not None:
            result.links.append(made)


def numbered(choices: list[Choice], links: list[tuple[str, str]], start: int = 1) -> str:
    """The choices as ``  1) title`` lines numbered from ``start``, then the links."""
    lines = [f"  {n}) {c.title}" for n, c in enumerate(choices, start)]
    lines += [f"  ↗ {title}: {url}" for title, url in links]
    return "\n".join(lines)


__all__ = ["CardInput", "Choice", "Shown", "adaptive_card_choices", "card_action_choice", "numbered", "shown"]
