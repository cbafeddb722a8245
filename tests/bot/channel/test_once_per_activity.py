"""Claims of processed activity ids (``bot.channel.once_per_activity``) against every state store: two clients of
one store (two bot instances) agree, no claim is lost when they race, and the memory is bounded."""

from __future__ import annotations

import asyncio

from botbuilder.core.conversation_reference_extension import get_continuation_activity
from botbuilder.schema import ConversationAccount, ConversationReference

from bot.channel.once_per_activity import KEEP_PER_CONVERSATION, MAX_CLAIM_ATTEMPTS, OncePerActivity, processed_key
from tests.bot.conftest import Backend

KEY = processed_key("msteams", "a:personal-29:user-1")


async def test_two_instances_claiming_one_activity_at_once_agree_on_one_winner(backend: Backend) -> None:
    first, second = OncePerActivity(backend.make()), OncePerActivity(backend.make())
    outcomes = await asyncio.gather(*(desk.claim(KEY, f"activity-{n}") for n in range(4)
                                      for desk in (first, second)))
    assert sorted(outcomes) == [False] * 4 + [True] * 4
    for n in range(4):
        assert outcomes[2 * n] != outcomes[2 * n + 1], f"activity-{n} claimed by both or neither"
    assert not await first.claim(KEY, "activity-0") and not await second.claim(KEY, "activity-3")


async def test_racing_claims_of_different_activities_are_all_kept(backend: Backend) -> None:
    desks = [OncePerActivity(backend.make()) for _ in range(2)]
    ids = [f"activity-{n}" for n in range(MAX_CLAIM_ATTEMPTS)]  # each conflict is another claim's success
    assert all(await asyncio.gather(*(desks[n % 2].claim(KEY, i) for n, i in enumerate(ids))))
    stored = (await desks[0].storage.read([KEY]))[KEY]
    assert sorted(stored["ids"]) == sorted(ids)
    assert not any(await asyncio.gather(*(desks[1].claim(KEY, i) for i in ids)))


async def test_a_conversation_remembers_only_its_last_ids(backend: Backend) -> None:
    desk = OncePerActivity(backend.make(), keep=3)
    for n in range(5):
        assert await desk.claim(KEY, f"activity-{n}")
    assert (await desk.storage.read([KEY]))[KEY]["ids"] == ["activity-2", "activity-3", "activity-4"]
    assert not await desk.claim(KEY, "activity-4")
    assert await desk.claim(KEY, "activity-0")  # forgotten: a redelivery this late is processed again
    assert 100 <= KEEP_PER_CONVERSATION <= 200


async def test_conversations_are_kept_apart(backend: Backend) -> None:
    desk = OncePerActivity(backend.make())
    assert await desk.claim(KEY, "activity-1")
    assert await desk.claim(processed_key("msteams", "a:personal-29:user-2"), "activity-1")


async def test_a_proactive_continuation_is_processed_and_not_remembered(backend: Backend) -> None:
    """``continue_conversation`` makes a turn with a fresh id for each proactive send (50 ticket cards to one
    agents' channel at once): it is no delivery, so it claims nothing and races no claim of the channel's."""
    desk = OncePerActivity(backend.make())
    reference = ConversationReference(channel_id="msteams", conversation=ConversationAccount(id="19:agents"),
                                      service_url="http://127.0.0.1:9/")
    continuations = [get_continuation_activity(reference) for _ in range(3)]
    assert all(await asyncio.gather(*(desk.first_delivery(a) for a in continuations)))
    assert await desk.storage.read([processed_key("msteams", "19:agents")]) == {}
