"""Alternate texts learned from users: the errors they pasted that the bot did not answer outright, and
the article they then picked from "did you mean" or said helped.

    texts = learned_alternates(engine, load_events(settings.state_store), min_users=2)
    print(format_alternates(texts))     # alternate-texts.yaml entries, for a person to review and add

A text is proposed when at least ``min_users`` different users picked the same article for it or said
it helped, more users did so than said it did not help, and the knowledge base does not already answer
it with that article. Nothing is added by itself: a person reads the list and copies what is right into a folder's
``alternate-texts.yaml`` (see ``knowledge.alternates``), which the bot then matches like a heading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.feedback.events import FeedbackEvent, FeedbackKind, query_key
from knowledge.alternates import MAX_ALTERNATE_CHARS
from knowledge.engine import KnowledgeEngine
from knowledge.locales import canonical_locale
from knowledge.model import ENGLISH, Tier
from knowledge.normalize import clean_paste

__all__ = ["LearnedText", "format_alternates", "learned_alternates"]

MIN_USERS = 2
"""Different users who must have found an article for a text before it is proposed."""
FOUND_IT = (FeedbackKind.HELPED, FeedbackKind.CHOSEN)
"""What says a user found the article for their text: they said it helped, or picked it from "did you mean"."""


@dataclass(frozen=True)
class LearnedText:
    """One proposed alternate text: the article, the locale to file it under, and who backs it."""

    article_id: str
    locale: str
    text: str
    users: int
    last_seen: datetime


def _who(event: FeedbackEvent) -> str:
    return event.user_id or event.conversation_id or ""


def _locale(engine: KnowledgeEngine, text: str, article_id: str, said: str | None) -> str | None:
    """Where the text belongs: the language of the article's text it matched best, else the reply's locale."""
    for match in engine.match(text, limit=10):
        if match.article_id == article_id:
            return "en" if match.locale == ENGLISH else match.locale
    return canonical_locale(said) if said else None


def learned_alternates(
    engine: KnowledgeEngine, events: Iterable[FeedbackEvent], *, min_users: int = MIN_USERS
) -> list[LearnedText]:
    """The texts worth adding as alternates (see the module), by locale, article and text."""
    helped: dict[tuple[str, str], list[FeedbackEvent]] = {}
    not_helped: dict[tuple[str, str], set[str]] = {}
    for event in events:
        if not event.article or event.kind not in (*FOUND_IT, FeedbackKind.NOT_HELPED):
            continue
        key = (event.article, query_key(event.query))
        if event.kind in FOUND_IT:
            helped.setdefault(key, []).append(event)
        else:
            not_helped.setdefault(key, set()).add(_who(event))
    found: list[LearnedText] = []
    for (article_id, grouped), backing in helped.items():
        users = {_who(e) for e in backing}
        if not grouped or len(users) < min_users or len(users) <= len(not_helped.get((article_id, grouped), ())):
            continue
        if not engine.article_locales(article_id):
            continue  # the article is gone from the knowledge base
        latest = max(backing, key=lambda e: e.timestamp)
        text = " ".join(clean_paste(latest.query).split())
        if not text or len(text) > MAX_ALTERNATE_CHARS:
            continue
        answer = engine.ask(text)
        if answer.tier is Tier.ANSWER and answer.article is not None and answer.article.id == article_id:
            continue  # already answered outright: nothing to learn
        locale = _locale(engine, text, article_id, latest.locale)
        if locale is not None:
            found.append(LearnedText(article_id, locale, text, len(users), latest.timestamp))
    found.sort(key=lambda t: (t.locale, t.article_id, -t.users, t.text))
    return found


def format_alternates(texts: Iterable[LearnedText]) -> str:
    """``texts`` as ``alternate-texts.yaml`` entries, each with a comment saying who backs it."""
    lines = ["# Texts users found these articles with (picked from \"did you mean\" or said it helped).",
             "# Review them, then copy the right ones into alternate-texts.yaml in a knowledge-base folder."]
    locale = article = None
    for t in texts:
        if t.locale != locale:
            locale, article = t.locale, None
            lines.append(f"{json.dumps(t.locale)}:")
        if t.article_id != article:
            article = t.article_id
            lines.append(f"  {json.dumps(t.article_id, ensure_ascii=False)}:")
        lines.append(f"    # {t.users} users, last {t.last_seen:%Y-%m-%d}")
        lines.append(f"    - {json.dumps(t.text, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
