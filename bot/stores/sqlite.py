"""The embedded store (``STATE_STORE=sqlite:///path``): state and feedback in one SQLite file.

``SqliteStorage`` keeps each item as one row of the ``bot_state`` table: ``key``, ``e_tag`` and the item
as JSON (``document``). Items are flattened with jsonpickle, as botbuilder's own Azure storages do, so
plain dicts are stored as plain JSON and objects (``StoreItem``, dataclasses) come back as the same
types. The file is trusted like the bot's code: reading it may import the classes named in it.

Feedback events are rows of the ``feedback`` table of the same file: ``id``, ``kind``, ``query``, ``query_key``,
``article``, ``locale``, ``user_id``, ``conversation_id``, ``timestamp`` (ISO 8601, UTC).
"""

from __future__ import annotations

import itertools
import json
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from botbuilder.core import Storage

from bot.feedback.events import (
    PROBLEM_KINDS,
    FeedbackEvent,
    FeedbackKind,
    FeedbackStore,
    ReportRow,
    check_limit,
    query_key,
)
from bot.stores.base import (
    CREATE_ONLY_E_TAG,
    UnreadableItemError,
    decode_item,
    encode_item,
    etag_conflict,
    set_e_tag,
    write_items,
)
from bot.stores.sqlite_database import SqliteDatabase, transaction
from bot.stores.unreadable_items import UnreadableItems

__all__ = ["SqliteFeedbackStore", "SqliteStorage", "sqlite_path"]

_MAX_VARIABLES = 500
"""Keys per ``IN (...)`` query: far below SQLite's limit on bound parameters."""

_STATE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bot_state ("
    " key TEXT PRIMARY KEY, e_tag TEXT NOT NULL, document TEXT NOT NULL, updated TEXT NOT NULL"
    ") WITHOUT ROWID",
)


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL: ``sqlite:///var/x.db`` → ``var/x.db``; ``sqlite:////abs/x.db`` → ``/abs/x.db``."""
    prefix = "sqlite:///"
    if url[: len(prefix)].lower() != prefix or not url[len(prefix) :].strip("/"):
        raise ValueError(f"not a SQLite URL (expected sqlite:///path/to/file.db): {url!r}")
    return Path(unquote(url[len(prefix) :]))


class SqliteStorage(Storage):  # type: ignore[misc]  # botbuilder ships no type information
    """botbuilder ``Storage`` in a SQLite file: JSON documents with optimistic e-tags (see the module)."""

    honours_create_only = True

    def __init__(self, database: SqliteDatabase | str | Path) -> None:
        super().__init__()
        self.database = database if isinstance(database, SqliteDatabase) else SqliteDatabase(database)
        self.database.add_schema(_STATE_SCHEMA)
        self.unreadable = UnreadableItems(str(self.database.path), CREATE_ONLY_E_TAG)
        self._e_tag_prefix = secrets.token_hex(8) + "-"
        self._e_tag_numbers = itertools.count(1)

    @property
    def path(self) -> Path:
        return self.database.path

    def _new_e_tag(self) -> str:
        """An e-tag no item of this file ever had: this store's random prefix and its next number (one
        read of the system's randomness per store, not per write)."""
        return f"{self._e_tag_prefix}{next(self._e_tag_numbers):x}"

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        """The stored items among ``keys``; keys never written are absent from the result."""
        wanted = list(dict.fromkeys(keys or ()))
        if not wanted:
            return {}

        def work(connection: sqlite3.Connection) -> dict[str, Any]:
            found: dict[str, Any] = {}
            unreadable: set[str] = set()
            for start in range(0, len(wanted), _MAX_VARIABLES):
                chunk = wanted[start : start + _MAX_VARIABLES]
                marks = ",".join("?" * len(chunk))
                # as bytes: a document damaged into text that is not UTF-8 is one unreadable item, not a failed read
                rows = connection.execute(
                    f"SELECT key, e_tag, CAST(document AS BLOB) FROM bot_state WHERE key IN ({marks})", chunk)
                for key, e_tag, document in rows:
                    try:
                        found[key] = decode_item(self.path, key, document, e_tag)
                    except UnreadableItemError as e:  # absent for this key, logged once (bot.stores.unreadable_items)
                        self.unreadable.note(key, e_tag, e)
                        unreadable.add(key)
            for key in wanted:
                if key not in unreadable:
                    self.unreadable.seen(key)
            return found

        return await self.database.run("read", work)

    async def write(self, changes: dict[str, Any] | None) -> None:
        """Store every item of ``changes``, all or none; see the module for the e-tag rules."""
        items = write_items(changes, self.unreadable)
        if not items:
            return
        rows = [(key, condition, encode_item(key, item), self._new_e_tag()) for key, item, condition in items]
        updated = datetime.now(UTC).isoformat(timespec="seconds")

        def work(connection: sqlite3.Connection) -> None:
            with transaction(connection):
                for key, condition, document, e_tag in rows:
                    if condition is not None:
                        row = connection.execute("SELECT e_tag FROM bot_state WHERE key = ?", (key,)).fetchone()
                        stored = None if row is None else str(row[0])
                        refused = stored is not None if condition == CREATE_ONLY_E_TAG else stored != condition
                        if refused:
                            raise etag_conflict(self.path, key, condition, stored, path=self.path)
                    connection.execute(
                        "INSERT INTO bot_state (key, e_tag, document, updated) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET e_tag = excluded.e_tag, document = excluded.document,"
                        " updated = excluded.updated",
                        (key, e_tag, document, updated),
                    )

        await self.database.run("write", work)
        for (_, _, _, e_tag), (_, item, _) in zip(rows, items, strict=True):
            set_e_tag(item, e_tag)

    async def delete(self, keys: Iterable[str] | None) -> None:
        """Remove the items of ``keys``; unknown keys are ignored."""
        doomed = [(key,) for key in dict.fromkeys(keys or ())]
        if not doomed:
            return

        def work(connection: sqlite3.Connection) -> None:
            with transaction(connection):
                connection.executemany("DELETE FROM bot_state WHERE key = ?", doomed)

        await self.database.run("delete", work)

    async def problem(self) -> str | None:
        """Why this store cannot keep state now, else ``None`` (``SqliteDatabase.problem``)."""
        return await self.database.problem()

    def feedback_store(self) -> FeedbackStore:
        """Feedback in the ``feedback`` table of this file."""
        return SqliteFeedbackStore(self.database)

    def close(self) -> None:
        """Close the database file (it is opened again if the storage is used later)."""
        self.database.close()




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
        check_limit(limit)
        return await self.database.run("read the feedback report", lambda c: self._report(c, limit))

    def report_sync(self, limit: int = 20) -> list[ReportRow]:
        """``report`` for code without an event loop."""
        check_limit(limit)
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
