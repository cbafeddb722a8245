"""The terminal chat's adapter: turns run in this process, and whatever the bot sends, to any conversation
(a reply, a proactive message through ``continue_conversation``, a card updated in place), is kept for the
terminal to show."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ConversationReference, ResourceResponse

NOT_SHOWN = frozenset({ActivityTypes.typing, ActivityTypes.trace, ActivityTypes.invoke_response, "delay"})
"""What the bot sends that a person would not read (the invoke's answer goes back to the client, not to a chat)."""


@dataclass(frozen=True)
class Sent:
    """One activity the bot sent, or (``updated``) an activity it replaced."""

    activity: Activity
    updated: bool = False

    @property
    def conversation_id(self) -> str:
        conversation = self.activity.conversation
        return str(conversation.id) if conversation is not None and conversation.id else ""


class TerminalAdapter(BotAdapter):  # type: ignore[misc]  # botbuilder ships no types
    """A ``BotAdapter`` whose channel is this process: sends are numbered ``m1``, ``m2``, … and kept in order."""

    def __init__(self, on_turn_error: Callable[[TurnContext, Exception], Awaitable[None]] | None = None) -> None:
        super().__init__(on_turn_error)
        self.sent: list[Sent] = []
        self._ids = itertools.count(1)

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
        responses = []
        for activity in activities:
            if activity.type in NOT_SHOWN:
                responses.append(ResourceResponse(id=""))
                continue
            activity.id = f"m{next(self._ids)}"
            self.sent.append(Sent(activity))
            responses.append(ResourceResponse(id=activity.id))
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> ResourceResponse:
        self.sent.append(Sent(activity, updated=True))
        return ResourceResponse(id=activity.id)

    async def delete_activity(self, context: TurnContext, reference: ConversationReference) -> None:
        """Nothing the bot sends here is ever deleted (it sends no deletes); the terminal keeps what it printed."""

    async def process(self, activity: Activity, logic: Callable[[TurnContext], Awaitable[None]]) -> None:
        """One turn of ``activity`` through the middleware and ``logic`` (the bot's ``on_turn``)."""
        await self.run_pipeline(TurnContext(self, activity), logic)

    def take(self) -> list[Sent]:
        """What was sent since the last call, oldest first."""
        sent, self.sent = self.sent, []
        return sent


__all__ = ["Sent", "TerminalAdapter"]
