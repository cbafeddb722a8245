"""Two turns of one conversation at once: both load the same conversation state, both change it, both save.
The second save meets an e-tag conflict; it reads the state again, merges its own changes in and writes
again, so neither turn's transcript lines (nor its other changes) are lost. On every store that checks
e-tags (SQLite, Redis on a real redis-server, Azure Blob on Azurite); memory:// keeps working as before."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import Storage, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from bot.escalation import Escalation
from bot.escalation.relay import MAX_TRANSCRIPT_LINES, merge_transcript
from bot.stores.base import EtagConflictError
from bot.stores.memory import MemoryStateStorage
from bot.stores.sqlite import SqliteStorage
from bot.turn_state import MAX_SAVE_ATTEMPTS, DeskConversationState, load_states
from tests.bot.conftest import Backend

KEY = "test/conversations/c-1"
STORES_WITH_E_TAGS = pytest.mark.parametrize("backend", ["sqlite", "redis", "blob"], indirect=True)


class Turns:
    """One bot's conversation state (with escalation's transcript in it) and turns of conversation ``c-1``."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.state = DeskConversationState(storage)
        self.escalation = Escalation(storage, conversation_state=self.state)
        self.adapter = TestAdapter()

    async def begin(self, text: str) -> TurnContext:
        """A turn of ``text``: state loaded, the user's line in the transcript (not saved yet)."""
        activity = Activity(type=ActivityTypes.message, text=text, channel_id="test", id=f"a-{text}",
                            from_property=ChannelAccount(id="29:user", name="Admin"),
                            recipient=ChannelAccount(id="28:bot", name="Insight Desk"),
                            conversation=ConversationAccount(id="c-1"))
        context = TurnContext(self.adapter, activity)
        await load_states(context, self.state)
        await self.escalation.begin_turn(context)
        return context

    async def stored(self) -> dict[str, Any]:
        item: dict[str, Any] = (await self.storage.read([KEY]))[KEY]
        return item

    async def said(self) -> list[str]:
        return [line["text"] for line in (await self.stored())["InsightDeskTranscript"]]


