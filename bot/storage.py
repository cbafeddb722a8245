"""Where the bot keeps state: a botbuilder ``Storage`` chosen by URL, embedded SQLite by default.

    storage = create_storage("sqlite:///var/insight-desk.db")   # or "memory://"
    user_state = UserState(storage)
    ...
    close_storage(storage)                                      # on shutdown

URLs: ``sqlite:///relative/path.db`` (relative to the working directory), ``sqlite:////absolute/path.db``,
``memory://`` (botbuilder's ``MemoryStorage``, gone on restart), ``redis://host:port/db`` (``rediss://`` for
TLS; ``bot.storage_redis``: state shared by several bot instances), ``azureblob://container`` (botbuilder-azure's
``BlobStorage``; ``bot.storage_blob``, with the account's connection string passed in). Anything else is a
``ValueError``.

``SqliteStorage`` keeps each item as one row of the ``bot_state`` table: ``key``, ``e_tag`` and the item
as JSON (``document``). Items are flattened with jsonpickle, as botbuilder's own Azure storages do, so
plain dicts are stored as plain JSON and objects (``StoreItem``, dataclasses) come back as the same
types. The file is trusted like the bot's code: reading it may import the classes named in it.

E-tags: every stored item gets a fresh opaque ``e_tag`` (a dict key or an attribute, as botbuilder's
storages use). A write whose item carries an ``e_tag`` other than ``"*"`` succeeds only if the stored
item still has that e-tag (else ``EtagConflictError``, a ``KeyError`` like ``MemoryStorage`` raises); no
``e_tag`` or ``"*"`` writes unconditionally. After a write each written dict or object carries its new
e-tag, so a ``BotState`` can save twice in one turn. The writes of one call commit together or not at all.

Create-only: botbuilder's ``Storage`` has no "write only if absent", so our stores (SQLite, Redis, Blob and
``memory://``) honour a convention: an item whose ``e_tag`` is ``CREATE_ONLY_E_TAG`` is written only when
nothing is stored under its key, else ``EtagConflictError``. ``honours_create_only(storage)`` says whether
a store does (other stores would take the marker for a real e-tag and refuse every such write).

SQLite runs in WAL mode with ``synchronous=NORMAL`` and a busy timeout, on one connection per database
opened on first use, used only from the database's own worker thread: the event loop never waits on
the disk. Every failure of the file or the database is a ``StorageError`` naming the file and the
operation, so a caller can log it and still answer the user; the next call opens the file again.

Before each batch of calls the file is checked (``bot.sqlite_file``): a database file deleted while open
fails every call (rather than writing to the unlinked file, lost at the next start) until a file is at the
path again; a file replaced while open is opened anew; an immutable or append-only database, ``-wal`` or
``-shm`` file fails every call without SQLite touching it (its mapped ``-shm`` would crash the process with
SIGBUS). ``SqliteStorage.problem()`` (``GET /healthz``) says which, or ``None``.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from botbuilder.core import MemoryStorage, Storage
from jsonpickle.pickler import Pickler
from jsonpickle.unpickler import Unpickler

from bot.json_state import pickle_tags_in, plain_json
from bot.sqlite_file import FileIdentity, abandon, file_identity, locked_file
from bot.unreadable_items import UnreadableItems

__all__ = [
    "CREATE_ONLY_E_TAG",
    "DEFAULT_BUSY_TIMEOUT",
    "EtagConflictError",
    "MemoryStateStorage",
    "SqliteDatabase",
    "SqliteStorage",
    "StorageError",
    "UnreadableItemError",
    "aclose_storage",
    "close_storage",
    "create_storage",
    "decode_item",
    "e_tag_of",
    "encode_item",
    "etag_conflict",
    "honours_create_only",
    "set_e_tag",
    "sqlite_path",
    "storage_problem",
    "write_items",
]

T = TypeVar("T")
log = logging.getLogger(__name__)

CREATE_ONLY_E_TAG = "create-only"
"""The e-tag of an item to be written only if its key holds nothing yet (never a real e-tag of our stores)."""

DEFAULT_BUSY_TIMEOUT = 5.0
"""Seconds a statement waits for another connection's write lock before it fails."""
_MAX_VARIABLES = 500
"""Keys per ``IN (...)`` query: far below SQLite's limit on bound parameters."""

