"""One feedback event from a turn, kept in the feedback store and counted by the learning loop."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botbuilder.core import TurnContext

from bot.feedback.events import FeedbackEvent, FeedbackKind, FeedbackStore, hash_user_id
from bot.stores.base import StorageError

if TYPE_CHECKING:
    from bot.feedback.proposals import LearningLoop

__all__ = ["FeedbackRecorder"]

log = logging.getLogger(__name__)


class FeedbackRecorder:
    """Records what users tell us about answers; a store that fails is logged, never raised."""

    def __init__(self, feedback: FeedbackStore, learning: LearningLoop | None = None) -> None:
        self.feedback = feedback
        self.learning = learning

    async def record(
        self, turn_context: TurnContext, kind: FeedbackKind, query: str, article: str | None, locale: str | None
    ) -> bool:
        """Store one feedback event; ``False`` (and a log line) when the store failed."""
        activity = turn_context.activity
        event = FeedbackEvent(
            kind, query, article, locale,
            user_id=hash_user_id(activity.from_property.id)
            if activity.from_property and activity.from_property.id else None,
            conversation_id=activity.conversation.id if activity.conversation else None,
        )
        try:
            await self.feedback.record(event)
        except StorageError as e:
            log.error("could not store feedback %s (activity %s): %s", kind.value, activity.id, e)
            return False
        if self.learning is not None:
            await self.learning.note(turn_context, event)
        return True
