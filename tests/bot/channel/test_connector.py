"""Connector clients kept across turns: reuse per service URL, signing per request, release on close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)
from botframework.connector.models import ErrorResponseException
from msrest.authentication import Authentication
from msrest.exceptions import ClientRequestError

from bot.channel import connector_pool
from bot.channel.connector import ReusingBotFrameworkAuthentication, create_bot_authentication
from bot.channel.connector_pool import ConnectorClientPool


class NoCredentials:
    """botbuilder configuration with authentication off, as in local testing."""

    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


def message(service_url: str, activity_id: str = "a-1") -> Activity:
    return Activity(type="message", id=activity_id, service_url=service_url, channel_id="msteams", text="hi")


@dataclass
class Channel:
    """A connector stub: records each reply with the client's address and headers."""

    url: str
    replies: list[dict[str, Any]] = field(default_factory=list)
    peers: list[object] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    transports: list[Any] = field(default_factory=list)


@pytest.fixture
async def channel() -> AsyncIterator[Channel]:
    async def receive(request: web.Request) -> web.Response:
        recorded.replies.append(await request.json())
        recorded.peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        recorded.transports.append(request.transport)
        recorded.headers.append(dict(request.headers))
        return web.json_response({"id": f"reply-{len(recorded.replies)}"})

    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    recorded = Channel(str(server.make_url("/")))
    yield recorded
    await server.close()


async def client_for(auth: BotFrameworkAuthentication, service_url: str, activity_id: str = "a-1") -> Any:
    result = await auth.authenticate_request(message(service_url, activity_id), "")
    return await result.connector_factory.create(service_url, result.audience)


async def reply(client: Any, text: str) -> None:
    await client.conversations.reply_to_activity("conversation-1", "a-1", Activity(type="message", text=text))


async def test_turns_on_one_service_url_share_one_client() -> None:
    auth = create_bot_authentication(NoCredentials())
    first = await client_for(auth, "http://127.0.0.1:9/", "a-1")
    second = await client_for(auth, "http://127.0.0.1:9/", "a-2")
    assert first is second
    assert isinstance(first, ConnectorClient)
    assert auth.pool.built == 1
    await auth.close()


async def test_each_service_url_gets_its_own_client() -> None:
    auth = create_bot_authentication(NoCredentials())
    amer = await client_for(auth, "http://127.0.0.1:9/amer/")
    emea = await client_for(auth, "http://127.0.0.1:9/emea/")
    assert amer is not emea
    assert (amer.config.base_url, emea.config.base_url) == ("http://127.0.0.1:9/amer/", "http://127.0.0.1:9/emea/")
    assert await client_for(auth, "http://127.0.0.1:9/amer/") is amer
    assert auth.pool.built == 2
    await auth.close()


async def test_proactive_factories_share_the_kept_clients() -> None:
    auth = create_bot_authentication(NoCredentials())
    from_turn = await client_for(auth, "http://127.0.0.1:9/")
    factory = auth.create_connector_factory(ClaimsIdentity({}, True))
    assert await factory.create("http://127.0.0.1:9/", auth.get_originating_audience()) is from_turn
    await auth.close()


async def test_concurrent_first_turns_end_up_with_one_client() -> None:
    auth = create_bot_authentication(NoCredentials())
    clients = await asyncio.gather(*(client_for(auth, "http://127.0.0.1:9/", f"a-{n}") for n in range(20)))
    assert len({id(c) for c in clients}) == 1
    assert len(auth.pool) == 1
    await auth.close()


async def test_least_recently_used_client_is_dropped_beyond_the_bound() -> None:
    auth = ReusingBotFrameworkAuthentication(ConfigurationBotFrameworkAuthentication(NoCredentials()),
                                             ConnectorClientPool(max_clients=2))
    a = await client_for(auth, "http://127.0.0.1:9/a/")
    await client_for(auth, "http://127.0.0.1:9/b/")
    await client_for(auth, "http://127.0.0.1:9/a/")  # a is now the most recent
    await client_for(auth, "http://127.0.0.1:9/c/")  # evicts b
    assert len(auth.pool) == 2
    assert await client_for(auth, "http://127.0.0.1:9/a/") is a
    built = auth.pool.built
    await client_for(auth, "http://127.0.0.1:9/b/")
    assert auth.pool.built == built + 1
    await auth.close()


async def test_replies_go_out_over_one_kept_connection(channel: Channel) -> None:
    auth = create_bot_authentication(NoCredentials())
    for n in range(3):
        await reply(await client_for(auth, channel.url, f"a-{n}"), f"reply {n}")
    assert [r["text"] for r in channel.replies] == ["reply 0", "reply 1", "reply 2"]
    assert len(set(channel.peers)) == 1, "every reply should reuse the first connection"
    assert all("Microsoft-BotFramework" in h["User-Agent"] for h in channel.headers)
    assert all("Authorization" not in h for h in channel.headers), "no app id: nothing to sign with"
    await auth.close()


