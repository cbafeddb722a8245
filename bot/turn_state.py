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
- whether the state changed is decided on its JSON text (``bot.stores.json_state.state_fingerprint``), computed
  once at load and once at save, not on the text of jsonpickle's flattened form three times;
- two turns of one conversation at once lose nothing: see ``_BatchLoadedState.save_changes``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import Any

from botbuilder.core import BotState, ConversationState, MemoryStorage, Storage, TurnContext, UserState
from botbuilder.core.bot_state import CachedBotState

from bot.stores.base import CREATE_ONLY_E_TAG, EtagConflictError, honours_create_only
from bot.stores.json_state import state_fingerprint
from bot.stores.keyed_locks import KeyedLocks

__all__ = ["MAX_SAVE_ATTEMPTS", "ConflictMerge", "DeskConversationState", "DeskUserState", "load_states",
           "merge_state"]

log = logging.getLogger(__name__)

MAX_SAVE_ATTEMPTS = 12
"""Writes of one save, the first included, before a save that keeps meeting e-tag conflicts gives up (about a
second of waiting in all: only other processes' writes can conflict, one instance's saves take turns)."""
SAVE_BACKOFF_S = 0.005
"""The wait before the second retry of a conflicting save (the first reads again at once); doubled for each
further one up to ``MAX_SAVE_BACKOFF_S``, with jitter."""
MAX_SAVE_BACKOFF_S = 0.2

ConflictMerge = Callable[[Any, Any, Any], Any]
"""``merge(stored, loaded, mine)``: the value of one property to write after an e-tag conflict, from the
value stored now (``None`` if absent), the value this turn loaded (``None`` if absent) and this turn's."""
_ABSENT = object()


class _LoadedState(CachedBotState):  # type: ignore[misc]  # botbuilder ships no type information
    """One turn's copy of a state as read from storage (``None`` when it was never written)."""

    def compute_hash(self, obj: object) -> str:
        return state_fingerprint(obj)

    def loaded(self) -> dict[str, Any] | None:
        """The state as last read or written (its fingerprint is its JSON text), ``{}`` when there was none;
        ``None`` when that text is not JSON (state json cannot write: every property counts as changed)."""
        if self.hash.startswith("\x00"):
            return None
        loaded = json.loads(self.hash)
        return loaded if isinstance(loaded, dict) else {}


