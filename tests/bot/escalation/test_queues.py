"""Agents' channels: the register command, matching a ticket to the first queue that takes it."""

from __future__ import annotations

from pathlib import Path

from bot.escalation.queues import Queue, QueueRegistry, parse_register
from bot.storage import SqliteStorage


def test_register_command() -> None:
    assert parse_register("hello") is None
    assert parse_register("register agents") is not None
    parsed = parse_register("Register agents sv ko-KR, articles:desktop-*")
    assert parsed is not None and parsed.locales == ("sv", "ko-KR") and parsed.articles == ("desktop-*",)
    assert parse_register("register agents klingon!!") is not None
    bad = parse_register("register agents klingon!!")
    assert bad is not None and bad.problem == "klingon!!"


def queue(channel: str, locales: tuple[str, ...] = (), articles: tuple[str, ...] = ()) -> Queue:
    return Queue(channel, channel, {"conversation": {"id": channel}}, locales, articles)


async def test_first_matching_queue_wins_and_reregistering_keeps_the_place(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    registry = QueueRegistry(storage)
    await registry.register(queue("19:nordic", ("sv", "nb", "da")))
    await registry.register(queue("19:desktop", (), ("error-validating-*",)))
    await registry.register(queue("19:everyone"))
    assert (await registry.first_for("sv-SE", None) or queue("?")).channel_id == "19:nordic"
    assert (await registry.first_for("ko-KR", "error-validating-access-token") or queue("?")).channel_id \
        == "19:desktop"
    assert (await registry.first_for("ko-KR", "other") or queue("?")).channel_id == "19:everyone"
    await registry.register(queue("19:nordic", ("fi",)))
    assert [q.channel_id for q in await registry.all()] == ["19:nordic", "19:desktop", "19:everyone"]
    assert (await registry.first_for("sv-SE", None) or queue("?")).channel_id == "19:everyone"
    storage.close()
