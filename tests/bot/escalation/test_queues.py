"""Agents' channels: the register command, matching a ticket to the first queue that takes it."""

from __future__ import annotations

from pathlib import Path

from bot.escalation.queues import Queue, QueueRegistry, holds, parse_register, route
from bot.escalation.tickets import Person, Ticket
from bot.stores.sqlite import SqliteStorage


def test_register_command() -> None:
    assert parse_register("hello") is None
    assert parse_register("register agents") is not None
    parsed = parse_register("Register agents sv ko-KR, articles:desktop-*")
    assert parsed is not None and parsed.locales == ("sv", "ko-KR") and parsed.articles == ("desktop-*",)
    assert parse_register("register agents klingon!!") is not None
    bad = parse_register("register agents klingon!!")
    assert bad is not None and bad.problem == "klingon!!"


def queue(channel: str, locales: tuple[str, ...] = (), articles: tuple[str, ...] = (), tenant: str = "") -> Queue:
    return Queue(channel_id=channel, name=channel, reference={"conversation": {"id": channel}}, locales=locales,
                 articles=articles, tenant=tenant)


def ticket(tenant: str, *, posted_to: str | None = None, locale: str = "sv-SE") -> Ticket:
    return Ticket(number=1, user=Person("29:u", "U"), conversation={}, locale=locale, questions=("q",),
                  tenant=tenant, queue=posted_to)


async def test_first_matching_queue_wins_and_reregistering_keeps_the_place(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    registry = QueueRegistry(storage)
    await registry.register(queue("19:nordic", ("sv", "nb", "da")))
    await registry.register(queue("19:desktop", (), ("error-validating-*",)))
    await registry.register(queue("19:everyone"))
    def first(locale: str, article: str | None = None) -> str:
        found = route(queues, locale=locale, article=article, tenant="")
        return found.channel_id if found else "?"

    queues = await registry.all()
    assert first("sv-SE") == "19:nordic"
    assert first("ko-KR", "error-validating-access-token") == "19:desktop"
    assert first("ko-KR", "other") == "19:everyone"
    await registry.register(queue("19:nordic", ("fi",)))
    queues = await registry.all()
    assert [q.channel_id for q in queues] == ["19:nordic", "19:desktop", "19:everyone"]
    assert first("sv-SE") == "19:everyone"
    storage.close()


def test_a_ticket_goes_only_to_a_queue_of_its_tenant() -> None:
    queues = [queue("19:a-swedish", ("sv",), tenant="tenant-a"), queue("19:b-all", tenant="tenant-b"),
              queue("19:a-all", tenant="tenant-a")]
    assert route(queues, locale="sv-SE", article=None, tenant="tenant-b") == queues[1]
    assert route(queues, locale="ko-KR", article=None, tenant="tenant-a") == queues[2]
    assert route(queues, locale="sv-SE", article=None, tenant="tenant-c") is None
    assert route(queues, locale="sv-SE", article=None, tenant="") == queues[0]  # the activity named no tenant


def test_a_queue_holds_the_tickets_posted_to_it_and_unposted_ones_it_would_take() -> None:
    a, b = queue("19:a", tenant="tenant-a"), queue("19:b", tenant="tenant-b")
    assert holds(a, ticket("tenant-a", posted_to="19:a")) and not holds(b, ticket("tenant-a", posted_to="19:a"))
    assert not holds(a, ticket("tenant-b", posted_to="19:b"))
    assert holds(a, ticket("tenant-a")) and not holds(b, ticket("tenant-a"))
    assert not holds(queue("19:a-ko", ("ko",), tenant="tenant-a"), ticket("tenant-a"))


async def test_a_registration_keeps_its_team_and_tenant(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    registry = QueueRegistry(storage)
    await registry.register(Queue(channel_id="19:c", name="C", reference={}, team="19:team@thread.tacv2",
                                   team_group="g-1", tenant="t-1"))
    found = await registry.find("19:c")
    assert found is not None and (found.team, found.team_group, found.tenant) == ("19:team@thread.tacv2", "g-1", "t-1")
    storage.close()
