"""botbuilder ``Storage`` in Redis: the state store several bot instances share (``STATE_STORE=redis://...``).

    storage = RedisStorage("redis://127.0.0.1:6379/0")      # rediss:// for TLS, redis://:password@host/db
    await storage.write({"k": {"v": 1}})
    await storage.aclose()

Each item is one Redis hash ``<prefix><key>`` with the fields ``e_tag`` and ``doc`` (the item as JSON, in
jsonpickle's form, exactly as ``SqliteStorage`` keeps it). The e-tag rules are ``SqliteStorage``'s: a write
whose item carries an e-tag other than ``"*"`` succeeds only if the stored item still has it (else
``EtagConflictError``; ``CREATE_ONLY_E_TAG``: only if nothing is stored yet); every write gives a fresh
e-tag, handed back to the written item. One call's writes are one Lua script, which Redis runs atomically:
every e-tag is checked before anything is written, so the call commits whole or not at all, and two
instances racing on one key cannot both win.

The client (redis-py's asyncio client) connects on first use, on the event loop that uses it; every Redis
failure is a ``StorageError`` naming the server (never its password) and the operation. Redis Cluster is
not supported (one call may touch keys in several slots); use a single server or a replicated primary.

Feedback: Each event is one JSON object appended (``RPUSH``, atomic) to the list ``<state prefix>feedback``; the
report reads the list in pages and groups it like ``MemoryFeedbackStore``. Appends never conflict, so
instances need no coordination.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from botbuilder.core import Storage
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bot.feedback.events import (
    FeedbackEvent,
    FeedbackStore,
    ReportRow,
    event_from_record,
    event_json,
    report_from_events,
)
from bot.stores.base import (
    CREATE_ONLY_E_TAG,
    StorageError,
    UnreadableItemError,
    decode_item,
    encode_item,
    etag_conflict,
    set_e_tag,
    write_items,
)
from bot.stores.unreadable_items import UnreadableItems

__all__ = ["DEFAULT_PREFIX", "RedisFeedbackStore", "RedisStorage", "redis_location"]

DEFAULT_PREFIX = "insight-desk:state:"
"""Prepended to every botbuilder key, so the bot's items are easy to find beside other data."""
_TIMEOUT = 5.0
"""Seconds to connect, to wait for a free connection or for one reply before the operation fails."""
_FEEDBACK_PAGE = 1000
"""Feedback events read per round trip when building the report."""
_MAX_CONNECTIONS = 32
"""Connections per store: a burst of turns waits for a free one instead of opening hundreds."""

# KEYS: the items' Redis keys. ARGV: per key, the e-tag it must have ("" = unconditional, CREATE_ONLY_E_TAG =
# only if absent), its new e-tag and its document. Returns 0 when written, else {index of the first
# conflict, its current e-tag}.
_COMPARE_AND_SET = """
for i, key in ipairs(KEYS) do
  local expected = ARGV[3 * i - 2]
  if expected ~= '' then
    local current = redis.call('HGET', key, 'e_tag')
    if expected == '""" + CREATE_ONLY_E_TAG + """' then
      if current then
        return {i, current}
      end
    elseif current ~= expected then
      return {i, current or ''}
    end
  end
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'e_tag', ARGV[3 * i - 1], 'doc', ARGV[3 * i])
end
return 0
"""


