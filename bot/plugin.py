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
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botbuilder.core import (
    Storage,
    TurnContext,
)
from botbuilder.schema import ChannelAccount

from bot import cards
from bot.actions import DESK_ACTIONS, ActionRegistry, CardAction, Owner, escalation_actions, learning_actions
from bot.channel.channel_text import addressed_to_bot, client_locale, turn_text
from bot.desk_memory import DeskMemory
from bot.escalation.words import agents_command
from bot.feedback.events import FeedbackKind, FeedbackStore
from bot.feedback.recorder import FeedbackRecorder
from bot.languages import choosable_locales, locale_named
from bot.replies import answer_reply, renders_cards, send_reply, suggestions_reply, tentative_reply
from bot.stores.base import StorageError
from bot.strings import CATALOG, all_language_commands, strings_for
from bot.turn_input import TurnInput, card_data, read_turn_input
from bot.turn_state import DeskConversationState, DeskUserState
from knowledge.engine import KnowledgeEngine
from knowledge.locales import language_name
from knowledge.model import Answer, Tier

if TYPE_CHECKING:
    from bot.escalation import Escalation
    from bot.feedback.proposals import LearningLoop

log = logging.getLogger(__name__)


HELP_COMMANDS = frozenset({"help"})
"""``help`` (Teams' command menu sends it without a slash): the welcome card again."""
_TURN_INPUT = "InsightDesk.turn"


