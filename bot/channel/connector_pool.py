"""Replies to the channel: one shared aiohttp session and a kept ``ConnectorClient`` per (app id, service URL,
audience), sending through it with bounded retries (``ConnectorClientPool``; see ``bot.channel.connector``)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import requests
from aiohttp.helpers import basicauth_from_netrc, get_env_proxy_for_url, netrc_from_env
from botframework.connector import AsyncBfPipeline, BotFrameworkConnectorConfiguration
from botframework.connector import models as schema_models
from botframework.connector.aio import ConnectorClient
from botframework.connector.aio.operations_async import AttachmentsOperations, ConversationsOperations
from botframework.connector.auth import (
    ConnectorFactory,
)
from msrest import Serializer
from msrest.exceptions import ClientRequestError
from msrest.pipeline import Request, Response
from msrest.pipeline.async_abc import AsyncHTTPSender
from msrest.pipeline.requests import RequestsContext
from msrest.universal_http import ClientRequest
from msrest.universal_http.async_abc import AsyncClientResponse
from yarl import URL

from bot.stores.json_state import plain_json

__all__ = [
    "ConnectorClientPool",
    "ConnectorSendError",
    "ConnectorUnreachable",
    "ReplyOutcomeUnknown",
    "ReplyRefused",
]

log = logging.getLogger(__name__)

MAX_CACHED_CLIENTS = 256
"""Clients kept at most (app ids x service URLs x audiences); the least recently used goes first."""

CONNECT_RETRIES = 3
"""Further attempts after a connection could not be set up (nothing was sent), as msrest's default allows."""

CONNECT_BACKOFF_S = 0.8
"""Back-off factor between connection attempts (0, 1.6 s, 3.2 s), as msrest's default."""

CONNECT_TIMEOUT_S = 5.0
"""How long a reply may wait for a connection (a free one in the pool, or a new one); nothing is sent before."""

SEND_RETRIES = 3
"""Further attempts after the connector answered that it did not take a reply (``RETRIED_STATUSES``)."""

SEND_BACKOFF_S = 0.5
"""First wait before resending (then doubled each time) when the connector gives no usable ``Retry-After``."""

MAX_RETRY_AFTER_S = 10.0
"""The longest ``Retry-After`` honoured; a longer one is cut to this, so a turn never waits unboundedly."""

SEND_TIMEOUT_S = 15.0
"""How long one attempt may take (msrest's default is 100 s, which would hold a turn that long). A reply with
no answer by then may have been taken: it is never sent again."""

RETRIED_STATUSES = frozenset({429, 503})
"""Answers that say the reply was not taken: 429 always, 503 only with a ``Retry-After``."""

POOL_LIMIT = 256
"""Connections open at once to all connectors together."""

POOL_LIMIT_PER_HOST = 64
"""Connections open at once to one connector host, so one that hangs cannot take the whole pool."""

AUTHORIZATION = "Authorization"

class ConnectorSendError(ClientRequestError):
    """A reply that did not reach the connector, or whose fate is unknown; a turn logs it as one warning and
    sends no apology (it would not arrive either, or the reply may have)."""


class ConnectorUnreachable(ConnectorSendError):
    """No connection to the connector could be set up (refused, no route, no name, no free connection in
    time): nothing was sent."""


class ReplyOutcomeUnknown(ConnectorSendError):
    """The reply went out but no answer came in time or the connection broke: it may have been taken, so it
    is not sent again."""


class ReplyRefused(ConnectorSendError):
    """A reply this bot will not send as asked: a ``serviceUrl`` carrying a login, or a redirect answer."""


class _LoadedResponse(AsyncClientResponse):
    """An HTTP response whose body has been read in full (what msrest's deserializer expects)."""

    def __init__(self, request: ClientRequest, status: int, reason: str | None,
                 headers: MutableMapping[str, str], body: bytes) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.reason = reason
        self.headers = headers
        self._body = body

    def body(self) -> bytes:
        return self._body

    def stream_download(self, chunk_size: int | None = None,
                        callback: Callable[[bytes, Any], None] | None = None) -> AsyncIterator[bytes]:
        size = chunk_size or 10 * 1024

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(self._body), size):
                chunk = self._body[start:start + size]
                if callback is not None:
                    callback(chunk, self)
                yield chunk

        return chunks()


@dataclass(frozen=True)
class _Route:
    """What the environment says about reaching one origin: a proxy (``HTTPS_PROXY``, ``NO_PROXY``...,
    its login in the URL) and an ``Authorization`` from ``~/.netrc`` (``NETRC``), as an aiohttp session
    with ``trust_env`` would look them up for every request."""

    proxy: URL | None = None
    authorization: str | None = None


