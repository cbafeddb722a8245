"""Our own host bot: the Insight Desk plugin inside a minimal Teams activity handler."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import ChannelAccount
from botbuilder.schema.teams import TeamInfo
from msrest.serialization import Model

from bot.plugin import InsightDesk

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
INVOKE_MESSAGE = "application/vnd.microsoft.activity.message"
INVOKE_ERROR = "application/vnd.microsoft.error"
log = logging.getLogger(__name__)


class InsightDeskBot(TeamsActivityHandler):  # type: ignore[misc]  # botbuilder ships no types
    """Answers pasted errors; says so, in the user's language, when nothing matches."""

    def __init__(self, desk: InsightDesk) -> None:
        self.desk = desk

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        turn = await self.desk.read_turn(turn_context)  # read once; the plugin reads the same
        if await self.desk.on_message(turn_context):
            return
        if not turn.addressed:  # channel chatter the bot may read: never answered
            return
        if turn.text:
            await self.desk.reply_not_found(turn_context, turn)
        else:  # a bare mention, a screenshot, a card's data from elsewhere: say what the bot does
            await self.desk.send_help(turn_context, turn)

    async def on_event(self, turn_context: TurnContext) -> None:
        """Events botbuilder does not route elsewhere: ``handoff.status`` from a contact-center hub."""
        await self.desk.on_event(turn_context)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        await self.desk.on_members_added(turn_context, members_added)

    async def on_teams_members_added_dispatch(
        self, members_added: list[ChannelAccount], team_info: TeamInfo, turn_context: TurnContext
    ) -> None:
        # botbuilder would look every new member up in the team roster first; a welcome needs only the ids.
        await self.desk.on_members_added(turn_context, members_added)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """``Action.Execute`` (``adaptiveCard/action``) with our cards' data: handled like ``Action.Submit``."""
        if turn_context.activity.name != ADAPTIVE_CARD_ACTION:
            response: InvokeResponse | None = await super().on_invoke_activity(turn_context)
            if response is not None and response.status == HTTPStatus.NOT_IMPLEMENTED:
                # An invoke this bot has no use for: ignored with 200, like an unknown activity type.
                log.info("ignored an invoke this bot does not handle (%r)", str(turn_context.activity.name)[:60])
                return InvokeResponse(status=int(HTTPStatus.OK))
            return response
        value: Any = turn_context.activity.value
        action = value.get("action") if isinstance(value, dict) else None
        data = action.get("data") if isinstance(action, dict) else None
        if isinstance(data, dict) and await self.desk.on_card_action(turn_context, data):
            return _invoke_response(HTTPStatus.OK, INVOKE_MESSAGE, "")
        return _invoke_response(HTTPStatus.BAD_REQUEST, INVOKE_ERROR,
                                {"code": "BadRequest", "message": "not an Insight Desk card action"})


class AdaptiveCardActionResult(Model):
    """The body answering ``adaptiveCard/action``: botbuilder's own model types ``value`` as a dict only,
    but a message result's value is a string."""

    _attribute_map = {  # noqa: RUF012  # msrest reads it from the class
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "object"},
    }

    def __init__(self, *, status_code: int, type: str, value: object) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.status_code = status_code
        self.type = type
        self.value = value


def _invoke_response(status: HTTPStatus, kind: str, value: object) -> InvokeResponse:
    """The HTTP answer to an ``adaptiveCard/action`` invoke."""
    return InvokeResponse(status=int(status),
                          body=AdaptiveCardActionResult(status_code=int(status), type=kind, value=value))
