"""The plugin through botbuilder's in-process TestAdapter: what it handles, what it declines, outages."""

from __future__ import annotations

from typing import Any

import pytest
from botbuilder.core import MemoryStorage, Storage, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ConversationAccount, Mention

from bot import cards
from bot.feedback.events import FeedbackEvent
from bot.middleware import InsightDeskMiddleware
from bot.plugin import InsightDesk
from bot.stores.base import StorageError
from bot.stores.memory import MemoryFeedbackStore
from bot.strings import strings_for
from knowledge.engine import KnowledgeEngine
from tests.bot.plugin_turns import BOT, USER, message, replies

SEED_SV = "Ett fel uppstod vid validering av åtkomsttoken"


class Host:
    """A host bot's turn: the plugin first, then a record of what it declined."""

    def __init__(self, desk: InsightDesk) -> None:
        self.desk = desk
        self.declined: list[str] = []

    async def on_turn(self, turn_context: TurnContext) -> None:
        if turn_context.activity.type == ActivityTypes.message and not await self.desk.on_message(turn_context):
            self.declined.append(turn_context.activity.text)


async def test_answers_errors_and_declines_everything_else_without_replying(engine: KnowledgeEngine) -> None:
    host = Host(InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore()))
    adapter = TestAdapter(host.on_turn)
    await adapter.send(message(SEED_SV))
    (answer,) = replies(adapter)
    assert "Skrivbordsanalys" in answer.attachments[0].content["body"][0]["text"]
    for text in ("hello", "what's for lunch?", "", "/weather tomorrow"):
        await adapter.send(message(text))
    assert replies(adapter) == []
    assert host.declined == ["hello", "what's for lunch?", "", "/weather tomorrow"]


@pytest.mark.parametrize(("text", "reply"), [
    ("/language", "Type /language followed by a language code, for example /language sv."),
    ("/lang sv", "Jag svarar på svenska från och med nu."),
    ("/språk Swedish", "Jag svarar på svenska från och med nu."),
    ("/language 中文 (台灣)", "從現在起我會以中文 (台灣)回答。"),
    ("LANGUAGE sv", "Jag svarar på svenska från och med nu."),
])
async def test_language_commands(engine: KnowledgeEngine, text: str, reply: str) -> None:
    host = Host(InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore()))
    adapter = TestAdapter(host.on_turn)
    await adapter.send(message(text))
    assert [a.text for a in replies(adapter)] == [reply]


async def test_a_command_word_inside_a_pasted_error_is_not_a_command(engine: KnowledgeEngine) -> None:
    host = Host(InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore()))
    adapter = TestAdapter(host.on_turn)
    await adapter.send(message(f"{SEED_SV} (language sv)"))
    (answer,) = replies(adapter)
    assert answer.attachments, "answered as an error, not taken as a command"
    await adapter.send(message("language settings are broken"))
    assert replies(adapter) == [] and host.declined == ["language settings are broken"]


class BrokenStorage(Storage):  # type: ignore[misc]  # botbuilder ships no types
    """A state store that is down."""

    async def read(self, keys: list[str]) -> dict[str, object]:
        raise StorageError("state store down", operation="read")

    async def write(self, changes: dict[str, object]) -> None:
        raise StorageError("state store down", operation="write")

    async def delete(self, keys: list[str]) -> None:
        raise StorageError("state store down", operation="delete")


class BrokenFeedback:
    async def record(self, event: FeedbackEvent) -> None:
        raise StorageError("feedback store down", operation="record")

    async def report(self, limit: int = 20) -> list[Any]:
        raise StorageError("feedback store down", operation="report")


async def test_a_storage_outage_still_gets_answers_and_is_told_nothing_was_saved(engine: KnowledgeEngine) -> None:
    host = Host(InsightDesk(engine, BrokenStorage(), BrokenFeedback()))
    adapter = TestAdapter(host.on_turn)
    await adapter.send(message(SEED_SV))
    (answer,) = replies(adapter)
    helped = answer.attachments[0].content["actions"][1]["data"]
    await adapter.send(message(value=helped))
    assert [a.text for a in replies(adapter)] == [strings_for("sv-SE").text("not_saved")]  # never a false "Tack"
    await adapter.send(message("/language ko"))
    assert [a.text for a in replies(adapter)] == [strings_for("en-US").text("not_saved")]


