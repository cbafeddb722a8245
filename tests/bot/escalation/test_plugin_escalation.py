"""The plugin with escalation through botbuilder's in-process TestAdapter: words, transcript, outages."""

from __future__ import annotations

import pytest
from botbuilder.core import MemoryStorage, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity

from bot.channel import channel_text
from bot.escalation import Escalation
from bot.escalation.relay import MAX_EARLY_LINE_CHARS, MAX_TRANSCRIPT_LINES
from bot.plugin import InsightDesk
from bot.stores.memory import MemoryFeedbackStore
from knowledge.engine import KnowledgeEngine
from tests.bot.plugin_turns import message, replies


def desk_and_adapter(engine: KnowledgeEngine) -> tuple[InsightDesk, TestAdapter, MemoryStorage]:
    storage = MemoryStorage()
    desk = InsightDesk(engine, storage, MemoryFeedbackStore(), Escalation(storage))

    async def turn(turn_context: TurnContext) -> None:
        if not await desk.on_message(turn_context):
            await desk.reply_not_found(turn_context)

    return desk, TestAdapter(turn), storage


async def test_the_early_transcript_is_bounded_in_lines_and_characters(engine: KnowledgeEngine) -> None:
    _, adapter, storage = desk_and_adapter(engine)
    for n in range(MAX_TRANSCRIPT_LINES):
        await adapter.send(message(f"the printer on floor {n} is jammed " + "x" * 5000))
    documents = [item for item in storage.memory.values() if isinstance(item, dict)
                 and "InsightDeskTranscript" in item]
    (state,) = documents
    lines = state["InsightDeskTranscript"]
    assert len(lines) == MAX_TRANSCRIPT_LINES  # user lines and the bot's not-found replies, the oldest dropped
    assert lines[-1]["role"] == "bot"
    assert lines[-2]["text"].startswith(f"the printer on floor {MAX_TRANSCRIPT_LINES - 1}")
    assert max(len(line["text"]) for line in lines) == MAX_EARLY_LINE_CHARS


async def test_words_offer_a_person_and_a_pasted_error_does_not(engine: KnowledgeEngine) -> None:
    _, adapter, _ = desk_and_adapter(engine)
    await adapter.send(message("I'd like to talk to a human"))
    (offer,) = replies(adapter)
    content = offer.attachments[0].content
    assert [a["data"]["insightDesk"] for a in content["actions"]] == ["escalate_confirm", "escalate_cancel"]
    await adapter.send(message("Ett fel uppstod vid validering av åtkomsttoken"))
    (answer,) = replies(adapter)
    assert "Skrivbordsanalys" in answer.attachments[0].content["body"][0]["text"]


async def test_without_escalation_the_request_is_only_recorded(engine: KnowledgeEngine) -> None:
    desk = InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore())
    adapter = TestAdapter(lambda ctx: desk.on_message(ctx))
    await adapter.send(message(value={"insightDesk": "escalate", "query": "q", "locale": "en-US"}))
    (reply,) = replies(adapter)
    assert reply.text.startswith("I've recorded your request for the support team")


async def test_a_turn_works_out_the_users_text_once_for_escalation_and_the_answer(
    engine: KnowledgeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, adapter, _ = desk_and_adapter(engine)
    calls: list[str] = []

    def counted(activity: Activity) -> str:
        calls.append(activity.text or "")
        return original(activity)

    original = channel_text.message_text
    monkeypatch.setattr(channel_text, "message_text", counted)
    await adapter.send(message("the printer on floor 3 is jammed"))  # transcript, escalation, not found
    await adapter.send(message("Ett fel uppstod vid validering av åtkomsttoken"))  # transcript, escalation, answer
    assert calls == ["the printer on floor 3 is jammed", "Ett fel uppstod vid validering av åtkomsttoken"]
    assert len(replies(adapter)) == 2