def redis_location(url: str) -> str:
    """``url`` without credentials, for messages: ``redis://:secret@cache:6380/2`` → ``redis://cache:6380/2``."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RedisStorage(Storage):  # type: ignore[misc]  # botbuilder ships no type information
    """botbuilder ``Storage`` in Redis, with ``SqliteStorage``'s e-tag rules (see the module)."""

    honours_create_only = True

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        super().__init__()
        if urlsplit(url).scheme.lower() not in ("redis", "rediss"):
            raise ValueError(f"not a Redis URL (expected redis://host:port/db): {url!r}")
        self.url = url
        self.prefix = prefix
        self.location = redis_location(url)
        self.unreadable = UnreadableItems(self.location, CREATE_ONLY_E_TAG)
        self._client: Redis | None = None

    @property
    def client(self) -> Redis:
        """The asyncio client, made on first use (it connects lazily, on the loop that uses it)."""
        if self._client is None:
            pool = BlockingConnectionPool.from_url(self.url, max_connections=_MAX_CONNECTIONS, timeout=_TIMEOUT,
                                                   socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT,
                                                   health_check_interval=30)
            self._client = Redis(connection_pool=pool)
        return self._client

    def _failure(self, operation: str, error: RedisError) -> StorageError:
        return StorageError(f"state store {self.location}: {operation} failed: {error}", operation=operation)

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        """The stored items among ``keys``; keys never written are absent from the result."""
        wanted = list(dict.fromkeys(keys or ()))
        if not wanted:
            return {}
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for key in wanted:
                    pipe.hmget(self.prefix + key, "e_tag", "doc")
                replies = await pipe.execute()
        except RedisError as e:
            raise self._failure("read", e) from e
        found: dict[str, Any] = {}
        for key, (e_tag, document) in zip(wanted, replies, strict=True):
            if e_tag is None or document is None:
                self.unreadable.seen(key)
                continue
            tag = e_tag.decode("utf-8", "replace")
            try:
                found[key] = decode_item(self.location, key, document, tag)
            except UnreadableItemError as e:  # absent for this key, logged once (bot.stores.unreadable_items)
                self.unreadable.note(key, tag, e)
            else:
                self.unreadable.seen(key)
        return found

    async def write(self, changes: dict[str, Any] | None) -> None:
        """Store every item of ``changes``, all or none; a stale e-tag is an ``EtagConflictError``."""
        items = write_items(changes, self.unreadable)
        if not items:
            return
        keys: list[str] = []
        arguments: list[str] = []
        new_tags: list[str] = []
        for key, item, condition in items:
            e_tag = secrets.token_hex(8)
            keys.append(self.prefix + key)
            arguments += [condition or "", e_tag, encode_item(key, item)]
            new_tags.append(e_tag)
        try:
            outcome = await self.client.eval(_COMPARE_AND_SET, len(keys), *keys, *arguments)
        except RedisError as e:
            raise self._failure("write", e) from e
        if outcome != 0:
            index, current = int(outcome[0]) - 1, outcome[1].decode("ascii")
            raise etag_conflict(self.location, items[index][0], arguments[3 * index], current or None)
        for (_, item, _), e_tag in zip(items, new_tags, strict=True):
            set_e_tag(item, e_tag)

    async def delete(self, keys: Iterable[str] | None) -> None:
        """Remove the items of ``keys``; unknown keys are ignored."""
        doomed = [self.prefix + key for key in dict.fromkeys(keys or ())]
        if not doomed:
            return
        try:
            await self.client.delete(*doomed)
        except RedisError as e:
            raise self._failure("delete", e) from e

    def feedback_store(self) -> FeedbackStore:
        """Feedback beside this store's items."""
        return RedisFeedbackStore(self)

    async def aclose(self) -> None:
        """Close the connections (a later call opens new ones)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose(close_connection_pool=True)


class RedisFeedbackStore:
    """Feedback events in a Redis list beside ``storage``'s items (same server, same key prefix)."""

    def __init__(self, storage: RedisStorage) -> None:
        self.storage = storage
        self.key = storage.prefix + "feedback"

    async def record(self, event: FeedbackEvent) -> None:
        try:
            await self.storage.client.rpush(self.key, event_json(event))
        except RedisError as e:
            raise StorageError(f"state store {self.storage.location}: record feedback failed: {e}",
                               operation="record feedback") from e

    async def events(self) -> list[FeedbackEvent]:
        """Every recorded event, oldest first. A record that is not an event is a ``StorageError``."""
        found: list[FeedbackEvent] = []
        start = 0
        try:
            while True:
                page = await self.storage.client.lrange(self.key, start, start + _FEEDBACK_PAGE - 1)
                for raw in page:
                    found.append(event_from_record(json.loads(raw)))
                if len(page) < _FEEDBACK_PAGE:
                    return found
                start += _FEEDBACK_PAGE
        except RedisError as e:
            raise StorageError(f"state store {self.storage.location}: read the feedback report failed: {e}",
                               operation="read the feedback report") from e
        except (ValueError, KeyError, TypeError) as e:
            raise StorageError(f"state store {self.storage.location}: the feedback list {self.key!r} holds a"
                               f" record that is not a feedback event: {e}",
                               operation="read the feedback report") from e

    async def report(self, limit: int = 20) -> list[ReportRow]:
        return report_from_events(await self.events(), limit)
