"""Turns that outlive their HTTP request, so a slow connector never holds the channel's request.

A turn runs as its own task. When it has not finished ``ACK_WITHIN_S`` after it started, has passed
authentication and fewer than ``MAX_BACKGROUND_TURNS`` turns are already finishing in the background,
the request is answered (202) and the turn goes on alone; otherwise the request waits for it, as before.
Authentication is known to have passed through :func:`note_authenticated`, which the bot's authentication
calls inside the turn's task: an unauthenticated request is never answered before it is checked.
:meth:`BackgroundTurns.close` waits ``SHUTDOWN_GRACE_S`` for the turns still running, then cancels them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["ACK_WITHIN_S", "MAX_BACKGROUND_TURNS", "SHUTDOWN_GRACE_S", "BackgroundTurns", "note_authenticated"]

ACK_WITHIN_S = 2.0
"""How long the channel's request waits for its turn before the turn goes on in the background."""

MAX_BACKGROUND_TURNS = 64
"""Turns finishing in the background at most; past that a request waits for its turn (back-pressure)."""

SHUTDOWN_GRACE_S = 10.0
"""How long shutting down waits for the turns still running before cancelling them."""

T = TypeVar("T")
log = logging.getLogger(__name__)
_authenticated: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar("authenticated", default=None)


def note_authenticated() -> None:
    """Record that the current turn's request passed authentication (a no-op outside a turn run here)."""
    event = _authenticated.get()
    if event is not None:
        event.set()


class BackgroundTurns:
    """Runs turns, letting the slow ones finish after their request was answered; closed on app cleanup."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()
        self._closing = False

    def __len__(self) -> int:
        """Turns finishing in the background now."""
        return len(self._running)

    async def run(self, turn: Coroutine[Any, Any, T]) -> T | None:
        """``turn``'s result, or ``None`` when it went on in the background after ``ACK_WITHIN_S``."""
        authenticated = asyncio.Event()
        context = contextvars.copy_context()
        context.run(_authenticated.set, authenticated)
        task = asyncio.get_running_loop().create_task(turn, context=context)
        try:
            await asyncio.wait({task}, timeout=ACK_WITHIN_S)
            if (task.done() or not authenticated.is_set() or self._closing
                    or len(self._running) >= MAX_BACKGROUND_TURNS):
                return await task
        except asyncio.CancelledError:
            task.cancel()
            raise
        self._running.add(task)
        task.add_done_callback(self._finished)
        return None

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a turn finishing in the background failed", exc_info=task.exception())

    async def close(self) -> None:
        """Wait up to ``SHUTDOWN_GRACE_S`` for the turns still running, then cancel the rest."""
        self._closing = True
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=SHUTDOWN_GRACE_S)
        if pending:
            log.warning("shutting down: cancelling %d turns still sending their replies", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)
