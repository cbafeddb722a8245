"""What users told us: helped, didn't help, unanswered, asked for a person; and the report built from it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bot.storage import SqliteDatabase, sqlite_path
from knowledge.normalize import normalize

MAX_QUERY_CHARS = 500


class FeedbackKind(StrEnum):
    HELPED = "helped"
    NOT_HELPED = "not_helped"
    UNANSWERED = "unanswered"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class FeedbackEvent:
    """One thing a user told us about one query."""

    kind: FeedbackKind
    query: str
    article: str | None = None
    locale: str | None = None
    user_id: str | None = None
    conversation_id: str | None = None
    created: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ReportRow:
    """One query (grouped by its normalized text) that was not answered or did not help."""

    query: str
    count: int
    kinds: dict[str, int]
    articles: tuple[str, ...]
    last_seen: float


class FeedbackStore(Protocol):
    async def record(self, event: FeedbackEvent) -> None: ...

    async def report(self, limit: int = 20) -> list[ReportRow]: ...


PROBLEM_KINDS = (FeedbackKind.UNANSWERED, FeedbackKind.NOT_HELPED, FeedbackKind.ESCALATED)


def query_key(query: str) -> str:
    return normalize(query)[:200]


def _rank(events: list[tuple[str, str, str, str | None, float]], limit: int) -> list[ReportRow]:
    """Group ``(key, query, kind, article, created)`` rows into report rows, most frequent first."""
    groups: dict[str, list[tuple[str, str, str | None, float]]] = defaultdict(list)
    for key, query, kind, article, created in events:
        groups[key].append((query, kind, article, created))
    rows = []
    for items in groups.values():
        kinds: dict[str, int] = defaultdict(int)
        for _, kind, _, _ in items:
            kinds[kind] += 1
        latest = max(items, key=lambda i: i[3])
        articles = tuple(sorted({a for _, _, a, _ in items if a}))
        rows.append(ReportRow(latest[0], len(items), dict(kinds), articles, latest[3]))
    rows.sort(key=lambda r: (-r.count, -r.last_seen))
    return rows[:limit]


class MemoryFeedbackStore:
    """Feedback kept in a list: for tests and ``STATE_STORE=memory://``."""

    def __init__(self) -> None:
        self.events: list[FeedbackEvent] = []

    async def record(self, event: FeedbackEvent) -> None:
        self.events.append(event)

    async def report(self, limit: int = 20) -> list[ReportRow]:
        rows = [(query_key(e.query), e.query, e.kind.value, e.article, e.created)
                for e in self.events if e.kind in PROBLEM_KINDS]
        return _rank(rows, limit)


class SqliteFeedbackStore:
    """Feedback in the state database's ``feedback`` table."""

    def __init__(self, database: SqliteDatabase) -> None:
        self.database = database

    async def record(self, event: FeedbackEvent) -> None:
        query = event.query[:MAX_QUERY_CHARS]
        row = (event.kind.value, query, query_key(query), event.article, event.locale, event.user_id,
               event.conversation_id, event.created)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO feedback (kind, query, query_key, article, locale, user_id, conversation_id, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

        await self.database.run("record feedback", work)

    async def report(self, limit: int = 20) -> list[ReportRow]:
        kinds = [k.value for k in PROBLEM_KINDS]

        def work(conn: sqlite3.Connection) -> list[tuple[str, str, str, str | None, float]]:
            return list(conn.execute(
                "SELECT query_key, query, kind, article, created FROM feedback WHERE kind IN (?, ?, ?)", kinds
            ))

        return _rank(await self.database.run("read feedback", work), limit)


def format_report(rows: list[ReportRow]) -> str:
    """The report as text: the questions to write articles for, most frequent first."""
    if not rows:
        return "No unanswered or unhelpful queries recorded."
    lines = [f"{'count':>5}  {'kinds':<36} query (articles shown)"]
    for row in rows:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(row.kinds.items()))
        shown = f" ({', '.join(row.articles)})" if row.articles else ""
        lines.append(f"{row.count:>5}  {kinds:<36} {row.query[:120]!r}{shown}")
    return "\n".join(lines)


def load_report(url: str, limit: int = 20) -> list[ReportRow]:
    """The report from a ``sqlite:///`` state store, for the command line."""
    database = SqliteDatabase(sqlite_path(url))
    try:
        return asyncio.run(SqliteFeedbackStore(database).report(limit))
    finally:
        database.close()
