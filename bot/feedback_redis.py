"""Feedback in Redis, beside the bot's state: what several bot instances record lands in one report.

Each event is one JSON object appended (``RPUSH``, atomic) to the list ``<state prefix>feedback``; the
report reads the list in pages and groups it like ``MemoryFeedbackStore``. Appends never conflict, so
instances need no coordination.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from botbuilder.core import Storage
from redis.exceptions import RedisError

from bot.feedback import EventFeedbackStore, FeedbackEvent, FeedbackKind, ReportRow, report_from_events
from bot.storage import StorageError
from bot.storage_redis import RedisStorage

__all__ = ["RedisFeedbackStore", "event_from_record", "event_json", "read_network_feedback"]

T = TypeVar("T")

_PAGE = 1000
"""Events read per round trip when building the report."""


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
                page = await self.storage.client.lrange(self.key, start, start + _PAGE - 1)
                for raw in page:
                    found.append(event_from_record(json.loads(raw)))
                if len(page) < _PAGE:
                    return found
                start += _PAGE
        except RedisError as e:
            raise StorageError(f"state store {self.storage.location}: read the feedback report failed: {e}",
                               operation="read the feedback report") from e
        except (ValueError, KeyError, TypeError) as e:
            raise StorageError(f"state store {self.storage.location}: the feedback list {self.key!r} holds a"
                               f" record that is not a feedback event: {e}",
                               operation="read the feedback report") from e

    async def report(self, limit: int = 20) -> list[ReportRow]:
        return report_from_events(await self.events(), limit)


def read_network_feedback(storage: Storage, read: Callable[[EventFeedbackStore], Awaitable[T]]) -> T:
    """What ``read`` gets from the feedback store beside a Redis or Blob state store, for the command line
    (runs its own event loop, closes the storage)."""
    from bot.feedback import create_feedback_store
    from bot.feedback_blob import BlobFeedbackStore
    from bot.storage import aclose_storage

    async def run() -> T:
        try:
            store = create_feedback_store(storage)
            if not isinstance(store, RedisFeedbackStore | BlobFeedbackStore):
                raise ValueError(f"{type(storage).__name__} is not a Redis or Blob state store")
            return await read(store)
        finally:
            await aclose_storage(storage)

    return asyncio.run(run())
