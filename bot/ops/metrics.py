"""Prometheus metrics of one bot application, served at ``GET /metrics`` in the text format.

    metrics = BotMetrics()                       # its own registry: two apps in one process never mix
    adapter.use(metrics.middleware())            # activities by type and channel, turn latency
    adapter.on_turn_error = metrics.count_turn_errors(on_turn_error)
    InsightDesk(..., observe_answer=metrics.observe_answer)     # matches by tier and reply locale
    app.middlewares.append(metrics.http_middleware())   # requests by route and status (400, 401, 413...)
    Escalation(..., observe_state=metrics.escalation)  # tickets entering each state (waiting, assigned, ...)

Names start with ``insight_desk_``. Nothing here holds user text: labels are bounded sets (activity
types and channels botbuilder knows, tiers, locales the knowledge base knows, HTTP routes and status
codes). A type or channel a sender invents is counted as ``other``; an invoke's name is no label.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import Middleware, TurnContext
from botbuilder.schema import ActivityTypes
from botframework.connector import Channels
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from knowledge.model import Answer

__all__ = ["BotMetrics", "metrics_handler"]

TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: a cached answer takes milliseconds, a cold connector a few seconds."""
_KNOWN_ROUTES = frozenset({"/api/messages", "/healthz", "/metrics"})
KNOWN_ACTIVITY_TYPES = frozenset(t.value for t in ActivityTypes)
KNOWN_CHANNELS = frozenset(c.value for c in Channels)
"""Label values counted as themselves; anything else a sender invents is counted as ``other``."""

TurnErrorHandler = Callable[[TurnContext, Exception], Awaitable[None]]


def _label(value: object, fallback: str = "unknown") -> str:
    text = str(value) if value else fallback
    return text[:40]


def _known(value: object, known: frozenset[str]) -> str:
    """``value`` when it is one of ``known``, ``unknown`` when absent, else ``other``: senders cannot grow the
    label set."""
    if not value:
        return "unknown"
    return str(value) if value in known else "other"


class BotMetrics:
    """The application's counters, histograms and gauges in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.activities = Counter("insight_desk_activities", "Activities received, by type and channel.",
                                  ["type", "channel"], registry=r)
        self.turn_seconds = Histogram("insight_desk_turn_seconds", "Time to handle one activity (turn), by type.",
                                      ["type"], buckets=TURN_BUCKETS, registry=r)
        self.matches = Counter("insight_desk_matches", "Engine answers to pasted text, by tier and reply locale.",
                               ["tier", "locale"], registry=r)
        self.errors = Counter("insight_desk_errors", "Failures: turns that raised, by where they happened.",
                              ["where"], registry=r)
        self.http_requests = Counter("insight_desk_http_requests", "HTTP requests, by route and status code.",
                                     ["route", "status"], registry=r)
        self.escalations = Counter("insight_desk_escalations", "Escalation tickets entering each state.",
                                   ["state"], registry=r)
        self.articles = Gauge("insight_desk_kb_articles", "Articles in the knowledge base being served.",
                              registry=r)
        self.locales = Gauge("insight_desk_kb_locales", "Locales in the knowledge base being served.", registry=r)
        self.kb_reloads = Counter("insight_desk_kb_reloads", "Knowledge-base reloads, by outcome.", ["outcome"],
                                  registry=r)

    # -- what the bot reports ------------------------------------------------------------------

    def observe_answer(self, answer: Answer) -> None:
        """One engine answer: its tier and the locale it is written in."""
        self.matches.labels(answer.tier.value, answer.reply_locale or "unknown").inc()

    def escalation(self, state: str) -> None:
        """A ticket entered ``state`` (``waiting``, ``assigned``, ``resolved``, ``cancelled``, ``reopened``)."""
        self.escalations.labels(_label(state)).inc()

    def knowledge_base(self, articles: int, locales: int) -> None:
        """The size of the knowledge base now served (at start and after each reload)."""
        self.articles.set(articles)
        self.locales.set(locales)

    def kb_reload(self, outcome: str) -> None:
        """A reload finished: ``loaded``, ``kept`` (the new files failed; the last good index stays)."""
        self.kb_reloads.labels(outcome).inc()

    def exposition(self) -> bytes:
        """Everything in the Prometheus text format."""
        return generate_latest(self.registry)

    # -- wiring ----------------------------------------------------------------------------------

    def middleware(self) -> Middleware:
        """A botbuilder middleware counting each activity and timing its turn."""
        return _TurnMetrics(self)

    def count_turn_errors(self, handler: TurnErrorHandler) -> TurnErrorHandler:
        """``handler`` (the adapter's ``on_turn_error``), counting each failure first."""

        async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
            self.errors.labels("turn").inc()
            await handler(turn_context, error)

        return on_turn_error

    def http_middleware(self) -> Any:
        """An aiohttp middleware counting responses by route and status (unknown paths as ``other``)."""

        @web.middleware
        async def count(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                        ) -> web.StreamResponse:
            route = request.path if request.path in _KNOWN_ROUTES else "other"
            try:
                response = await handler(request)
            except web.HTTPException as e:
                self.http_requests.labels(route, str(e.status)).inc()
                raise
            self.http_requests.labels(route, str(response.status)).inc()
            return response

        return count


class _TurnMetrics(Middleware):  # type: ignore[misc]  # botbuilder ships no type information
    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        activity = context.activity
        kind = _known(activity.type, KNOWN_ACTIVITY_TYPES)
        self.metrics.activities.labels(kind, _known(activity.channel_id, KNOWN_CHANNELS)).inc()
        started = time.perf_counter()
        try:
            await logic()
        finally:
            self.metrics.turn_seconds.labels(kind).observe(time.perf_counter() - started)


def metrics_handler(metrics: Callable[[web.Request], BotMetrics]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The ``GET /metrics`` handler for the metrics ``metrics(request)`` finds."""

    async def serve(request: web.Request) -> web.Response:
        body = metrics(request).exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return serve
