"""What a request body must be before botbuilder sees it: a Bot Framework activity a reply can be sent for.

``activity_problem(body)`` names the first problem (the app answers it with 400), or returns ``None``.
Every check here was a failure inside the turn before (found by fuzzing ``/api/messages``): ids go
into the reply's URL path and into state keys, so a line break or a lone surrogate there split the
request or broke SQLite; a reply needs an http(s) ``serviceUrl``; botbuilder's Teams handler parses
``channelData`` itself and fails the turn when its fields have the wrong shape.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import DeserializationError
from botbuilder.schema.teams import TeamsChannelData

from bot.channel.tenants import TEAMS_CHANNEL

__all__ = ["REQUIRED_ACCOUNTS", "REQUIRED_TEXT_FIELDS", "activity_problem"]

REQUIRED_TEXT_FIELDS = ("channelId", "serviceUrl")
REQUIRED_ACCOUNTS = ("conversation", "from")
"""What every activity a channel sends carries, and what the bot needs to keep state and reply."""
_BAD_ID_CHARACTER = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _id_problem(body: dict[str, Any]) -> str | None:
    ids = {"channelId": body["channelId"], "conversation.id": body["conversation"]["id"],
           "from.id": body["from"]["id"], "id": body.get("id")}
    for name, value in ids.items():
        if value is not None and (not isinstance(value, str) or _BAD_ID_CHARACTER.search(value)):
            return f"the activity's '{name}' is not text without control characters"
    return None


def _teams_channel_data_problem(body: dict[str, Any]) -> str | None:
    data = body.get("channelData")
    if body["channelId"] != TEAMS_CHANNEL:
        return None
    if data is None and body.get("type") == "event":
        return None  # events (a hub's handoff.status) need none: no Teams handler reads it for them
    if not isinstance(data, dict):  # Teams always sends it; botbuilder's Teams handler reads it unchecked
        return "the Teams activity has no 'channelData' object"
    try:
        TeamsChannelData().deserialize(data)
    except (DeserializationError, AttributeError, TypeError, ValueError):
        return "the activity's Teams 'channelData' does not have the shape Teams sends"
    return None


def activity_problem(body: Any) -> str | None:
    """Why ``body`` is not an activity this bot can handle, or ``None``."""
    if not isinstance(body, dict):
        return "the body must be a JSON object (a Bot Framework activity)"
    if not isinstance(body.get("type"), str) or not body["type"]:
        return "the activity has no 'type'"
    for key in REQUIRED_TEXT_FIELDS:
        if not isinstance(body.get(key), str) or not body[key].strip():
            return f"the activity has no '{key}'"
    service_url = body["serviceUrl"].strip()
    service = urlsplit(service_url)
    if (service.scheme.lower() not in ("http", "https") or not service.hostname
            or any(c <= " " or c == "\x7f" for c in service_url)):
        return "the activity's 'serviceUrl' is not an http(s) URL"
    for key in REQUIRED_ACCOUNTS:
        account = body.get(key)
        if not isinstance(account, dict) or not isinstance(account.get("id"), str) or not account["id"].strip():
            return f"the activity has no '{key}.id'"
    return _id_problem(body) or _teams_channel_data_problem(body)
