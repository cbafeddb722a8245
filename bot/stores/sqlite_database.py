"""One SQLite file, used from its own worker thread: the event loop never waits on the disk.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and a busy timeout, on one connection per database
opened on first use, used only from the database's own worker thread: the event loop never waits on
the disk. Every failure of the file or the database is a ``StorageError`` naming the file and the
operation, so a caller can log it and still answer the user; the next call opens the file again.

Before each batch of calls the file is checked (``bot.stores.sqlite_file``): a database file deleted while open
fails every call (rather than writing to the unlinked file, lost at the next start) until a file is at the
path again; a file replaced while open is opened anew; an immutable or append-only database, ``-wal`` or
``-shm`` file fails every call without SQLite touching it (its mapped ``-shm`` would crash the process with
SIGBUS). ``SqliteStorage.problem()`` (``GET /healthz``) says which, or ``None``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.stores.base import StorageError
from bot.stores.sqlite_file import FileIdentity, abandon, file_identity, locked_file

__all__ = ["DEFAULT_BUSY_TIMEOUT", "SqliteDatabase", "transaction"]

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT = 5.0
"""Seconds a statement waits for another connection's write lock before it fails."""


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
def transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taking the write lock at once; rolled back if anything fails inside."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with suppress(sqlite3.Error):  # a broken connection cannot roll back; closing it discards the work
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
