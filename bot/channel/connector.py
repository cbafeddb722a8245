"""Bot Framework authentication whose outgoing connector clients live longer than one turn.

For every incoming activity, botbuilder's ``CloudAdapter`` asks its ``BotFrameworkAuthentication``
for a ``ConnectorFactory`` and builds a new ``ConnectorClient`` and a new ``UserTokenClient``. Each
is an msrest client whose configuration builds a retry policy that alone costs ~3 ms of CPU, each
opens a new ``requests`` session (so a new TCP connection per reply), and with an app id each
builds a new MSAL application, so every turn fetches a fresh token. That is most of what the
canonical echo bot spends per message.

:class:`ReusingBotFrameworkAuthentication` wraps the configured authentication through
botbuilder's own extension points:

- inbound validation (``authenticate_request`` and the rest) is delegated, then the validated token's
  lifetime claims are checked (``bot.channel.token_lifetime``: an ``exp`` is required, ``nbf``/``iat`` may not be
  in the future beyond 5 minutes of clock skew); every failure to validate a token surfaces as
  ``PermissionError``, which the adapter answers with 401: botbuilder lets some escape as PyJWT
  errors, ``IndexError`` (unknown signing key) or a bare ``Exception`` (endorsements), which would
  otherwise become 500s; and a failure to
  fetch the signing keys (OpenID metadata or JWKS unreachable, an HTTP error, a body that is not
  the expected JSON) surfaces as :class:`SigningKeysUnavailable`, which the app answers with 503:
  the token may be fine, the channel should retry;
- the ``ConnectorFactory`` it hands the adapter keeps one ``ConnectorClient`` per
  (app id, service URL, audience). The credentials come from botbuilder's own factory for that
  app id and audience (same cloud, login endpoint and scope as without reuse) and msrest's
  credentials policy still signs every request with them; requests go out through one shared
  aiohttp session with a keep-alive connection pool instead of a thread-pooled ``requests`` call;
- the ``UserTokenClient`` is kept per app id.

:meth:`ReusingBotFrameworkAuthentication.close` releases the shared session; the app calls it on
cleanup.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import jwt
import requests
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient

from bot.channel.background_turns import note_authenticated
from bot.channel.connector_pool import ConnectorClientPool
from bot.channel.token_lifetime import check_identity_lifetime

__all__ = [
    "ReusingBotFrameworkAuthentication",
    "ReusingConnectorFactory",
    "SigningKeysUnavailable",
    "create_bot_authentication",
]

_VALIDATION_ERRORS = (jwt.PyJWTError, requests.RequestException, LookupError, AttributeError, ValueError)
"""What botbuilder's token validation raises, besides ``PermissionError``, when a token does not validate."""

_KEY_REFRESH = ("jwt_token_extractor.py", "_refresh")
"""Where botbuilder fetches the OpenID metadata and signing keys (``_OpenIdMetadata._refresh``)."""

T = TypeVar("T")
log = logging.getLogger(__name__)


class SigningKeysUnavailable(Exception):
    """The channel's signing keys could not be fetched, so no token can be checked now (HTTP 503)."""


def _raised_fetching_keys(error: BaseException) -> bool:
    """Whether ``error`` came from fetching the signing keys rather than from checking the token."""
    if isinstance(error, requests.RequestException):  # validation makes no other HTTP call
        return True
    trace = error.__traceback__
    while trace is not None:
        code = trace.tb_frame.f_code
        if code.co_filename.endswith(_KEY_REFRESH[0]) and code.co_name == _KEY_REFRESH[1]:
            return True
        trace = trace.tb_next
    return False


