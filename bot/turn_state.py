"""botbuilder's ``UserState`` and ``ConversationState``, loaded together in one storage read per turn.

    user_state, conversation_state = DeskUserState(storage), DeskConversationState(storage)
    await load_states(turn_context, user_state, conversation_state)   # one Storage.read for both
    ...                                                                 # accessors read the cache
    await conversation_state.save_changes(turn_context)                 # written only when changed

They are botbuilder's own classes (same storage keys, same accessors, same ``save_changes``) with
three differences in cost, none in what is stored:

- ``load_states`` reads the items of several states of one turn in a single ``Storage.read``;
- state read empty (a user who never chose a language) stays loaded for the rest of the turn, where
  botbuilder's Python ``load`` reads it again on every property access;
- whether the state changed is decided on its JSON text (``bot.json_state.state_fingerprint``), computed
  once at load and once at save, not on the text of jsonpickle's flattened form three times.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import BotState, ConversationState, Storage, TurnContext, UserState
from botbuilder.core.bot_state import CachedBotState

from bot.json_state import state_fingerprint

__all__ = ["DeskConversationState", "DeskUserState", "load_states"]


class _LoadedState(CachedBotState):  # type: ignore[misc]  # botbuilder ships no type information
    """One turn's copy of a state as read from storage (``None`` when it was never written)."""

    def compute_hash(self, obj: object) -> str:
        return state_fingerprint(obj)


class _BatchLoadedState(BotState):  # type: ignore[misc]
    """A ``BotState`` that ``load_states`` can fill from a read made together with other states."""

    @property
    def storage(self) -> Storage:
        """Where this state is kept."""
        storage: Storage = self._storage
        return storage

    def is_loaded(self, turn_context: TurnContext) -> bool:
        """Whether this turn already holds the state (read, or set by botbuilder itself, e.g. cleared)."""
        cached = self.get_cached_state(turn_context)
        return isinstance(cached, _LoadedState) or (cached is not None and bool(cached.state))

    def adopt(self, turn_context: TurnContext, stored: Any) -> None:
        """Keep ``stored`` (the item read for this state's key, ``None`` if absent) as this turn's state."""
        turn_context.turn_state[self._context_service_key] = _LoadedState(stored)

    async def save_changes(self, turn_context: TurnContext, force: bool = False) -> None:
        """botbuilder's ``save_changes`` (write the state if it changed this turn), deciding it on one
        fingerprint, which stays valid after the write (it leaves out the e-tag the write changes)."""
        cached = self.get_cached_state(turn_context)
        if not isinstance(cached, _LoadedState):
            await super().save_changes(turn_context, force)
            return
        fingerprint = cached.compute_hash(cached.state)
        if force or fingerprint != cached.hash:
            await self.storage.write({self.get_storage_key(turn_context): cached.state})
            cached.hash = fingerprint

    async def load(self, turn_context: TurnContext, force: bool = False) -> None:
        """botbuilder's ``load``: read the state once per turn (``force`` reads it again)."""
        if force or not self.is_loaded(turn_context):
            key = self.get_storage_key(turn_context)
            items = await self.storage.read([key])
            self.adopt(turn_context, items.get(key))


class DeskUserState(_BatchLoadedState, UserState):  # type: ignore[misc]
    """botbuilder's ``UserState`` (same keys, same items), loadable with ``load_states``."""


class DeskConversationState(_BatchLoadedState, ConversationState):  # type: ignore[misc]
    """botbuilder's ``ConversationState`` (same keys, same items), loadable with ``load_states``."""


async def load_states(turn_context: TurnContext, *states: _BatchLoadedState) -> None:
    """Load every state not yet loaded in this turn, with one ``Storage.read`` per store they share.

    A state whose key the activity cannot give (no user id, say) is left to load on first use, where
    botbuilder raises its own error. (botbuilder's state kinds never share a key: each gets its own item.)
    """
    wanted: dict[int, tuple[Storage, list[tuple[_BatchLoadedState, str]]]] = {}
    for state in dict.fromkeys(states):
        if state.is_loaded(turn_context):
            continue
        try:
            key = state.get_storage_key(turn_context)
        except (TypeError, AttributeError):
            continue
        wanted.setdefault(id(state.storage), (state.storage, []))[1].append((state, key))
    for storage, pairs in wanted.values():
        items = await storage.read(list(dict.fromkeys(key for _, key in pairs)))
        for state, key in pairs:
            state.adopt(turn_context, items.get(key))
