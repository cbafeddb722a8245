"""The report of what the knowledge base did not solve, read from a state store: the articles to write next.

    print(format_report(load_report("sqlite:///var/insight-desk.db")))
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar, cast

from botbuilder.core import Storage

from bot.feedback.events import EventFeedbackStore, FeedbackEvent, ReportRow
from bot.stores import aclose_storage, create_feedback_store, create_storage
from bot.stores.sqlite import SqliteFeedbackStore, SqliteStorage

__all__ = ["format_report", "load_events", "load_report"]

T = TypeVar("T")


def _read_state_store(
    url: str,
    blob_connection_string: str,
    network: Callable[[EventFeedbackStore], Awaitable[T]],
    local: Callable[[SqliteFeedbackStore], T],
) -> T:
    """What ``network`` reads from the feedback beside a Redis or Blob state store at ``url``, or ``local``
    from the SQLite file's; for the command line, which creates nothing."""
    storage = create_storage(url, blob_connection_string=blob_connection_string)
    if url.partition(":")[0].lower() in ("redis", "rediss", "azureblob"):
        return _read_network_feedback(storage, network)
    if not isinstance(storage, SqliteStorage):
        raise ValueError(f"STATE_STORE {url!r} keeps no feedback between runs; reading it needs sqlite:///path"
                         " or redis://host:port/db")
    if not storage.path.is_file():
        raise FileNotFoundError(f"no state store at {storage.path} (STATE_STORE={url}): nothing recorded yet")
    store = SqliteFeedbackStore(storage.database)
    try:
        return local(store)
    finally:
        store.close()


def load_report(url: str, limit: int = 20, *, blob_connection_string: str = "") -> list[ReportRow]:
    """The report of the state store at ``url`` (``STATE_STORE``), for the command line; creates nothing."""
    return _read_state_store(url, blob_connection_string, lambda store: store.report(limit),
                             lambda store: store.report_sync(limit))


def load_events(url: str, *, blob_connection_string: str = "") -> list[FeedbackEvent]:
    """Every feedback event of the state store at ``url``, oldest first, for the command line; creates nothing."""
    return _read_state_store(url, blob_connection_string, lambda store: store.events(),
                             lambda store: store.events_sync())


def format_report(rows: Iterable[ReportRow]) -> str:
    """The report as text for a terminal: one numbered group per line, then its articles and languages."""
    rows = list(rows)
    if not rows:
        return "No unanswered or unhelpful queries recorded."
    lines = [f"Unanswered and unhelpful queries, most frequent first ({len(rows)}):", ""]
    width = len(str(len(rows)))
    for number, row in enumerate(rows, 1):
        kinds = ", ".join(f"{n} {kind.value.replace('_', ' ')}" for kind, n in row.kinds.items())
        text = " ".join(row.query.split())
        shown = text if len(text) <= 100 else text[:97] + "..."
        lines.append(f"{number:>{width}}. {row.count}x  {shown}")
        details = [kinds, f"last {row.last_seen:%Y-%m-%d %H:%M} UTC"]
        if row.articles:
            details.append("articles: " + ", ".join(row.articles))
        if row.locales:
            details.append("languages: " + ", ".join(row.locales))
        lines.append(" " * (width + 2) + " · ".join(details))
    return "\n".join(lines)


def _read_network_feedback(storage: Storage, read: Callable[[EventFeedbackStore], Awaitable[T]]) -> T:
    """What ``read`` gets from the feedback store beside a Redis or Blob state store, for the command line
    (runs its own event loop, closes the storage)."""
    async def run() -> T:
        try:
            store = create_feedback_store(storage)
            if not callable(getattr(store, "events", None)):  # Redis and Blob keep events, not report rows
                raise ValueError(f"{type(storage).__name__} is not a Redis or Blob state store")
            return await read(cast(EventFeedbackStore, store))
        finally:
            await aclose_storage(storage)

    return asyncio.run(run())