async def _unauthorized_unless_valid(validation: Awaitable[T]) -> T:
    """``validation``'s result; any failure to validate becomes ``PermissionError`` (HTTP 401), a failure
    to fetch the signing keys ``SigningKeysUnavailable`` (HTTP 503)."""
    try:
        return await validation
    except PermissionError:
        raise
    except (*_VALIDATION_ERRORS, TypeError) as error:
        if _raised_fetching_keys(error):
            raise SigningKeysUnavailable(f"the signing keys could not be fetched ({type(error).__name__}:"
                                         f" {error})") from error
        if not isinstance(error, _VALIDATION_ERRORS):
            raise
        raise PermissionError(f"the token did not validate ({type(error).__name__}: {error})") from error
    except Exception as error:
        if type(error) is not Exception:  # botbuilder signals endorsement and algorithm failures this way
            raise
        raise PermissionError(f"the token did not validate ({error})") from error


class ReusingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    """Hands out the pool's client for (app id, service URL, audience); ``inner`` builds the first one."""

    def __init__(self, pool: ConnectorClientPool, inner: ConnectorFactory, app_id: str | None,
                 default_audience: str) -> None:
        self._pool = pool
        self._inner = inner
        self._app_id = app_id or ""
        self._default_audience = default_audience

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        return await self._pool.client(self._app_id, service_url, audience or self._default_audience, self._inner)


def _app_id(claims_identity: ClaimsIdentity | None) -> str | None:
    """The bot's app id as botbuilder reads it from the inbound claims (audience, else appid)."""
    if claims_identity is None:
        return None
    claims: Mapping[str, Any] = claims_identity.claims or {}
    value = claims.get(AuthenticationConstants.AUDIENCE_CLAIM) or claims.get(AuthenticationConstants.APP_ID_CLAIM)
    return str(value) if value else None


class ReusingBotFrameworkAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """``inner`` with outgoing clients kept across turns; validation stays ``inner``'s, its failures are 401s."""

    def __init__(self, inner: BotFrameworkAuthentication, pool: ConnectorClientPool | None = None) -> None:
        self._inner = inner
        self.pool = pool if pool is not None else ConnectorClientPool()
        self._user_token_clients: dict[str, UserTokenClient] = {}

    def _reusing(self, factory: ConnectorFactory, claims_identity: ClaimsIdentity | None) -> ConnectorFactory:
        return ReusingConnectorFactory(self.pool, factory, _app_id(claims_identity), self.get_originating_audience())

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await _unauthorized_unless_valid(self._inner.authenticate_request(activity, auth_header))
        check_identity_lifetime(result.claims_identity)
        note_authenticated()
        if result.connector_factory is not None:
            result.connector_factory = self._reusing(result.connector_factory, result.claims_identity)
        return result

    async def authenticate_streaming_request(self, auth_header: str,
                                             channel_id_header: str) -> AuthenticateRequestResult:
        result = await _unauthorized_unless_valid(
            self._inner.authenticate_streaming_request(auth_header, channel_id_header))
        check_identity_lifetime(result.claims_identity)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self._reusing(self._inner.create_connector_factory(claims_identity), claims_identity)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        key = _app_id(claims_identity) or ""
        client = self._user_token_clients.get(key)
        if client is None:
            client = await self._inner.create_user_token_client(claims_identity)
            client = self._user_token_clients.setdefault(key, client)
        return client

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        audience: str = self._inner.get_originating_audience()
        return audience

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        identity = await _unauthorized_unless_valid(self._inner.authenticate_channel_request(auth_header))
        check_identity_lifetime(identity)
        return identity

    async def close(self) -> None:
        """Release the kept clients and the connections they share."""
        self._user_token_clients.clear()
        await self.pool.close()


def create_bot_authentication(settings: object) -> ReusingBotFrameworkAuthentication:
    """botbuilder's ``ConfigurationBotFrameworkAuthentication`` from ``settings``, with clients kept across turns.

    ``settings`` carries botbuilder's configuration attribute names (``APP_ID``, ``APP_PASSWORD``,
    ``APP_TYPE``, ``APP_TENANTID``, ``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``, ...). Call
    ``close()`` on the result when the app shuts down.
    """
    return ReusingBotFrameworkAuthentication(ConfigurationBotFrameworkAuthentication(settings))
