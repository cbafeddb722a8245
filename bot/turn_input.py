"""One turn's input, read once at its start and handed to escalation, the plugin and the handler.

Before it, each of them read the activity again: whether the bot was addressed, the text without the
channel's wrapping, the client's locale, the language of the bot's words, the card's data. A
``TurnInput`` holds each of them once; ``InsightDesk.read_turn`` builds it (after the user's state
is loaded, for their remembered language) and keeps it on the turn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from botbuilder.schema import Activity

from bot import cards
from bot.channel.channel_text import addressed_to_bot, client_locale, message_text
from bot.strings import CATALOG, Strings, strings_for
from knowledge.locales import choose_words_locale

__all__ = ["MAX_COMMAND_CHARS", "Command", "TurnInput", "card_data", "read_turn_input"]

MAX_COMMAND_CHARS = 60
"""A longer message is never a command (a pasted error may begin with a command's word)."""
_COMMAND = re.compile(r"^\s*(/?)(\S+)(?:\s+(.+?))?\s*$", re.DOTALL)
"""A command: its word (with or without "/", as Teams' command menu sends it) and an optional value."""
_NO_DATA: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Command:
    """The shape of a short message read as a command: ``/word value`` (the slash optional)."""

    word: str
    """Case-folded, without the slash."""
    value: str | None
    slash: bool


@dataclass(frozen=True)
class TurnInput:
    """What one turn brings, read once.

    ``text``: the user's words without the channel's wrapping (``channel_text.message_text``: the bot's
    mention, Teams' HTML copy); the paste's own noise (ids, timestamps, prefixes) is the engine's to
    remove (``knowledge.normalize.clean_paste``). ``remembered_locale``: the user's ``/language`` choice.
    ``words_locale``: the catalog locale of the bot's own words in this turn before any answer
    (``knowledge.locales.choose_words_locale``; an engine answer brings its own for the words around it).
    ``action`` and ``action_data``: the name and data of one of the bot's card buttons, when pressed.
    """

    text: str
    client_locale: str | None
    remembered_locale: str | None
    words_locale: str
    addressed: bool
    action: str | None = None
    action_data: Mapping[str, Any] = field(default_factory=lambda: _NO_DATA)
    command: Command | None = None

    @property
    def strings(self) -> Strings:
        """The catalog entry of ``words_locale``."""
        return strings_for(self.words_locale)


def card_data(value: Any) -> Mapping[str, Any] | None:
    """``value`` when it is the data of one of the bot's cards (it names an action), else ``None``."""
    return value if isinstance(value, dict) and cards.ACTION_KEY in value else None


def _command(text: str) -> Command | None:
    match = _COMMAND.match(text) if text and len(text) <= MAX_COMMAND_CHARS else None
    if match is None:
        return None
    return Command(match.group(2).casefold(), match.group(3), bool(match.group(1)))


def read_turn_input(activity: Activity, *, remembered_locale: str | None, data: Mapping[str, Any] | None = None,
                    text: str | None = None, addressed: bool | None = None) -> TurnInput:
    """The input of the turn that brought ``activity``.

    ``data`` is a card's data when it came elsewhere than ``activity.value`` (``Action.Execute``
    carries it inside the invoke's value); ``text`` and ``addressed`` what the caller already read.
    """
    data = card_data(activity.value) if data is None else data
    if text is None:
        text = message_text(activity)
    client = client_locale(activity)
    action = str(data.get(cards.ACTION_KEY)) if data is not None else None
    card_locale = data.get(cards.LANGUAGE_INPUT) if data is not None else None
    query = data.get("query") if data is not None else None
    words = choose_words_locale(
        # the language the card was written in stands for the user's choice when they made none
        explicit=remembered_locale or (card_locale if isinstance(card_locale, str) else None),
        text=text or (query if isinstance(query, str) else ""), client_locale=client, available=CATALOG,
    )
    return TurnInput(
        text=text, client_locale=client, remembered_locale=remembered_locale, words_locale=words,
        addressed=addressed_to_bot(activity) if addressed is None else addressed, action=action,
        action_data=MappingProxyType(dict(data)) if data is not None else _NO_DATA,
        command=_command(text) if data is None else None,
    )
