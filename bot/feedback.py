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

SQLite keeps the events in the ``feedback`` table of the state file: ``id``, ``kind``, ``query``,
``query_key``, ``article``, ``locale``, ``user_id``, ``conversation_id``, ``timestamp`` (ISO 8601, UTC).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from botbuilder.core import MemoryStorage, Storage

from bot.storage import SqliteDatabase, SqliteStorage, create_storage
from knowledge.normalize import clean_paste, normalize

__all__ = [
    "MAX_QUERY_CHARS",
    "EventFeedbackStore",
    "FeedbackEvent",
    "FeedbackKind",
    "FeedbackStore",
    "MemoryFeedbackStore",
    "ReportRow",
    "SqliteFeedbackStore",
    "create_feedback_store",
    "format_report",
    "hash_user_id",
    "load_events",
    "load_report",
    "query_key",
    "report_from_events",
]

T = TypeVar("T")

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
    """Where feedback goes. Implementations raise ``bot.storage.StorageError`` when their store fails."""

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


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"report limit must be at least 1, got {limit}")


def _rank(rows: list[ReportRow], limit: int) -> list[ReportRow]:
    rows.sort(key=lambda r: (-r.count, -r.last_seen.timestamp(), r.key))
    return rows[:limit]


class MemoryFeedbackStore:
    """Feedback in a list: the fake for tests, and the store beside ``memory://`` state."""

    def __init__(self) -> None:
        self.events: list[FeedbackEvent] = []

    async def record(self, event: FeedbackEvent) -> None:
        self.events.append(event)

    async def report(self, limit: int = 20) -> list[ReportRow]:
        return report_from_events(self.events, limit)


def report_from_events(events: Iterable[FeedbackEvent], limit: int = 20) -> list[ReportRow]:
    """The report of a sequence of events (oldest first), for stores that keep events rather than rows."""
    _check_limit(limit)
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


_FEEDBACK_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS feedback ("
    " id INTEGER PRIMARY KEY, kind TEXT NOT NULL, query TEXT NOT NULL, query_key TEXT NOT NULL,"
    " article TEXT, locale TEXT, user_id TEXT, conversation_id TEXT, timestamp TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS feedback_by_query ON feedback (query_key, timestamp)",
)
_PROBLEMS_SQL = ", ".join(f"'{kind.value}'" for kind in PROBLEM_KINDS)
_GROUPS_SQL = f"""
    SELECT query_key,
           SUM(kind = 'unanswered'), SUM(kind = 'not_helped'), SUM(kind = 'escalated'), SUM(kind = 'helped'),
           MAX(CASE WHEN kind IN ({_PROBLEMS_SQL}) THEN timestamp END) AS last_seen,
           (SELECT query FROM feedback AS latest
             WHERE latest.query_key = feedback.query_key AND latest.kind IN ({_PROBLEMS_SQL})
             ORDER BY latest.timestamp DESC, latest.id DESC LIMIT 1)
      FROM feedback
  GROUP BY query_key
    HAVING SUM(kind IN ({_PROBLEMS_SQL})) > 0
  ORDER BY SUM(kind IN ({_PROBLEMS_SQL})) DESC, last_seen DESC, query_key
     LIMIT ?
"""
_DETAILS_SQL = f"""
    SELECT DISTINCT query_key, article, locale FROM feedback
     WHERE query_key IN (SELECT value FROM json_each(?)) AND kind IN ({_PROBLEMS_SQL})
"""


