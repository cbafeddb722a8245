"""The aiohttp application: ``POST /api/messages`` through botbuilder's CloudAdapter, ``GET /healthz``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import InvokeResponse, Storage, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.auth import BotFrameworkAuthentication
from jwt import PyJWTError

from bot.channel.background_turns import BackgroundTurns
from bot.channel.channel_text import client_locale
from bot.channel.connector import ReusingBotFrameworkAuthentication, SigningKeysUnavailable
from bot.channel.connector_pool import ConnectorSendError
from bot.channel.ingress import BadActivity, LabModeWarning, parse_activity, read_body
from bot.channel.limits import ConversationRateLimit
from bot.channel.once_per_activity import OncePerActivity
from bot.channel.service_urls import service_url_refusal
from bot.channel.signing_keys import fetch_signing_keys_off_the_loop, metadata_urls
from bot.channel.tenants import TenantAllowList
from bot.escalation import Escalation
from bot.escalation.tickets import TicketState
from bot.feedback.events import FeedbackStore
from bot.feedback.learned_kb import LearnedKnowledge, LearnedSync
from bot.feedback.proposals import LearningLoop
from bot.feedback.redact import RedactingFeedbackStore, redact
from bot.handler import InsightDeskBot
from bot.ops.kb_reload import HotReload, KnowledgeReloader, ReloadOutcome, log_kb_problems
from bot.ops.log_format import TurnContextLogging, configure_logging, with_turn_ids
from bot.ops.metrics import BotMetrics, metrics_handler
from bot.ops.telemetry import create_telemetry
from bot.plugin import InsightDesk
from bot.settings import Settings, knowledge_folders
from bot.stores import aclose_storage, create_feedback_store, create_storage, storage_problem
from bot.stores.base import StorageError
from bot.strings import strings_for
from knowledge.engine import KnowledgeEngine
from knowledge.model import Answer

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BODY_BYTES = 8 * 1024 * 1024
"""Room for a 1 MB paste in any script: JSON may escape each character as six bytes. The limit once the
channel's token has validated, and on a loopback-only server without authentication (a developer's)."""
MAX_ANONYMOUS_BODY_BYTES = 256 * 1024
"""The limit when a server reachable from the network reads bodies no token vouches for
(``ALLOW_UNAUTHENTICATED=true``): a 40,000-character paste still fits."""
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


@dataclass(frozen=True)
class Ingress:
    """What ``/api/messages`` checks before the adapter runs, fixed when the app is made."""

    settings: Settings
    body_limit: int
    lab_warning: LabModeWarning | None


SERVICES = web.AppKey("services", Services)
INGRESS = web.AppKey("ingress", Ingress)
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


async def _check_token(services: Services, auth_header: str) -> None:
    """The header's token alone (signature, issuer, audience, expiry), before any of the body is read;
    the adapter checks it again against the activity's channel and ``serviceUrl``. Refused, the
    connection closes rather than drain the unread body."""
    try:
        await _authenticated(services.authentication.authenticate_request(Activity(), auth_header))
    except web.HTTPException as refusal:
        refusal.force_close()
        raise


async def _authenticated(work: Awaitable[T]) -> T:
    """``work``'s result; a token that does not validate is 401, signing keys out of reach 503."""
    try:
        return await work
    except (PermissionError, PyJWTError) as e:
        log.warning("rejected an activity that failed authentication: %s", str(e)[:300])
        raise web.HTTPUnauthorized() from e
    except SigningKeysUnavailable as e:
        log.error("could not check a channel token: %s", e)
        raise web.HTTPServiceUnavailable(headers={"Retry-After": str(RETRY_AFTER_S)}) from e


def _unauthorized_unread() -> web.HTTPUnauthorized:
    """A 401 for a request whose body is left unread: the connection closes instead of draining it."""
    log.warning("rejected an activity that failed authentication: no Authorization header")
    refusal = web.HTTPUnauthorized()
    refusal.force_close()
    return refusal


