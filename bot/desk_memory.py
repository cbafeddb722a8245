"""What the plugin remembers between turns: the user's chosen language (user state), and per conversation
whether it was welcomed and how many messages in a row nothing answered. A store that fails is logged with
the activity id and met with a safe default: the turn goes on.
"""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext

from bot.stores.base import StorageError
from bot.turn_state import DeskConversationState, DeskUserState, load_states

__all__ = ["DeskMemory"]

log = logging.getLogger(__name__)


class DeskMemory:
    """The plugin's user and conversation state, read together once per turn and saved at its end."""

    def __init__(self, user_state: DeskUserState, conversation_state: DeskConversationState) -> None:
        self.user_state = user_state
        self.conversation_state = conversation_state
        self._language = user_state.create_property("InsightDeskLanguage")
        self.welcomed = conversation_state.create_property("InsightDeskWelcomed")
        self._unanswered = conversation_state.create_property("InsightDeskUnanswered")

    async def load(self, turn_context: TurnContext) -> None:
        """Read the user's and the conversation's state in one storage call; an outage is logged here and
        met again (and handled) where the state is used."""
        try:
            await load_states(turn_context, self.user_state, self.conversation_state)
        except StorageError as e:
            log.error("could not read state (activity %s): %s", turn_context.activity.id, e)

    async def save(self, turn_context: TurnContext) -> None:
        """Persist what changed in this turn (language, welcome); a storage outage is logged, never raised."""
        for state in (self.user_state, self.conversation_state):
            try:
                await state.save_changes(turn_context)
            except StorageError as e:
                log.error("could not save %s (activity %s): %s", type(state).__name__, turn_context.activity.id, e)

    async def count_unanswered(self, turn_context: TurnContext) -> int:
        """One more message in a row that nothing answered; how many now."""
        try:
            count = await self._unanswered.get(turn_context, 0)
        except StorageError as e:
            log.error("could not read the unanswered count (activity %s): %s", turn_context.activity.id, e)
            return 1
        count = (count if isinstance(count, int) else 0) + 1
        await self.set_unanswered(turn_context, count)
        return count

    async def set_unanswered(self, turn_context: TurnContext, count: int) -> None:
        try:
            await self._unanswered.set(turn_context, count)
        except StorageError as e:
            log.error("could not keep the unanswered count (activity %s): %s", turn_context.activity.id, e)

    async def remember_language(self, turn_context: TurnContext, locale: str) -> bool:
        """Set the user's language for this turn's save; ``False`` (and a log line) when their state is out of reach."""
        try:
            await self._language.set(turn_context, locale)
        except StorageError as e:
            log.error("could not remember the language (activity %s): %s", turn_context.activity.id, e)
            return False
        return True

    async def restore_language(self, turn_context: TurnContext, previous: str | None) -> None:
        """Put back the language the turn loaded, so the end of the turn has nothing of a failed choice to save."""
        try:
            if previous is None:
                await self._language.delete(turn_context)
            else:
                await self._language.set(turn_context, previous)
        except StorageError as e:
            log.error("could not restore the language (activity %s): %s", turn_context.activity.id, e)

    async def save_user_state(self, turn_context: TurnContext) -> bool:
        """Write the user's state now; ``False`` (and a log line with the activity id) when the store failed."""
        try:
            await self.user_state.save_changes(turn_context)
        except StorageError as e:
            log.error("could not save the user's state (activity %s): %s", turn_context.activity.id, e)
            return False
        return True

    async def preferred_locale(self, turn_context: TurnContext) -> str | None:
        """The language the user chose (``/language``), else ``None`` (also when their state is out of reach)."""
        try:
            value = await self._language.get(turn_context)
        except StorageError as e:
            log.error("could not read user state (activity %s): %s", turn_context.activity.id, e)
            return None
        return value if isinstance(value, str) else None
