"""The aiohttp application: ``POST /api/messages`` through botbuilder's CloudAdapter, ``GET /healthz``."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from azure.core.exceptions import DeserializationError
from botbuilder.core import Storage, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import BotFrameworkAuthentication
from jwt import PyJWTError

from bot.activity_check import activity_problem
from bot.background_turns import BackgroundTurns
from bot.channel_text import client_locale
from bot.connector import ConnectorSendError, ReusingBotFrameworkAuthentication, SigningKeysUnavailable
from bot.escalation import Escalation
from bot.feedback import FeedbackStore, create_feedback_store
from bot.handler import InsightDeskBot
from bot.kb_reload import HotReload, KnowledgeReloader, ReloadOutcome
from bot.limits import ConversationRateLimit
from bot.log_format import TurnContextLogging, configure_logging, with_turn_ids
from bot.metrics import BotMetrics, metrics_handler
from bot.plugin import InsightDesk
from bot.redact import RedactingFeedbackStore, redact
from bot.settings import Settings
from bot.signing_keys import fetch_signing_keys_off_the_loop, metadata_urls
from bot.storage import aclose_storage, create_storage
from bot.strings import strings_for
from bot.telemetry import create_telemetry
from bot.tenants import TenantAllowList
from knowledge.engine import BUNDLED_ARTICLES, KnowledgeEngine

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 8 * 1024 * 1024
"""Room for a 1 MB paste in any script: JSON may escape each character as six bytes."""
RETRY_AFTER_S = 30
"""What a 503 asks the channel to wait while the signing keys cannot be fetched."""


@dataclass
class Services:
    """The long-lived objects one application owns."""

    engine: KnowledgeEngine
    storage: Storage
    feedback: FeedbackStore
    authentication: ReusingBotFrameworkAuthentication
    adapter: CloudAdapter
    bot: InsightDeskBot
    turns: BackgroundTurns


SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", BotMetrics)


def _authentication(settings: Settings) -> ReusingBotFrameworkAuthentication:
    fetch_signing_keys_off_the_loop(metadata_urls(settings))
    inner: BotFrameworkAuthentication = ConfigurationBotFrameworkAuthentication(settings)
    return ReusingBotFrameworkAuthentication(inner)


TurnErrorHandler = Callable[[TurnContext, Exception], Awaitable[None]]


def turn_error_handler(desk: InsightDesk | None = None) -> TurnErrorHandler:
    """The adapter's ``on_turn_error``: log the failure with the activity id, then send one apology in
    the user's language (their chosen one when ``desk`` can read it, else their client's), never details.
    A reply the connector did not get or may have got (``ConnectorSendError``) is one warning, no apology."""

    async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
        activity = turn_context.activity
        if isinstance(error, ConnectorSendError):
            log.warning("a reply did not reach the connector, or may not have (activity %s, conversation %s): %s",
                        activity.id, activity.conversation.id if activity.conversation else None, error)
            return
        log.error("unhandled error in turn (activity %s, conversation %s)", activity.id,
                  activity.conversation.id if activity.conversation else None, exc_info=error)
        try:
            locale = await desk.user_locale(turn_context) if desk else client_locale(activity)
            await turn_context.send_activity(strings_for(locale).text("apology"))
        except Exception:  # the one broad except: whatever broke the turn may break the apology too
            log.exception("could not send the apology (activity %s)", activity.id)

    return on_turn_error


on_turn_error = turn_error_handler()


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"error": "bad request", "reason": reason}, status=400)


def _parse_activity(body: Any) -> str | None:
    """Why ``body`` is not an activity, or ``None`` when it looks like one (the adapter parses it)."""
    return activity_problem(body)


async def messages(request: web.Request) -> web.StreamResponse:
    """One activity from the channel: validated here, then authenticated and run by the adapter."""
    services = request.app[SERVICES]
    if "application/json" not in request.headers.get("Content-Type", ""):
        return web.json_response({"error": "unsupported media type", "reason": "send application/json"},
                                 status=415)
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return _bad_request(f"the body is not JSON: {e}")
    except RecursionError:
        return _bad_request("the body is nested too deeply")
    problem = _parse_activity(body)
    if problem:
        log.warning("rejected a malformed activity: %s", problem)
        return _bad_request(problem)
    turn = services.adapter.process(request, services.bot)
    try:
        if _answered_in_the_response(body):
            response = await turn
        else:
            response = await services.turns.run(turn)
            if response is None:  # the turn is still sending; the channel need not wait for it
                return web.Response(status=202)
    except DeserializationError as e:  # msrest's message quotes the data: the sender may see it, the log may not
        log.warning("rejected a malformed activity: a field has the wrong shape (%s)", type(e.__cause__ or e).__name__)
        return _bad_request(f"not a valid activity: {str(e)[:500]}")
    except (PermissionError, PyJWTError) as e:
        log.warning("rejected an activity that failed authentication: %s", e)
        raise web.HTTPUnauthorized() from e
    except web.HTTPUnauthorized as e:  # the adapter's answer to PermissionError: say why, never the token
        log.warning("rejected an activity that failed authentication: %s", str(e.__context__ or "no reason")[:300])
        raise
    except SigningKeysUnavailable as e:
        log.error("could not check a channel token: %s", e)
        raise web.HTTPServiceUnavailable(headers={"Retry-After": str(RETRY_AFTER_S)}) from e
    return response if response is not None else web.Response(status=201)


def _answered_in_the_response(activity: dict[str, Any]) -> bool:
    """Whether the channel reads the turn's outcome from the HTTP answer (an invoke, ``expectReplies``)."""
    return activity.get("type") == "invoke" or activity.get("deliveryMode") == "expectReplies"


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[SERVICES].engine
    return web.json_response({"status": "ok", "articles": len(engine.kb), "locales": list(engine.locales),
                              "alternate_texts": len(engine.kb.alternates)})


