"""What the bot sends for an engine answer: the answer, "Is this it?" and "did you mean" replies, each as an
Adaptive Card where the channel renders cards and as markdown text elsewhere (only the one that is sent is built).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity

from bot import cards
from bot.strings import Strings, strings_for
from bot.turn_input import TurnInput
from knowledge.engine import KnowledgeEngine
from knowledge.locales import language_name, localize_links, native_language_name
from knowledge.model import Answer, Match

__all__ = ["CARD_CHANNELS", "Reply", "answer_reply", "renders_cards", "send_reply", "suggestions_reply",
           "tentative_reply"]

CARD_CHANNELS = frozenset({"msteams", "webchat", "emulator", "directline", "test", "cli"})
"""Channels that render Adaptive Cards; others get the markdown rendering as text."""

Reply = dict[str, Any] | str
"""A card (a dict) or markdown text (a string)."""


def renders_cards(turn_context: TurnContext) -> bool:
    """Whether the turn's channel renders Adaptive Cards."""
    return (turn_context.activity.channel_id or "") in CARD_CHANNELS


async def send_reply(turn_context: TurnContext, reply: Reply) -> None:
    """A card as an attachment, markdown as text."""
    if isinstance(reply, dict):
        activity: Activity = MessageFactory.attachment(CardFactory.adaptive_card(reply))
    else:
        activity = MessageFactory.text(reply)
        activity.text_format = "markdown"
    await turn_context.send_activity(activity)


def _note(answer: Answer, strings: Strings) -> str:
    wanted = language_name(answer.wanted_locale, strings.locale) if answer.fell_back else None
    return cards.answer_note(strings, language_name(answer.reply_locale, strings.locale), wanted)


def answer_reply(answer: Answer, *, query: str, as_card: bool) -> Reply | None:
    """The answer card (or its markdown), in the answer's words; ``None`` when it names no article."""
    article = answer.article
    if article is None:
        return None
    reply = answer.reply_locale
    strings = strings_for(answer.words_locale)
    note = _note(answer, strings)
    body = localize_links(article.body, reply)
    title = article.heading or article.title
    if not as_card:
        return cards.answer_markdown(title=title, body=body, locale=reply, note=note, strings=strings)
    others = [loc for loc in answer.article_locales if loc != reply]
    languages = sorted(((loc, native_language_name(loc)) for loc in others), key=lambda pair: pair[1])
    return cards.answer_card(
        article_id=article.id, title=title, body=body, locale=reply, note=note,
        query=query, strings=strings, languages=languages,
    )


def _choices(engine: KnowledgeEngine, turn: TurnInput, matches: Sequence[Match],
             strings: Strings) -> list[cards.Choice]:
    """Each match's heading in the language its answer would be shown in, were it chosen."""
    choices = []
    for match in matches:
        shown = engine.present(match.article_id, locale=turn.remembered_locale or strings.locale,
                               client_locale=turn.client_locale)
        article = shown.article if shown is not None else None
        heading = (article.heading or article.title) if article is not None else ""
        choices.append(cards.Choice(match.article_id, heading or match.article_id))
    return choices


def suggestions_reply(engine: KnowledgeEngine, turn: TurnInput, answer: Answer, *, query: str,
                      as_card: bool) -> Reply:
    """"Did you mean": the three best articles as choices."""
    strings = strings_for(answer.words_locale)
    choices = _choices(engine, turn, answer.matches[:3], strings)
    if as_card:
        return cards.suggest_card(choices, query=query, strings=strings)
    return cards.suggest_markdown(choices, strings=strings)


def tentative_reply(engine: KnowledgeEngine, turn: TurnInput, answer: Answer, *, query: str,
                    as_card: bool) -> Reply:
    """The leading article's explanation with "Is this it?" and the runners-up as buttons (plain "did you
    mean" when the answer names no article)."""
    article = answer.article
    if article is None:
        return suggestions_reply(engine, turn, answer, query=query, as_card=as_card)
    reply = answer.reply_locale
    strings = strings_for(answer.words_locale)
    note = _note(answer, strings)
    others = _choices(engine, turn, answer.matches[1:3], strings)
    title, body = article.heading or article.title, localize_links(article.body, reply)
    if as_card:
        return cards.tentative_card(article_id=article.id, title=title, body=body, locale=reply, note=note,
                                    query=query, strings=strings, others=others)
    return cards.tentative_markdown(title=title, body=body, locale=reply, note=note, strings=strings, others=others)
