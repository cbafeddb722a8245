"""Insight Desk's Bot Framework plugin and host bot.

Add ``InsightDesk`` to an existing bot: ``if await desk.on_message(turn_context): return``.
Names are imported on first use so the command line's ``ask`` does not load botbuilder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.plugin import InsightDesk

__all__ = ["InsightDesk"]


def __getattr__(name: str) -> Any:
    if name == "InsightDesk":
        from bot.plugin import InsightDesk

        return InsightDesk
    raise AttributeError(name)
