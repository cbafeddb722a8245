"""The conversation so far, before a ticket exists: its recent lines and the last answer shown, kept in the
plugin's conversation state, so a new ticket carries what was said and which article did not help.

Lines are stored as plain documents (``line_document``); two turns of one conversation saving at once keep
both turns' lines (``merge_transcript``, registered with ``bot.turn_state.DeskConversationState``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import ConversationState, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.channel.channel_text import turn_text
from bot.escalation.origin import person_of
from bot.escalation.tickets import Line, Role
from bot.stores.base import StorageError
from bot.turn_state import DeskConversationState

log = logging.getLogger(__name__)

MAX_TRANSCRIPT_LINES = 40
"""Lines of the conversation kept before a ticket exists (the ticket keeps every line after)."""
MAX_EARLY_LINE_CHARS = 2000
"""Each of those lines is kept up to this long: the conversation state is rewritten every turn."""
TRANSCRIPT_PROPERTY = "InsightDeskTranscript"
SHOWN_PROPERTY = "InsightDeskShown"


class ConversationMemory:
    """A conversation's recent lines and last answer in ``conversation_state``; ``mask`` applies to what people
    typed before it is kept."""

    def __init__(self, conversation_state: ConversationState, mask: Callable[[str], str]) -> None:
        self._transcript = conversation_state.create_property(TRANSCRIPT_PROPERTY)
        if isinstance(conversation_state, DeskConversationState):  # two turns at once: both turns' lines kept
            conversation_state.merge_property(TRANSCRIPT_PROPERTY, merge_transcript)
        self._shown = conversation_state.create_property(SHOWN_PROPERTY)
        self.mask = mask

    async def begin_turn(self, turn_context: TurnContext) -> None:
        """Record the user's message, and what the bot sends in this turn, in the conversation's transcript."""
        lines = await self.lines(turn_context)
        text = turn_text(turn_context)
        if text:
            user = person_of(turn_context.activity)
            lines.append(line_document(Line(Role.USER, user.name or user.id, self.mask(text))))

        async def record(ctx: TurnContext, activities: list[Activity], send: Callable[[], Awaitable[Any]]) -> Any:
            for sent in activities:
                said = said_in(sent)
                if said:
                    lines.append(line_document(Line(Role.BOT, sent.from_property.name if sent.from_property
                                                    and sent.from_property.name else "Insight Desk",
                                                    self.mask(said))))
            del lines[:-MAX_TRANSCRIPT_LINES]
            return await send()

        turn_context.on_send_activities(record)
        del lines[:-MAX_TRANSCRIPT_LINES]

    async def lines(self, turn_context: TurnContext) -> list[dict[str, Any]]:
        """This turn's transcript documents (the list the state keeps: appending to it records a line)."""
        try:
            lines = await self._transcript.get(turn_context, list)
        except StorageError as e:
            log.error("could not read the transcript (activity %s): %s", turn_context.activity.id, e)
            return []
        if not isinstance(lines, list):
            lines = []
            await self._transcript.set(turn_context, lines)
        return lines

    async def transcript(self, turn_context: TurnContext) -> tuple[Line, ...]:
        """The readable lines of the conversation so far."""
        lines = [line_from_document(d) for d in await self.lines(turn_context)]
        return tuple(line for line in lines if line is not None)

    async def note_answer(self, turn_context: TurnContext, article: str, score: float, query: str) -> None:
        """Remember the article last shown in this conversation (for the ticket: which, how sure)."""
        try:
            await self._shown.set(turn_context, {"article": article, "score": score,
                                                 "query": self.mask(query[:500])})
        except StorageError as e:
            log.error("could not remember the answer (activity %s): %s", turn_context.activity.id, e)

    async def last_answer(self, turn_context: TurnContext) -> dict[str, Any]:
        """What ``note_answer`` last remembered (``{}`` for nothing)."""
        shown = await self._shown.get(turn_context, dict)
        return shown if isinstance(shown, dict) else {}


def said_in(activity: Activity) -> str:
    """What a sent message says: its text, else its card's fallback text."""
    if activity.type != ActivityTypes.message:
        return ""
    if activity.text:
        return str(activity.text)
    for attachment in activity.attachments or []:
        content = attachment.content
        if isinstance(content, dict) and content.get("fallbackText"):
            return str(content["fallbackText"])
    return ""


def line_document(line: Line) -> dict[str, Any]:
    """A line as the conversation state keeps it (its text cut to ``MAX_EARLY_LINE_CHARS``)."""
    return {"role": line.role.value, "name": line.name, "text": line.text[:MAX_EARLY_LINE_CHARS],
            "at": line.at.isoformat()}


def line_from_document(doc: Any) -> Line | None:
    """The line a ``line_document`` holds; ``None`` when it is not one."""
    try:
        return Line(Role(doc["role"]), str(doc["name"]), str(doc["text"]), datetime.fromisoformat(doc["at"]))
    except (KeyError, TypeError, ValueError):
        return None


def merge_transcript(stored: Any, loaded: Any, mine: Any) -> list[dict[str, Any]]:
    """The transcript to store when another turn of the conversation saved since this one read it: the lines
    stored now, then this turn's new ones (in ``mine``, not in ``loaded``) that are not stored yet, in the
    order they were said (their time; stable for equal times), the last ``MAX_TRANSCRIPT_LINES`` kept.
    A line is who, what and when: the same words said again later are a new line."""
    kept = [line for line in stored if isinstance(line, dict)] if isinstance(stored, list) else []
    old = {_line_key(line) for line in loaded if isinstance(line, dict)} if isinstance(loaded, list) else set()
    seen = {_line_key(line) for line in kept}
    for line in mine if isinstance(mine, list) else []:
        if isinstance(line, dict) and _line_key(line) not in old | seen:
            kept.append(line)
            seen.add(_line_key(line))
    kept.sort(key=_said_at)
    return kept[-MAX_TRANSCRIPT_LINES:]


def _line_key(doc: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(doc.get(field)) for field in ("role", "name", "text", "at"))


def _said_at(doc: dict[str, Any]) -> datetime:
    """When a stored line was said; a line without a readable time sorts first."""
    try:
        at = datetime.fromisoformat(str(doc.get("at")))
    except ValueError:
        return _EARLIEST
    return at if at.tzinfo else at.replace(tzinfo=UTC)


_EARLIEST = datetime.min.replace(tzinfo=UTC)
