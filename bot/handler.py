"""Our own host bot: the Insight Desk plugin inside a minimal Teams activity handler."""

from __future__ import annotations

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import ChannelAccount

from bot.plugin import InsightDesk


class InsightDeskBot(TeamsActivityHandler):  # type: ignore[misc]  # botbuilder ships no types
    """Answers pasted errors; says so, in the user's language, when nothing matches."""

    def __init__(self, desk: InsightDesk) -> None:
        self.desk = desk

    async def on_turn(self, turn_context: TurnContext) -> None:
        await super().on_turn(turn_context)
        await self.desk.save_state(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        if not await self.desk.on_message(turn_context):
            await self.desk.reply_not_found(turn_context)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        await self.desk.welcome(turn_context, members_added)
