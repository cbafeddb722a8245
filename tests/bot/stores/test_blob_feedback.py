"""Feedback on Azure Blob Storage (a real Azurite): daily append blobs shared by every instance."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from functools import partial

import pytest

from bot.feedback.events import FeedbackKind
from bot.feedback.report import load_report
from bot.stores import create_feedback_store
from bot.stores.base import StorageError
from bot.stores.blob import BlobFeedbackStore, create_blob_storage
from bot.stores.memory import MemoryFeedbackStore
from services import RunningService
from tests.bot.feedback_events import feedback_event

T0 = datetime(2026, 11, 1, 23, 50, tzinfo=UTC)


event = partial(feedback_event, locale="ko-KR", start=T0)


async def test_two_instances_append_into_one_report_across_days(azurite_service: RunningService) -> None:
    url = f"azureblob://feedback-{uuid.uuid4().hex[:10]}"
    stores = [create_blob_storage(url, azurite_service.connection_string) for _ in range(2)]
    try:
        feedbacks = [create_feedback_store(s) for s in stores]
        assert all(isinstance(f, BlobFeedbackStore) for f in feedbacks)
        events = [event(FeedbackKind.UNANSWERED if n % 3 else FeedbackKind.NOT_HELPED, f"problem {n % 4}", n,
                        "article-x" if n % 3 == 0 else None) for n in range(40)]   # 23:50 to 00:29: two days
        await asyncio.gather(*(feedbacks[n % 2].record(e) for n, e in enumerate(events)))
        stored = await feedbacks[1].events()            # type: ignore[attr-defined]
        assert sorted(e.timestamp for e in stored) == [e.timestamp for e in events], "none lost, none doubled"
        blobs = [b.name async for b in stores[0].container.list_blobs(name_starts_with="feedback/")]
        assert sorted(blobs) == ["feedback/2026-11-01.jsonl", "feedback/2026-11-02.jsonl"]
        memory = MemoryFeedbackStore()
        for e in events:
            await memory.record(e)
        assert await feedbacks[0].report() == await memory.report()
        cli = await asyncio.to_thread(load_report, url, 20, blob_connection_string=azurite_service.connection_string)
        assert cli == await memory.report()
    finally:
        for store in stores:
            await store.aclose()


async def test_creating_the_day_blob_again_keeps_what_it_holds(azurite_service: RunningService) -> None:
    storage = create_blob_storage(f"azureblob://race-{uuid.uuid4().hex[:10]}", azurite_service.connection_string)
    try:
        feedback = BlobFeedbackStore(storage)
        await feedback.record(event(FeedbackKind.HELPED, "first", 0))
        blob = storage.container.get_blob_client("feedback/2026-11-01.jsonl")
        await BlobFeedbackStore.create_day_blob(blob)      # what a second instance racing on the 404 does
        await feedback.record(event(FeedbackKind.HELPED, "second", 1))
        assert [e.query for e in await feedback.events()] == ["first", "second"]
    finally:
        await storage.aclose()


async def test_state_and_feedback_share_the_container_without_clashing(azurite_service: RunningService) -> None:
    storage = create_blob_storage(f"azureblob://mixed-{uuid.uuid4().hex[:10]}", azurite_service.connection_string)
    try:
        await storage.write({"feedback/2026-11-01.jsonl": {"a state item": "with a feedback-like key"}})
        feedback = BlobFeedbackStore(storage)
        await feedback.record(event(FeedbackKind.HELPED, "q", 0))
        assert len(await feedback.events()) == 1
        assert (await storage.read(["feedback/2026-11-01.jsonl"]))["feedback/2026-11-01.jsonl"]["a state item"]
    finally:
        await storage.aclose()


async def test_a_garbage_line_is_a_storage_error(azurite_service: RunningService) -> None:
    storage = create_blob_storage(f"azureblob://garbage-{uuid.uuid4().hex[:10]}", azurite_service.connection_string)
    try:
        await storage.ready()
        await storage.container.upload_blob("feedback/2026-11-01.jsonl", b"{not json\n")
        with pytest.raises(StorageError, match="not a feedback event"):
            await BlobFeedbackStore(storage).report()
    finally:
        await storage.aclose()