class FailingNextWrite(MemoryStorage):  # type: ignore[misc]  # botbuilder ships no types
    """``MemoryStorage`` whose next ``failures`` writes fail, as a store that is down for a moment."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    async def write(self, changes: dict[str, Any]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise StorageError("state store down for a moment", operation="write")
        await super().write(changes)


async def test_a_language_choice_that_was_not_saved_is_neither_confirmed_nor_saved_later(
        engine: KnowledgeEngine, caplog: pytest.LogCaptureFixture) -> None:
    storage = FailingNextWrite()
    host = Host(InsightDesk(engine, storage, MemoryFeedbackStore()))
    adapter = TestAdapter(host.on_turn)
    await adapter.send(message("/language sv"))
    assert [a.text for a in replies(adapter)] == [strings_for("sv-SE").text("language_set", language="svenska")]
    storage.failures = 1  # the choice's own write fails; the end of the turn's would succeed
    choice = message("/language fi", id="activity-fi")
    await adapter.send(choice)
    assert [a.text for a in replies(adapter)] == [strings_for("sv-SE").text("not_saved")]
    assert "could not save the user's state (activity activity-fi)" in caplog.text
    # What was not confirmed was not kept either: the user still gets Swedish.
    await adapter.send(message("/language"))
    assert [a.text for a in replies(adapter)] == [strings_for("sv-SE").text("language_usage", example="sv")]


async def test_feedback_carries_the_query_article_locale_and_a_hashed_user(engine: KnowledgeEngine) -> None:
    feedback = MemoryFeedbackStore()
    host = Host(InsightDesk(engine, MemoryStorage(), feedback))
    adapter = TestAdapter(host.on_turn)
    await adapter.send(message(SEED_SV))
    (answer,) = replies(adapter)
    escalate = answer.attachments[0].content["actions"][3]["data"]
    await adapter.send(message(value=escalate))
    assert [a.text for a in replies(adapter)] == [
        "Jag har registrerat din begäran för supportteamet, med din fråga och det jag visade dig."]
    (row,) = await feedback.report()
    assert (row.query, row.escalated, row.articles, row.locales) == (
        SEED_SV, 1, ("error-validating-access-token-during-onboarding",), ("sv-SE",))


async def test_middleware_answers_errors_passes_the_rest_on_and_can_welcome(engine: KnowledgeEngine) -> None:
    reached: list[str] = []

    async def bot_logic(turn_context: TurnContext) -> None:
        reached.append(turn_context.activity.type)

    adapter = TestAdapter(bot_logic)
    adapter.use(InsightDeskMiddleware(InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore()), welcome=True))
    await adapter.send(message(SEED_SV))
    assert reached == [] and len(replies(adapter)) == 1
    await adapter.send(message("hello"))
    assert reached == [ActivityTypes.message] and replies(adapter) == []
    update = Activity(type=ActivityTypes.conversation_update, channel_id="test", from_property=USER,
                      recipient=BOT, conversation=ConversationAccount(id="c-1"), members_added=[BOT],
                      locale="ko-KR")
    await adapter.send(update)
    (welcome,) = replies(adapter)
    assert welcome.attachments[0].content["body"][0]["text"] == "안녕하세요, Insight Desk입니다"
    assert reached == [ActivityTypes.message, ActivityTypes.conversation_update]


async def test_other_bots_card_data_is_not_ours(engine: KnowledgeEngine) -> None:
    desk = InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore())
    handled: list[bool] = []

    async def logic(turn_context: TurnContext) -> None:
        handled.append(await desk.on_message(turn_context))

    adapter = TestAdapter(logic)
    await adapter.send(message(value={"action": "approve", "id": 7}))
    assert handled == [False] and replies(adapter) == []


async def test_a_channel_message_that_does_not_mention_the_bot_is_declined_without_a_word(
    engine: KnowledgeEngine,
) -> None:
    host = Host(InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore()))
    adapter = TestAdapter(host.on_turn)
    channel = ConversationAccount(id="19:general@thread.tacv2;messageid=1", conversation_type="channel")
    await adapter.send(message(SEED_SV, channel_id="msteams", conversation=channel))
    assert replies(adapter) == [] and host.declined == [SEED_SV]   # read (ChannelMessage.Read.Group), not answered
    mention = Mention(mentioned=BOT, text="<at>Insight Desk</at>", type="mention")
    await adapter.send(message(f"<at>Insight Desk</at> {SEED_SV}", channel_id="msteams", conversation=channel,
                               entities=[mention]))
    (answer,) = replies(adapter)
    assert "Skrivbordsanalys" in answer.attachments[0].content["body"][0]["text"]


# --- each turn read once, each reply built once ------------------------------------------------------


async def test_an_answer_asks_for_the_articles_languages_once_and_renders_only_what_is_sent(
        engine: KnowledgeEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    article_locales = engine.article_locales
    card_markdown = cards.card_markdown

    def counted_locales(article_id: str) -> list[str]:
        calls.append("article_locales")
        return article_locales(article_id)

    def counted_markdown(markdown: str, locale: str) -> str:
        calls.append("card_markdown")
        return card_markdown(markdown, locale)

    monkeypatch.setattr(engine, "article_locales", counted_locales)
    monkeypatch.setattr(cards, "card_markdown", counted_markdown)
    host = Host(InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore()))
    adapter = TestAdapter(host.on_turn)
    for channel in ("test", "slack"):  # a channel that renders cards, and one that gets markdown
        await adapter.send(message(SEED_SV, channel_id=channel))
        (answer,) = replies(adapter)
        assert answer.attachments if channel == "test" else answer.text.startswith("**")
        assert calls == ["article_locales", "card_markdown"], channel
        calls.clear()


async def test_a_turn_nothing_answers_reads_whether_the_bot_was_addressed_once(
        engine: KnowledgeEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, the handler asked again on the no-match path after the plugin had."""
    import bot.handler
    import bot.plugin
    import bot.turn_input
    from bot.channel.channel_text import addressed_to_bot

    asked: list[str] = []

    def counted(activity: Activity) -> bool:
        asked.append(activity.id)
        return addressed_to_bot(activity)

    for module in (bot.plugin, bot.handler, bot.turn_input):
        if hasattr(module, "addressed_to_bot"):
            monkeypatch.setattr(module, "addressed_to_bot", counted)
    desk = InsightDesk(engine, MemoryStorage(), MemoryFeedbackStore())
    adapter = TestAdapter(bot.handler.InsightDeskBot(desk).on_turn)
    await adapter.send(message("Printer tray 2 is jammed with paper again", id="activity-1"))
    assert [a.attachments[0].content["body"][0]["text"] for a in replies(adapter)] == [
        strings_for("en-US").text("not_found")]
    assert asked == ["activity-1"]


