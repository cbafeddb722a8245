"""The store of one process (``STATE_STORE=memory://``): state and feedback gone on restart; the tests' fake."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from botbuilder.core import MemoryStorage

from bot.feedback.events import FeedbackEvent, FeedbackStore, ReportRow, report_from_events
from bot.stores.base import CREATE_ONLY_E_TAG, e_tag_of, etag_conflict, set_e_tag

__all__ = ["MemoryFeedbackStore", "MemoryStateStorage"]


class MemoryStateStorage(MemoryStorage):  # type: ignore[misc]  # botbuilder ships no type information
    """botbuilder's ``MemoryStorage`` (``memory://``: one process, gone on restart) that also honours
    ``CREATE_ONLY_E_TAG``. Its other e-tag rules are ``MemoryStorage``'s own."""

    honours_create_only = True

    async def write(self, changes: dict[str, Any] | None) -> None:
        """``MemoryStorage.write``; a new item is stored with a fresh e-tag, handed back to the caller's item."""
        prepared = dict(changes) if changes else changes
        created: list[tuple[object, str]] = []
        for key, item in (changes or {}).items():
            if e_tag_of(item) != CREATE_ONLY_E_TAG:
                continue
            if key in self.memory:
                raise etag_conflict("memory://", key, CREATE_ONLY_E_TAG, "")
            e_tag = secrets.token_hex(8)
            stored = copy.copy(item)
            set_e_tag(stored, e_tag)
            prepared[key] = stored  # type: ignore[index]  # not None: it has this item
            created.append((item, e_tag))
        await super().write(prepared)
        for item, e_tag in created:
            set_e_tag(item, e_tag)

    def feedback_store(self) -> FeedbackStore:
        """Feedback in a list of this process."""
        return MemoryFeedbackStore()


class MemoryFeedbackStore:
    """Feedback in a list: the fake for tests, and the store beside ``memory://`` state."""

    def __init__(self) -> None:
        self.events: list[FeedbackEvent] = []

    async def record(self, event: FeedbackEvent) -> None:
        self.events.append(event)

    async def report(self, limit: int = 20) -> list[ReportRow]:
        return report_from_events(self.events, limit)
