"""Insight Desk's Bot Framework plugin and host bot.

Add ``InsightDesk`` to an existing bot (``if await desk.on_message(turn_context): return``) or
``adapter.use(InsightDeskMiddleware(desk))``; ``create_app(Settings.from_env())`` is the whole service.
Names are imported on first use so the command line's ``ask`` does not load botbuilder.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import create_app, run_server
    from bot.handler import InsightDeskBot
    from bot.middleware import InsightDeskMiddleware
    from bot.plugin import InsightDesk
    from bot.settings import Settings

__all__ = ["InsightDesk", "InsightDeskBot", "InsightDeskMiddleware", "Settings", "create_app", "run_server"]

_HOMES = {
    "InsightDesk": "bot.plugin",
    "InsightDeskMiddleware": "bot.middleware",
    "InsightDeskBot": "bot.handler",
    "Settings": "bot.settings",
    "create_app": "bot.app",
    "run_server": "bot.app",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