def _timestamp_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class SqliteFeedbackStore:
    """Feedback in the ``feedback`` table of a SQLite file (the state file, when made by ``create_feedback_store``)."""

    def __init__(self, database: SqliteDatabase | str | Path) -> None:
        self.database = database if isinstance(database, SqliteDatabase) else SqliteDatabase(database)
        self.database.add_schema(_FEEDBACK_SCHEMA)

    async def record(self, event: FeedbackEvent) -> None:
        row = (event.kind.value, event.query, query_key(event.query), event.article, event.locale, event.user_id,
               event.conversation_id, _timestamp_text(event.timestamp))

        def work(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO feedback (kind, query, query_key, article, locale, user_id, conversation_id, timestamp)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

        await self.database.run("record feedback", work)

    async def report(self, limit: int = 20) -> list[ReportRow]:
        _check_limit(limit)
        return await self.database.run("read the feedback report", lambda c: self._report(c, limit))

    def report_sync(self, limit: int = 20) -> list[ReportRow]:
        """``report`` for code without an event loop."""
        _check_limit(limit)
        return self.database.run_sync("read the feedback report", lambda c: self._report(c, limit))

    def events_sync(self, kinds: Sequence[FeedbackKind] = tuple(FeedbackKind)) -> list[FeedbackEvent]:
        """Every recorded event of ``kinds``, oldest first (for code without an event loop)."""
        wanted = [kind.value for kind in kinds]

        def work(connection: sqlite3.Connection) -> list[FeedbackEvent]:
            rows = connection.execute(
                "SELECT kind, query, article, locale, user_id, conversation_id, timestamp FROM feedback"
                " WHERE kind IN (SELECT value FROM json_each(?)) ORDER BY timestamp, id", (_json_list(wanted),))
            return [FeedbackEvent(kind, query, article, locale, user_id=user, conversation_id=conversation,
                                  timestamp=datetime.fromisoformat(moment))
                    for kind, query, article, locale, user, conversation, moment in rows]

        return self.database.run_sync("read the feedback events", work)

    def close(self) -> None:
        self.database.close()

    @staticmethod
    def _report(connection: sqlite3.Connection, limit: int) -> list[ReportRow]:
        groups = connection.execute(_GROUPS_SQL, (limit,)).fetchall()
        articles: dict[str, set[str]] = {}
        locales: dict[str, set[str]] = {}
        keys = [group[0] for group in groups]
        for key, article, locale in connection.execute(_DETAILS_SQL, (_json_list(keys),)):
            if article:
                articles.setdefault(key, set()).add(article)
            if locale:
                locales.setdefault(key, set()).add(locale)
        return [
            ReportRow(
                key=key, query=query, unanswered=unanswered, not_helped=not_helped, escalated=escalated,
                helped=helped, articles=tuple(sorted(articles.get(key, ()))),
                locales=tuple(sorted(locales.get(key, ()))), last_seen=datetime.fromisoformat(last_seen),
            )
            for key, unanswered, not_helped, escalated, helped, last_seen, query in groups
        ]


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def create_feedback_store(storage: Storage) -> FeedbackStore:
    """The feedback store that lives beside ``storage``: the same SQLite file, Redis server or Blob
    container, or memory for ``MemoryStorage``."""
    if isinstance(storage, SqliteStorage):
        return SqliteFeedbackStore(storage.database)
    if isinstance(storage, MemoryStorage):
        return MemoryFeedbackStore()
    from bot.feedback_redis import RedisFeedbackStore
    from bot.storage_redis import RedisStorage

    if isinstance(storage, RedisStorage):
        return RedisFeedbackStore(storage)
    from bot.feedback_blob import BlobFeedbackStore
    from bot.storage_blob import AzureBlobStorage

    if isinstance(storage, AzureBlobStorage):
        return BlobFeedbackStore(storage)
    raise ValueError(f"no feedback store goes with {type(storage).__name__}; pass one explicitly")


def _read_state_store(
    url: str,
    blob_connection_string: str,
    network: Callable[[EventFeedbackStore], Awaitable[T]],
    local: Callable[[SqliteFeedbackStore], T],
) -> T:
    """What ``network`` reads from the feedback beside a Redis or Blob state store at ``url``, or ``local``
    from the SQLite file's; for the command line, which creates nothing."""
    storage = create_storage(url, blob_connection_string=blob_connection_string)
    if url.partition(":")[0].lower() in ("redis", "rediss", "azureblob"):
        from bot.feedback_redis import read_network_feedback

        return read_network_feedback(storage, network)
    if not isinstance(storage, SqliteStorage):
        raise ValueError(f"STATE_STORE {url!r} keeps no feedback between runs; reading it needs sqlite:///path"
                         " or redis://host:port/db")
    if not storage.path.is_file():
        raise FileNotFoundError(f"no state store at {storage.path} (STATE_STORE={url}): nothing recorded yet")
    store = SqliteFeedbackStore(storage.database)
    try:
        return local(store)
    finally:
        store.close()


def load_report(url: str, limit: int = 20, *, blob_connection_string: str = "") -> list[ReportRow]:
    """The report of the state store at ``url`` (``STATE_STORE``), for the command line; creates nothing."""
    return _read_state_store(url, blob_connection_string, lambda store: store.report(limit),
                             lambda store: store.report_sync(limit))


def load_events(url: str, *, blob_connection_string: str = "") -> list[FeedbackEvent]:
    """Every feedback event of the state store at ``url``, oldest first, for the command line; creates nothing."""
    return _read_state_store(url, blob_connection_string, lambda store: store.events(),
                             lambda store: store.events_sync())


def format_report(rows: Iterable[ReportRow]) -> str:
    """The report as text for a terminal: one numbered group per line, then its articles and languages."""
    rows = list(rows)
    if not rows:
        return "No unanswered or unhelpful queries recorded."
    lines = [f"Unanswered and unhelpful queries, most frequent first ({len(rows)}):", ""]
    width = len(str(len(rows)))
    for number, row in enumerate(rows, 1):
        kinds = ", ".join(f"{n} {kind.value.replace('_', ' ')}" for kind, n in row.kinds.items())
        text = " ".join(row.query.split())
        shown = text if len(text) <= 100 else text[:97] + "..."
        lines.append(f"{number:>{width}}. {row.count}x  {shown}")
        details = [kinds, f"last {row.last_seen:%Y-%m-%d %H:%M} UTC"]
        if row.articles:
            details.append("articles: " + ", ".join(row.articles))
        if row.locales:
            details.append("languages: " + ", ".join(row.locales))
        lines.append(" " * (width + 2) + " · ".join(details))
    return "\n".join(lines)
