"""Adaptive Cards (schema 1.5) and their markdown fallbacks: pure functions of data, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.strings import Strings

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_BODY_CHARS = 3000
"""Article text shown on a card; Teams rejects messages over ~28 KB and long cards read badly."""
MAX_LINK_BUTTONS = 2
MAX_QUERY_IN_DATA = 500
ACTION_KEY = "insightDesk"

_LINK = re.compile(r"(?<!!)\[([^\]\n]{1,200})\]\((\s*https?://[^)\s]+)\s*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_HEADING = re.compile(r"^#{1,6}\s*(.+?)\s*#*$", re.MULTILINE)


@dataclass(frozen=True)
class Choice:
    """An article offered on a card: its id and the title to show."""

    article_id: str
    title: str


def card_markdown(markdown: str, limit: int = MAX_BODY_CHARS) -> tuple[str, bool]:
    """Markdown reduced to what Adaptive Card TextBlocks render, cut at ``limit``; ``(text, was_cut)``."""
    text = _IMAGE.sub("", markdown)
    text = _HEADING.sub(lambda m: f"**{m.group(1)}**", text)
    if len(text) <= limit:
        return text.strip(), False
    cut = text.rfind("\n", 0, limit)
    cut = cut if cut > limit // 2 else text.rfind(" ", 0, limit)
    return text[: max(cut, 1)].rstrip() + " …", True


def links(markdown: str, limit: int = MAX_LINK_BUTTONS) -> list[tuple[str, str]]:
    """The first distinct ``(text, url)`` links of a markdown text."""
    found: list[tuple[str, str]] = []
    for m in _LINK.finditer(markdown):
        url = m.group(2).strip()
        if all(url != u for _, u in found):
            found.append((m.group(1).strip().rstrip(".。"), url))
        if len(found) == limit:
            break
    return found


def _data(action: str, **fields: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {ACTION_KEY: action}
    data.update({k: (v[:MAX_QUERY_IN_DATA] if k == "query" and v else v) for k, v in fields.items()})
    return data


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.5", "body": body}
    if actions:
        card["actions"] = actions
    return card


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _submit(title: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": title, "data": data}


def answer_note(strings: Strings, language: str, wanted_language: str | None) -> str:
    """The line under the title: which language, and why it is not the one wanted."""
    if wanted_language:
        return strings.text("fell_back", wanted=wanted_language, language=language)
    return strings.text("answer_in", language=language)


def answer_card(
    *,
    article_id: str,
    title: str,
    body: str,
    locale: str,
    note: str,
    query: str,
    strings: Strings,
    languages: list[tuple[str, str]],
) -> dict[str, Any]:
    """The answer: title, language note, explanation, link buttons, feedback and language actions.

    ``body`` is the article's markdown with links already localized; ``languages`` lists the
    other ``(locale, native name)`` versions the user may switch to.
    """
    text, cut = card_markdown(body)
    blocks = [
        _text(title, weight="Bolder", size="Medium"),
        _text(note, isSubtle=True, size="Small", spacing="None"),
        _text(text),
    ]
    if cut:
        blocks.append(_text(strings.text("truncated"), isSubtle=True, size="Small"))
    actions: list[dict[str, Any]] = [
        {"type": "Action.OpenUrl", "title": label[:60], "url": url} for label, url in links(body)
    ]
    actions += [
        _submit(strings.text("helped"), _data("helped", article=article_id, query=query, locale=locale)),
        _submit(strings.text("not_helped"), _data("not_helped", article=article_id, query=query, locale=locale)),
        _submit(strings.text("talk_to_person"), _data("escalate", article=article_id, query=query, locale=locale)),
    ]
    if languages:
        picker = _card(
            [],
            [_submit(name, _data("language", article=article_id, query=query, locale=loc)) for loc, name in languages],
        )
        actions.append({"type": "Action.ShowCard", "title": strings.text("change_language"), "card": picker})
    return _card(blocks, actions)


def answer_markdown(*, title: str, body: str, note: str, strings: Strings) -> str:
    """The same answer as markdown, for channels that do not render cards."""
    text, cut = card_markdown(body)
    tail = f"\n\n_{strings.text('truncated')}_" if cut else ""
    return f"**{title}**\n\n_{note}_\n\n{text}{tail}"


def suggest_card(choices: list[Choice], *, query: str, strings: Strings) -> dict[str, Any]:
    """"Did you mean…": one button per candidate article; choosing one answers it."""
    actions = [_submit(c.title[:80], _data("choose", article=c.article_id, query=query, locale=strings.locale))
               for c in choices]
    actions.append(_submit(strings.text("talk_to_person"), _data("escalate", query=query, locale=strings.locale)))
    return _card([_text(strings.text("did_you_mean"), weight="Bolder")], actions)


def suggest_markdown(choices: list[Choice], *, strings: Strings) -> str:
    items = "\n".join(f"{i}. {c.title}" for i, c in enumerate(choices, 1))
    return f"**{strings.text('did_you_mean')}**\n\n{items}"


def not_found_card(*, query: str, strings: Strings) -> dict[str, Any]:
    """Nothing matched: say so and offer a person."""
    offer = _submit(strings.text("talk_to_person"), _data("escalate", query=query, locale=strings.locale))
    return _card([_text(strings.text("not_found"))], [offer])


def welcome_card(*, strings: Strings) -> dict[str, Any]:
    return _card([_text(strings.text("welcome_title"), weight="Bolder", size="Medium"),
                  _text(strings.text("welcome_text"))], [])


def welcome_markdown(*, strings: Strings) -> str:
    return f"**{strings.text('welcome_title')}**\n\n{strings.text('welcome_text')}"


def escalate_card(*, query: str, article_id: str | None, strings: Strings) -> dict[str, Any]:
    """Offered after "this didn't help": one button to reach a person."""
    return _card([_text(strings.text("sorry_not_helped"))],
                 [_submit(strings.text("talk_to_person"),
                          _data("escalate", article=article_id, query=query, locale=strings.locale))])
