"""A conversation in the terminal through the same handler as the server, with an in-process adapter."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from bot import cards
from bot.handler import InsightDeskBot
from bot.plugin import InsightDesk
from bot.settings import Settings
from bot.stores import aclose_storage, create_feedback_store, create_storage
from knowledge.engine import KnowledgeEngine


def _language_choices(card: dict[str, Any]) -> list[str]:
    """The language picker's choices as commands a terminal user can type."""
    found = []
    for action in card.get("actions") or []:
        if action.get("type") == "Action.ShowCard":
            for element in action.get("card", {}).get("body") or []:
                if element.get("type") == "Input.ChoiceSet" and element.get("id") == cards.LANGUAGE_INPUT:
                    found += [f"/language {c['value']} ({c['title']})" for c in element.get("choices") or []]
    return found


def render(activity: Activity) -> str:
    """What a reply shows in a terminal: its text, or its card's markdown fallback and language choices."""
    parts = [activity.text] if activity.text else []
    for attachment in activity.attachments or []:
        content: Any = attachment.content
        if isinstance(content, dict):
            parts.append(str(content.get("fallbackText") or json.dumps(content, ensure_ascii=False)))
            choices = _language_choices(content)
            if choices:
                parts.append("\n" + " · ".join(choices))
    return "\n".join(parts)


async def chat(settings: Settings, stdin: TextIO, stdout: TextIO, locale: str | None = None) -> None:
    """Read messages line by line from ``stdin`` and print each reply's text or card fallback to ``stdout``."""
    engine = KnowledgeEngine.load(settings.kb_paths, cache_dir=settings.kb_cache_dir)
    storage = create_storage(settings.state_store,
                             blob_connection_string=settings.azure_storage_connection_string)
    feedback = create_feedback_store(storage)
    bot = InsightDeskBot(InsightDesk(engine, storage, feedback))
    adapter = TestAdapter(bot.on_turn)
    user = ChannelAccount(id="cli-user", name="You")
    me = ChannelAccount(id="insight-desk", name="Insight Desk")
    conversation = ConversationAccount(id="cli")

    def flush() -> None:
        while adapter.activity_buffer:
            stdout.write(render(adapter.activity_buffer.pop(0)) + "\n\n")

    try:
        await adapter.send(Activity(type=ActivityTypes.conversation_update, channel_id="cli", from_property=user,
                                    recipient=me, conversation=conversation, members_added=[user, me],
                                    locale=locale))
        flush()
        stdout.write("(Ctrl-D ends the conversation.)\n")
        while True:
            stdout.write("> ")
            stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if not line.strip():
                continue
            await adapter.send(Activity(type=ActivityTypes.message, text=line.rstrip("\n"), channel_id="cli",
                                        from_property=user, recipient=me, conversation=conversation, locale=locale))
            flush()
    finally:
        await aclose_storage(storage)


def run_chat(settings: Settings, *, input: TextIO = sys.stdin, output: TextIO = sys.stdout) -> None:
    """``python -m bot chat``: the conversation above until end of input."""
    asyncio.run(chat(settings, input, output))


__all__ = ["chat", "render", "run_chat"]