def _route_from_env(url: URL) -> _Route:
    """The environment's proxy and netrc login for ``url`` (reads files: call it off the event loop)."""
    try:
        proxy: URL | None
        proxy, proxy_auth = get_env_proxy_for_url(url)
        if proxy_auth is not None:
            proxy = proxy.with_user(proxy_auth.login).with_password(proxy_auth.password)
    except LookupError:
        proxy = None
    try:
        login = basicauth_from_netrc(netrc_from_env(), url.host) if url.host else None
    except LookupError:
        login = None
    return _Route(proxy, login.encode() if login else None)


class _PooledSender(AsyncHTTPSender[ClientRequest, AsyncClientResponse]):
    """The last stage of one client's msrest pipeline: sends over the pool's shared aiohttp session.

    msrest's credentials policy signs ``request.context.session``, a ``requests.Session`` used here
    only to carry the ``Authorization`` header the credentials set; this sender copies that header
    onto the outgoing request.
    """

    def __init__(self, pool: ConnectorClientPool, timeout_s: float, verify_tls: bool) -> None:
        self._pool = pool
        self._timeout_s = timeout_s
        self._verify_tls = verify_tls
        self._signed = requests.Session()
        self._routes: dict[URL, _Route] = {}

    async def _route(self, url: URL) -> _Route:
        """The environment's route to ``url``'s origin, looked up once per origin (a client talks to one)."""
        origin = url.origin()
        route = self._routes.get(origin)
        if route is None:
            route = self._routes[origin] = await asyncio.to_thread(_route_from_env, url)
        return route

    def build_context(self) -> RequestsContext:
        return RequestsContext(session=self._signed)  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> _PooledSender:
        return self

    async def __aexit__(self, *exc_details: object) -> None:
        """The session belongs to the pool; a client has nothing of its own to release."""

    async def send(
        self, request: Request[ClientRequest], **config: Any
    ) -> Response[ClientRequest, AsyncClientResponse]:
        http_request: ClientRequest = request.http_request
        if http_request.files:
            raise ClientRequestError("multipart uploads are not supported by the pooled connector transport")
        headers = dict(http_request.headers)
        signed: requests.Session = request.context.session if request.context is not None else self._signed
        authorization = signed.headers.get(AUTHORIZATION)
        if authorization:
            headers[AUTHORIZATION] = authorization
        url = URL(http_request.url)
        if url.user is not None or url.password is not None:
            raise ReplyRefused("the serviceUrl carries a login; nothing was sent")
        session = self._pool.session()
        route = await self._route(url)
        if route.authorization and AUTHORIZATION not in headers:  # the bot's credentials come first
            headers[AUTHORIZATION] = route.authorization
        total = min(self._timeout_s, SEND_TIMEOUT_S)
        timeout = aiohttp.ClientTimeout(total=total, connect=min(CONNECT_TIMEOUT_S, total))
        connect_failures = sends = 0
        while True:
            try:
                async with session.request(http_request.method, url, headers=headers,
                                           data=http_request.data, timeout=timeout, ssl=self._verify_tls,
                                           proxy=route.proxy, allow_redirects=False) as response:
                    body = await response.read()
                    loaded = _LoadedResponse(http_request, response.status, response.reason,
                                             response.headers.copy(), body)
            except aiohttp.ClientConnectorError as error:  # refused or unresolvable: nothing went out
                if connect_failures == CONNECT_RETRIES:
                    raise ConnectorUnreachable(str(error), error) from error
                if connect_failures:
                    await asyncio.sleep(CONNECT_BACKOFF_S * 2**connect_failures)
                connect_failures += 1
                continue
            except aiohttp.ConnectionTimeoutError as error:  # no connection in time: nothing went out
                raise ConnectorUnreachable(f"no connection within {timeout.connect} s", error) from error
            except TimeoutError as error:
                raise ReplyOutcomeUnknown(f"no answer within {total} s; not sent again", error) from error
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError) as error:
                raise ReplyOutcomeUnknown(f"the connection broke ({error}); not sent again", error) from error
            except aiohttp.ClientError as error:
                raise ClientRequestError("Error occurred in request.", error) from error
            if 300 <= (loaded.status_code or 0) < 400:
                raise ReplyRefused(f"the connector answered {loaded.status_code}; redirects are not followed")
            if not _not_taken(loaded) or sends == SEND_RETRIES:
                return Response(request, loaded)
            wait = _retry_after(loaded.headers.get("Retry-After"), SEND_BACKOFF_S * 2**sends)
            log.warning("the connector answered %d; sending again in %.1f s (%d of %d)", loaded.status_code, wait,
                        sends + 1, SEND_RETRIES)
            await asyncio.sleep(wait)
            sends += 1


def _not_taken(response: _LoadedResponse) -> bool:
    """Whether the connector's answer says it did not take the reply, so sending it again cannot duplicate it."""
    if response.status_code not in RETRIED_STATUSES:
        return False
    return response.status_code == 429 or "Retry-After" in response.headers