async def test_a_tentative_answer_on_a_channel_without_cards_is_markdown_text(tmp_path: Any) -> None:
    folder = tmp_path / "sv-SE"
    folder.mkdir()
    for stem, heading in [("exchange", "Det gick inte att ansluta till Exchange-servern"),
                          ("sharepoint", "Det gick inte att ansluta till SharePoint-webbplatsen"),
                          ("license", "Licensen kunde inte tilldelas användaren")]:
        (folder / f"{stem}.md").write_text(f"---\ntitle: {heading}\n---\n# {heading}\n\nSteg för {stem}.\n",
                                           encoding="utf-8")
    host = Host(InsightDesk(KnowledgeEngine.load([tmp_path]), MemoryStorage(), MemoryFeedbackStore()))
    adapter = TestAdapter(host.on_turn)
    await adapter.send(message("Kunde inte ansluta till Exchange-servern", channel_id="sms", locale="sv-SE"))
    (reply,) = replies(adapter)
    assert not reply.attachments and reply.text_format == "markdown"
    assert reply.text.startswith("**Är det här det?**\n\n**Det gick inte att ansluta till Exchange-servern**")
    assert "Steg för exchange." in reply.text
    _, others = reply.text.split("\n\n**Inte den här? Kanske någon av dessa:**\n\n")
    assert sorted(line[3:] for line in others.split("\n")) == [
        "Det gick inte att ansluta till SharePoint-webbplatsen", "Licensen kunde inte tilldelas användaren"]
