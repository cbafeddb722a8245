"""Reuse connector clients across turns through botbuilder's own extension point.

botbuilder builds a new ``ConnectorClient`` (an msrest pipeline with a retry policy and a new
HTTP session) for every incoming activity. ``ReusingBotFrameworkAuthentication`` wraps any
``BotFrameworkAuthentication`` and hands the adapter connector factories that keep one client
per (app id, service URL, audience), so turns share the client and its keep-alive connections.
Authentication itself is untouched: every request is still validated by the wrapped object, and
the cached clients carry the same credentials the wrapped factory gave them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    JwtTokenValidation,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient

MAX_CLIENTS = 256
"""Distinct service URLs kept; the least recently used client is closed beyond this."""

ClientKey = tuple[str, str, str]


class ConnectorClientCache:
    """Connector clients by (app id, service URL, audience), least recently used dropped first."""

    def __init__(self, capacity: int = MAX_CLIENTS) -> None:
        self.capacity = capacity
        self._clients: OrderedDict[ClientKey, ConnectorClient] = OrderedDict()
        self.created = 0

    async def get(self, key: ClientKey, factory: ConnectorFactory, service_url: str, audience: str | None) -> Any:
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        client = await factory.create(service_url, audience)
        self.created += 1
        self._clients[key] = client
        while len(self._clients) > self.capacity:
            _, old = self._clients.popitem(last=False)
            await old.__aexit__(None, None, None)
        return client

    def __len__(self) -> int:
        return len(self._clients)

    async def close(self) -> None:
        while self._clients:
            _, client = self._clients.popitem()
            await client.__aexit__(None, None, None)


class ReusingConnectorFactory(ConnectorFactory):
    """A connector factory that returns the cached client for its app id when there is one."""

    def __init__(self, inner: ConnectorFactory, cache: ConnectorClientCache, app_id: str) -> None:
        self._inner = inner
        self._cache = cache
        self._app_id = app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self._app_id, service_url, audience or "")
        client: ConnectorClient = await self._cache.get(key, self._inner, service_url, audience)
        return client


def _app_id(claims_identity: ClaimsIdentity | None) -> str:
    if claims_identity is None or not claims_identity.claims:
        return ""
    return JwtTokenValidation.get_app_id_from_claims(claims_identity.claims) or ""


class ReusingBotFrameworkAuthentication(BotFrameworkAuthentication):
    """Delegates everything to ``inner``; wraps the connector factories it returns."""

    def __init__(self, inner: BotFrameworkAuthentication, cache: ConnectorClientCache | None = None) -> None:
        self._inner = inner
        self.clients = cache or ConnectorClientCache()

    def _wrap(self, result: AuthenticateRequestResult) -> AuthenticateRequestResult:
        if result.connector_factory is not None:
            result.connector_factory = ReusingConnectorFactory(
                result.connector_factory, self.clients, _app_id(result.claims_identity)
            )
        return result

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        return self._wrap(await self._inner.authenticate_request(activity, auth_header))

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return self._wrap(await self._inner.authenticate_streaming_request(auth_header, channel_id_header))

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = self._inner.create_connector_factory(claims_identity)
        return ReusingConnectorFactory(inner, self.clients, _app_id(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        return await self._inner.create_user_token_client(claims_identity)

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self._inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)

    async def close(self) -> None:
        """Close every cached connector client (on application shutdown)."""
        await self.clients.close()


def create_bot_authentication(configuration: Any) -> ReusingBotFrameworkAuthentication:
    """botbuilder's ``ConfigurationBotFrameworkAuthentication`` from ``configuration``, with client reuse."""
    from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication

    return ReusingBotFrameworkAuthentication(ConfigurationBotFrameworkAuthentication(configuration))
