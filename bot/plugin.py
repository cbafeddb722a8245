"""The Insight Desk plugin: add it to any Bot Framework bot to answer pasted errors.

    desk = InsightDesk(engine, storage, feedback)
    async def on_message_activity(self, turn_context):
        if await desk.on_message(turn_context):
            return                      # Insight Desk answered
        ...                             # your bot's own handling
"""

from __future__ import annotations

import logging
import re
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, Storage, TurnContext, UserState
from botbuilder.schema import Activity, ChannelAccount

from bot import cards
from bot.channel_text import client_locale, message_text
from bot.feedback import FeedbackEvent, FeedbackKind, FeedbackStore, hash_user_id
from bot.storage import StorageError
from bot.strings import CATALOG, Strings, all_language_commands, strings_for
from knowledge.engine import KnowledgeEngine
from knowledge.locales import (
    canonical_locale,
    detect_script,
    language_name,
    localize_links,
    native_language_name,
    negotiate,
)
from knowledge.model import Answer, Tier

log = logging.getLogger(__name__)

CARD_CHANNELS = frozenset({"msteams", "webchat", "emulator", "directline", "test", "cli"})
"""Channels that render Adaptive Cards; others get the markdown rendering as text."""
SCRIPT_LOCALES = {"Hangul": "ko-KR", "Han": "zh-TW"}
"""A script that names one catalog language, for replying when nothing matched."""
_COMMAND = re.compile(r"^\s*/?(\S+)(?:\s+(\S+))?\s*$")
"""A command word (with or without "/", as Teams' command menu sends it) and an optional value."""


