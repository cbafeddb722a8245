"""What the plugin's tests share: a user, the bot, and their messages through botbuilder's TestAdapter."""

from __future__ import annotations

from typing import Any

from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

USER = ChannelAccount(id="29:user", name="Admin")
BOT = ChannelAccount(id="28:bot", name="Insight Desk")


def message(text: str = "", **fields: Any) -> Activity:
    """A message from ``USER`` to ``BOT`` in conversation ``c-1`` (``fields`` are more activity fields)."""
    values: dict[str, Any] = {"channel_id": "test", "from_property": USER, "recipient": BOT,
                              "conversation": ConversationAccount(id="c-1"), **fields}
    return Activity(type=ActivityTypes.message, text=text, **values)


def replies(adapter: TestAdapter) -> list[Activity]:
    """What the bot sent since the last call."""
    sent = list(adapter.activity_buffer)
    adapter.activity_buffer.clear()
    return sent
