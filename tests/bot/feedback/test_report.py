"""Feedback: events kept in SQLite (or memory) and the report of the articles to write next."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from botbuilder.core import MemoryStorage
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.__main__ import main
from bot.feedback.events import (
    MAX_QUERY_CHARS,
    PROBLEM_KINDS,
    FeedbackEvent,
    FeedbackKind,
    FeedbackStore,
    ReportRow,
    hash_user_id,
    query_key,
)
from bot.feedback.report import format_report, load_report
from bot.stores import create_feedback_store
from bot.stores.base import StorageError
from bot.stores.memory import MemoryFeedbackStore
from bot.stores.sqlite import SqliteFeedbackStore, SqliteStorage
from tests.bot.feedback_events import START as T0
from tests.bot.feedback_events import feedback_event

TOKEN_ERROR = "AADSTS50058: A silent sign-in request was sent but no user is signed in."
PRINTER = "Printer tray 2 is jammed with paper again"
HELPED, NOT_HELPED = FeedbackKind.HELPED, FeedbackKind.NOT_HELPED
UNANSWERED, ESCALATED = FeedbackKind.UNANSWERED, FeedbackKind.ESCALATED


@pytest.fixture(params=["sqlite", "memory", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FeedbackStore]:
    if request.param == "memory":
        yield MemoryFeedbackStore()
        return
    if request.param == "redis":
        from bot.stores.redis import RedisFeedbackStore, RedisStorage

        redis = RedisStorage(request.getfixturevalue("redis_service").url, prefix=f"{tmp_path.name}:")
        yield RedisFeedbackStore(redis)
        await redis.aclose()
        return
    sqlite = SqliteFeedbackStore(tmp_path / "state.db")
    yield sqlite
    sqlite.close()


event = feedback_event


# -- events --------------------------------------------------------------------------------------


def test_an_event_takes_its_kind_as_a_string_and_bounds_its_query() -> None:
    made = FeedbackEvent("not_helped", "x" * 5000)  # type: ignore[arg-type]
    assert made.kind is FeedbackKind.NOT_HELPED
    assert len(made.query) == MAX_QUERY_CHARS
    assert made.timestamp.tzinfo is UTC
    with pytest.raises(ValueError, match="'liked'"):
        FeedbackEvent("liked", "x")  # type: ignore[arg-type]


def test_an_event_time_needs_a_zone_and_is_kept_in_utc() -> None:
    stockholm = timezone(timedelta(hours=1))
    made = FeedbackEvent(HELPED, "q", timestamp=datetime(2026, 11, 1, 10, 0, tzinfo=stockholm))
    assert made.timestamp == T0 + timedelta(minutes=0) and made.timestamp.tzinfo is UTC
    with pytest.raises(ValueError, match="no time zone"):
        FeedbackEvent(HELPED, "q", timestamp=datetime(2026, 11, 1, 10, 0))


def test_query_key_groups_one_error_pasted_with_other_ids_and_casing() -> None:
    pastes = [
        f"{TOKEN_ERROR} Trace ID: 0a1b2c3d-1111-2222-3333-444455556666 Timestamp: 2026-01-02 10:11:12Z",
        f"Error: {TOKEN_ERROR.upper()}  Correlation ID: 9f8e7d6c-1111-2222-3333-444455556666",
        f"<at>Insight Desk</at> {TOKEN_ERROR}",
    ]
    assert len({query_key(p) for p in pastes}) == 1
    assert query_key(TOKEN_ERROR) != query_key(PRINTER)
    assert query_key("驗證存取權杖時發生錯誤") != query_key("存取權杖已過期")
    assert query_key("  ") == ""


def test_hash_user_id_is_stable_and_does_not_contain_the_id() -> None:
    assert hash_user_id("29:user-1") == hash_user_id("29:user-1") != hash_user_id("29:user-2")
    assert "user-1" not in hash_user_id("29:user-1")


# -- the report ----------------------------------------------------------------------------------


async def test_report_lists_problem_queries_most_frequent_first(store: FeedbackStore) -> None:
    events = [
        event(UNANSWERED, f"{PRINTER} (ticket 0a1b2c3d-1111-2222-3333-44445555{n:04})", n) for n in range(3)
    ] + [
        event(NOT_HELPED, TOKEN_ERROR, 10, "aadsts50058", "sv-SE"),
        event(HELPED, TOKEN_ERROR, 11, "aadsts50058"),
        event(ESCALATED, TOKEN_ERROR.lower(), 12, "aadsts50058", "ko-KR"),
        event(HELPED, TOKEN_ERROR, 13, "aadsts50058"),
        event(NOT_HELPED, "The VPN client says error 809", 5, "vpn-809"),
        event(HELPED, "Password expired", 20, "password-expired"),
    ]
    for item in events:
        await store.record(item)
    rows = await store.report()
    assert [(row.count, row.key) for row in rows] == [
        (3, query_key(f"{PRINTER} (ticket)")),
        (2, query_key(TOKEN_ERROR)),
        (1, query_key("The VPN client says error 809")),
    ]
    printer, token, vpn = rows
    assert printer.query == events[2].query, "the most recent text stands for the group"
    assert (printer.unanswered, printer.not_helped, printer.escalated, printer.helped) == (3, 0, 0, 0)
    assert printer.articles == () and printer.last_seen == T0 + timedelta(minutes=2)
    assert token.query == TOKEN_ERROR.lower()
    assert token.kinds == {NOT_HELPED: 1, ESCALATED: 1, HELPED: 2}
    assert token.articles == ("aadsts50058",) and token.locales == ("ko-KR", "sv-SE")
    assert token.last_seen == T0 + timedelta(minutes=12)
    assert vpn.articles == ("vpn-809",)


async def test_report_breaks_ties_by_the_most_recent(store: FeedbackStore) -> None:
    await store.record(event(UNANSWERED, "older problem", 1))
    await store.record(event(UNANSWERED, "newer problem", 2))
    await store.record(event(HELPED, "older problem", 3))
    assert [row.query for row in await store.report()] == ["newer problem", "older problem"]


async def test_report_respects_its_limit(store: FeedbackStore) -> None:
    for n in range(30):
        for _ in range(n % 4 + 1):
            await store.record(event(UNANSWERED, f"error number {n} happened", n))
    rows = await store.report(limit=5)
    assert len(rows) == 5
    assert [row.count for row in rows] == [4] * 5
    assert len(await store.report()) == 20
    with pytest.raises(ValueError, match="at least 1"):
        await store.report(limit=0)


async def test_an_empty_store_reports_nothing(store: FeedbackStore) -> None:
    assert await store.report() == []
    await store.record(event(HELPED, "it worked", 1))
    assert await store.report() == []


kinds = st.sampled_from(list(FeedbackKind))
queries = st.sampled_from(
    [PRINTER, PRINTER.upper(), TOKEN_ERROR, f"Error: {TOKEN_ERROR}", "vpn 809", "ＶＰＮ 809", "x"])
articles = st.sampled_from([None, "a1", "a2"])
locales = st.sampled_from([None, "sv-SE", "zh-TW"])
events_strategy = st.lists(
    st.builds(event, kinds, queries, st.integers(0, 20), articles, locales), max_size=40)


@settings(max_examples=60, deadline=None)
@given(events=events_strategy, limit=st.integers(1, 5))
def test_sqlite_and_memory_stores_report_alike(tmp_path_factory: pytest.TempPathFactory,
                                               events: list[FeedbackEvent], limit: int) -> None:
    async def both() -> tuple[list[ReportRow], list[ReportRow]]:
        memory = MemoryFeedbackStore()
        sqlite = SqliteFeedbackStore(tmp_path_factory.mktemp("fb") / "state.db")
        try:
            for item in events:
                await memory.record(item)
                await sqlite.record(item)
            return await memory.report(limit), await sqlite.report(limit)
        finally:
            sqlite.close()

    from_memory, from_sqlite = asyncio.run(both())
    assert from_sqlite == from_memory
    problems = [e for e in events if e.kind in PROBLEM_KINDS]
    assert sum(row.count for row in from_memory) <= len(problems)
    if problems:
        assert from_memory[0].count == max(
            sum(query_key(e.query) == query_key(p.query) for e in problems) for p in problems)


# -- SQLite --------------------------------------------------------------------------------------


async def test_feedback_is_kept_in_the_state_file_and_survives_a_restart(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    feedback = create_feedback_store(storage)
    assert isinstance(feedback, SqliteFeedbackStore) and feedback.database is storage.database
    await storage.write({"user": {"language": "sv-SE"}})
    await feedback.record(event(NOT_HELPED, TOKEN_ERROR, 1, "aadsts50058", "sv-SE"))
    storage.close()

    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute("SELECT kind, query, article, locale, user_id, conversation_id, timestamp"
                          " FROM feedback").fetchall()
    assert rows == [("not_helped", TOKEN_ERROR, "aadsts50058", "sv-SE", "u", "c", "2026-11-01T09:01:00.000000+00:00")]

    reopened = SqliteFeedbackStore(tmp_path / "state.db")
    try:
        assert [row.query for row in await reopened.report()] == [TOKEN_ERROR]
    finally:
        reopened.close()


async def test_memory_state_gets_memory_feedback() -> None:
    assert isinstance(create_feedback_store(MemoryStorage()), MemoryFeedbackStore)


async def test_many_concurrent_records_are_all_kept(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    feedback = create_feedback_store(storage)
    try:
        await asyncio.gather(
            *(feedback.record(event(UNANSWERED, f"problem {n % 7}", n)) for n in range(140)),
            *(storage.write({f"user-{n}": {"n": n}}) for n in range(60)),
        )
        rows = await feedback.report()
        assert sorted(row.count for row in rows) == [20] * 7
        assert len(await storage.read([f"user-{n}" for n in range(60)])) == 60
    finally:
        storage.close()


async def test_an_unwritable_store_raises_storage_error(tmp_path: Path) -> None:
    (tmp_path / "occupied").write_text("")
    feedback = SqliteFeedbackStore(tmp_path / "occupied" / "state.db")
    with pytest.raises(StorageError, match="record feedback failed"):
        await feedback.record(event(HELPED, "q", 1))
    feedback.close()


# -- the command line ----------------------------------------------------------------------------


async def record_some(path: Path) -> None:
    feedback = SqliteFeedbackStore(path)
    try:
        for n in range(3):
            await feedback.record(event(UNANSWERED, PRINTER, n))
        await feedback.record(event(NOT_HELPED, TOKEN_ERROR, 5, "aadsts50058", "sv-SE"))
    finally:
        feedback.close()


def test_load_report_reads_a_state_file(tmp_path: Path) -> None:
    asyncio.run(record_some(tmp_path / "state.db"))
    rows = load_report(f"sqlite:///{tmp_path}/state.db", limit=1)
    assert [(row.query, row.count) for row in rows] == [(PRINTER, 3)]


def test_load_report_creates_nothing_and_refuses_memory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing recorded yet"):
        load_report(f"sqlite:///{tmp_path}/var/none.db")
    assert not (tmp_path / "var").exists()
    with pytest.raises(ValueError, match="keeps no feedback between runs"):
        load_report("memory://")


def test_format_report_numbers_the_groups_in_order() -> None:
    rows = [
        ReportRow("k1", PRINTER + "\n  second line", 3, 0, 0, 0, (), ("en-US",), T0),
        ReportRow("k2", TOKEN_ERROR, 0, 1, 1, 2, ("aadsts50058",), ("sv-SE",), T0 + timedelta(hours=1)),
        ReportRow("k3", "long " * 60, 1, 0, 0, 0, (), (), T0),
    ]
    text = format_report(rows)
    lines = text.splitlines()
    assert lines[0] == "Unanswered and unhelpful queries, most frequent first (3):"
    assert lines[2] == f"1. 3x  {PRINTER} second line"
    assert lines[3].split(" · ")[0].strip() == "3 unanswered"
    assert lines[4] == f"2. 2x  {TOKEN_ERROR}"
    assert "1 not helped, 1 escalated, 2 helped" in lines[5]
    assert "articles: aadsts50058" in lines[5] and "languages: sv-SE" in lines[5]
    assert "2026-11-01 10:00 UTC" in lines[5]
    assert lines[6].endswith("...") and len(lines[6]) < 120
    assert format_report([]) == "No unanswered or unhelpful queries recorded."


def test_python_m_bot_report_prints_the_groups(tmp_path: Path) -> None:
    asyncio.run(record_some(tmp_path / "state.db"))
    out, err = io.StringIO(), io.StringIO()
    assert main(["report", "--store", f"sqlite:///{tmp_path}/state.db"], out=out, err=err) == 0
    printed = out.getvalue()
    assert printed.index(PRINTER) < printed.index(TOKEN_ERROR)
    assert "3x" in printed and "articles: aadsts50058" in printed
