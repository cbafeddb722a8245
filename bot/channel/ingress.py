"""Reading one request body for ``POST /api/messages``: bounded, parsed once, big ones off the event loop.

The app checks the ``Authorization`` header before it calls :func:`read_body`, so an unauthenticated
sender costs no body read at all when authentication is on; the limit it passes is the one for what
the sender has proven (see ``bot.app``). :func:`parse_activity` turns the bytes into botbuilder's
``Activity`` in one pass (``json.loads``, the shape checks of :mod:`bot.channel.activity_check`, then
``Activity().deserialize``); above ``PARSE_IN_THREAD_BYTES`` it runs in a worker thread, so a large
body does not hold up ``/healthz`` and other conversations for the whole parse. ``json.loads`` itself
still holds the GIL while it parses (C code): the loop waits for at most one ``json.loads`` at a time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from azure.core.exceptions import DeserializationError
from botbuilder.schema import Activity

from bot.channel.activity_check import activity_problem

__all__ = ["PARSE_IN_THREAD_BYTES", "BadActivity", "LabModeWarning", "parse_activity", "read_body"]

MAX_FIELDS = 10_000
"""Keys a body may hold (an activity has a few hundred at most). Counted before parsing, because
``json.loads`` holds the GIL for a whole body: 420,000 keys held ``/healthz`` for 0.4-2 s, refused they cost a
scan of the bytes."""
_KEY = re.compile(rb'"\s*:')
_ESCAPED_QUOTE_COLON = re.compile(rb'\\"\s*:')
PARSE_IN_THREAD_BYTES = 64 * 1024
"""Bodies larger than this are parsed in a worker thread (a few milliseconds of CPU and up)."""
WARN_EVERY = 100
"""How often (in requests) a bot serving the network without authentication says so again."""

log = logging.getLogger(__name__)
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse-activity")
"""One thread parses big bodies, one after another: ``json.loads`` holds the GIL for a whole body, and
parses running side by side would hand it to each other and starve the event loop for all of them."""


class BadActivity(ValueError):
    """The body is not an activity this bot can handle: ``reason`` for the 400, ``for_log`` for the log."""

    def __init__(self, reason: str, for_log: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.for_log = reason if for_log is None else for_log


def _too_large(limit: int, size: int) -> web.HTTPRequestEntityTooLarge:
    refusal = web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
    refusal.force_close()  # the rest of the body is not drained
    return refusal


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, reading no more than ``limit`` bytes: over it, 413 (before reading at all when
    ``Content-Length`` says so)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit, declared)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, size)
        chunks.append(chunk)
    return b"".join(chunks)


def _fields(raw: bytes) -> int:
    """The keys of JSON text ``raw``: each is a closing quote then a colon; in a string value both are escaped."""
    return len(_KEY.findall(raw)) - len(_ESCAPED_QUOTE_COLON.findall(raw))


def _parse(raw: bytes) -> Activity:
    if _fields(raw) > MAX_FIELDS:
        raise BadActivity(f"the body holds more than {MAX_FIELDS} fields; no activity has that many")
    try:
        body: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadActivity(f"the body is not JSON: {e}") from None
    except RecursionError:
        raise BadActivity("the body is nested too deeply") from None
    problem = activity_problem(body)
    if problem:
        raise BadActivity(problem)
    try:
        activity: Activity = Activity().deserialize(body)
    except DeserializationError as e:  # msrest's message quotes the data: the sender may see it, the log may not
        raise BadActivity(f"not a valid activity: {str(e)[:500]}",
                          f"a field has the wrong shape ({type(e.__cause__ or e).__name__})") from None
    return activity


async def parse_activity(raw: bytes) -> Activity:
    """``raw`` as an activity, parsed once; raises :class:`BadActivity` with the reason for the sender."""
    if len(raw) > PARSE_IN_THREAD_BYTES:
        return await asyncio.get_running_loop().run_in_executor(_PARSER, _parse, raw)
    return _parse(raw)


@dataclass
class LabModeWarning:
    """Says at start and on every ``WARN_EVERY``-th request that anyone on the network may post activities."""

    where: str
    requests: int = 0

    def text(self) -> str:
        return (f"authentication is OFF and {self.where} is reachable from other machines"
                " (ALLOW_UNAUTHENTICATED=true): anyone who reaches it may post activities; for a lab only")

    def at_start(self) -> None:
        log.warning("%s", self.text())

    def request(self) -> None:
        self.requests += 1
        if self.requests % WARN_EVERY == 0:
            log.warning("%s (%d requests so far)", self.text(), self.requests)
