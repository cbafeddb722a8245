"""Our own host bot: the Insight Desk plugin inside a minimal Teams activity handler."""

from __future__ import annotations

from http import HTTPStatus

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, ChannelAccount

from bot.plugin import InsightDesk

INVOKE_MESSAGE = "application/vnd.microsoft.activity.message"


class InsightDeskBot(TeamsActivityHandler):  # type: ignore[misc]  # botbuilder ships no types
    """Answers pasted errors; says so, in the user's language, when nothing matches."""

    def __init__(self, desk: InsightDesk) -> None:
        self.desk = desk

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        if not await self.desk.on_message(turn_context):
            await self.desk.reply_not_found(turn_context)
            await self.desk.save_state(turn_context)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        await self.desk.on_members_added(turn_context, members_added)

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        """``Action.Execute`` with our cards' data: handled like the ``Action.Submit`` message."""
        data = invoke_value.action.get("data") if isinstance(invoke_value.action, dict) else None
        if isinstance(data, dict) and await self.desk.on_card_action(turn_context, data):
            return AdaptiveCardInvokeResponse(status_code=int(HTTPStatus.OK), type=INVOKE_MESSAGE, value="")
        return AdaptiveCardInvokeResponse(
            status_code=int(HTTPStatus.BAD_REQUEST), type="application/vnd.microsoft.error",
            value={"code": "BadRequest", "message": "not an Insight Desk card action"},
        )
