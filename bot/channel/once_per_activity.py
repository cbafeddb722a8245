"""Each activity is handled once: a channel's redelivery of an activity already processed is ignored.

    adapter.use(OncePerActivity(storage))

Channels deliver again when they think a delivery failed (no answer in time, a dropped connection), so
the bot can see the same activity twice: without this, a "helped" click would be counted twice and a
question answered twice. This middleware remembers the ids of the activities it let through, per
conversation, in the bot's state store (so every instance sharing the store agrees), and ends the turn
of an activity whose id it has seen in that conversation: nothing is sent, nothing recorded; the HTTP
answer is the normal success (an invoke gets 200), so the channel does not deliver it yet again, and the
log says so at INFO with the activity id.

The id is claimed *before* the turn runs (at most once): a turn that fails after its claim is not run
again on redelivery (the user has had the apology), and a redelivery that arrives while the first
delivery is still being answered is already refused.

Storage: one item per conversation (key ``<channel>/conversations/<conversation id>/processed-activities``)
holding the ids of its last ``keep`` activities (``KEEP_PER_CONVERSATION``, oldest forgotten first), so
the memory per conversation is bounded. A claim reads the item and writes it back with the new id,
conditional on the e-tag it read (``CREATE_ONLY_E_TAG`` when there was none and the store honours it):
of two instances claiming in one conversation at once, one write is refused; that instance reads again,
and either finds the id (a redelivery: ignored) or adds its own. One item per conversation instead of
one per activity keeps the store bounded without expiry, which botbuilder's ``Storage`` cannot do.

Activities without an id or a conversation are processed as they are. If the store fails, the activity
is processed (answering beats dropping) and the failure logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import InvokeResponse, Middleware, Storage, TurnContext
from botbuilder.schema import Activity, ActivityEventNames, ActivityTypes

from bot.stores.base import CREATE_ONLY_E_TAG, StorageError, honours_create_only

__all__ = ["KEEP_PER_CONVERSATION", "MAX_CLAIM_ATTEMPTS", "OncePerActivity", "processed_key"]

log = logging.getLogger(__name__)

KEEP_PER_CONVERSATION = 200
"""Activity ids remembered per conversation; a redelivery of an older one would be processed again."""
MAX_CLAIM_ATTEMPTS = 10
"""Writes of one claim, the first included, before a claim that keeps meeting e-tag conflicts gives up
(and the activity is processed). Each conflict means another claim of the conversation succeeded, so up
to this many activities of one conversation claimed at once are all recorded."""
CLAIM_BACKOFF_S = 0.005
"""The wait before the first retry of a conflicting claim; doubled for each further one (up to
``MAX_CLAIM_BACKOFF_S``), with jitter."""
MAX_CLAIM_BACKOFF_S = 0.1


def processed_key(channel_id: str, conversation_id: str) -> str:
    """The storage key of one conversation's processed activity ids (beside its ``ConversationState``)."""
    return f"{channel_id}/conversations/{conversation_id}/processed-activities"


def _ids_of(item: Any) -> list[str]:
    ids = item.get("ids") if isinstance(item, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


class OncePerActivity(Middleware):  # type: ignore[misc]  # botbuilder ships no types
    """Ends the turn of an activity already processed in its conversation (see the module)."""

    def __init__(self, storage: Storage, *, keep: int = KEEP_PER_CONVERSATION,
                 attempts: int = MAX_CLAIM_ATTEMPTS) -> None:
        self.storage = storage
        self.keep = max(1, keep)
        self.attempts = max(1, attempts)
        self.ignored = 0
        """Redeliveries ignored since start."""

    async def claim(self, key: str, activity_id: str) -> bool:
        """Record ``activity_id`` under ``key``: ``True`` if this call recorded it, ``False`` if it was already
        there. ``StorageError`` if the store fails; ``True`` after ``attempts`` conflicting writes."""
        create = CREATE_ONLY_E_TAG if honours_create_only(self.storage) else "*"
        for attempt in range(self.attempts):
            stored = (await self.storage.read([key])).get(key)
            ids = _ids_of(stored)
            if activity_id in ids:
                return False
            e_tag = stored.get("e_tag") if isinstance(stored, dict) else None
            item = {"ids": [*ids, activity_id][-self.keep:], "e_tag": e_tag or create}
            try:
                await self.storage.write({key: item})
            except KeyError:  # EtagConflictError (and MemoryStorage's conflict): another writer came first
                if attempt + 1 < self.attempts:
                    await asyncio.sleep(min(CLAIM_BACKOFF_S * 2**attempt, MAX_CLAIM_BACKOFF_S) * (1 + random.random()))
                continue
            return True
        log.warning("could not record activity %s as processed after %d conflicting writes; processing it",
                    activity_id, self.attempts)
        return True

    async def first_delivery(self, activity: Activity) -> bool:
        """Whether ``activity`` is to be processed: not seen in its conversation, or not identifiable."""
        conversation = activity.conversation.id if activity.conversation else None
        if not activity.id or not conversation or _made_here(activity):
            return True
        try:
            return await self.claim(processed_key(activity.channel_id or "", conversation), activity.id)
        except StorageError as error:
            log.warning("could not check whether activity %s was processed before (%s); processing it",
                        activity.id, error)
            return True

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        activity = context.activity
        if await self.first_delivery(activity):
            await logic()
            return
        self.ignored += 1
        log.info("ignored a redelivered %s activity %s: already processed in this conversation",
                 activity.type, activity.id)
        if activity.type == ActivityTypes.invoke:  # the adapter would answer 501 to an invoke with no response
            await context.send_activity(Activity(type=ActivityTypes.invoke_response,
                                                 value=InvokeResponse(status=200)))


def _made_here(activity: Activity) -> bool:
    """An activity no channel delivered: the turn ``continue_conversation`` makes for a proactive send (a fresh
    id each time; claiming it would only crowd the conversation's memory and race the channel's own)."""
    return bool(activity.type == ActivityTypes.event and activity.name == ActivityEventNames.continue_conversation)