def create_app(
    settings: Settings,
    *,
    engine: KnowledgeEngine | None = None,
    storage: Storage | None = None,
    feedback: FeedbackStore | None = None,
) -> web.Application:
    """Build the application; every long-lived object is made here and closed on cleanup."""
    metrics = BotMetrics()
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[metrics.http_middleware()])
    app[METRICS] = metrics

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        knowledge = engine
        if knowledge is None:
            knowledge = KnowledgeEngine.load(settings.kb_paths, cache_dir=settings.kb_cache_dir)
        state = storage if storage is not None else create_storage(
            settings.state_store, blob_connection_string=settings.azure_storage_connection_string)
        notes = feedback if feedback is not None else create_feedback_store(state)
        if settings.redact_transcripts:
            notes = RedactingFeedbackStore(notes)
        authentication = _authentication(settings)
        adapter = CloudAdapter(authentication)
        adapter.use(TurnContextLogging())
        adapter.use(metrics.middleware())
        telemetry = create_telemetry(settings.appinsights_connection_string, settings.appinsights_instrumentation_key)
        if telemetry is not None:
            adapter.use(telemetry.middleware)
        adapter.use(TenantAllowList(settings.allowed_tenants))
        escalation = Escalation(state, app_id=settings.APP_ID, mode=settings.escalation_handoff,
                                mask=redact if settings.redact_transcripts else None)
        escalation.observe_state = metrics.escalation
        desk = InsightDesk(knowledge, state, notes, escalation)
        desk.observe_answer = metrics.observe_answer
        adapter.on_turn_error = with_turn_ids(metrics.count_turn_errors(turn_error_handler(desk)))
        adapter.use(ConversationRateLimit(per_minute=settings.rate_limit_per_minute,
                                          burst=settings.rate_limit_burst, locale_of=desk.user_locale))
        bot = InsightDeskBot(desk)
        turns = BackgroundTurns()
        services = app[SERVICES] = Services(knowledge, state, notes, authentication, adapter, bot, turns)
        metrics.knowledge_base(len(knowledge.kb), len(knowledge.locales))
        reloader = None if engine is not None else _reloader(settings, services, metrics)
        yield
        await turns.close()  # before what the turns still use is closed
        if reloader is not None:
            await reloader.stop()
        if telemetry is not None:
            telemetry.flush()
        await authentication.close()
        if storage is None:
            await aclose_storage(state)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler(lambda request: request.app[METRICS]))
    return app


def _reloader(settings: Settings, services: Services, metrics: BotMetrics) -> HotReload:
    def install(engine: KnowledgeEngine) -> None:
        services.engine = engine          # one assignment each: a request sees the old index or the new one
        services.bot.desk.engine = engine

    def record(outcome: ReloadOutcome) -> None:
        metrics.kb_reload(outcome.outcome)
        metrics.knowledge_base(len(services.engine.kb), len(services.engine.locales))

    reloader = KnowledgeReloader(
        settings.kb_paths or [BUNDLED_ARTICLES], current=services.engine, swap=install, on_outcome=record,
        load=lambda: KnowledgeEngine.load(settings.kb_paths, cache_dir=settings.kb_cache_dir),
        interval=settings.kb_reload_seconds)
    return HotReload(reloader)


def run_server(settings: Settings) -> None:
    """Serve until interrupted, printing where once the knowledge base is loaded and the port is bound."""
    configure_logging(settings.log_level, settings.log_format)
    where = f"http://{settings.host}:{settings.port}"

    def announce(_: str) -> None:
        print(f"Insight Desk listening on {where}/api/messages (health: {where}/healthz)", flush=True)

    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=announce)