class InsightDesk:
    """Answers pasted errors from a knowledge base; keeps each user's language and their feedback.

    ``storage`` is any botbuilder ``Storage`` (``bot.stores.create_storage``); the user's chosen
    language lives there under botbuilder's ``UserState``, whether the conversation was welcomed under
    its ``ConversationState``. ``feedback`` records helped / didn't help / unanswered / escalations.
    With ``escalation`` (``bot.escalation.Escalation``) a request for a person becomes a ticket that
    agents take and answer through the bot; without, it is only recorded.
    """

    def __init__(self, engine: KnowledgeEngine, storage: Storage, feedback: FeedbackStore,
                 escalation: Escalation | None = None, *, learning: LearningLoop | None = None,
                 observe_answer: Callable[[Answer], None] | None = None) -> None:
        """``learning`` (with escalation) proposes wordings users resolved to agents and handles Add / Dismiss."""
        self.engine = engine
        self.feedback = feedback
        self.user_state = DeskUserState(storage)
        # with escalation, the state its transcript lives in: one read and one save per turn cover both
        self.conversation_state = escalation.conversation_state if escalation else DeskConversationState(storage)
        self.memory = DeskMemory(self.user_state, self.conversation_state)
        self._commands = all_language_commands()
        self.escalation = escalation
        own = {"choose": self._on_choose, "language": self._on_choose, "helped": self._on_helped,
               "not_helped": self._on_not_helped, "escalate": self._on_escalate}
        self.actions = ActionRegistry([
            *(CardAction(name, Owner.DESK, own[name]) for name in DESK_ACTIONS),
            *(escalation_actions(escalation) if escalation is not None else ()),
            *(learning_actions(learning) if learning is not None else ()),
        ])
        """Every card button this bot answers, each with its one handler (``bot.actions``)."""
        self.observe_answer = observe_answer
        """Called with every engine answer to pasted text (``bot.ops.metrics`` counts them)."""
        self.learning = learning
        self.recorder = FeedbackRecorder(feedback, learning)

    # -- entry points ----------------------------------------------------------------------------

    async def read_turn(self, turn_context: TurnContext, *, data: Mapping[str, Any] | None = None) -> TurnInput:
        """The turn's input (``bot.turn_input``), read once: later calls in the same turn return it.

        A message addressed to the bot loads the user's and the conversation's state first (one storage
        read), for the remembered language; channel chatter the bot only reads costs no read.
        """
        known = turn_context.turn_state.get(_TURN_INPUT)
        if isinstance(known, TurnInput):
            return known
        activity = turn_context.activity
        addressed = addressed_to_bot(activity)
        remembered = None
        if data is not None or addressed:
            await self.memory.load(turn_context)
            remembered = await self.memory.preferred_locale(turn_context)
        turn = read_turn_input(activity, remembered_locale=remembered, data=data, text=turn_text(turn_context),
                               addressed=addressed)
        turn_context.turn_state[_TURN_INPUT] = turn
        return turn

    async def on_message(self, turn_context: TurnContext) -> bool:
        """Handle one message; ``False`` when it is not something Insight Desk can help with.

        Answers pasted errors, the buttons of its own cards and its commands; declines (sends nothing)
        for text that matches no article, so the host bot can answer it. A channel message that does not
        mention the bot (``TurnInput.addressed``) is only relayed when it is an agent's in a ticket's
        thread; otherwise it is declined without a word.
        """
        turn = await self.read_turn(turn_context)
        if not turn.addressed:
            return await self._overheard(turn_context)
        escalation = self.escalation if await self._begin_escalation_turn(turn_context) else None
        if turn.action is not None:
            handled = await self._dispatch(turn_context, turn)
        elif escalation is not None and await self._escalation_message(escalation, turn_context, turn):
            handled = True
        else:
            handled = await self._on_text(turn_context, turn)
        if handled:
            await self.memory.save(turn_context)
        return handled

    async def on_card_action(self, turn_context: TurnContext, data: dict[str, Any]) -> bool:
        """Handle the data of one of our card's buttons (``Action.Submit`` or ``Action.Execute``)."""
        if card_data(data) is None:
            return False
        turn = await self.read_turn(turn_context, data=data)
        await self._dispatch(turn_context, turn)
        await self.memory.save(turn_context)
        return True

    async def on_members_added(self, turn_context: TurnContext, members: Iterable[ChannelAccount]) -> None:
        """Welcome card in the user's language (their remembered choice, else their client's): once when
        the bot itself is added, and for people who join."""
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        members = list(members)
        if not members:
            return
        turn = await self.read_turn(turn_context)
        people = [m for m in members if m.id != bot_id]
        if not people:
            try:
                if await self.memory.welcomed.get(turn_context):
                    return
                await self.memory.welcomed.set(turn_context, True)
            except StorageError as e:
                log.error("could not read or keep the welcome flag (activity %s): %s", activity.id, e)
        await self.send_help(turn_context, turn)
        await self.memory.save(turn_context)

    async def send_help(self, turn_context: TurnContext, turn: TurnInput | None = None) -> None:
        """The welcome card as help: for ``help``, a bare mention or a message with no text (a screenshot)."""
        strings = (turn or await self.read_turn(turn_context)).strings
        await self._send(turn_context, cards.welcome_card(strings=strings), cards.welcome_markdown(strings=strings))

    async def reply_not_found(self, turn_context: TurnContext, turn: TurnInput | None = None) -> None:
        """Say that nothing matched, in the user's language, offer a person, and record the query."""
        turn = turn or await self.read_turn(turn_context)
        strings = turn.strings
        unanswered = await self.memory.count_unanswered(turn_context)
        said = strings.text("not_found_again") if unanswered >= 2 and self.escalation else strings.text("not_found")
        await self._send(turn_context, cards.not_found_card(query=turn.text, strings=strings, text=said), said)
        await self.recorder.record(turn_context, FeedbackKind.UNANSWERED, turn.text, None, strings.locale)
        await self.memory.save(turn_context)

    async def save_state(self, turn_context: TurnContext) -> None:
        """Persist what changed in this turn (language, welcome); a storage outage is logged, never raised."""
        await self.memory.save(turn_context)

    async def on_event(self, turn_context: TurnContext) -> bool:
        """Event activities escalation understands (``handoff.status`` from a contact-center hub)."""
        return self.escalation is not None and await self.escalation.on_event(turn_context)

    async def user_locale(self, turn_context: TurnContext) -> str | None:
        """The user's chosen language (``/language``), else their client's; ``None`` when neither is known."""
        turn = turn_context.turn_state.get(_TURN_INPUT)
        if isinstance(turn, TurnInput):
            return turn.remembered_locale or turn.client_locale
        return await self.memory.preferred_locale(turn_context) or client_locale(turn_context.activity)

    # -- text --------------------------------------------------------------------------------------

    async def _on_text(self, turn_context: TurnContext, turn: TurnInput) -> bool:
        text = turn.text
        if not text:
            return False
        if await self._on_command(turn_context, turn):
            return True
        answer = self.engine.ask(text, locale=turn.remembered_locale, client_locale=turn.client_locale,
                                 words_locales=CATALOG)
        if self.observe_answer is not None:
            self.observe_answer(answer)
        if answer.tier is Tier.NONE:
            return False
        await self.memory.set_unanswered(turn_context, 0)
        if answer.tier is Tier.ANSWER:
            await self._send_answer(turn_context, answer, query=text)
        elif answer.tentative:
            await self._send_tentative(turn_context, turn, answer, query=text)
        else:
            await self._send_suggestions(turn_context, turn, answer, query=text)
        return True

    async def _on_command(self, turn_context: TurnContext, turn: TurnInput) -> bool:
        """The commands escalation left to the plugin: ``language``, ``help``, and the agents' and
        ticket commands said where they do not work (one line that says where they do). Never a miss."""
        command = turn.command
        if command is None:
            return False
        if command.word in self._commands:
            locale = locale_named(command.value, choosable_locales(self.engine.locales)) if command.value else None
            if command.slash or locale or not command.value:
                await self._set_language(turn_context, turn, command.value, locale)
                return True
        if command.word in HELP_COMMANDS and (command.slash or not command.value):
            await self.send_help(turn_context, turn)
            return True
        elsewhere = agents_command(turn.text)
        if elsewhere is not None:
            await turn_context.send_activity(turn.strings.text("agents_command_elsewhere", command=elsewhere))
            return True
        return False

    # -- answers -----------------------------------------------------------------------------------

    def answer_card(self, text: str, locale: str) -> dict[str, Any] | None:
        """The answer card for ``text`` in ``locale`` when the knowledge base answers it confidently, else
        ``None``: what an agent sends a user when they ask the bot to answer (``/kb`` in a ticket's thread)."""
        answer = self.engine.ask(text, locale=locale, words_locales=CATALOG)
        card = answer_reply(answer, query=text, as_card=True) if answer.tier is Tier.ANSWER else None
        return card if isinstance(card, dict) else None

    async def _send_answer(self, turn_context: TurnContext, answer: Answer, *, query: str) -> None:
        reply = answer_reply(answer, query=query, as_card=renders_cards(turn_context))
        if reply is None or answer.article is None:
            return
        await send_reply(turn_context, reply)
        if self.escalation is not None:
            await self.escalation.note_answer(turn_context, answer.article.id, answer.score, query)

    async def _send_suggestions(self, turn_context: TurnContext, turn: TurnInput, answer: Answer, *,
                                query: str) -> None:
        await send_reply(turn_context, suggestions_reply(self.engine, turn, answer, query=query,
                                                         as_card=renders_cards(turn_context)))

    async def _send_tentative(self, turn_context: TurnContext, turn: TurnInput, answer: Answer, *,
                              query: str) -> None:
        await send_reply(turn_context, tentative_reply(self.engine, turn, answer, query=query,
                                                       as_card=renders_cards(turn_context)))
        if self.escalation is not None and answer.article is not None:
            await self.escalation.note_answer(turn_context, answer.article.id, answer.score, query)

    # -- card actions and commands --------------------------------------------------------------

    async def _dispatch(self, turn_context: TurnContext, turn: TurnInput) -> bool:
        """The turn's button to its one handler (``self.actions``); an unknown one is told it was not understood."""
        if await self.actions.dispatch(turn_context, turn):
            return True
        log.warning("unknown card action %r (activity %s)", str(turn.action)[:40], turn_context.activity.id)
        await turn_context.send_activity(turn.strings.text("not_found"))
        return True

    @staticmethod
    def _data_fields(turn: TurnInput) -> tuple[str | None, str, str | None]:
        """A button's article, query and locale."""
        data = turn.action_data
        article = data.get("article") if isinstance(data.get("article"), str) else None
        locale = data.get(cards.LANGUAGE_INPUT) if isinstance(data.get(cards.LANGUAGE_INPUT), str) else None
        return article, str(data.get("query") or ""), locale

    async def _on_choose(self, turn_context: TurnContext, turn: TurnInput) -> bool:
        """A "did you mean" choice (``choose``) or the language picker (``language``): that article."""
        article, query, locale = self._data_fields(turn)
        if not article:
            return False
        if turn.action == "language" and locale:
            await self.memory.remember_language(turn_context, locale)
            preferred: str | None = locale
        else:
            preferred = turn.remembered_locale or locale
            await self.recorder.record(turn_context, FeedbackKind.CHOSEN, query, article, locale)  # for kb learn
        answer = self.engine.present(article, locale=preferred, client_locale=turn.client_locale,
                                     words_locales=CATALOG)
        if answer is None:
            return False
        await self._send_answer(turn_context, answer, query=query)
        return True

    async def _on_helped(self, turn_context: TurnContext, turn: TurnInput) -> bool:
        article, query, locale = self._data_fields(turn)
        recorded = await self.recorder.record(turn_context, FeedbackKind.HELPED, query, article, locale)
        await turn_context.send_activity(turn.strings.text("thanks") if recorded else turn.strings.text("not_saved"))
        return True

    async def _on_not_helped(self, turn_context: TurnContext, turn: TurnInput) -> bool:
        article, query, locale = self._data_fields(turn)
        await self.recorder.record(turn_context, FeedbackKind.NOT_HELPED, query, article, locale)
        card = cards.escalate_card(query=query, article_id=article, strings=turn.strings)
        await self._send(turn_context, card, turn.strings.text("sorry_not_helped"))
        return True

    async def _on_escalate(self, turn_context: TurnContext, turn: TurnInput) -> bool:
        article, query, locale = self._data_fields(turn)
        recorded = await self.recorder.record(turn_context, FeedbackKind.ESCALATED, query, article, locale)
        if not recorded:
            # Never confirm a request for a person that was not kept: the user would wait for no one.
            await turn_context.send_activity(turn.strings.text("apology"))
        elif self.escalation is not None:
            await self.escalation.offer(turn_context, turn.strings, query=query, article=article)
        else:
            await turn_context.send_activity(turn.strings.text("escalated"))
        return True

    # -- the language command ---------------------------------------------------------------------

    async def _set_language(self, turn_context: TurnContext, turn: TurnInput, value: str | None,
                            locale: str | None) -> None:
        strings = turn.strings
        if not value:
            await turn_context.send_activity(strings.text("language_usage", example="sv"))
            return
        if locale is None:
            choices = ", ".join(sorted({loc.split("-")[0] for loc in choosable_locales(self.engine.locales)}))
            await turn_context.send_activity(strings.text("language_unknown", choices=choices))  # never echoes X
            return
        previous = turn.remembered_locale
        remembered = await self.memory.remember_language(turn_context, locale)
        if not (remembered and await self.memory.save_user_state(turn_context)):
            # Never "I'll answer in ..." for a choice that was not kept; nor keep it for this turn's later save.
            if remembered:
                await self.memory.restore_language(turn_context, previous)
            await turn_context.send_activity(strings.text("not_saved"))
            return
        strings = strings_for(locale)
        await turn_context.send_activity(strings.text("language_set", language=language_name(locale, locale)))

    # -- escalation ------------------------------------------------------------------------------

    async def _begin_escalation_turn(self, turn_context: TurnContext) -> bool:
        """Start recording the turn in the conversation's transcript; ``False`` when tickets are out of reach
        (the message is then answered from the knowledge base rather than not at all)."""
        if self.escalation is None:
            return False
        try:
            await self.escalation.begin_turn(turn_context)
        except StorageError as e:
            log.error("escalation unavailable, answering from the knowledge base (activity %s): %s",
                      turn_context.activity.id, e)
            return False
        return True

    async def _escalation_message(self, escalation: Escalation, turn_context: TurnContext, turn: TurnInput) -> bool:
        """Let escalation take the message if it is its (a request for a person, ``status``, a relay)."""
        try:
            return await escalation.on_message(turn_context, turn.strings)
        except StorageError as e:
            log.error("escalation unavailable, answering from the knowledge base (activity %s): %s",
                      turn_context.activity.id, e)
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

    # -- helpers -------------------------------------------------------------------------------

    async def _send(self, turn_context: TurnContext, card: dict[str, Any], markdown: str) -> None:
        """A card where the channel renders cards (``fallbackText`` inside), else the markdown as text."""
        await send_reply(turn_context, card if renders_cards(turn_context) else markdown)