async def messages(request: web.Request) -> web.StreamResponse:
    """One activity from the channel: the token first, then the body (bounded, parsed once), then the adapter."""
    services = request.app[SERVICES]
    ingress = request.app[INGRESS]
    if "application/json" not in request.headers.get("Content-Type", ""):
        return web.json_response({"error": "unsupported media type", "reason": "send application/json"},
                                 status=415)
    auth_header = request.headers.get("Authorization", "")
    if ingress.settings.authenticates:
        if not auth_header:
            raise _unauthorized_unread()
        await _check_token(services, auth_header)
    elif ingress.lab_warning is not None:
        ingress.lab_warning.request()
    raw = await read_body(request, ingress.body_limit)
    try:
        activity = await parse_activity(raw)
    except BadActivity as e:
        log.warning("rejected a malformed activity: %s", e.for_log)
        return _bad_request(e.reason)
    if not ingress.settings.authenticates:
        refusal = service_url_refusal(activity.service_url, ingress.settings.allowed_service_urls)
        if refusal:
            log.warning("refused an unauthenticated activity (id %r): its serviceUrl host %r is not allowed: %s",
                        str(activity.id)[:100], (urlsplit(activity.service_url).hostname or "")[:100], refusal)
            return web.json_response({"error": "forbidden", "reason": f"the activity's 'serviceUrl' is not allowed"
                                      f" without authentication: {refusal}"}, status=403)
    async def turn() -> tuple[InvokeResponse | None]:
        return (await _authenticated(services.adapter.process_activity(auth_header, activity, services.bot.on_turn)),)

    if _answered_in_the_response(activity):
        (invoke,) = await turn()
    else:
        done = await services.turns.run(turn())
        if done is None:  # the turn is still sending; the channel need not wait for it
            return web.Response(status=202)
        (invoke,) = done
    if invoke is not None:
        return web.json_response(data=serializer_helper(invoke.body), status=invoke.status)
    return web.Response(status=201)


def _answered_in_the_response(activity: Activity) -> bool:
    """Whether the channel reads the turn's outcome from the HTTP answer (an invoke, ``expectReplies``)."""
    return bool(activity.type == "invoke" or activity.delivery_mode == "expectReplies")


async def healthz(request: web.Request) -> web.Response:
    """200 with the knowledge base's size and how many of its files and alternate-text entries are bad (left out);
    503 ``"degraded"`` with the ``reason`` when the state store cannot keep state (its file deleted or made
    read-only while the bot runs, say)."""
    services = request.app[SERVICES]
    engine = services.engine
    body: dict[str, Any] = {"status": "ok", "articles": len(engine.kb), "locales": list(engine.locales),
                            "alternate_texts": len(engine.kb.alternates), "bad_files": len(engine.kb.file_problems),
                            "bad_alternate_texts": len(engine.kb.alternate_problems)}
    problem = await storage_problem(services.storage)
    if problem is not None:
        body.update(status="degraded", reason=problem)
    return web.json_response(body, status=503 if problem is not None else 200)


