"""Feedback events for the feedback stores' tests: one user and conversation, times in minutes from a start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.feedback.events import FeedbackEvent, FeedbackKind

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def feedback_event(kind: FeedbackKind, query: str, minutes: int, article: str | None = None,
                   locale: str | None = "en-US", *, start: datetime = START) -> FeedbackEvent:
    """``kind`` for ``query`` (and ``article``) in ``locale``, ``minutes`` after ``start``."""
    return FeedbackEvent(kind, query, article, locale, user_id="u", conversation_id="c",
                         timestamp=start + timedelta(minutes=minutes))
