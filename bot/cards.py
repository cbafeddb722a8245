"""Adaptive Cards (schema 1.5) and their markdown fallbacks: pure functions of data, no I/O.

Every card carries ``fallbackText`` (its markdown rendering) and stays under ``MAX_CARD_BYTES`` when
serialized the way the connector sends it (JSON with non-ASCII escaped), so a reply with the card stays
well under Teams' 28 KB message limit whatever the article's length or script.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.strings import N_, Strings
from knowledge.locales import is_right_to_left, localize_docs_url

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_CARD_BYTES = 20_000
"""A card's serialized size, ``fallbackText`` included; the activity around it adds about 1 KB."""
MAX_BODY_CHARS = 3000
"""Article text shown on a card before the size budget is applied; long cards read badly."""
MIN_BODY_CHARS = 200
MAX_TITLE_CHARS = 300
MAX_BUTTON_CHARS = 80
MAX_LINK_BUTTONS = 2
MAX_QUERY_IN_DATA = 200
"""How much of the user's query a button carries back (for feedback records); the rest is not needed."""
ACTION_KEY = "insightDesk"
"""The key in ``Action.Submit`` data that marks an Insight Desk action; its value names the action."""
LANGUAGE_INPUT = "locale"
"""The language picker's input id: the client merges the chosen locale into the submitted data."""
DOCS_BASE = "https://learn.microsoft.com"