def _retry_after(header: str | None, default: float) -> float:
    """Seconds to wait before resending: the connector's ``Retry-After`` (in seconds) when it gives one,
    capped at ``MAX_RETRY_AFTER_S``, else ``default``."""
    try:
        seconds = float(header) if header else default
    except ValueError:  # an HTTP date: not worth parsing for a reply
        seconds = default
    return min(max(0.0, seconds), MAX_RETRY_AFTER_S)


class _PlainJsonSerializer(Serializer):
    """msrest's serializer, passing plain JSON (a card's content) through as it is instead of rebuilding
    it value by value: for plain JSON msrest's ``serialize_object`` returns an equal copy. A body skips
    msrest's client-side validation walk when no model declares a rule to check (none of the connector's
    does), as it could find nothing."""

    def __init__(self, classes: dict[str, type]) -> None:
        super().__init__(classes)  # type: ignore[no-untyped-call]
        self._body_rules = any(getattr(model, "_validation", None) for model in classes.values())

    def body(self, data: Any, data_type: str, **kwargs: Any) -> Any:
        if self._body_rules or not self.client_side_validation:
            return super().body(data, data_type, **kwargs)  # type: ignore[no-untyped-call]
        self.client_side_validation = False
        try:
            return super().body(data, data_type, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            self.client_side_validation = True

    def serialize_object(self, attr: Any, **kwargs: Any) -> Any:
        if type(attr) in (dict, list) and plain_json(attr):
            return attr
        return super().serialize_object(attr, **kwargs)  # type: ignore[no-untyped-call]


class _PooledConnectorClient(ConnectorClient):  # type: ignore[misc]
    """botbuilder's ``ConnectorClient`` whose operations serialize through ``_PlainJsonSerializer``."""

    def __init__(self, credentials: Any, *, custom_configuration: BotFrameworkConnectorConfiguration) -> None:
        super().__init__(credentials, custom_configuration=custom_configuration)
        models: dict[str, type] = {k: v for k, v in vars(schema_models).items() if isinstance(v, type)}
        self._serialize = _PlainJsonSerializer(models)
        self.attachments = AttachmentsOperations(self._client, self.config, self._serialize, self._deserialize)
        self.conversations = ConversationsOperations(self._client, self.config, self._serialize, self._deserialize)


class ConnectorClientPool:
    """One shared aiohttp session, and a ``ConnectorClient`` per (app id, service URL, audience) sending over it."""

    def __init__(self, max_clients: int = MAX_CACHED_CLIENTS) -> None:
        self._max_clients = max_clients
        self._clients: OrderedDict[tuple[str, str, str], ConnectorClient] = OrderedDict()
        self._session: aiohttp.ClientSession | None = None
        self._building: dict[tuple[str, str, str], asyncio.Lock] = {}
        self.built = 0
        """How many clients this pool has built (a client kept is not built again)."""

    def session(self) -> aiohttp.ClientSession:
        """The shared session, opened on first use inside the running event loop."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=POOL_LIMIT, limit_per_host=POOL_LIMIT_PER_HOST)
            # The environment's proxy and netrc are honoured per origin by the senders (``_route``),
            # looked up once instead of in two worker threads on every request.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    @property
    def closed(self) -> bool:
        """Whether no session is open (never used, or closed)."""
        return self._session is None or self._session.closed

    def __len__(self) -> int:
        return len(self._clients)

    async def client(self, app_id: str, service_url: str, audience: str,
                     factory: ConnectorFactory) -> ConnectorClient:
        """The kept client for this key; on first use built from the credentials ``factory`` gives."""
        key = (app_id, service_url, audience)
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        building = self._building.setdefault(key, asyncio.Lock())
        async with building:  # the first turns for a new key wait for one build instead of each building
            client = self._clients.get(key)
            if client is None:
                template = await factory.create(service_url, audience)
                # Fetch the first token off the event loop; later ones come from MSAL's cache until renewal.
                await asyncio.to_thread(template.config.credentials.signed_session, requests.Session())
                client = self._sending_through_pool(template, service_url)
                self.built += 1
                self._clients[key] = client
                while len(self._clients) > self._max_clients:
                    self._clients.popitem(last=False)
        if self._building.get(key) is building:
            del self._building[key]
        return client

    def _sending_through_pool(self, template: ConnectorClient, service_url: str) -> ConnectorClient:
        """A client with ``template``'s credentials, connection settings and User-Agent, sending through the pool."""
        settings = template.config
        config = BotFrameworkConnectorConfiguration(
            settings.credentials,
            service_url,
            sender=_PooledSender(self, settings.connection.timeout, settings.connection.verify),
        )
        config.user_agent_policy = settings.user_agent_policy
        config.custom_pipeline = AsyncBfPipeline(config)
        return _PooledConnectorClient(settings.credentials, custom_configuration=config)

    async def close(self) -> None:
        """Forget every client and close the shared session and its connections."""
        self._clients.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