class _BatchLoadedState(BotState):  # type: ignore[misc]
    """A ``BotState`` that ``load_states`` can fill from a read made together with other states."""

    @property
    def storage(self) -> Storage:
        """Where this state is kept."""
        storage: Storage = self._storage  # botbuilder's BotState has no public accessor for its storage
        return storage

    def is_loaded(self, turn_context: TurnContext) -> bool:
        """Whether this turn already holds the state (read, or set by botbuilder itself, e.g. cleared)."""
        cached = self.get_cached_state(turn_context)
        return isinstance(cached, _LoadedState) or (cached is not None and bool(cached.state))

    def adopt(self, turn_context: TurnContext, stored: Any) -> None:
        """Keep ``stored`` (the item read for this state's key, ``None`` if absent) as this turn's state."""
        # botbuilder offers get_cached_state but no public setter: load() itself fills this turn_state key
        turn_context.turn_state[self._context_service_key] = _LoadedState(stored)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._merges: dict[str, ConflictMerge] = {}
        self._saving = KeyedLocks()

    def merge_property(self, name: str, merge: ConflictMerge) -> None:
        """Merge property ``name`` with ``merge`` after an e-tag conflict (see ``merge_state``)."""
        self._merges[name] = merge

    async def save_changes(self, turn_context: TurnContext, force: bool = False) -> None:
        """botbuilder's ``save_changes`` (write the state if it changed this turn), deciding it on one
        fingerprint, which stays valid after the write (it leaves out the e-tag the write changes).

        When another turn wrote the item since this one read it (an ``EtagConflictError``), the stored item is
        read again, this turn's changes are merged into it (``merge_state``) and written with the new e-tag,
        up to ``MAX_SAVE_ATTEMPTS`` writes in all; then the error is logged and the turn goes on. Within one
        process saves of one item take turns (a burst of turns of one conversation conflicts once each, never
        with each other again), so those attempts are spent only on other processes' writes. The turn
        keeps the merged state (lists and dicts updated in place, so references held to them stay live).
        State read absent is written create-only where the store honours it (not ``MemoryStorage``, which
        checks no e-tag of items it made itself), so two first turns of one conversation conflict too.
        """
        cached = self.get_cached_state(turn_context)
        if not isinstance(cached, _LoadedState):
            await super().save_changes(turn_context, force)
            return
        fingerprint = cached.compute_hash(cached.state)
        if not (force or fingerprint != cached.hash):
            return
        key = self.get_storage_key(turn_context)
        async with self._saving.hold(key):  # this process's saves of one item take turns: they never race
            await self._save(turn_context, cached, key)

    async def _save(self, turn_context: TurnContext, cached: _LoadedState, key: str) -> None:
        """Write ``cached`` under ``key``, merging it into what is stored after each e-tag conflict."""
        if cached.state.get("e_tag") is None and self._creates_safely():
            cached.state["e_tag"] = CREATE_ONLY_E_TAG
        for attempt in range(1, MAX_SAVE_ATTEMPTS + 1):
            try:
                await self.storage.write({key: cached.state})
                break
            except EtagConflictError as conflict:
                if attempt == MAX_SAVE_ATTEMPTS:
                    log.error("gave up saving %s after %d e-tag conflicts (activity %s): %s", key, attempt,
                              turn_context.activity.id, conflict)
                    return
            if attempt > 1:  # the first conflict only says someone wrote first: read it now; then back off
                wait = min(MAX_SAVE_BACKOFF_S, SAVE_BACKOFF_S * 2.0 ** (attempt - 2))
                await asyncio.sleep(wait * (0.5 + random.random()))
            stored = (await self.storage.read([key])).get(key)
            self._merge_into(cached, stored)
        cached.hash = cached.compute_hash(cached.state)

    def _creates_safely(self) -> bool:
        """Whether a first write of this state can be create-only (see ``save_changes``)."""
        return honours_create_only(self.storage) and not isinstance(self.storage, MemoryStorage)

    def _merge_into(self, cached: _LoadedState, stored: Any) -> None:
        """This turn's changes merged into ``stored`` (the item as it is now), kept as the turn's state;
        what was stored becomes what the turn counts as loaded, so a further conflict merges against it."""
        theirs = {k: v for k, v in stored.items() if k != "e_tag"} if isinstance(stored, dict) else {}
        merged = merge_state(theirs, cached.loaded(), cached.state, self._merges)
        mine = cached.state
        for name in [name for name in mine if name not in merged]:
            del mine[name]
        for name, value in merged.items():
            current = mine.get(name)
            if isinstance(current, list) and isinstance(value, list):
                current[:] = value
            elif isinstance(current, dict) and isinstance(value, dict) and current is not value:
                current.clear()
                current.update(value)
            else:
                mine[name] = value
        e_tag = stored.get("e_tag") if isinstance(stored, dict) else None
        if e_tag is not None:
            mine["e_tag"] = e_tag
        elif self._creates_safely():
            mine["e_tag"] = CREATE_ONLY_E_TAG
        cached.hash = cached.compute_hash(theirs if stored is not None else None)

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


def merge_state(stored: dict[str, Any], loaded: dict[str, Any] | None, mine: dict[str, Any],
                merges: dict[str, ConflictMerge]) -> dict[str, Any]:
    """The state to write when ``stored`` changed since this turn read ``loaded`` and changed it to ``mine``.

    Property by property: one this turn did not change (same JSON as loaded) keeps its stored value, another
    turn's change included; one it changed takes this turn's value (the later save wins for a property both
    changed, e.g. a count), or is removed if the turn removed it; a property with its own ``merges[name]``
    (the transcript: lines appended by both turns) gets ``merge(stored, loaded, mine)`` instead. With
    ``loaded`` unknown (``None``) every property of ``mine`` counts as changed.
    """
    merged = dict(stored)
    before = loaded or {}
    for name in dict.fromkeys([*before, *mine]):
        if name == "e_tag":
            continue
        ours, was = mine.get(name, _ABSENT), before.get(name, _ABSENT)
        untouched = ours is not _ABSENT and was is not _ABSENT and state_fingerprint(ours) == state_fingerprint(was)
        if loaded is not None and untouched:
            continue
        if ours is _ABSENT:
            merged.pop(name, None)
        elif name in merges:
            merged[name] = merges[name](stored.get(name), None if was is _ABSENT else was, ours)
        else:
            merged[name] = ours
    return merged
