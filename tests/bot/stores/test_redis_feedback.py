"""Feedback on a real Redis: events from several instances land in one report, the CLI reads it."""

from __future__ import annotations

import asyncio
import io
import uuid
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.feedback.events import FeedbackKind
from bot.feedback.report import load_report
from bot.stores import create_feedback_store
from bot.stores.base import StorageError
from bot.stores.redis import RedisFeedbackStore, RedisStorage
from services import RunningService, free_port
from tests.bot.feedback_events import feedback_event

event = partial(feedback_event, locale="sv-SE")


async def test_two_instances_record_into_one_report(redis_service: RunningService) -> None:
    prefix = f"feedback-{uuid.uuid4().hex[:8]}:"
    stores = [RedisStorage(redis_service.url, prefix=prefix), RedisStorage(redis_service.url, prefix=prefix)]
    try:
        feedbacks = [create_feedback_store(s) for s in stores]
        assert all(isinstance(f, RedisFeedbackStore) for f in feedbacks)
        await asyncio.gather(*(feedbacks[n % 2].record(event(FeedbackKind.UNANSWERED, f"problem {n % 5}", n))
                               for n in range(1500)))           # more than one page of the report's reads
        rows = await feedbacks[0].report(limit=10)
        assert sorted(row.count for row in rows) == [300] * 5
        assert len(await feedbacks[1].events()) == 1500      # type: ignore[attr-defined]
    finally:
        for store in stores:
            await store.aclose()


def test_the_report_command_reads_redis(redis_service: RunningService) -> None:
    prefix_default = "insight-desk:state:"
    url = redis_service.url.replace("/0", "/5")                # its own database: the default prefix is free

    async def record() -> None:
        storage = RedisStorage(url, prefix=prefix_default)
        feedback = RedisFeedbackStore(storage)
        await storage.client.delete(feedback.key)
        for n in range(3):
            await feedback.record(event(FeedbackKind.NOT_HELPED, "Printer tray 2 is jammed", n, "printer-jam"))
        await storage.aclose()

    asyncio.run(record())
    rows = load_report(url)
    assert [(row.query, row.not_helped, row.articles) for row in rows] == [
        ("Printer tray 2 is jammed", 3, ("printer-jam",))]
    out = io.StringIO()
    assert main(["report", "--store", url], out=out, err=io.StringIO()) == 0
    assert "3x  Printer tray 2 is jammed" in out.getvalue()


def test_kb_learn_reads_redis(redis_service: RunningService) -> None:
    url = redis_service.url.replace("/0", "/6")                # its own database: the default prefix is free
    portal = "Det gick inte att verifiera åtkomsttoken"
    seed = "error-validating-access-token-during-onboarding"

    async def record() -> None:
        storage = RedisStorage(url, prefix="insight-desk:state:")
        feedback = RedisFeedbackStore(storage)
        await storage.client.delete(feedback.key)
        for n in range(2):  # two users said the seed article helped with the portal's wording
            await feedback.record(replace(event(FeedbackKind.HELPED, portal, n, seed), user_id=f"user-{n}"))
        await storage.aclose()

    asyncio.run(record())
    out, err = io.StringIO(), io.StringIO()
    bundled = str(Path(__file__).resolve().parents[3] / "knowledge" / "articles")
    assert main(["kb", "learn", "--store", url, "--kb", bundled], out=out, err=err) == 0, err.getvalue()
    assert "1 texts proposed from 2 feedback events" in err.getvalue()
    assert f'"sv-SE":\n  "{seed}":\n    # 2 users' in out.getvalue() and f'- "{portal}"' in out.getvalue()


async def test_a_garbage_record_and_a_dead_server_are_storage_errors(redis_service: RunningService) -> None:
    storage = RedisStorage(redis_service.url, prefix=f"garbage-{uuid.uuid4().hex[:8]}:")
    feedback = RedisFeedbackStore(storage)
    try:
        await storage.client.rpush(feedback.key, "{not json")
        with pytest.raises(StorageError, match="not a feedback event"):
            await feedback.report()
    finally:
        await storage.aclose()
    dead = RedisStorage(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(StorageError, match=r"redis://127\.0\.0\.1:\d+/0: record feedback failed"):
            await RedisFeedbackStore(dead).record(event(FeedbackKind.HELPED, "q", 1))
        with pytest.raises(StorageError, match="read failed"):
            await dead.read(["k"])
    finally:
        await dead.aclose()