async def test_close_releases_the_connection_and_forgets_the_clients(channel: Channel) -> None:
    auth = create_bot_authentication(NoCredentials())
    client = await client_for(auth, channel.url)
    await reply(client, "before shutdown")
    assert not auth.pool.closed
    await auth.close()
    assert auth.pool.closed
    assert len(auth.pool) == 0
    for _ in range(50):  # the server notices the client hanging up
        if channel.transports[0].is_closing():
            break
        await asyncio.sleep(0.01)
    assert channel.transports[0].is_closing()
    assert await client_for(auth, channel.url) is not client
    await auth.close()


class RotatingToken(Authentication):
    """Credentials that sign each request with the next token: tok-1, tok-2, ..."""

    def __init__(self) -> None:
        self.signed = 0

    def signed_session(self, session: Any = None) -> Any:
        self.signed += 1
        session.headers["Authorization"] = f"Bearer tok-{self.signed}"
        return session


class RotatingTokenFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """An app id whose credentials are built by botbuilder's connector factory through this factory."""

    def __init__(self) -> None:
        self.credentials: list[RotatingToken] = []

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == "app-1"

    async def is_authentication_disabled(self) -> bool:
        return False

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> Authentication:
        self.credentials.append(RotatingToken())
        return self.credentials[-1]


async def test_credentials_sign_every_request_of_a_kept_client(channel: Channel) -> None:
    credentials = RotatingTokenFactory()
    inner = ConfigurationBotFrameworkAuthentication(NoCredentials(), credentials_factory=credentials)
    auth = ReusingBotFrameworkAuthentication(inner)
    claims = ClaimsIdentity({"aud": "app-1"}, True)
    for text in ("one", "two"):
        factory: ConnectorFactory = auth.create_connector_factory(claims)
        await reply(await factory.create(channel.url, auth.get_originating_audience()), text)
    assert len(credentials.credentials) == 1, "credentials are built once per kept client"
    sent = [h["Authorization"] for h in channel.headers]
    # tok-1 is fetched when the client is built; each request then signs again.
    assert sent == ["Bearer tok-2", "Bearer tok-3"]
    await auth.close()


