"""A conversation in the terminal through the same handler as the server, with an in-process adapter."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from bot.feedback import create_feedback_store
from bot.handler import InsightDeskBot
from bot.plugin import InsightDesk
from bot.settings import Settings
from bot.storage import close_storage, create_storage
from knowledge.engine import KnowledgeEngine


def render(activity: Activity) -> str:
    """What a reply shows in a terminal: its text, or its card's markdown fallback."""
    parts = [activity.text] if activity.text else []
    for attachment in activity.attachments or []:
        content: Any = attachment.content
        if isinstance(content, dict):
            parts.append(str(content.get("fallbackText") or json.dumps(content, ensure_ascii=False)))
    return "\n".join(parts)


async def chat(settings: Settings, stdin: TextIO, stdout: TextIO, locale: str | None = None) -> None:
    engine = KnowledgeEngine.load(settings.kb_paths, cache_dir=settings.kb_cache_dir)
    storage = create_storage(settings.state_store)
    feedback = create_feedback_store(storage)
    bot = InsightDeskBot(InsightDesk(engine, storage, feedback))
    adapter = TestAdapter(bot.on_turn)
    user = ChannelAccount(id="cli-user", name="You")
    conversation = ConversationAccount(id="cli")
    stdout.write("Insight Desk: paste an error (Ctrl-D to quit). /language xx changes the language.\n")
    try:
        while True:
            stdout.write("> ")
            stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if not line.strip():
                continue
            await adapter.send(Activity(type=ActivityTypes.message, text=line.rstrip("\n"), channel_id="cli",
                                        from_property=user, conversation=conversation, locale=locale))
            while adapter.activity_buffer:
                stdout.write(render(adapter.activity_buffer.pop(0)) + "\n\n")
    finally:
        close_storage(storage)


def run_chat(settings: Settings, *, input: TextIO = sys.stdin, output: TextIO = sys.stdout) -> None:
    asyncio.run(chat(settings, input, output))


__all__ = ["TurnContext", "chat", "render", "run_chat"]
