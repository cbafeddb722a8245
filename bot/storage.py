"""Where the bot keeps state: a botbuilder ``Storage`` chosen by URL (embedded SQLite by default)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from botbuilder.core import MemoryStorage, Storage

T = TypeVar("T")


class StorageError(RuntimeError):
    """The state store could not be read or written (the message says which file and operation)."""


class EtagConflictError(KeyError):
    """A write carried an e-tag that no longer matches the stored item."""


def sqlite_path(url: str) -> Path:
    """``sqlite:///var/x.db`` → ``var/x.db``; ``sqlite:////abs/x.db`` → ``/abs/x.db``."""
    if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
        raise ValueError(f"not a sqlite URL (expected sqlite:///path/to/file.db): {url!r}")
    return Path(url[len("sqlite:///"):])


class SqliteDatabase:
    """One SQLite file in WAL mode, used from one worker thread so the event loop never blocks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bot_state (key TEXT PRIMARY KEY, etag INTEGER NOT NULL, doc TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                " query TEXT NOT NULL, query_key TEXT NOT NULL, article TEXT, locale TEXT, user_id TEXT,"
                " conversation_id TEXT, created REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS feedback_key ON feedback (query_key)")
            self._connection = conn
        return self._connection

    async def run(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the connection in a worker thread; failures become ``StorageError``."""

        def call() -> T:
            with self._lock:
                return work(self._connect())

        try:
            return await asyncio.to_thread(call)
        except (sqlite3.Error, OSError) as e:
            raise StorageError(f"state store {self.path}: {operation} failed: {e}") from e

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _etag_of(item: Any) -> str | None:
    value = item.get("e_tag") if isinstance(item, dict) else getattr(item, "e_tag", None)
    return None if value is None else str(value)


class SqliteStorage(Storage):
    """botbuilder ``Storage`` in a SQLite table: JSON documents with optimistic e-tags."""

    def __init__(self, database: SqliteDatabase) -> None:
        super().__init__()
        self.database = database

    async def read(self, keys: list[str]) -> dict[str, Any]:
        if not keys:
            return {}

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            marks = ",".join("?" * len(keys))
            rows = conn.execute(f"SELECT key, etag, doc FROM bot_state WHERE key IN ({marks})", list(keys))
            found: dict[str, Any] = {}
            for key, etag, doc in rows:
                item = json.loads(doc)
                if isinstance(item, dict):
                    item["e_tag"] = str(etag)
                found[key] = item
            return found

        return await self.database.run("read", work)

    async def write(self, changes: dict[str, Any]) -> None:
        if changes is None:
            raise ValueError("changes are required when writing")
        if not changes:
            return
        documents: list[tuple[str, str | None, str]] = []
        for key, change in changes.items():
            value = change if isinstance(change, dict) else dict(vars(change))
            value = {k: v for k, v in value.items() if k != "e_tag"}
            try:
                documents.append((key, _etag_of(change), json.dumps(value, ensure_ascii=False)))
            except (TypeError, ValueError) as e:
                raise StorageError(f"state for {key!r} is not JSON-serializable: {e}") from e

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for key, etag, doc in documents:
                    row = conn.execute("SELECT etag FROM bot_state WHERE key = ?", (key,)).fetchone()
                    if row is not None and etag not in (None, "*") and etag != str(row[0]):
                        raise EtagConflictError(f"e-tag conflict on {key!r}: wrote {etag}, stored {row[0]}")
                    conn.execute(
                        "INSERT INTO bot_state (key, etag, doc) VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE"
                        " SET etag = bot_state.etag + 1, doc = excluded.doc",
                        (key, doc),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self.database.run("write", work)

    async def delete(self, keys: list[str]) -> None:
        if not keys:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM bot_state WHERE key = ?", [(k,) for k in keys])

        await self.database.run("delete", work)


def create_storage(url: str) -> tuple[Storage, SqliteDatabase | None]:
    """The Storage for ``STATE_STORE`` (``sqlite:///path``, ``memory://``) and its database, if any."""
    if url.startswith("sqlite:"):
        database = SqliteDatabase(sqlite_path(url))
        return SqliteStorage(database), database
    if url in ("memory://", "memory"):
        return MemoryStorage(), None
    if url.startswith("redis://"):
        raise ValueError("STATE_STORE redis:// is not supported yet; use sqlite:///path/to/file.db")
    raise ValueError(f"unknown STATE_STORE {url!r}: use sqlite:///path/to/file.db or memory://")