class FailingValidation(BotFrameworkAuthentication):  # type: ignore[misc]
    """Inbound validation that fails the way botbuilder's sometimes does."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        raise self.error

    async def authenticate_streaming_request(self, auth_header: str,
                                             channel_id_header: str) -> AuthenticateRequestResult:
        raise self.error

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        raise NotImplementedError

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        raise NotImplementedError

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        raise self.error


@pytest.mark.parametrize("error", [
    jwt.ExpiredSignatureError("Signature has expired"),
    jwt.DecodeError("Not enough segments"),
    IndexError("list index out of range"),  # a signing key id the metadata does not list
    Exception("Could not validate endorsement key"),
    PermissionError("Unauthorized. Invalid AppId passed on token"),
])
async def test_every_validation_failure_is_a_permission_error(error: Exception) -> None:
    auth = ReusingBotFrameworkAuthentication(FailingValidation(error))
    with pytest.raises(PermissionError):
        await auth.authenticate_request(message("http://127.0.0.1:9/"), "Bearer x")
    with pytest.raises(PermissionError):
        await auth.authenticate_streaming_request("Bearer x", "msteams")
    with pytest.raises(PermissionError):
        await auth.authenticate_channel_request("Bearer x")


async def test_a_programming_error_is_not_disguised_as_unauthorized() -> None:
    auth = ReusingBotFrameworkAuthentication(FailingValidation(TypeError("unexpected keyword")))
    with pytest.raises(TypeError):
        await auth.authenticate_request(message("http://127.0.0.1:9/"), "Bearer x")


async def test_user_token_client_is_kept_per_app_id() -> None:
    auth = create_bot_authentication(NoCredentials())
    anonymous = ClaimsIdentity({}, True)
    first = await auth.create_user_token_client(anonymous)
    assert await auth.create_user_token_client(anonymous) is first
    await auth.close()


async def test_concurrent_first_turns_build_credentials_once() -> None:
    credentials = RotatingTokenFactory()
    auth = ReusingBotFrameworkAuthentication(
        ConfigurationBotFrameworkAuthentication(NoCredentials(), credentials_factory=credentials))
    factory: ConnectorFactory = auth.create_connector_factory(ClaimsIdentity({"aud": "app-1"}, True))
    audience = auth.get_originating_audience()
    clients = await asyncio.gather(*(factory.create("http://127.0.0.1:9/", audience) for _ in range(20)))
    assert len({id(c) for c in clients}) == 1
    assert len(credentials.credentials) == 1, "one build (and one token fetch) for the first turns"
    await auth.close()


async def test_a_refused_reply_raises_the_connectors_error_response() -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "BotNotInConversationRoster", "message": "not a member"}},
                                 status=403)

    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", refuse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    auth = create_bot_authentication(NoCredentials())
    with pytest.raises(ErrorResponseException) as raised:
        await reply(await client_for(auth, str(server.make_url("/"))), "hello")
    assert raised.value.error.error.code == "BotNotInConversationRoster"
    await auth.close()
    await server.close()


async def test_an_unreachable_channel_is_a_client_request_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connector_pool, "CONNECT_BACKOFF_S", 0.0)
    auth = create_bot_authentication(NoCredentials())
    with pytest.raises(ClientRequestError):
        await reply(await client_for(auth, "http://127.0.0.1:9/"), "hello")  # port 9: nothing listens
    await auth.close()


PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                   "no_proxy", "NO_PROXY", "NETRC")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def test_replies_go_through_the_proxy_the_environment_names(clean_env: pytest.MonkeyPatch) -> None:
    """As botbuilder's own ``requests`` client does: ``HTTP_PROXY`` is honoured (``NO_PROXY`` too)."""
    seen: list[str] = []
    logins: list[str | None] = []

    async def forward(request: web.Request) -> web.Response:
        seen.append(str(request.url))
        logins.append(request.headers.get("Proxy-Authorization"))
        return web.json_response({"id": "via-proxy"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    proxy = TestServer(app, host="127.0.0.1")
    await proxy.start_server()
    clean_env.setenv("HTTP_PROXY", f"http://relay:pw@127.0.0.1:{proxy.port}/")
    auth = create_bot_authentication(NoCredentials())
    try:
        client = await client_for(auth, "http://127.0.0.1:9/")  # port 9: only the proxy can answer
        await reply(client, "one")
        await reply(client, "two")
        assert seen == ["http://127.0.0.1:9/v3/conversations/conversation-1/activities/a-1"] * 2
        assert logins == ["Basic cmVsYXk6cHc="] * 2  # relay:pw
        clean_env.setenv("NO_PROXY", "127.0.0.1")
        bypassing = create_bot_authentication(NoCredentials())
        clean_env.setattr(connector_pool, "CONNECT_BACKOFF_S", 0.0)
        with pytest.raises(ClientRequestError):  # straight to port 9, where nothing listens
            await reply(await client_for(bypassing, "http://127.0.0.1:9/"), "three")
        await bypassing.close()
        assert len(seen) == 2
    finally:
        await auth.close()
        await proxy.close()


async def test_a_netrc_login_signs_requests_that_carry_no_credentials(
        channel: Channel, clean_env: pytest.MonkeyPatch, tmp_path: Any) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bot password s3cret\n", encoding="ascii")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    auth = create_bot_authentication(NoCredentials())
    await reply(await client_for(auth, channel.url), "hello")
    assert channel.headers[-1].get("Authorization") == "Basic Ym90OnMzY3JldA=="  # bot:s3cret
    await auth.close()


async def test_a_card_is_serialized_exactly_as_msrest_does_it() -> None:
    """The kept clients pass a card's plain JSON through as it is; the body sent must not change."""
    from botbuilder.core import CardFactory, MessageFactory
    from botframework.connector import models as schema_models
    from msrest import Serializer

    from bot.cards import answer_card
    from bot.strings import strings_for

    card = answer_card(article_id="a", title="Fel 0x80070005 «åtkomst nekad»", body="**Steg 1**\n\n- ett\n- två",
                       locale="sv-SE", note="Svar på svenska", query="0x80070005", strings=strings_for("sv-SE"),
                       languages=[("en-US", "English"), ("ko-KR", "한국어")])
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    activity.entities = [{"type": "mention", "weight": 1.5, "nested": {"ok": True, "none": None, "n": [1, 2.5]}}]
    activity.channel_data = {"tenant": {"id": "t"}, "tuple": ("kept", "as msrest does"), 7: "a number key"}
    auth = create_bot_authentication(NoCredentials())
    client = await client_for(auth, "http://127.0.0.1:9/")
    models = {k: v for k, v in vars(schema_models).items() if isinstance(v, type)}
    ours = client.conversations._serialize.body(activity, "Activity")
    stock = Serializer(models).body(activity, "Activity")  # type: ignore[no-untyped-call]
    assert ours == stock
    assert ours["attachments"][0]["content"] == card
    await auth.close()


def test_bodies_are_still_validated_when_a_model_declares_rules() -> None:
    from msrest.exceptions import ValidationError
    from msrest.serialization import Model

    class Ruled(Model):
        _validation = {"name": {"required": True}}  # noqa: RUF012
        _attribute_map = {"name": {"key": "name", "type": "str"}}  # noqa: RUF012

        def __init__(self, name: str | None = None) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.name = name

    serializer = connector_pool._PlainJsonSerializer({"Ruled": Ruled})
    with pytest.raises(ValidationError):
        serializer.body(Ruled(), "Ruled")
    assert serializer.body(Ruled("x"), "Ruled") == {"name": "x"}