_STATE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bot_state ("
    " key TEXT PRIMARY KEY, e_tag TEXT NOT NULL, document TEXT NOT NULL, updated TEXT NOT NULL"
    ") WITHOUT ROWID",
)


class StorageError(Exception):
    """The state store could not do what was asked; the message names the file and the operation."""

    def __init__(self, message: str, *, path: Path | None = None, operation: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.operation = operation


class EtagConflictError(StorageError, KeyError):
    """A write carried an e-tag the stored item no longer has: someone else wrote it (or deleted it) first."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnreadableItemError(StorageError):
    """A stored item is not JSON state this bot can restore (an older version's, or damaged)."""


def honours_create_only(storage: Storage) -> bool:
    """Whether ``storage`` writes an item carrying ``CREATE_ONLY_E_TAG`` only when its key is absent."""
    return bool(getattr(storage, "honours_create_only", False))


def write_items(changes: dict[str, Any] | None, unreadable: UnreadableItems | None = None,
                ) -> list[tuple[str, Any, str | None]]:
    """Each ``(key, item, condition)`` of a ``Storage.write``: ``condition`` is the e-tag the stored item must
    have, ``CREATE_ONLY_E_TAG`` (there must be none) or ``None`` (overwrite: no e-tag, or ``"*"``); with the
    store's ``unreadable`` items, create-only over one of them is conditional on its e-tag instead.
    ``ValueError`` for ``None`` changes or an empty e-tag, before anything is written."""
    if changes is None:
        raise ValueError("Changes are required when writing")
    items = []
    for key, item in changes.items():
        expected = e_tag_of(item)
        if expected == "":
            raise ValueError(f"cannot write {key!r}: its e_tag is empty (use None or '*' to overwrite)")
        condition = None if expected is None or expected == "*" else str(expected)
        items.append((key, item, unreadable.condition(key, condition) if unreadable else condition))
    return items


def etag_conflict(where: object, key: str, condition: str, stored: str | None, *,
                  path: Path | None = None) -> EtagConflictError:
    """The refusal of the write of ``key`` whose ``condition`` the stored item (its e-tag ``stored``, ``None``
    when there is none) does not meet."""
    if condition == CREATE_ONLY_E_TAG:
        why = "it was to be created, but it exists already"
    else:
        why = f"it was read with e-tag {condition} but " + (f"it now has {stored}" if stored else "it was deleted")
    return EtagConflictError(f"state store {where}: write of {key!r} refused: {why}", path=path, operation="write")


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL: ``sqlite:///var/x.db`` → ``var/x.db``; ``sqlite:////abs/x.db`` → ``/abs/x.db``."""
    prefix = "sqlite:///"
    if url[: len(prefix)].lower() != prefix or not url[len(prefix) :].strip("/"):
        raise ValueError(f"not a SQLite URL (expected sqlite:///path/to/file.db): {url!r}")
    return Path(unquote(url[len(prefix) :]))


def create_storage(url: str, *, blob_connection_string: str = "") -> Storage:
    """The botbuilder ``Storage`` a ``STATE_STORE`` URL names (``sqlite:///path``, ``memory://``, ``redis://``,
    ``azureblob://container`` with ``blob_connection_string``).

    Nothing is opened yet: a SQLite file (and its folder) is created on the first read or write, a Redis
    or Blob connection made on first use.
    """
    scheme = url.partition(":")[0].lower()
    if scheme == "sqlite":
        return SqliteStorage(sqlite_path(url))
    if scheme == "memory" and url.lower() in ("memory:", "memory://"):
        return MemoryStateStorage()
    if scheme in ("redis", "rediss"):
        from bot.storage_redis import RedisStorage

        return RedisStorage(url)
    if scheme == "azureblob":
        from bot.storage_blob import create_blob_storage

        return create_blob_storage(url, blob_connection_string)
    raise ValueError(f"unknown STATE_STORE {url!r}: use sqlite:///path/to/file.db (or sqlite:////abs/path.db),"
                     " redis://host:port/db, azureblob://container or memory://")


def close_storage(storage: Storage) -> None:
    """Close what ``create_storage`` opened (a no-op for stores that hold nothing open).

    Network stores (Redis, Blob) close their connections in ``aclose_storage``, on their event loop.
    """
    if isinstance(storage, SqliteStorage):
        storage.close()


async def storage_problem(storage: Storage) -> str | None:
    """Why ``storage`` cannot keep state now (a store with a ``problem()`` check, as SQLite's), else ``None``."""
    check = getattr(storage, "problem", None)
    if check is None:
        return None
    problem: str | None = await check()
    return problem


async def aclose_storage(storage: Storage) -> None:
    """``close_storage`` for every kind of store, network connections included; call it on the store's loop."""
    close_storage(storage)
    closer = getattr(storage, "aclose", None)
    if closer is not None:
        await closer()


@dataclass(frozen=True)
class _Job:
    """One call waiting for the worker thread: what to run, and where its caller waits for the outcome."""

    operation: str
    work: Callable[[sqlite3.Connection], Any]
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[Any] | Future[Any]


def _settle(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    """Hand each finished job's result or error to its caller (on the caller's event loop)."""
    for future, ok, value in outcomes:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class SqliteDatabase:
    """One SQLite file, used from one worker thread through one connection opened on first use.

    Calls run one at a time in the order they were made. The worker takes every call waiting when it
    wakes and runs them as one batch, then wakes each caller's event loop once for the whole batch:
    under load one thread hand-off serves many turns instead of one each.

    Stores sharing the file share the database: each adds its tables with ``add_schema``.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._schemas: list[str] = []
        self._applied = 0
        self._connection: sqlite3.Connection | None = None
        self._identity: FileIdentity | None = None
        """The file the connection opened (kept after closing it): the file at the path must still be it."""
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._jobs: deque[_Job] = deque()
        self._jobs_lock = threading.Lock()
        self._draining = False

    def add_schema(self, statements: Iterable[str]) -> None:
        """Statements (``CREATE ... IF NOT EXISTS``) run once per connection before any other work."""
        self._schemas.extend(statements)

    async def run(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` in the worker thread; file and database failures become ``StorageError``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._enqueue(_Job(operation, work, loop, future))
        return await future

    def run_sync(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """``run`` for code without an event loop (the command line): blocks until done."""
        future: Future[T] = Future()
        self._enqueue(_Job(operation, work, None, future))
        return future.result()

    async def problem(self) -> str | None:
        """Why the database cannot keep state now (the file deleted or immutable, or it cannot be opened),
        else ``None``: the checks every call makes, opening the file if need be, reading and writing nothing."""
        try:
            await self.run("health check", lambda connection: None)
        except StorageError as e:
            return str(e)
        return None

    def close(self) -> None:
        """Finish pending work and close the connection; a later call opens the file at the path again."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.submit(self._disconnect)
            executor.shutdown(wait=True)
        self._identity = None  # closed on purpose: the next call may find (and create) a new file

    def _worker(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{self.path.name}")
            return self._executor

    def _enqueue(self, job: _Job) -> None:
        with self._jobs_lock:
            self._jobs.append(job)
            if self._draining:  # the worker takes it with the jobs already waiting
                return
            self._draining = True
        try:
            self._worker().submit(self._drain)
        except RuntimeError:  # closed between taking the worker and using it: a new worker takes over
            self._worker().submit(self._drain)

    def _drain(self) -> None:
        """In the worker thread: run the waiting jobs, a batch at a time, until none is left."""
        while True:
            with self._jobs_lock:
                if not self._jobs:
                    self._draining = False
                    return
                batch = list(self._jobs)
                self._jobs.clear()
            settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
            try:
                problem = self._file_problem()  # once per batch: its jobs run back to back
            except (sqlite3.Error, OSError) as e:  # closing the connection to a moved file failed
                problem = f"the file could not be checked: {e}"
            for job in batch:
                if job.future.cancelled():  # its caller gave up before it started: as run_in_executor does
                    continue
                try:
                    value, ok = self._call(job.operation, job.work, problem), True
                except BaseException as error:  # handed to the caller, who sees it raised by its own call
                    value, ok = error, False
                if job.loop is None:
                    sync = job.future
                    assert isinstance(sync, Future)
                    if ok:
                        sync.set_result(value)
                    else:
                        sync.set_exception(value)
                else:
                    assert isinstance(job.future, asyncio.Future)
                    settled.setdefault(job.loop, []).append((job.future, ok, value))
            for loop, outcomes in settled.items():
                with suppress(RuntimeError):  # the caller's loop is closed: nobody waits any more
                    loop.call_soon_threadsafe(_settle, outcomes)

    def _call(self, operation: str, work: Callable[[sqlite3.Connection], T], problem: str | None) -> T:
        if problem is not None:
            raise StorageError(f"state store {self.path}: {operation} refused: {problem}", path=self.path,
                               operation=operation)
        try:
            return work(self._connect())
        except StorageError:
            raise
        except (sqlite3.Error, OSError) as e:
            self._disconnect()
            raise StorageError(f"state store {self.path}: {operation} failed: {e}",
                               path=self.path, operation=operation) from e

    def _file_problem(self) -> str | None:
        """Why the file must not be used now (see the module), else ``None``; a replaced file is reopened."""
        locked = locked_file(self.path)
        if locked is not None:
            connection, self._connection = self._connection, None
            if connection is not None:
                log.error("state store %s: %s; every call fails until it is writable again", self.path, locked)
                abandon(connection)
            return locked
        if self._identity is None:
            return None
        try:
            current = file_identity(self.path)
        except OSError as e:
            return f"the file cannot be checked: {e}"
        if current is None:
            if self._connection is not None:
                log.error("state store %s: the file was deleted while open; every call fails until a file is"
                          " back at the path", self.path)
            self._let_go_of_moved_file()
            return "the file was deleted while open; anything written now would be lost at the next start"
        if current != self._identity:
            log.warning("state store %s: the file was replaced while open; opening the new one", self.path)
            self._let_go_of_moved_file()
            self._identity = None
        return None

    def _let_go_of_moved_file(self) -> None:
        """Close the connection to a file deleted or replaced at its path, emptying its ``-wal`` first: SQLite
        neither checkpoints nor removes the WAL of a moved database on close, and would apply the old pages
        in it to whatever database is opened at the path next (a restored backup would read them)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            log.warning("state store %s: could not empty the write-ahead log of the moved file: %s", self.path, e)
        connection.close()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                         check_same_thread=False)
            try:
                connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                mode = self._switch_to_wal(connection)
                if str(mode).lower() != "wal":
                    raise sqlite3.OperationalError(f"could not switch to WAL mode (journal_mode is {mode})")
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute("PRAGMA mmap_size = 0")  # the database file is read, never mapped
            except BaseException:
                connection.close()
                raise
            self._connection, self._applied = connection, 0
            self._identity = file_identity(self.path)
        if self._applied < len(self._schemas):
            for statement in self._schemas[self._applied :]:
                self._connection.execute(statement)
            self._applied = len(self._schemas)
        return self._connection

    def _switch_to_wal(self, connection: sqlite3.Connection) -> str:
        """``PRAGMA journal_mode = WAL``, tried again while another connection holds the file for the same
        switch (two processes opening a new file at once): SQLite answers that busy at once, without
        waiting out the busy timeout as other statements do."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                return str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as e:
                busy = getattr(e, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if locked_file(self.path) is not None:  # closing would write to the mapped -shm: SIGBUS
            abandon(connection)
        else:
            connection.close()


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taking the write lock at once; rolled back if anything fails inside."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with suppress(sqlite3.Error):  # a broken connection cannot roll back; closing it discards the work
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def e_tag_of(item: object) -> object:
    """The e-tag a written item carries (a dict's ``e_tag`` key or an object's attribute), else ``None``."""
    return item.get("e_tag") if isinstance(item, dict) else getattr(item, "e_tag", None)


def set_e_tag(item: object, e_tag: str) -> None:
    """Hand the stored e-tag back to the caller's item, so its next write is conditional on it."""
    if isinstance(item, dict):
        item["e_tag"] = e_tag
    else:
        with suppress(AttributeError):  # an object without a settable e_tag (slotted, a number) has none
            item.e_tag = e_tag  # type: ignore[attr-defined]


def encode_item(key: str, item: object) -> str:
    """The item as JSON, without its e-tag (kept beside it): jsonpickle's form, as botbuilder's Azure storages use.

    ``StorageError`` when it cannot be written, or when what would be written does not read back (a dict
    key that looks like one of jsonpickle's tags, e.g. ``py/b64``): better one refused write than an item
    no later read can restore.
    """
    try:
        if type(item) is dict and plain_json(item):  # jsonpickle's form of plain JSON is itself
            flat: Any = {k: v for k, v in item.items() if k != "e_tag"}
            return _as_utf8_text(json.dumps(flat, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
        flat = Pickler(unpicklable=True).flatten(item)
        if isinstance(flat, dict):
            flat.pop("e_tag", None)
        document = json.dumps(flat, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:
        raise StorageError(f"state for {key!r} cannot be stored as JSON: {e}", operation="write") from e
    try:
        _restored(document)
    except _UNREADABLE as e:
        raise StorageError(f"state for {key!r} cannot be stored: it would not read back as state ({e})",
                           operation="write") from e
    return _as_utf8_text(document)


def _as_utf8_text(document: str) -> str:
    """``document`` as text every store can keep: a lone surrogate (JSON's ``"\\udbb7"`` read from a client's
    activity) cannot be UTF-8, so such a document is written with every non-ASCII character escaped, which
    reads back to the same value."""
    try:
        document.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(json.loads(document), ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return document


_UNREADABLE = (ValueError, TypeError, AttributeError, ImportError, KeyError, IndexError, RecursionError)
"""What reading a document that is not state this bot wrote raises (json's, jsonpickle's and codecs' errors)."""


def _restored(document: str | bytes) -> object:
    item = json.loads(document)
    if pickle_tags_in(item):  # objects, tuples, references: jsonpickle restores them; plain JSON is itself
        item = Unpickler(safe=True).restore(item)
    return item


def decode_item(where: str | Path, key: str, document: str | bytes, e_tag: str) -> object:
    """An item ``encode_item`` wrote, with ``e_tag`` set on it; ``UnreadableItemError`` naming ``where`` if it
    is not one."""
    try:
        item = _restored(document)
    except _UNREADABLE as e:
        raise UnreadableItemError(f"state store {where}: read failed: the item {key!r} is not valid JSON state:"
                                  f" {type(e).__name__}: {e}", path=where if isinstance(where, Path) else None,
                                  operation="read") from e
    set_e_tag(item, e_tag)
    return item


class MemoryStateStorage(MemoryStorage):  # type: ignore[misc]  # botbuilder ships no type information
    """botbuilder's ``MemoryStorage`` (``memory://``: one process, gone on restart) that also honours
    ``CREATE_ONLY_E_TAG``. Its other e-tag rules are ``MemoryStorage``'s own."""

    honours_create_only = True

    async def write(self, changes: dict[str, Any] | None) -> None:
        """``MemoryStorage.write``; a new item is stored with a fresh e-tag, handed back to the caller's item."""
        prepared = dict(changes) if changes else changes
        created: list[tuple[object, str]] = []
        for key, item in (changes or {}).items():
            if e_tag_of(item) != CREATE_ONLY_E_TAG:
                continue
            if key in self.memory:
                raise etag_conflict("memory://", key, CREATE_ONLY_E_TAG, "")
            e_tag = secrets.token_hex(8)
            stored = copy.copy(item)
            set_e_tag(stored, e_tag)
            prepared[key] = stored  # type: ignore[index]  # not None: it has this item
            created.append((item, e_tag))
        await super().write(prepared)
        for item, e_tag in created:
            set_e_tag(item, e_tag)


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
                    except UnreadableItemError as e:  # absent for this key, logged once (bot.unreadable_items)
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
            with _transaction(connection):
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
            with _transaction(connection):
                connection.executemany("DELETE FROM bot_state WHERE key = ?", doomed)

        await self.database.run("delete", work)

    async def problem(self) -> str | None:
        """Why this store cannot keep state now, else ``None`` (``SqliteDatabase.problem``)."""
        return await self.database.problem()

    def close(self) -> None:
        """Close the database file (it is opened again if the storage is used later)."""
        self.database.close()


# The names these helpers had before other stores shared them (branches written against them still import them).
_encode, _decode, _e_tag_of, _set_e_tag = encode_item, decode_item, e_tag_of, set_e_tag