class InsightDesk:
    """Answers pasted errors from a knowledge base; keeps each user's language and their feedback."""

    def __init__(self, engine: KnowledgeEngine, storage: Storage, feedback: FeedbackStore) -> None:
        self.engine = engine
        self.feedback = feedback
        self.user_state = UserState(storage)
        self._language = self.user_state.create_property("InsightDeskLanguage")
        self._commands = all_language_commands()

    # -- entry points ----------------------------------------------------------------------------

    async def on_message(self, turn_context: TurnContext) -> bool:
        """Handle one message; ``False`` when it is not something Insight Desk can help with."""
        activity = turn_context.activity
        if isinstance(activity.value, dict) and cards.ACTION_KEY in activity.value:
            await self._on_card_action(turn_context, activity.value)
            return True
        text = message_text(activity)
        if not text:
            return False
        command = _COMMAND.match(text)
        if command and command.group(1).casefold() in self._commands:
            await self._set_language(turn_context, command.group(2))
            return True
        preferred = await self._preferred_locale(turn_context)
        answer = self.engine.ask(text, locale=preferred, client_locale=client_locale(activity))
        if answer.tier is Tier.NONE:
            return False
        if answer.tier is Tier.ANSWER:
            await self._send_answer(turn_context, answer, query=text)
        else:
            await self._send_suggestions(turn_context, answer, query=text)
        return True

    async def reply_not_found(self, turn_context: TurnContext) -> None:
        """Say that nothing matched, in the user's language, offer a person, and record the query."""
        text = message_text(turn_context.activity)
        strings = await self._strings(turn_context, text=text)
        card = cards.not_found_card(query=text, strings=strings)
        await self._send(turn_context, card, strings.text("not_found"))
        await self._record(turn_context, FeedbackKind.UNANSWERED, text, None, strings.locale)

    async def welcome(self, turn_context: TurnContext, members: list[ChannelAccount]) -> None:
        """Greet on install or when people join: one card per conversation update."""
        if not members:
            return
        strings = strings_for(client_locale(turn_context.activity))
        await self._send(turn_context, cards.welcome_card(strings=strings), cards.welcome_markdown(strings=strings))

    async def save_state(self, turn_context: TurnContext) -> None:
        """Persist the user's settings; a storage outage is logged, never raised."""
        try:
            await self.user_state.save_changes(turn_context)
        except StorageError as e:
            log.error("could not save user state (activity %s): %s", turn_context.activity.id, e)

    # -- answers -----------------------------------------------------------------------------------

    async def _send_answer(self, turn_context: TurnContext, answer: Answer, *, query: str) -> None:
        article = answer.article
        if article is None:
            return
        strings = strings_for(answer.reply_locale)
        language = language_name(answer.reply_locale, strings.locale)
        wanted = language_name(answer.wanted_locale, strings.locale) if answer.fell_back else None
        note = cards.answer_note(strings, language, wanted)
        body = localize_links(article.body, answer.reply_locale)
        title = article.heading or article.title
        others = [loc for loc in self.engine.article_locales(article.id) if loc != answer.reply_locale]
        languages = sorted(((loc, native_language_name(loc)) for loc in others), key=lambda p: p[1])
        card = cards.answer_card(
            article_id=article.id, title=title, body=body, locale=answer.reply_locale, note=note,
            query=query, strings=strings, languages=languages,
        )
        await self._send(turn_context, card, cards.answer_markdown(title=title, body=body, note=note, strings=strings))

    async def _send_suggestions(self, turn_context: TurnContext, answer: Answer, *, query: str) -> None:
        strings = await self._strings(turn_context, text=query, answer=answer)
        choices = []
        for match in answer.matches[:3]:
            versions = self.engine.translations(match.article_id)
            shown = versions.get(negotiate([strings.locale], versions) or "") or next(iter(versions.values()), None)
            choices.append(cards.Choice(match.article_id, shown.heading if shown else match.article_id))
        card = cards.suggest_card(choices, query=query, strings=strings)
        await self._send(turn_context, card, cards.suggest_markdown(choices, strings=strings))

    # -- card actions and commands --------------------------------------------------------------

    async def _on_card_action(self, turn_context: TurnContext, data: dict[str, Any]) -> None:
        action = str(data.get(cards.ACTION_KEY))
        article = data.get("article") if isinstance(data.get("article"), str) else None
        query = str(data.get("query") or "")
        locale = data.get("locale") if isinstance(data.get("locale"), str) else None
        strings = strings_for(locale) if locale else await self._strings(turn_context, text=query)
        if action in ("choose", "language") and article:
            if action == "language" and locale:
                await self._remember_language(turn_context, locale)
            preferred = locale if action == "language" else (await self._preferred_locale(turn_context) or locale)
            answer = self.engine.present(article, locale=preferred, client_locale=client_locale(turn_context.activity))
            if answer is not None:
                await self._send_answer(turn_context, answer, query=query)
                return
        elif action == "helped":
            await self._record(turn_context, FeedbackKind.HELPED, query, article, locale)
            await turn_context.send_activity(strings.text("thanks"))
            return
        elif action == "not_helped":
            await self._record(turn_context, FeedbackKind.NOT_HELPED, query, article, locale)
            card = cards.escalate_card(query=query, article_id=article, strings=strings)
            await self._send(turn_context, card, strings.text("sorry_not_helped"))
            return
        elif action == "escalate":
            await self._record(turn_context, FeedbackKind.ESCALATED, query, article, locale)
            await turn_context.send_activity(strings.text("escalated"))
            return
        log.warning("unknown card action %r (activity %s)", action, turn_context.activity.id)
        await self.reply_not_found(turn_context)

    async def _set_language(self, turn_context: TurnContext, value: str | None) -> None:
        strings = await self._strings(turn_context)
        choices = ", ".join(sorted({loc.split("-")[0] for loc in (*self.engine.locales, "en-US")}))
        if not value:
            await turn_context.send_activity(strings.text("language_usage", example="sv"))
            return
        locale = canonical_locale(value)
        if locale is None:
            await turn_context.send_activity(strings.text("language_unknown", value=value[:40], choices=choices))
            return
        await self._remember_language(turn_context, locale)
        strings = strings_for(locale)
        await turn_context.send_activity(strings.text("language_set", language=language_name(locale, locale)))

    # -- helpers -------------------------------------------------------------------------------

    async def _remember_language(self, turn_context: TurnContext, locale: str) -> None:
        try:
            await self._language.set(turn_context, locale)
        except StorageError as e:
            log.error("could not remember the language (activity %s): %s", turn_context.activity.id, e)

    async def _preferred_locale(self, turn_context: TurnContext) -> str | None:
        try:
            value = await self._language.get(turn_context)
        except StorageError as e:
            log.error("could not read user state (activity %s): %s", turn_context.activity.id, e)
            return None
        return value if isinstance(value, str) else None

    async def _strings(self, turn_context: TurnContext, *, text: str = "", answer: Answer | None = None) -> Strings:
        """The catalog for this user: their choice, the language of their text, their client, English."""
        preferred = await self._preferred_locale(turn_context)
        if preferred:
            return strings_for(preferred)
        if answer and answer.matches and answer.matches[0].locale in CATALOG:
            return strings_for(answer.matches[0].locale)
        script_locale = SCRIPT_LOCALES.get(detect_script(text) or "")
        client = client_locale(turn_context.activity)
        if script_locale and not (client and negotiate([client], [script_locale])):
            if script_locale == "zh-TW" and client and client.lower().startswith("zh"):
                return strings_for(client)
            return strings_for(script_locale)
        return strings_for(client)

    async def _record(
        self, turn_context: TurnContext, kind: FeedbackKind, query: str, article: str | None, locale: str | None
    ) -> None:
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

    async def _send(self, turn_context: TurnContext, card: dict[str, Any], markdown: str) -> None:
        """A card where the channel renders cards, else the markdown rendering."""
        if (turn_context.activity.channel_id or "") in CARD_CHANNELS:
            card = {**card, "fallbackText": markdown}
            reply: Activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        else:
            reply = MessageFactory.text(markdown)
            reply.text_format = "markdown"
        await turn_context.send_activity(reply)
