"""The batch contract of ``python -m bot ask --batch``: JSON Lines queries in, JSON Lines answers out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from knowledge.engine import KnowledgeEngine
from knowledge.model import ENGLISH, Answer, Tier


def answer_record(query_id: str, answer: Answer) -> dict[str, Any]:
    """One answer line: ``{"id", "tier", "article", "path", "locale", "score", "suggestions", "shown_path",
    "shown_text", "tentative"}``.

    ``path`` is the file whose text matched the query; ``locale`` the language of the reply; ``shown_path``
    the file whose text the reply shows, and ``shown_text`` which of its texts: ``"localized"`` (the file's
    own language, ``locale``) or ``"english_source"`` (the English source a span-format file carries under
    its translation, with ``locale`` ``en``). Both are ``None`` for tier ``none``.

    ``tentative`` is true for a ``suggest`` whose first article clearly leads (``Answer.tentative``).
    """
    best = answer.matches[0] if answer.matches and answer.tier is not Tier.NONE else None
    shown = answer.article if best else None
    return {
        "id": query_id,
        "tier": answer.tier.value,
        "article": best.article_id if best else None,
        "path": best.path if best else None,
        "locale": answer.reply_locale,
        "score": round(answer.score, 2),
        "suggestions": [
            {"article": s.article_id, "path": s.path, "score": round(s.score, 2)} for s in answer.suggestions
        ],
        "shown_path": shown.path if shown else None,
        "shown_text": None if shown is None else "english_source" if shown.locale == ENGLISH else "localized",
        "tentative": answer.tentative,
    }


def parse_query(line: str | bytes, number: int) -> tuple[str, str, str | None]:
    """``(id, text, locale)`` of one query line (text, or bytes in UTF-8); ``ValueError`` says what is wrong."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"line {number}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"line {number}: not JSON: {e.msg}") from None
    if not isinstance(row, dict):
        raise ValueError(f"line {number}: not a JSON object")
    qid, text, locale = row.get("id"), row.get("text"), row.get("locale")
    if not isinstance(qid, str) or not isinstance(text, str):
        raise ValueError(f"line {number}: needs string fields 'id' and 'text'")
    if locale is not None and not isinstance(locale, str):
        raise ValueError(f"line {number}: 'locale' must be a string when present")
    return qid, text, locale


def answer_batch(engine: KnowledgeEngine, lines: Iterable[str | bytes]) -> Iterator[dict[str, Any]]:
    """Answer each non-blank query line in order; a bad line gets a ``none`` answer and an ``error``."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            qid, text, locale = parse_query(line, number)
        except ValueError as e:
            yield {"id": None, "tier": "none", "article": None, "path": None, "locale": None,
                   "score": 0, "suggestions": [], "shown_path": None, "shown_text": None, "error": str(e)}
            continue
        yield answer_record(qid, engine.ask(text, client_locale=locale))
