"""The plugin as botbuilder middleware, for a bot that does not want to touch its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from botbuilder.core import Middleware, TurnContext
from botbuilder.schema import ActivityTypes

from bot.plugin import InsightDesk

__all__ = ["InsightDeskMiddleware"]


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
