"""The Insight Desk plugin: add it to any Bot Framework bot to answer pasted errors.

    desk = InsightDesk(engine, storage, feedback)

    class MyBot(ActivityHandler):
        async def on_message_activity(self, turn_context):
            if await desk.on_message(turn_context):
                return                      # Insight Desk answered (and saved what it remembers)
            ...                             # your bot's own handling

or, without touching the bot: ``adapter.use(InsightDeskMiddleware(desk))``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from botbuilder.core import (
    CardFactory,
    MessageFactory,
    Middleware,
    Storage,
    TurnContext,
)
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

from bot import cards
from bot.channel_text import addressed_to_bot, client_locale, turn_text
from bot.feedback import FeedbackEvent, FeedbackKind, FeedbackStore, hash_user_id
from bot.storage import StorageError
from bot.strings import CATALOG, Strings, all_language_commands, strings_for
from bot.turn_state import DeskConversationState, DeskUserState, load_states
from knowledge.engine import KnowledgeEngine
from knowledge.locales import (
    canonical_locale,
    detect_script,
    language_name,
    localize_links,
    native_language_name,
    negotiate,
)
from knowledge.model import ENGLISH, Answer, Tier

if TYPE_CHECKING:
    from bot.escalation import Escalation

log = logging.getLogger(__name__)

CARD_CHANNELS = frozenset({"msteams", "webchat", "emulator", "directline", "test", "cli"})
"""Channels that render Adaptive Cards; others get the markdown rendering as text."""
SCRIPT_LOCALES = {"Hangul": "ko-KR", "Han": "zh-TW"}
"""A script that names one catalog language, for replying when nothing matched."""
_COMMAND = re.compile(r"^\s*(/?)(\S+)(?:\s+(.+?))?\s*$", re.DOTALL)
"""A command: its word (with or without "/", as Teams' command menu sends it) and an optional value."""
MAX_COMMAND_CHARS = 60


class InsightDesk:
    """Answers pasted errors from a knowledge base; keeps each user's language and their feedback.

    ``storage`` is any botbuilder ``Storage`` (``bot.storage.create_storage``); the user's chosen
    language lives there under botbuilder's ``UserState``, whether the conversation was welcomed under
    its ``ConversationState``. ``feedback`` records helped / didn't help / unanswered / escalations.
    With ``escalation`` (``bot.escalation.Escalation``) a request for a person becomes a ticket that
    agents take and answer through the bot; without, it is only recorded.
    """

    def __init__(self, engine: KnowledgeEngine, storage: Storage, feedback: FeedbackStore,
                 escalation: Escalation | None = None) -> None:
        self.engine = engine
        self.feedback = feedback
        self.user_state = DeskUserState(storage)
        self.conversation_state = DeskConversationState(storage)
        self._language = self.user_state.create_property("InsightDeskLanguage")
        self._welcomed = self.conversation_state.create_property("InsightDeskWelcomed")
        self._commands = all_language_commands()
        self._unanswered = self.conversation_state.create_property("InsightDeskUnanswered")
        self.escalation = escalation
        if escalation is not None:
            escalation.attach(self.conversation_state, self.answer_card)
        self.observe_answer: Callable[[Answer], None] | None = None
        """Called with every engine answer to pasted text (``bot.metrics`` counts them)."""

    # -- entry points ----------------------------------------------------------------------------

    async def on_message(self, turn_context: TurnContext) -> bool:
        """Handle one message; ``False`` when it is not something Insight Desk can help with.

        Answers pasted errors, the buttons of its own cards and the language command; declines
        (sends nothing) for text that matches no article, so the host bot can answer it. A channel
        message that does not mention the bot (``channel_text.addressed_to_bot``) is only relayed when it
        is an agent's in a ticket's thread; otherwise it is declined without a word.
        """
        activity = turn_context.activity
        if not addressed_to_bot(activity):
            return await self._overheard(turn_context)
        await self._load_state(turn_context)
        if self.escalation is not None and await self._escalation_message(self.escalation, turn_context):
            await self.save_state(turn_context)
            return True
        if isinstance(activity.value, dict) and cards.ACTION_KEY in activity.value:
            handled = await self.on_card_action(turn_context, activity.value)
        else:
            handled = await self._on_text(turn_context, turn_text(turn_context))
        if handled:
            await self.save_state(turn_context)
        return handled

    async def on_card_action(self, turn_context: TurnContext, data: dict[str, Any]) -> bool:
        """Handle the data of one of our card's buttons (``Action.Submit`` or ``Action.Execute``)."""
        if not isinstance(data, dict) or cards.ACTION_KEY not in data:
            return False
        await self._load_state(turn_context)
        if self.escalation is not None and await self.escalation.on_card_action(
                turn_context, data, await self._data_strings(turn_context, data)):
            await self.save_state(turn_context)
            return True
        await self._on_card_action(turn_context, data)
        await self.save_state(turn_context)
        return True

    async def on_members_added(self, turn_context: TurnContext, members: Iterable[ChannelAccount]) -> None:
        """Welcome card in the user's locale: once when the bot itself is added, and for people who join."""
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        members = list(members)
        if not members:
            return
        people = [m for m in members if m.id != bot_id]
        if not people:
            try:
                if await self._welcomed.get(turn_context):
                    return
                await self._welcomed.set(turn_context, True)
            except StorageError as e:
                log.error("could not read or keep the welcome flag (activity %s): %s", activity.id, e)
        strings = strings_for(client_locale(activity))
        await self._send(turn_context, cards.welcome_card(strings=strings), cards.welcome_markdown(strings=strings))
        await self.save_state(turn_context)

    async def send_help(self, turn_context: TurnContext) -> None:
        """The welcome card as help, e.g. for a bare mention or a message with no text (a screenshot)."""
        strings = await self._strings(turn_context)
        await self._send(turn_context, cards.welcome_card(strings=strings), cards.welcome_markdown(strings=strings))

    async def reply_not_found(self, turn_context: TurnContext) -> None:
        """Say that nothing matched, in the user's language, offer a person, and record the query."""
        text = turn_text(turn_context)
        strings = await self._strings(turn_context, text=text)
        unanswered = await self._count_unanswered(turn_context)
        said = strings.text("not_found_again") if unanswered >= 2 and self.escalation else strings.text("not_found")
        await self._send(turn_context, cards.not_found_card(query=text, strings=strings, text=said), said)
        await self._record(turn_context, FeedbackKind.UNANSWERED, text, None, strings.locale)
        await self.save_state(turn_context)

    async def on_event(self, turn_context: TurnContext) -> bool:
        """Event activities escalation understands (``handoff.status`` from a contact-center hub)."""
        return self.escalation is not None and await self.escalation.on_event(turn_context)

    async def user_locale(self, turn_context: TurnContext) -> str | None:
        """The user's chosen language (``/language``), else their client's; ``None`` when neither is known."""
        return await self._preferred_locale(turn_context) or client_locale(turn_context.activity)

    async def _load_state(self, turn_context: TurnContext) -> None:
        """Read the user's and the conversation's state in one storage call; an outage is logged here and
        met again (and handled) where the state is used."""
        try:
            await load_states(turn_context, self.user_state, self.conversation_state)
        except StorageError as e:
            log.error("could not read state (activity %s): %s", turn_context.activity.id, e)

    async def save_state(self, turn_context: TurnContext) -> None:
        """Persist what changed in this turn (language, welcome); a storage outage is logged, never raised."""
        for state in (self.user_state, self.conversation_state):
            try:
                await state.save_changes(turn_context)
            except StorageError as e:
                log.error("could not save %s (activity %s): %s", type(state).__name__, turn_context.activity.id, e)

    # -- text --------------------------------------------------------------------------------------

    async def _on_text(self, turn_context: TurnContext, text: str) -> bool:
        if not text:
            return False
        command = _COMMAND.match(text) if len(text) <= MAX_COMMAND_CHARS else None
        if command and command.group(2).casefold() in self._commands:
            slash, value = command.group(1), command.group(3)
            locale = self._language_named(value) if value else None
            if slash or locale or not value:
                await self._set_language(turn_context, value, locale)
                return True
        preferred = await self._preferred_locale(turn_context)
        answer = self.engine.ask(text, locale=preferred, client_locale=client_locale(turn_context.activity))
        if self.observe_answer is not None:
            self.observe_answer(answer)
        if answer.tier is Tier.NONE:
            return False
        await self._set_unanswered(turn_context, 0)
        if answer.tier is Tier.ANSWER:
            await self._send_answer(turn_context, answer, query=text)
        else:
            await self._send_suggestions(turn_context, answer, query=text)
        return True

    # -- answers -----------------------------------------------------------------------------------

    def answer_card(self, text: str, locale: str) -> dict[str, Any] | None:
        """The answer card for ``text`` in ``locale`` when the knowledge base answers it confidently, else
        ``None``: what an agent sends a user when they ask the bot to answer (``/kb`` in a ticket's thread)."""
        answer = self.engine.ask(text, locale=locale)
        reply = self._answer_reply(answer, query=text) if answer.tier is Tier.ANSWER else None
        return reply[0] if reply else None

    async def _send_answer(self, turn_context: TurnContext, answer: Answer, *, query: str) -> None:
        reply = self._answer_reply(answer, query=query)
        if reply is None or answer.article is None:
            return
        await self._send(turn_context, *reply)
        if self.escalation is not None:
            await self.escalation.note_answer(turn_context, answer.article.id, answer.score, query)

    def _answer_reply(self, answer: Answer, *, query: str) -> tuple[dict[str, Any], str] | None:
        """The answer's card and its markdown."""
        article = answer.article
        if article is None:
            return None
        reply = answer.reply_locale
        # The user's language for what the bot says, when the catalog has it; else the article's.
        strings = strings_for(answer.wanted_locale if negotiate([answer.wanted_locale], CATALOG) else reply)
        language = language_name(reply, strings.locale)
        wanted = language_name(answer.wanted_locale, strings.locale) if answer.fell_back else None
        note = cards.answer_note(strings, language, wanted)
        body = localize_links(article.body, reply)
        title = article.heading or article.title
        others = [loc for loc in self.engine.article_locales(article.id) if loc != reply]
        languages = sorted(((loc, native_language_name(loc)) for loc in others), key=lambda pair: pair[1])
        card = cards.answer_card(
            article_id=article.id, title=title, body=body, locale=reply, note=note,
            query=query, strings=strings, languages=languages,
        )
        markdown = cards.answer_markdown(title=title, body=body, locale=reply, note=note, strings=strings)
        return card, markdown

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
        locale = data.get(cards.LANGUAGE_INPUT) if isinstance(data.get(cards.LANGUAGE_INPUT), str) else None
        strings = strings_for(locale) if locale else await self._strings(turn_context, text=query)
        activity_locale = client_locale(turn_context.activity)
        if action in ("choose", "language") and article:
            if action == "language" and locale:
                await self._remember_language(turn_context, locale)
                preferred: str | None = locale
            else:
                preferred = await self._preferred_locale(turn_context) or locale
                await self._record(turn_context, FeedbackKind.CHOSEN, query, article, locale)  # for kb learn
            answer = self.engine.present(article, locale=preferred, client_locale=activity_locale)
            if answer is not None:
                await self._send_answer(turn_context, answer, query=query)
                return
        elif action == "helped":
            recorded = await self._record(turn_context, FeedbackKind.HELPED, query, article, locale)
            await turn_context.send_activity(strings.text("thanks") if recorded else strings.text("not_saved"))
            return
        elif action == "not_helped":
            await self._record(turn_context, FeedbackKind.NOT_HELPED, query, article, locale)
            card = cards.escalate_card(query=query, article_id=article, strings=strings)
            await self._send(turn_context, card, strings.text("sorry_not_helped"))
            return
        elif action == "escalate":
            recorded = await self._record(turn_context, FeedbackKind.ESCALATED, query, article, locale)
            if not recorded:
                # Never confirm a request for a person that was not kept: the user would wait for no one.
                await turn_context.send_activity(strings.text("apology"))
            elif self.escalation is not None:
                await self.escalation.offer(turn_context, strings, query=query, article=article)
            else:
                await turn_context.send_activity(strings.text("escalated"))
            return
        log.warning("unknown card action %r (activity %s)", action[:40], turn_context.activity.id)
        await turn_context.send_activity(strings.text("not_found"))

    def _available_locales(self) -> list[str]:
        """Languages a user may choose: the knowledge base's, English, and the catalog's."""
        return list(dict.fromkeys([*self.engine.locales, ENGLISH, *CATALOG]))

    def _language_named(self, value: str) -> str | None:
        """The locale ``value`` names (a code like ``sv``, or a name like "svenska", "Swedish", "한국어")."""
        available = self._available_locales()
        code = canonical_locale(value)
        if code:
            return negotiate([code], available)
        wanted = " ".join(value.split()).casefold()
        for locale in available:
            names = {native_language_name(locale), language_name(locale, ENGLISH), language_name(locale, locale)}
            if wanted in {n.casefold() for n in names}:
                return locale
        return None

    async def _set_language(self, turn_context: TurnContext, value: str | None, locale: str | None) -> None:
        strings = await self._strings(turn_context)
        if not value:
            await turn_context.send_activity(strings.text("language_usage", example="sv"))
            return
        if locale is None:
            choices = ", ".join(sorted({loc.split("-")[0] for loc in self._available_locales()}))
            await turn_context.send_activity(strings.text("language_unknown", choices=choices))  # never echoes X
            return
        previous = await self._preferred_locale(turn_context)
        remembered = await self._remember_language(turn_context, locale)
        if not (remembered and await self._save_user_state(turn_context)):
            # Never "I'll answer in ..." for a choice that was not kept; nor keep it for this turn's later save.
            if remembered:
                await self._restore_language(turn_context, previous)
            await turn_context.send_activity(strings.text("not_saved"))
            return
        strings = strings_for(locale)
        await turn_context.send_activity(strings.text("language_set", language=language_name(locale, locale)))

    # -- escalation ------------------------------------------------------------------------------

    async def _escalation_message(self, escalation: Escalation, turn_context: TurnContext) -> bool:
        """Record the turn in the conversation's transcript; let escalation take the message if it is its."""
        activity = turn_context.activity
        data = activity.value if isinstance(activity.value, dict) else {}
        strings = await self._data_strings(turn_context, data) if data else await self._strings(
            turn_context, text=turn_text(turn_context))
        try:
            await escalation.begin_turn(turn_context)
            return await escalation.on_message(turn_context, strings)
        except StorageError as e:
            # Tickets are out of reach: answer from the knowledge base rather than not at all. A ticket
            # button pressed now fails again in on_card_action and gets the apology.
            log.error("escalation unavailable, answering from the knowledge base (activity %s): %s", activity.id, e)
            return False

    async def _overheard(self, turn_context: TurnContext) -> bool:
        """A channel message not addressed to the bot: an agent's words to relay, else nothing to do."""
        if self.escalation is None:
            return False
        try:
            return await self.escalation.on_overheard(turn_context)
        except StorageError as e:  # never an apology in a channel for a message nobody sent the bot
            log.error("could not check an unaddressed channel message for relay (activity %s): %s",
                      turn_context.activity.id, e)
            return False

    async def _data_strings(self, turn_context: TurnContext, data: dict[str, Any]) -> Strings:
        locale = data.get(cards.LANGUAGE_INPUT)
        return strings_for(locale) if isinstance(locale, str) else await self._strings(turn_context)

    async def _count_unanswered(self, turn_context: TurnContext) -> int:
        """One more message in a row that nothing answered; how many now."""
        try:
            count = await self._unanswered.get(turn_context, 0)
        except StorageError as e:
            log.error("could not read the unanswered count (activity %s): %s", turn_context.activity.id, e)
            return 1
        count = (count if isinstance(count, int) else 0) + 1
        await self._set_unanswered(turn_context, count)
        return count

    async def _set_unanswered(self, turn_context: TurnContext, count: int) -> None:
        try:
            await self._unanswered.set(turn_context, count)
        except StorageError as e:
            log.error("could not keep the unanswered count (activity %s): %s", turn_context.activity.id, e)

    # -- helpers -------------------------------------------------------------------------------

    async def _remember_language(self, turn_context: TurnContext, locale: str) -> bool:
        """Set the user's language for this turn's save; ``False`` (and a log line) when their state is out of reach."""
        try:
            await self._language.set(turn_context, locale)
        except StorageError as e:
            log.error("could not remember the language (activity %s): %s", turn_context.activity.id, e)
            return False
        return True

    async def _restore_language(self, turn_context: TurnContext, previous: str | None) -> None:
        """Put back the language the turn loaded, so the end of the turn has nothing of a failed choice to save."""
        try:
            if previous is None:
                await self._language.delete(turn_context)
            else:
                await self._language.set(turn_context, previous)
        except StorageError as e:
            log.error("could not restore the language (activity %s): %s", turn_context.activity.id, e)

    async def _save_user_state(self, turn_context: TurnContext) -> bool:
        """Write the user's state now; ``False`` (and a log line with the activity id) when the store failed."""
        try:
            await self.user_state.save_changes(turn_context)
        except StorageError as e:
            log.error("could not save the user's state (activity %s): %s", turn_context.activity.id, e)
            return False
        return True

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
    ) -> bool:
        """Store one feedback event; ``False`` (and a log line) when the store failed."""
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
            return False
        return True

    async def _send(self, turn_context: TurnContext, card: dict[str, Any], markdown: str) -> None:
        """A card where the channel renders cards (``fallbackText`` inside), else the markdown as text."""
        if (turn_context.activity.channel_id or "") in CARD_CHANNELS:
            reply: Activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        else:
            reply = MessageFactory.text(markdown)
            reply.text_format = "markdown"
        await turn_context.send_activity(reply)


class InsightDeskMiddleware(Middleware):  # type: ignore[misc]  # botbuilder ships no types
    """The plugin as botbuilder middleware: ``adapter.use(InsightDeskMiddleware(desk))``.

    A message Insight Desk answers ends the turn there; every other activity (and every message it
    declines) goes on to the bot. With ``welcome=True`` it also greets on ``conversationUpdate``.
    """

    def __init__(self, desk: InsightDesk, *, welcome: bool = False) -> None:
        self.desk = desk
        self.welcome = welcome

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        activity = context.activity
        if activity.type == ActivityTypes.message and await self.desk.on_message(context):
            return
        if activity.type == ActivityTypes.event and await self.desk.on_event(context):
            return
        if self.welcome and activity.type == ActivityTypes.conversation_update and activity.members_added:
            await self.desk.on_members_added(context, activity.members_added)
        await logic()
