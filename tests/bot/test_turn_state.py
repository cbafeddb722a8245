"""One storage read for a turn's user and conversation state, no re-reads of empty state, the same items
botbuilder's own states keep, and writes only of what changed: on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import ConversationState, Storage, TurnContext, UserState
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from bot.escalation import Escalation
from bot.plugin import InsightDesk
from bot.stores.memory import MemoryFeedbackStore
from bot.stores.sqlite import SqliteStorage
from bot.turn_state import DeskConversationState, DeskUserState, load_states
from knowledge.engine import KnowledgeEngine

SEED_SV = "Ett fel uppstod vid validering av åtkomsttoken"


class CountingStorage(Storage):  # type: ignore[misc]
    """A real SQLite store that records each call it gets (the keys read, the keys written)."""

    def __init__(self, inner: SqliteStorage) -> None:
        super().__init__()
        self.inner = inner
        self.reads: list[list[str]] = []
        self.writes: list[list[str]] = []

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        self.reads.append(list(keys or ()))
        return await self.inner.read(self.reads[-1])

    async def write(self, changes: dict[str, Any] | None) -> None:
        self.writes.append(list(changes or ()))
        await self.inner.write(changes)

    async def delete(self, keys: Iterable[str] | None) -> None:
        await self.inner.delete(keys)

    def forget(self) -> None:
        self.reads.clear()
        self.writes.clear()


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[CountingStorage]:
    inner = SqliteStorage(tmp_path / "state.db")
    yield CountingStorage(inner)
    inner.close()


def message(text: str, user: str = "29:user") -> Activity:
    return Activity(type=ActivityTypes.message, text=text, channel_id="test", locale="sv-SE",
                    from_property=ChannelAccount(id=user, name="Admin"),
                    recipient=ChannelAccount(id="28:bot", name="Insight Desk"),
                    conversation=ConversationAccount(id="c-1"))


async def test_a_pasted_error_costs_one_state_read_and_one_state_write(storage: CountingStorage) -> None:
    desk = InsightDesk(KnowledgeEngine.load(), storage, MemoryFeedbackStore(), Escalation(storage))
    adapter = TestAdapter(desk.on_message)
    await adapter.send(message(SEED_SV))
    storage.forget()
    await adapter.send(message(SEED_SV))
    (answer,) = [a for a in adapter.activity_buffer if a.attachments][-1:]
    assert "Skrivbordsanalys" in answer.attachments[0].content["body"][0]["text"]
    state_reads = [keys for keys in storage.reads if not keys[0].startswith("insight-desk/")]
    assert state_reads == [["test/users/29:user", "test/conversations/c-1"]], "both states in one read"
    assert storage.writes == [["test/conversations/c-1"]], "the unchanged (empty) user state is not written"
    stored = await storage.inner.read(["test/conversations/c-1"])
    lines = stored["test/conversations/c-1"]["InsightDeskTranscript"]
    assert [line["role"] for line in lines] == ["user", "bot", "user", "bot"], "the transcript is kept durably"


async def test_empty_state_is_read_once_per_turn(storage: CountingStorage) -> None:
    user_state = DeskUserState(storage)
    language = user_state.create_property("language")

    async def turn(context: TurnContext) -> None:
        for _ in range(3):
            assert await language.get(context) is None
        await user_state.save_changes(context)

    adapter = TestAdapter(turn)
    await adapter.send(message("hi"))
    assert storage.reads == [["test/users/29:user"]]
    assert storage.writes == [["test/users/29:user"]], "first turn: botbuilder stores the empty state, as before"
    storage.forget()
    await adapter.send(message("hi"))
    assert (storage.reads, storage.writes) == ([["test/users/29:user"]], [])


async def test_items_are_the_ones_botbuilders_own_states_keep(storage: CountingStorage) -> None:
    ours = (DeskUserState(storage), DeskConversationState(storage))
    theirs = (UserState(storage), ConversationState(storage))

    async def write_ours(context: TurnContext) -> None:
        await load_states(context, *ours)
        await ours[0].create_property("language").set(context, "sv-SE")
        await ours[1].create_property("lines").set(context, [{"text": "hej", "n": 1}])
        for state in ours:
            await state.save_changes(context)

    async def read_theirs_and_change(context: TurnContext) -> None:
        assert await theirs[0].create_property("language").get(context) == "sv-SE"
        lines = await theirs[1].create_property("lines").get(context)
        assert lines == [{"text": "hej", "n": 1}]
        lines.append({"text": "då", "n": 2})
        for state in theirs:
            await state.save_changes(context)

    async def read_ours(context: TurnContext) -> None:
        await load_states(context, *ours)
        assert await ours[1].create_property("lines").get(context) == [{"text": "hej", "n": 1},
                                                                        {"text": "då", "n": 2}]

    await TestAdapter(write_ours).send(message("1"))
    await TestAdapter(read_theirs_and_change).send(message("2"))
    await TestAdapter(read_ours).send(message("3"))


async def test_a_change_deep_inside_the_state_is_saved_and_no_change_is_not(storage: CountingStorage) -> None:
    conversation_state = DeskConversationState(storage)
    lines = conversation_state.create_property("lines")
    plan: list[str] = ["append", "nothing", "edit", "nothing"]

    async def turn(context: TurnContext) -> None:
        value = await lines.get(context, list)
        step = plan.pop(0)
        if step == "append":
            value.append({"text": "a", "tags": ["x"]})
        elif step == "edit":
            value[0]["tags"][0] = "y"
        await conversation_state.save_changes(context)

    adapter = TestAdapter(turn)
    written = []
    for _ in range(4):
        storage.forget()
        await adapter.send(message("turn"))
        written.append(len(storage.writes))
    assert written == [1, 0, 1, 0]
    stored = await storage.inner.read(["test/conversations/c-1"])
    assert stored["test/conversations/c-1"]["lines"] == [{"text": "a", "tags": ["y"]}]


async def test_a_cleared_state_is_read_again_as_botbuilder_does(storage: CountingStorage) -> None:
    user_state = DeskUserState(storage)
    language = user_state.create_property("language")
    await storage.inner.write({"test/users/29:user": {"language": "ko-KR"}})

    async def turn(context: TurnContext) -> None:
        assert await language.get(context) == "ko-KR"
        await user_state.clear_state(context)
        assert await language.get(context) == "ko-KR", "botbuilder's clear, then load, reads the store again"

    await TestAdapter(turn).send(message("hi"))
    assert len(storage.reads) == 2