_LABEL = r"((?:[^\[\]\n]|\[[^\[\]\n]*\])*)"
"""A link's or image's text, which may hold one level of brackets: ``[[Settings] > [Display]](...)``."""
_IMAGE = re.compile(rf"!\[{_LABEL}\]\([^)\n]*\)|<img\b[^>]*>", re.IGNORECASE)
_EMPTY_LINK = re.compile(r"\[\s*\]\([^)\n]*\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_ALERT = re.compile(r"^\s*>\s*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*$", re.IGNORECASE | re.MULTILINE)
_VIDEO = re.compile(r"^\s*>?\s*\[!VIDEO\s+(https?://\S+?)\s*\]\s*$", re.IGNORECASE | re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*$\n?", re.MULTILINE)
_CODE = re.compile(r"`([^`\n]+)`")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$\n?", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\|(.*)\|[ \t]*$", re.MULTILINE)
_RELATIVE_LINK = re.compile(rf"(?<!!)\[{_LABEL}\]\((?!https?:|mailto:)([^)\s]*)(?:\s+\"[^\"\n]*\")?\)")
_LINK = re.compile(rf"(?<!!)\[{_LABEL}\]\((\s*https?://[^)\s]+)(?:\s+\"[^\"\n]*\")?\s*\)")
_LINK_TARGET_SPACE = re.compile(r"\]\([ \t]+")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Choice:
    """An article offered on a card: its id and the title to show."""

    article_id: str
    title: str


# -- markdown for TextBlocks ----------------------------------------------------------------------


def _table_row(match: re.Match[str]) -> str:
    cells = [cell.strip() for cell in match.group(1).split("|")]
    return " · ".join(cell for cell in cells if cell)


def _relative_link(match: re.Match[str], locale: str) -> str:
    text, target = match.group(1), match.group(2)
    if target.startswith("/") and not target.startswith("//"):
        return f"[{text}]({localize_docs_url(DOCS_BASE + target, locale)})"
    return text  # a link into the docs repository (``../x.md``, ``#anchor``): its text is what helps


def card_markdown(markdown: str, locale: str) -> str:
    """Article markdown rewritten to the subset Adaptive Card TextBlocks render.

    TextBlocks render bold, italic, lists and ``[text](url)`` links. Headings become bold lines,
    tables become one line per row, docfx alerts and block quotes lose their markers, code loses its
    fences and backticks, images go, ``<url>`` autolinks and site-relative docs links (``/azure/...``)
    become absolute links on learn.microsoft.com in ``locale``.
    """
    text = _LINK_TARGET_SPACE.sub("](", markdown.replace("\r\n", "\n"))
    text = _IMAGE.sub("", text)
    text = _EMPTY_LINK.sub("", text)
    text = _BREAK.sub("\n", text)
    text = _AUTOLINK.sub(lambda m: f"[{m.group(1)}]({m.group(1)})", text)
    text = _VIDEO.sub(lambda m: f"[{m.group(1)}]({m.group(1)})", text)
    text = _ALERT.sub("", text)
    text = _QUOTE.sub("", text)
    text = _HEADING.sub(lambda m: f"**{m.group(1)}**", text)
    text = _FENCE.sub("", text)
    text = _CODE.sub(lambda m: m.group(1), text)
    text = _TABLE_RULE.sub("", text)
    text = _TABLE_ROW.sub(_table_row, text)
    text = _RELATIVE_LINK.sub(lambda m: _relative_link(m, locale), text)
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def cut(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters at a line or word end; ``(text, was_cut)``."""
    if len(text) <= limit:
        return text, False
    end = text.rfind("\n", 0, limit)
    if end <= limit // 2:
        end = text.rfind(" ", 0, limit)
    if end <= limit // 2:
        end = limit - 1  # no break near the end (CJK text has no spaces): cut mid-line
    return text[:end].rstrip() + " …", True


def links(markdown: str, limit: int = MAX_LINK_BUTTONS) -> list[tuple[str, str]]:
    """The first ``limit`` distinct ``(text, url)`` links of a markdown text."""
    found: list[tuple[str, str]] = []
    for m in _LINK.finditer(markdown):
        url = m.group(2).strip()
        if all(url != u for _, u in found):
            label = m.group(1).strip().strip("*_").rstrip(".。:：").strip() or url
            found.append((label, url))
        if len(found) == limit:
            break
    return found


def wire_size(card: dict[str, Any]) -> int:
    """Bytes the card takes in a reply: JSON with non-ASCII escaped, as the connector client sends it."""
    return len(json.dumps(card))


# -- building blocks ------------------------------------------------------------------------------


def _data(action: str, **fields: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {ACTION_KEY: action}
    for key, value in fields.items():
        if value is not None:
            data[key] = value[:MAX_QUERY_IN_DATA] if key == "query" else value
    return data


def adaptive_card(body: list[dict[str, Any]], actions: list[dict[str, Any]], fallback: str, *, locale: str,
                  full_width: bool = False) -> dict[str, Any]:
    """A 1.5 card; ``"rtl": true`` (right-to-left layout) when ``locale``, its text's language, is
    written right to left. Left-to-right cards do not carry the key."""
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.5", "body": body}
    if is_right_to_left(locale):
        card["rtl"] = True
    if actions:
        card["actions"] = actions
    card["fallbackText"] = fallback
    if full_width:
        card["msteams"] = {"width": "Full"}  # Teams draws cards narrow unless asked; other hosts ignore this
    return card


def text_block(text: str, **style: Any) -> dict[str, Any]:
    """A wrapping ``TextBlock``; ``style`` adds its other properties (weight, size, …)."""
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def submit_button(title: str, data: dict[str, Any]) -> dict[str, Any]:
    """An ``Action.Submit`` carrying ``data``, its title cut to ``MAX_BUTTON_CHARS``."""
    return {"type": "Action.Submit", "title": _short(title, MAX_BUTTON_CHARS), "data": data}


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- answers --------------------------------------------------------------------------------------


def answer_note(strings: Strings, language: str, wanted_language: str | None) -> str:
    """The line under the title: which language, and why it is not the one wanted."""
    if wanted_language:
        return strings.text("fell_back", wanted=wanted_language, language=language)
    return strings.text("answer_in", language=language)


def _answer_markdown(title: str, note: str, text: str, was_cut: bool, strings: Strings) -> str:
    tail = f"\n\n_{strings.text('truncated')}_" if was_cut else ""
    return f"**{title}**\n\n_{note}_\n\n{text}{tail}"


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
    """The answer: title, language note, explanation, link buttons, feedback actions, language picker.

    ``body`` is the article's markdown with its links already localized to ``locale``; ``languages``
    lists the other ``(locale, name in that language)`` versions the user may switch to. The body is
    shortened (with a note that the article continues online) until the card fits ``MAX_CARD_BYTES``.
    """
    title = _short(title, MAX_TITLE_CHARS)
    markdown = card_markdown(body, locale)
    actions: list[dict[str, Any]] = [
        {"type": "Action.OpenUrl", "title": _short(label, MAX_BUTTON_CHARS), "url": url}
        for label, url in links(markdown)
    ]
    actions += [
        submit_button(strings.text(key), _data(action, article=article_id, query=query, locale=locale))
        for key, action in ((N_("helped"), "helped"), (N_("not_helped"), "not_helped"),
                            (N_("talk_to_person"), "escalate"))
    ]
    if languages:
        picker = {
            "type": "AdaptiveCard",
            "body": [{
                "type": "Input.ChoiceSet", "id": LANGUAGE_INPUT, "style": "compact", "value": languages[0][0],
                "label": strings.text("change_language"),
                "choices": [{"title": name, "value": loc} for loc, name in languages],
            }],
            "actions": [
                submit_button(strings.text("show_language"), _data("language", article=article_id, query=query)),
            ],
        }
        actions.append({"type": "Action.ShowCard", "title": strings.text("change_language"), "card": picker})

    limit = MAX_BODY_CHARS
    while True:
        text, was_cut = cut(markdown, limit)
        blocks = [
            text_block(title, weight="Bolder", size="Medium", style="heading"),
            text_block(note, isSubtle=True, size="Small", spacing="None"),
            text_block(text),
        ]
        if was_cut:
            blocks.append(text_block(strings.text("truncated"), isSubtle=True, size="Small"))
        card = adaptive_card(blocks, actions, _answer_markdown(title, note, text, was_cut, strings), locale=locale,
                     full_width=True)
        size = wire_size(card)
        if size <= MAX_CARD_BYTES or limit <= MIN_BODY_CHARS:
            return card
        limit = max(MIN_BODY_CHARS, min(limit - 100, int(limit * MAX_CARD_BYTES / size * 0.95)))


def answer_markdown(*, title: str, body: str, locale: str, note: str, strings: Strings,
                    limit: int = MAX_BODY_CHARS) -> str:
    """The same answer as markdown, for channels that do not render cards."""
    text, was_cut = cut(card_markdown(body, locale), limit)
    return _answer_markdown(_short(title, MAX_TITLE_CHARS), note, text, was_cut, strings)


def tentative_card(
    *,
    article_id: str,
    title: str,
    body: str,
    locale: str,
    note: str,
    query: str,
    strings: Strings,
    others: list[Choice],
) -> dict[str, Any]:
    """One article clearly leads but is not sure enough to answer: its explanation under a plain "Is this
    it?", "this helped" / "this didn't help", and the runners-up (``others``) as buttons that answer them.

    ``body`` is the article's markdown in ``locale`` with links localized, as for ``answer_card``; the
    body is shortened the same way until the card fits ``MAX_CARD_BYTES``.
    """
    title = _short(title, MAX_TITLE_CHARS)
    markdown = card_markdown(body, locale)
    actions = [
        submit_button(strings.text(key), _data(action, article=article_id, query=query, locale=locale))
        for key, action in ((N_("helped"), "helped"), (N_("not_helped"), "not_helped"))
    ]
    actions.append(submit_button(strings.text("talk_to_person"),
                                 _data("escalate", article=article_id, query=query, locale=strings.locale)))
    choices = [submit_button(c.title, _data("choose", article=c.article_id, query=query, locale=strings.locale))
               for c in others]
    limit = MAX_BODY_CHARS
    while True:
        text, was_cut = cut(markdown, limit)
        blocks = [
            text_block(strings.text("is_this_it"), weight="Bolder", size="Medium", style="heading"),
            text_block(title, weight="Bolder"),
            text_block(note, isSubtle=True, size="Small", spacing="None"),
            text_block(text),
        ]
        if was_cut:
            blocks.append(text_block(strings.text("truncated"), isSubtle=True, size="Small"))
        if choices:
            blocks += [text_block(strings.text("other_choices"), separator=True),
                       {"type": "ActionSet", "actions": choices}]
        fallback = _tentative_markdown(title, note, text, was_cut, others, strings)
        card = adaptive_card(blocks, actions, fallback, locale=locale, full_width=True)
        size = wire_size(card)
        if size <= MAX_CARD_BYTES or limit <= MIN_BODY_CHARS:
            return card
        limit = max(MIN_BODY_CHARS, min(limit - 100, int(limit * MAX_CARD_BYTES / size * 0.95)))


def _tentative_markdown(title: str, note: str, text: str, was_cut: bool, others: list[Choice],
                        strings: Strings) -> str:
    answer = _answer_markdown(title, note, text, was_cut, strings)
    items = "\n".join(f"{i}. {_short(c.title, MAX_TITLE_CHARS)}" for i, c in enumerate(others, 1))
    tail = f"\n\n**{strings.text('other_choices')}**\n\n{items}" if others else ""
    return f"**{strings.text('is_this_it')}**\n\n{answer}{tail}"


def tentative_markdown(*, title: str, body: str, locale: str, note: str, strings: Strings, others: list[Choice],
                       limit: int = MAX_BODY_CHARS) -> str:
    """The same tentative answer as markdown, for channels that do not render cards."""
    text, was_cut = cut(card_markdown(body, locale), limit)
    return _tentative_markdown(_short(title, MAX_TITLE_CHARS), note, text, was_cut, others, strings)


# -- the other replies -----------------------------------------------------------------------------


def suggest_card(choices: list[Choice], *, query: str, strings: Strings) -> dict[str, Any]:
    """"Did you mean…": one button per candidate article; choosing one answers it."""
    actions = [submit_button(c.title, _data("choose", article=c.article_id, query=query, locale=strings.locale))
               for c in choices]
    actions.append(submit_button(strings.text("talk_to_person"), _data("escalate", query=query, locale=strings.locale)))
    return adaptive_card([text_block(strings.text("did_you_mean"), weight="Bolder")], actions,
                 suggest_markdown(choices, strings=strings), locale=strings.locale)


def suggest_markdown(choices: list[Choice], *, strings: Strings) -> str:
    items = "\n".join(f"{i}. {_short(c.title, MAX_TITLE_CHARS)}" for i, c in enumerate(choices, 1))
    return f"**{strings.text('did_you_mean')}**\n\n{items}"


def not_found_card(*, query: str, strings: Strings, text: str | None = None) -> dict[str, Any]:
    """Nothing matched: say so (``text``, else the catalog's ``not_found``) and offer a person."""
    offer = submit_button(strings.text("talk_to_person"), _data("escalate", query=query, locale=strings.locale))
    said = text or strings.text("not_found")
    return adaptive_card([text_block(said)], [offer], said, locale=strings.locale)


def welcome_card(*, strings: Strings) -> dict[str, Any]:
    """The greeting on install: what the bot does and how to choose its language."""
    blocks = [text_block(strings.text("welcome_title"), weight="Bolder", size="Medium", style="heading"),
              text_block(strings.text("welcome_text"))]
    return adaptive_card(blocks, [], welcome_markdown(strings=strings), locale=strings.locale)


def welcome_markdown(*, strings: Strings) -> str:
    return f"**{strings.text('welcome_title')}**\n\n{strings.text('welcome_text')}"


def escalate_card(*, query: str, article_id: str | None, strings: Strings) -> dict[str, Any]:
    """Offered after "this didn't help": one button to reach a person."""
    return adaptive_card([text_block(strings.text("sorry_not_helped"))],
                 [submit_button(strings.text("talk_to_person"),
                          _data("escalate", article=article_id, query=query, locale=strings.locale))],
                 strings.text("sorry_not_helped"), locale=strings.locale)