def compose_desk(settings: Settings, knowledge: KnowledgeEngine, state: Storage, feedback: FeedbackStore, *,
                 observe_state: Callable[[TicketState], None] | None = None,
                 observe_answer: Callable[[Answer], None] | None = None) -> tuple[InsightDesk, Escalation]:
    """The plugin with escalation (and, with ``KB_LEARNED_PATH``, the learning loop) as ``settings`` configure
    them: what the server and ``chat`` both run."""
    notes: FeedbackStore = RedactingFeedbackStore(feedback) if settings.redact_transcripts else feedback
    mask = redact if settings.redact_transcripts else None
    escalation = Escalation(state, app_id=settings.APP_ID, mode=settings.escalation_handoff, mask=mask,
                            agent_teams=settings.agent_teams,
                            answer=lambda text, locale: desk.answer_card(text, locale),  # the plugin, made next
                            observe_state=observe_state)
    learning = None
    if settings.kb_learned_path:
        learning = LearningLoop(state, escalation, LearnedKnowledge(state, settings.kb_learned_path),
                                engine=lambda: desk.engine, mask=mask)
    desk = InsightDesk(knowledge, state, notes, escalation, learning=learning, observe_answer=observe_answer)
    return desk, escalation


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
    lab_warning = LabModeWarning(f"HOST={settings.host}") if settings.open_to_network else None
    app[INGRESS] = Ingress(settings, MAX_ANONYMOUS_BODY_BYTES if settings.open_to_network else MAX_BODY_BYTES,
                           lab_warning)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if lab_warning is not None:
            lab_warning.at_start()
        knowledge = engine
        if knowledge is None:
            knowledge = KnowledgeEngine.load(knowledge_folders(settings), cache_dir=settings.kb_cache_dir)
        log_kb_problems(knowledge.kb, "at start")
        state = storage if storage is not None else create_storage(
            settings.state_store, blob_connection_string=settings.azure_storage_connection_string)
        desk, escalation = compose_desk(settings, knowledge, state,
                                        feedback if feedback is not None else create_feedback_store(state),
                                        observe_state=metrics.escalation, observe_answer=metrics.observe_answer)
        notes = desk.feedback
        authentication = _authentication(settings)
        adapter = CloudAdapter(authentication)
        adapter.use(TurnContextLogging())
        adapter.use(metrics.middleware())
        telemetry = create_telemetry(settings.appinsights_connection_string, settings.appinsights_instrumentation_key)
        if telemetry is not None:
            adapter.use(telemetry.middleware)
        adapter.use(TenantAllowList(settings.allowed_tenants))
        adapter.use(OncePerActivity(state))  # before the rate limit: a redelivery spends no message of the user's
        await _log_unlisted_queues(escalation)
        adapter.on_turn_error = with_turn_ids(metrics.count_turn_errors(turn_error_handler(desk)))
        adapter.use(ConversationRateLimit(per_minute=settings.rate_limit_per_minute,
                                          burst=settings.rate_limit_burst, locale_of=desk.user_locale))
        bot = InsightDeskBot(desk)
        turns = BackgroundTurns()
        services = app[SERVICES] = Services(knowledge, state, notes, authentication, adapter, bot, turns)
        metrics.knowledge_base(len(knowledge.kb), len(knowledge.locales))
        reloader = None if engine is not None else _reloader(settings, services, metrics)
        sync = None
        if desk.learning is not None:  # every instance follows the store's learned texts
            sync = LearnedSync(desk.learning.learned, reload=reloader.reloader.reload if reloader is not None else None)
            desk.learning.apply = sync.check
            sync.start()
        if escalation.outbox is not None:  # tickets' cards not posted yet (a failed channel, a crash) go out
            escalation.outbox.start(adapter)
        yield
        await turns.close()  # before what the turns still use is closed
        if escalation.outbox is not None:
            await escalation.outbox.stop()
        if sync is not None:
            await sync.stop()
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


async def _log_unlisted_queues(escalation: Escalation) -> None:
    try:
        await escalation.log_unlisted_queues()
    except StorageError as e:
        log.error("could not read the agents' channels at start: %s", e)


def _reloader(settings: Settings, services: Services, metrics: BotMetrics) -> HotReload:
    def install(engine: KnowledgeEngine) -> None:
        services.engine = engine          # one assignment each: a request sees the old index or the new one
        services.bot.desk.engine = engine

    def record(outcome: ReloadOutcome) -> None:
        metrics.kb_reload(outcome.outcome)
        metrics.knowledge_base(len(services.engine.kb), len(services.engine.locales))

    reloader = KnowledgeReloader(
        knowledge_folders(settings, existing_only=False), current=services.engine, swap=install, on_outcome=record,
        load=lambda: KnowledgeEngine.load(knowledge_folders(settings), cache_dir=settings.kb_cache_dir),
        interval=settings.kb_reload_seconds)
    return HotReload(reloader)


def run_server(settings: Settings) -> None:
    """Serve until interrupted, printing where once the knowledge base is loaded and the port is bound.

    Raises ``ValueError`` (before anything starts) for a network ``HOST`` without authentication unless
    ``ALLOW_UNAUTHENTICATED`` is set.
    """
    problem = settings.exposure_problem()
    if problem:
        raise ValueError(problem)
    configure_logging(settings.log_level, settings.log_format)
    where = f"http://{settings.host}:{settings.port}"

    def announce(_: str) -> None:
        print(f"Insight Desk listening on {where}/api/messages (health: {where}/healthz)", flush=True)

    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=announce)
