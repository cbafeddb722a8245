"""The state stores, one module per backend, each keeping the bot's state and the feedback beside it.

    storage = create_storage("sqlite:///var/insight-desk.db")   # or "memory://"
    user_state = UserState(storage)
    ...
    close_storage(storage)                                      # on shutdown
    feedback = create_feedback_store(storage)                  # the same file, server or container

URLs: ``sqlite:///relative/path.db`` (relative to the working directory), ``sqlite:////absolute/path.db``,
``memory://`` (botbuilder's ``MemoryStorage``, gone on restart), ``redis://host:port/db`` (``rediss://`` for
TLS; ``bot.stores.redis``: state shared by several bot instances), ``azureblob://container`` (botbuilder-azure's
``BlobStorage``; ``bot.stores.blob``, with the account's connection string passed in). Anything else is a
``ValueError``.

``base`` holds what they share and knows none of them; this module is the one place that picks a backend,
and imports a network backend (and its client library) only when its URL is used.
"""

from __future__ import annotations

from botbuilder.core import MemoryStorage, Storage

from bot.feedback.events import FeedbackStore
from bot.stores.base import KeepsFeedback
from bot.stores.memory import MemoryFeedbackStore, MemoryStateStorage
from bot.stores.sqlite import SqliteStorage, sqlite_path

__all__ = ["aclose_storage", "close_storage", "create_feedback_store", "create_storage", "storage_problem"]


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
        from bot.stores.redis import RedisStorage

        return RedisStorage(url)
    if scheme == "azureblob":
        from bot.stores.blob import create_blob_storage

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


def create_feedback_store(storage: Storage) -> FeedbackStore:
    """The feedback store that lives beside ``storage``: the same SQLite file, Redis server or Blob
    container, or memory for ``MemoryStorage``."""
    if isinstance(storage, KeepsFeedback):
        return storage.feedback_store()
    if isinstance(storage, MemoryStorage):
        return MemoryFeedbackStore()
    raise ValueError(f"no feedback store goes with {type(storage).__name__}; pass one explicitly")
