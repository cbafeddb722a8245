"""What users told us about answers, and the report built from it: the list of articles to write next.

    feedback = create_feedback_store(storage)       # beside the bot's state: same SQLite file, or in memory
    await feedback.record(FeedbackEvent(FeedbackKind.NOT_HELPED, text, article, locale,
                                        user_id=hash_user_id(user.id), conversation_id=conversation.id))
    print(format_report(await feedback.report()))

Kinds: ``helped`` and ``not_helped`` (the answer card's buttons), ``unanswered`` (nothing matched),
``escalated`` (the user asked for a person), ``chosen`` (the user picked an article from "did you
mean"). The report groups the unanswered, unhelpful and escalated queries by ``query_key`` (the
normalized error text, so the same error with other ids, timestamps or casing is one row) and lists
the groups most frequent first.

Each state store keeps the events beside its state (``bot.stores``); ``bot.feedback.report`` reads them back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from knowledge.normalize import clean_paste, normalize

__all__ = [
    "MAX_QUERY_CHARS",
    "PROBLEM_KINDS",
    "EventFeedbackStore",
    "FeedbackEvent",
    "FeedbackKind",
    "FeedbackStore",
    "ReportRow",
    "check_limit",
    "event_from_record",
    "event_json",
    "hash_user_id",
    "query_key",
    "report_from_events",
]


MAX_QUERY_CHARS = 500
"""How much of a query is kept: enough to recognize the error, bounded whatever users paste."""
MAX_KEY_CHARS = 200
"""How much of the normalized query groups report rows."""


class FeedbackKind(StrEnum):
    HELPED = "helped"
    NOT_HELPED = "not_helped"
    UNANSWERED = "unanswered"
    ESCALATED = "escalated"
    CHOSEN = "chosen"
    """The user picked the article from "did you mean" for the query (no problem: not in the report)."""


PROBLEM_KINDS = (FeedbackKind.UNANSWERED, FeedbackKind.NOT_HELPED, FeedbackKind.ESCALATED)
"""The kinds the report counts: the knowledge base did not solve the user's problem."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FeedbackEvent:
    """One thing a user told us about one query. ``kind`` may be given as its string value.

    ``query`` keeps its first ``MAX_QUERY_CHARS`` characters; ``timestamp`` must carry a time zone
    and is kept in UTC; ``user_id`` is best a ``hash_user_id`` of the channel's user id.
    """

    kind: FeedbackKind
    query: str
    article: str | None = None
    locale: str | None = None
    user_id: str | None = None
    conversation_id: str | None = None
    timestamp: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FeedbackKind(self.kind))
        query = str(self.query)[:MAX_QUERY_CHARS]
        object.__setattr__(self, "query", query.encode("utf-8", "replace").decode("utf-8"))  # lone surrogates
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() is None:
            raise ValueError(f"feedback timestamp {self.timestamp.isoformat()} has no time zone")
        object.__setattr__(self, "timestamp", self.timestamp.astimezone(UTC))


@dataclass(frozen=True)
class ReportRow:
    """One group of queries (same ``query_key``) that the knowledge base did not answer well."""

    key: str
    query: str
    """The group's most recent query text, as the user wrote it."""
    unanswered: int
    not_helped: int
    escalated: int
    helped: int
    """How often the answers given for this query did help (context, not counted in ``count``)."""
    articles: tuple[str, ...]
    """Articles the unhelpful or escalated answers showed, sorted."""
    locales: tuple[str, ...]
    last_seen: datetime

    @property
    def count(self) -> int:
        """Unanswered, unhelpful and escalated events: what the report ranks by."""
        return self.unanswered + self.not_helped + self.escalated

    @property
    def kinds(self) -> dict[FeedbackKind, int]:
        """The non-zero counts by kind."""
        counts = {
            FeedbackKind.UNANSWERED: self.unanswered,
            FeedbackKind.NOT_HELPED: self.not_helped,
            FeedbackKind.ESCALATED: self.escalated,
            FeedbackKind.HELPED: self.helped,
        }
        return {kind: n for kind, n in counts.items() if n}


class FeedbackStore(Protocol):
    """Where feedback goes. Implementations raise ``bot.stores.base.StorageError`` when their store fails."""

    async def record(self, event: FeedbackEvent) -> None:
        """Keep one event."""
        ...

    async def report(self, limit: int = 20) -> list[ReportRow]:
        """The ``limit`` most frequent unanswered, unhelpful or escalated query groups, most frequent first."""
        ...


class EventFeedbackStore(FeedbackStore, Protocol):
    """A store that can also give back every event (the Redis and Blob ones)."""

    async def events(self) -> list[FeedbackEvent]:
        """Every recorded event, oldest first."""
        ...


def query_key(query: str) -> str:
    """What groups queries in the report: the error text without ids, timestamps, case and punctuation."""
    key = normalize(clean_paste(query)) or normalize(query) or " ".join(query.casefold().split())
    return key[:MAX_KEY_CHARS]


def hash_user_id(user_id: str) -> str:
    """A stable pseudonym for a channel user id, so feedback can be counted per user without storing ids."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:24]


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"report limit must be at least 1, got {limit}")


def _rank(rows: list[ReportRow], limit: int) -> list[ReportRow]:
    rows.sort(key=lambda r: (-r.count, -r.last_seen.timestamp(), r.key))
    return rows[:limit]


def report_from_events(events: Iterable[FeedbackEvent], limit: int = 20) -> list[ReportRow]:
    """The report of a sequence of events (oldest first), for stores that keep events rather than rows."""
    check_limit(limit)
    groups: dict[str, list[FeedbackEvent]] = {}
    for event in events:
        groups.setdefault(query_key(event.query), []).append(event)
    rows = []
    for key, grouped in groups.items():
        problems = [e for e in grouped if e.kind in PROBLEM_KINDS]
        if not problems:
            continue
        latest = max(enumerate(problems), key=lambda pair: (pair[1].timestamp, pair[0]))[1]
        counts = {kind: sum(e.kind is kind for e in grouped) for kind in FeedbackKind}
        rows.append(ReportRow(
            key=key,
            query=latest.query,
            unanswered=counts[FeedbackKind.UNANSWERED],
            not_helped=counts[FeedbackKind.NOT_HELPED],
            escalated=counts[FeedbackKind.ESCALATED],
            helped=counts[FeedbackKind.HELPED],
            articles=tuple(sorted({e.article for e in problems if e.article})),
            locales=tuple(sorted({e.locale for e in problems if e.locale})),
            last_seen=latest.timestamp,
        ))
    return _rank(rows, limit)


def event_json(event: FeedbackEvent) -> str:
    """One event as a JSON object (one line)."""
    return json.dumps({
        "kind": event.kind.value, "query": event.query, "article": event.article, "locale": event.locale,
        "user_id": event.user_id, "conversation_id": event.conversation_id,
        "timestamp": event.timestamp.isoformat(timespec="microseconds"),
    }, ensure_ascii=False, separators=(",", ":"))


def event_from_record(record: dict[str, Any]) -> FeedbackEvent:
    """The event ``event_json`` wrote."""
    return FeedbackEvent(
        kind=FeedbackKind(record["kind"]), query=record["query"], article=record.get("article"),
        locale=record.get("locale"), user_id=record.get("user_id"), conversation_id=record.get("conversation_id"),
        timestamp=datetime.fromisoformat(record["timestamp"]),
    )
