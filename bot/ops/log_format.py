"""Logging for the server: plain text (the default) or one JSON object per line (``LOG_FORMAT=json``).

JSON lines carry ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and, inside a turn, the
``activity_id``, ``conversation_id`` and ``channel_id`` of the activity being handled (set by
``TurnContextLogging``, a botbuilder middleware), plus ``exception`` with the traceback when there is one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from botbuilder.core import Middleware, TurnContext

__all__ = ["LOG_FORMATS", "JsonFormatter", "TurnContextLogging", "configure_logging", "turn_ids", "with_turn_ids"]

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_turn: ContextVar[dict[str, str] | None] = ContextVar("insight_desk_turn", default=None)


def turn_ids() -> dict[str, str]:
    """The ids of the activity the current task is handling (empty outside a turn)."""
    return dict(_turn.get() or {})


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the current turn's ids."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(turn_ids())
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _ids(context: TurnContext) -> dict[str, str]:
    activity = context.activity
    ids = {"activity_id": activity.id, "conversation_id": activity.conversation.id if activity.conversation
           else None, "channel_id": activity.channel_id}
    return {k: str(v) for k, v in ids.items() if v}


class TurnContextLogging(Middleware):  # type: ignore[misc]  # botbuilder ships no type information
    """Puts the activity, conversation and channel ids of each turn into every log line it writes."""

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        token = _turn.set(_ids(context))
        try:
            await logic()
        finally:
            _turn.reset(token)


TurnErrorHandler = Callable[[TurnContext, Exception], Awaitable[None]]


def with_turn_ids(handler: TurnErrorHandler) -> TurnErrorHandler:
    """``handler`` (the adapter's ``on_turn_error``, which runs after the middleware) with the turn's ids logged."""

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        token = _turn.set(_ids(context))
        try:
            await handler(context, error)
        finally:
            _turn.reset(token)

    return on_turn_error


def configure_logging(level: str, log_format: str = "text") -> None:
    """Root logging to stderr in ``log_format`` (``text`` or ``json``) at ``level``."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