async def test_two_turns_saving_over_each_other_keep_both_lines_on_sqlite(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    try:
        turns = Turns(storage)
        first = await turns.begin("hello")
        await turns.state.save_changes(first)  # the conversation exists, with an e-tag
        one, two = await turns.begin("one"), await turns.begin("two")  # both read the same e-tag
        await turns.state.save_changes(one)
        await turns.state.save_changes(two)  # conflict: merged and written again
        assert await turns.said() == ["hello", "one", "two"]
    finally:
        storage.close()


@STORES_WITH_E_TAGS
async def test_concurrent_turns_lose_no_line_and_duplicate_none(backend: Backend) -> None:
    turns = Turns(backend.make())
    await turns.state.save_changes(await turns.begin("hello"))
    contexts = [await turns.begin(f"line {n}") for n in range(5)]  # all read before any writes
    for context in reversed(contexts):  # saved in the opposite order: still stored by arrival
        await turns.state.save_changes(context)
    assert await turns.said() == ["hello", *(f"line {n}" for n in range(5))]
    for context in contexts:  # saving again changes nothing and duplicates nothing
        await turns.state.save_changes(context)
    assert await turns.said() == ["hello", *(f"line {n}" for n in range(5))]


BURST = 39
"""Turns of one conversation at once: with the first line, within the transcript's ``MAX_TRANSCRIPT_LINES``."""


@STORES_WITH_E_TAGS
async def test_a_burst_of_turns_saving_at_once_keeps_every_line(backend: Backend,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """Every turn read the state before any saves; then all save at the same moment (as a burst of messages
    does): each line is kept once, and no save gives up."""
    assert BURST < MAX_TRANSCRIPT_LINES
    turns = Turns(backend.make())
    await turns.state.save_changes(await turns.begin("hello"))
    contexts = [await turns.begin(f"line {n}") for n in range(BURST)]
    await asyncio.gather(*(turns.state.save_changes(context) for context in contexts))
    assert await turns.said() == ["hello", *(f"line {n}" for n in range(BURST))]
    assert "gave up" not in caplog.text


@STORES_WITH_E_TAGS
async def test_two_first_turns_of_a_new_conversation_both_keep_their_line(backend: Backend) -> None:
    """Neither turn read an e-tag (nothing was stored): the first write is create-only, so the second
    cannot silently overwrite the first."""
    turns = Turns(backend.make())
    one, two = await turns.begin("one"), await turns.begin("two")
    await turns.state.save_changes(two)
    await turns.state.save_changes(one)
    assert await turns.said() == ["one", "two"]


@STORES_WITH_E_TAGS
async def test_two_bot_instances_lose_nothing(backend: Backend) -> None:
    """Each turn on its own client of the store (another bot process, as far as the store can tell)."""
    here, there = Turns(backend.make()), Turns(backend.make())
    await here.state.save_changes(await here.begin("hello"))
    one, two = await here.begin("one"), await there.begin("two")
    await there.state.save_changes(two)
    await here.state.save_changes(one)
    assert await here.said() == ["hello", "one", "two"]


async def test_other_properties_a_turn_changed_win_and_the_rest_is_kept(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    try:
        turns = Turns(storage)
        unanswered = turns.state.create_property("InsightDeskUnanswered")
        welcomed = turns.state.create_property("InsightDeskWelcomed")
        first = await turns.begin("hello")
        await unanswered.set(first, 1)
        await welcomed.set(first, True)
        await turns.state.save_changes(first)
        one, two = await turns.begin("one"), await turns.begin("two")
        await unanswered.set(one, 2)             # only "one" changes the count
        await welcomed.delete(two)               # only "two" removes the flag
        await turns.escalation.note_answer(two, "some-article", 0.9, "two")
        await turns.state.save_changes(one)
        await turns.state.save_changes(two)
        stored = await turns.stored()
        assert stored["InsightDeskUnanswered"] == 2, "kept: the saving turn did not touch it"
        assert "InsightDeskWelcomed" not in stored, "the saving turn deleted it"
        assert stored["InsightDeskShown"]["article"] == "some-article"
        assert [line["text"] for line in stored["InsightDeskTranscript"]] == ["hello", "one", "two"]
        assert await unanswered.get(two) == 2, "the turn goes on with the merged state"
    finally:
        storage.close()


async def test_a_reply_sent_after_a_merged_save_is_kept_at_the_next_save(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    try:
        turns = Turns(storage)
        await turns.state.save_changes(await turns.begin("hello"))
        one, two = await turns.begin("one"), await turns.begin("two")
        await turns.state.save_changes(one)
        await turns.state.save_changes(two)
        await two.send_activity("the bot's answer to two")
        await turns.state.save_changes(two)
        assert await turns.said() == ["hello", "one", "two", "the bot's answer to two"]
    finally:
        storage.close()


class AlwaysConflicting(MemoryStateStorage):
    """A store where someone else always wrote first."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    async def write(self, changes: dict[str, Any] | None) -> None:
        self.writes += 1
        raise EtagConflictError("someone else wrote first")


async def test_endless_conflicts_give_up_after_a_few_tries_without_failing_the_turn(
        caplog: pytest.LogCaptureFixture) -> None:
    storage = AlwaysConflicting()
    turns = Turns(storage)
    context = await turns.begin("one")
    with caplog.at_level(logging.ERROR, logger="bot.turn_state"):
        await turns.state.save_changes(context)
    assert storage.writes == MAX_SAVE_ATTEMPTS
    assert "gave up" in caplog.text and KEY in caplog.text


async def test_memory_storage_saves_as_before() -> None:
    turns = Turns(MemoryStateStorage())
    for text in ("one", "two", "three"):
        context = await turns.begin(text)
        await turns.state.save_changes(context)
        await turns.state.save_changes(context)
    assert await turns.said() == ["one", "two", "three"]


def line(text: str, at: str) -> dict[str, Any]:
    return {"role": "user", "name": "Admin", "text": text, "at": f"2026-11-26T10:00:{at}+00:00"}


def test_the_transcript_merge_appends_new_lines_in_time_order_once_and_keeps_the_cap() -> None:
    loaded = [line("a", "00")]
    stored = [line("a", "00"), line("c", "03")]
    mine = [line("a", "00"), line("b", "01"), line("d", "04")]
    assert [ln["text"] for ln in merge_transcript(stored, loaded, mine)] == ["a", "b", "c", "d"]
    assert merge_transcript(stored, loaded, stored) == stored, "nothing new, nothing added"
    same_text = [*loaded, line("a", "05")]  # the same words said again later is a new line
    assert [ln["text"] for ln in merge_transcript(stored, loaded, same_text)] == ["a", "c", "a"]
    full = [line(str(n), f"{n:02d}") for n in range(MAX_TRANSCRIPT_LINES)]
    merged = merge_transcript(full, full[:1], [*full[:1], line("new", "59")])
    assert len(merged) == MAX_TRANSCRIPT_LINES and merged[-1]["text"] == "new" and merged[0]["text"] == "1"
