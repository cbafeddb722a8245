"""With an app id, every request needs a valid channel token: each failure is a 401, never a 500.

A local OpenID issuer on 127.0.0.1 stands in for the Bot Framework's: its metadata and signing
keys validate the channel tokens the tests sign, and its token endpoint issues the bot's own
outgoing token, so nothing leaves loopback. The bot is pointed at it through the settings keys
botbuilder's ``ConfigurationBotFrameworkAuthentication`` reads. The issuer runs in a thread with
its own event loop because botbuilder fetches signing keys with a blocking ``requests`` call from
the bot's loop, and it speaks HTTPS because MSAL accepts nothing else as a login authority (its
path ``/adfs`` spares MSAL the instance discovery on login.microsoftonline.com).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import ssl
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from bot.app import SERVICES
from tests.e2e.conftest import BotServer, ConnectorStub, StartBot, serve_connector, teams_message
from tests.e2e.loopback_guard import loopback_only

APP_ID = "4f2b7c1e-0000-4000-8000-00000000b07a"
APP_PASSWORD = "local-test-secret"
CHANNEL_ISSUER = "https://api.botframework.test"
KEY_ID = "channel-key-1"
TENANT_ID = "6f1c2d3e-0000-4000-8000-0000000f00d5"
MSI_HEADER = "local-identity-header"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "issuer.pem", directory / "issuer-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Issuer:
    """The local OpenID issuer: signs channel tokens, publishes its key, issues the bot's tokens."""

    key: rsa.RSAPrivateKey
    url: str = ""
    endorsements: tuple[str, ...] = ("msteams",)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    msi_requests: list[dict[str, str]] = field(default_factory=list)

    def channel_token(self, service_url: str, *, audience: str = APP_ID, issuer: str = CHANNEL_ISSUER,
                      expires_in: int | None = 3600, valid_in: int = -60, issued_in: int = -60,
                      key: rsa.RSAPrivateKey | None = None, kid: str = KEY_ID) -> str:
        """A token signed with the published key; ``expires_in=None`` leaves out ``exp``."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": issuer, "aud": audience, "serviceurl": service_url, "nbf": now + valid_in,
                                  "iat": now + issued_in, "jti": str(uuid.uuid4())}
        if expires_in is not None:
            claims["exp"] = now + expires_in
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def unsigned_token(self, service_url: str, *, kid: str | None = KEY_ID) -> str:
        """The claims of a valid token with ``alg: none`` and no signature."""
        claims = jwt.decode(self.channel_token(service_url), options={"verify_signature": False})
        return jwt.encode(claims, "", algorithm="none", headers={"kid": kid} if kid else None)

    def hmac_token(self, service_url: str) -> str:
        """A valid token's claims signed HS256 with the published public key as the secret (key confusion)."""
        claims = jwt.decode(self.channel_token(service_url), options={"verify_signature": False})
        public = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        header = {"alg": "HS256", "typ": "JWT", "kid": KEY_ID}
        segments = [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())]
        signature = hmac.new(public, ".".join(segments).encode(), hashlib.sha256).digest()
        return ".".join([*segments, _b64(signature)])

    def app(self) -> web.Application:
        async def metadata(request: web.Request) -> web.Response:
            return web.json_response({
                "issuer": CHANNEL_ISSUER,
                "jwks_uri": f"{self.url}/keys",
                "authorization_endpoint": f"{self.url}/adfs/oauth2/authorize",
                "token_endpoint": f"{self.url}/adfs/oauth2/token",
                "id_token_signing_alg_values_supported": ["RS256"],
            })

        async def keys(request: web.Request) -> web.Response:
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            jwk.update(kid=KEY_ID, use="sig", endorsements=list(self.endorsements))
            return web.json_response({"keys": [jwk]})

        async def token(request: web.Request) -> web.Response:
            self.token_requests.append({k: str(v) for k, v in (await request.post()).items()})
            issued = f"bot-token-{len(self.token_requests)}"
            self.issued.append(issued)
            return web.json_response({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
                                      "access_token": issued})

        @web.middleware
        async def one_request_per_connection(request: web.Request, handler: Any) -> web.StreamResponse:
            response: web.StreamResponse = await handler(request)
            response.force_close()  # clients keep no socket to a server that is gone after the module
            return response

        async def managed_identity(request: web.Request) -> web.Response:
            """App Service's managed-identity endpoint, as MSAL calls it with IDENTITY_ENDPOINT set."""
            self.msi_requests.append(dict(request.query, header=request.headers.get("X-IDENTITY-HEADER", "")))
            if request.headers.get("X-IDENTITY-HEADER") != MSI_HEADER:
                return web.json_response({"statusCode": 401, "message": "bad identity header"}, status=401)
            issued = f"msi-token-{len(self.msi_requests)}"
            self.issued.append(issued)
            return web.json_response({"access_token": issued, "expires_on": str(int(time.time()) + 3600),
                                      "resource": request.query.get("resource", ""), "token_type": "Bearer"})

        app = web.Application(middlewares=[one_request_per_connection])
        app.router.add_get("/msi/token", managed_identity)
        app.router.add_get("/.well-known/openid-configuration", metadata)
        app.router.add_get("/adfs/.well-known/openid-configuration", metadata)
        app.router.add_get("/keys", keys)
        app.router.add_post("/adfs/oauth2/token", token)
        return app


def serve_in_thread(app: web.Application, tls: ssl.SSLContext | None) -> tuple[int, Any]:
    """Serve ``app`` over HTTPS on a free loopback port from a thread with its own loop; returns (port, stop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="local-openid-issuer", daemon=True)
    thread.start()
    runner = web.AppRunner(app, access_log=None)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
        port: int = runner.addresses[0][1]
        return port

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    return asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10), stop


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuer]:
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("issuer-tls"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    local = Issuer(rsa_key())
    port, stop = serve_in_thread(local.app(), tls)
    local.url = f"https://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REQUESTS_CA_BUNDLE", str(cert))  # botbuilder's and MSAL's requests trust the local issuer
        yield local
    stop()


@pytest.fixture(autouse=True)
def only_loopback() -> Iterator[None]:
    """Every test here fails if anything (botbuilder, MSAL, requests) tried to reach a non-loopback host."""
    with loopback_only() as refused:
        yield
    assert refused == [], f"tried to leave loopback: {refused}"


@pytest.fixture
def channel(connector: ConnectorStub) -> ConnectorStub:
    """The channel's connector stub (``tests/e2e/conftest.py``), which also records Authorization headers."""
    return connector


def bot_framework_keys(issuer_url: str) -> dict[str, str]:
    """Every endpoint botbuilder would call, on the local issuer."""
    return {
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": f"{issuer_url}/.well-known/openid-configuration",
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": CHANNEL_ISSUER,
        "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": f"{issuer_url}/.well-known/openid-configuration",
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": f"{issuer_url}/adfs",
        "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": CHANNEL_ISSUER,
        "OAUTH_URL": f"{issuer_url}/oauth",
    }


@pytest.fixture
async def secured_bot(start_bot: StartBot, issuer: Issuer) -> BotServer:
    server: BotServer = await start_bot(APP_ID=APP_ID, APP_PASSWORD=APP_PASSWORD,
                                        bot_framework=bot_framework_keys(issuer.url))
    return server


async def post(bot: BotServer, activity: dict[str, Any], authorization: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with bot.session.post(f"{bot.url}/api/messages", json=activity, headers=headers) as response:
        await response.read()
        return response.status


async def test_a_request_without_a_token_is_401(secured_bot: BotServer, channel: ConnectorStub) -> None:
    assert await post(secured_bot, teams_message(channel.url, "hello"), None) == 401
    assert channel.received == []


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer garbage", "Bearer a.b.c", "Basic dXNlcjpwYXNz"])
async def test_a_malformed_token_is_401(secured_bot: BotServer, channel: ConnectorStub, authorization: str) -> None:
    assert await post(secured_bot, teams_message(channel.url, "hello"), authorization) == 401
    assert channel.received == []


TOKEN_CASES = ["unknown key, known key id", "unknown key id", "unsigned (alg none)", "unsigned, no key id",
               "HS256 signed with the public key", "expired", "not yet valid", "wrong audience", "wrong issuer",
               "other service URL", "emulator issuer, unknown key", "no expiry", "not before 10 minutes from now",
               "issued 10 minutes from now"]


def forged_token(issuer: Issuer, service_url: str, case: str) -> str:
    """A token for ``service_url`` that must not validate, for one of ``TOKEN_CASES``."""
    if case == "emulator issuer, unknown key":
        now = int(time.time())
        claims = {"iss": "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/", "aud": APP_ID,
                  "appid": APP_ID, "ver": "1.0", "nbf": now - 60, "exp": now + 3600}
        return jwt.encode(claims, rsa_key(), algorithm="RS256", headers={"kid": KEY_ID})
    return {
        "unknown key, known key id": lambda: issuer.channel_token(service_url, key=rsa_key()),
        "unknown key id": lambda: issuer.channel_token(service_url, key=rsa_key(), kid="rogue-key"),
        "unsigned (alg none)": lambda: issuer.unsigned_token(service_url),
        "unsigned, no key id": lambda: issuer.unsigned_token(service_url, kid=None),
        "HS256 signed with the public key": lambda: issuer.hmac_token(service_url),
        "expired": lambda: issuer.channel_token(service_url, expires_in=-3600),
        "not yet valid": lambda: issuer.channel_token(service_url, valid_in=3600),
        "wrong audience": lambda: issuer.channel_token(service_url, audience="some-other-bot"),
        "wrong issuer": lambda: issuer.channel_token(service_url, issuer="https://issuer.example"),
        "other service URL": lambda: issuer.channel_token("https://smba.trafficmanager.net/amer/"),
        "no expiry": lambda: issuer.channel_token(service_url, expires_in=None),
        "not before 10 minutes from now": lambda: issuer.channel_token(service_url, valid_in=600),
        "issued 10 minutes from now": lambda: issuer.channel_token(service_url, issued_in=600),
    }[case]()


APP_TYPES = {
    "MultiTenant": {"APP_PASSWORD": APP_PASSWORD},
    "SingleTenant": {"APP_PASSWORD": APP_PASSWORD, "APP_TYPE": "SingleTenant", "APP_TENANTID": TENANT_ID},
    "UserAssignedMSI": {"APP_TYPE": "UserAssignedMSI", "APP_TENANTID": TENANT_ID},
}


@pytest.mark.parametrize("app_type", APP_TYPES)
@pytest.mark.parametrize("case", TOKEN_CASES)
async def test_a_token_that_does_not_validate_is_401(
    start_bot: StartBot, channel: ConnectorStub, issuer: Issuer, monkeypatch: pytest.MonkeyPatch, case: str,
    app_type: str,
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{issuer.url}/msi/token")  # UserAssignedMSI's token, on loopback
    monkeypatch.setenv("IDENTITY_HEADER", MSI_HEADER)
    bot: BotServer = await start_bot(APP_ID=APP_ID, bot_framework=bot_framework_keys(issuer.url),
                                     **APP_TYPES[app_type])
    token = forged_token(issuer, channel.url, case)
    assert await post(bot, teams_message(channel.url, "hello"), f"Bearer {token}") == 401
    assert channel.received == []
    # The same request with a valid token is answered: the 401 came from the token alone.
    valid = issuer.channel_token(channel.url)
    assert await post(bot, teams_message(channel.url, "hello"), f"Bearer {valid}") in (200, 201)
    assert len(channel.received) == 1


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_a_token_valid_from_within_the_clock_skew_is_answered(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer, claim: str
) -> None:
    # The channel's clock 2 minutes ahead of ours.
    token = (issuer.channel_token(channel.url, valid_in=120) if claim == "nbf"
             else issuer.channel_token(channel.url, issued_in=120))
    assert jwt.decode(token, options={"verify_signature": False})[claim] > time.time() + 60
    assert await post(secured_bot, teams_message(channel.url, "hello"), f"Bearer {token}") in (200, 201)
    assert len(channel.received) == 1


async def test_a_token_without_expiry_is_401_whatever_else_it_carries(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    for token in (issuer.channel_token(channel.url, expires_in=None),
                  issuer.channel_token(channel.url, expires_in=None, valid_in=-3600, issued_in=-3600)):
        assert "exp" not in jwt.decode(token, options={"verify_signature": False})
        assert await post(secured_bot, teams_message(channel.url, "hello"), f"Bearer {token}") == 401
    assert channel.received == []


async def test_an_activity_whose_service_url_is_not_the_tokens_is_401_and_nothing_is_called(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer, connector_elsewhere: ConnectorStub
) -> None:
    token = issuer.channel_token(channel.url)  # the channel vouches for its own connector only
    activity = teams_message(connector_elsewhere.url, "hello")
    assert await post(secured_bot, activity, f"Bearer {token}") == 401
    assert channel.received == [] and connector_elsewhere.received == []


async def test_a_channel_the_key_is_not_endorsed_for_is_401(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    activity = dict(teams_message(channel.url, "hello"), channelId="webchat")
    assert await post(secured_bot, activity, f"Bearer {issuer.channel_token(channel.url)}") == 401
    assert channel.received == []


async def test_a_valid_token_is_answered_and_the_reply_carries_the_bots_own_token(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    assert await post(secured_bot, teams_message(channel.url, "hello"), "Bearer garbage") == 401
    status = await post(secured_bot, teams_message(channel.url, "hello"), f"Bearer {issuer.channel_token(channel.url)}")
    assert status in (200, 201, 202)
    assert channel.received, "the reply never reached the connector"
    assert issuer.token_requests, "the bot never asked the login endpoint for its token"
    request = issuer.token_requests[-1]
    assert (request["client_id"], request["client_secret"], request["grant_type"]) == (
        APP_ID, APP_PASSWORD, "client_credentials")
    assert set(channel.authorizations) <= {f"Bearer {token}" for token in issuer.issued}
    assert None not in channel.authorizations


async def test_second_turn_reuses_the_bots_token(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    for text in ("hello", "hello again"):
        token = issuer.channel_token(channel.url)
        assert await post(secured_bot, teams_message(channel.url, text), f"Bearer {token}") in (200, 201, 202)
    assert len(channel.received) >= 2
    assert len(set(channel.authorizations)) == 1, "the kept client should sign both replies with one token"


@pytest.fixture
async def connector_elsewhere() -> AsyncIterator[ConnectorStub]:
    """A second connector stub, standing for a URL an attacker names: it must never be called."""
    async with serve_connector() as stub:
        yield stub


@dataclass
class KeyServer:
    """Serves OpenID metadata that fails in one of several ways, then (``recover``) the issuer's real one."""

    issuer_url: str
    failures_left: dict[str, int] = field(default_factory=dict)
    requests: int = 0

    def app(self) -> web.Application:
        async def metadata(request: web.Request) -> web.Response:
            self.requests += 1
            mode = request.match_info["mode"]
            key = request.match_info["run"]
            if mode == "recover":
                left = self.failures_left.setdefault(key, 1)
                if left <= 0:
                    return web.json_response({"issuer": CHANNEL_ISSUER, "jwks_uri": f"{self.issuer_url}/keys"})
                self.failures_left[key] = left - 1
                return web.Response(status=500, text="metadata store down")
            if mode == "500":
                return web.Response(status=500, text="internal error")
            if mode == "hang":  # accepts the connection, then says nothing for far longer than the bot waits
                await asyncio.sleep(3)
                return web.Response(status=504, text="too late")
            if mode == "garbage":
                return web.Response(text="<html>not json</html>", content_type="text/html")
            if mode == "no-jwks-uri":
                return web.json_response({"issuer": CHANNEL_ISSUER})
            if mode == "list":
                return web.json_response(["not", "an", "object"])
            return web.json_response({"issuer": CHANNEL_ISSUER,
                                      "jwks_uri": str(request.url.with_path(f"/{mode}/{key}/keys"))})

        async def keys(request: web.Request) -> web.Response:
            self.requests += 1
            mode = request.match_info["mode"]
            if mode == "keys-500":
                return web.Response(status=503, text="busy")
            if mode == "keys-garbage":
                return web.Response(body=b"\xff\xfe{", content_type="application/json")
            return web.json_response({"no": "keys"})  # keys-missing

        app = web.Application()
        app.router.add_get("/{mode}/{run}/.well-known/openid-configuration", metadata)
        app.router.add_get("/{mode}/{run}/keys", keys)
        return app


@pytest.fixture(scope="module")
def key_server(issuer: Issuer) -> Iterator[tuple[KeyServer, str]]:
    server = KeyServer(issuer.url)
    port, stop = serve_in_thread(server.app(), None)
    yield server, f"http://127.0.0.1:{port}"
    stop()


OUTAGES = ["issuer down", "500", "garbage", "no-jwks-uri", "list", "keys-500", "keys-garbage", "keys-missing"]


@pytest.mark.parametrize("outage", OUTAGES)
async def test_signing_keys_that_cannot_be_fetched_are_503_never_500(
    start_bot: StartBot, channel: ConnectorStub, issuer: Issuer, key_server: tuple[KeyServer, str], outage: str
) -> None:
    _, url = key_server
    run = uuid.uuid4().hex  # botbuilder caches metadata per URL for the whole process
    metadata = ("http://127.0.0.1:9/.well-known/openid-configuration" if outage == "issuer down"
                else f"{url}/{outage}/{run}/.well-known/openid-configuration")
    keys = dict(bot_framework_keys(issuer.url), TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=metadata)
    bot: BotServer = await start_bot(APP_ID=APP_ID, APP_PASSWORD=APP_PASSWORD, bot_framework=keys)
    token = issuer.channel_token(channel.url)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    async with bot.session.post(f"{bot.url}/api/messages", json=teams_message(channel.url, "hello"),
                                headers=headers) as response:
        assert response.status == 503
        assert response.headers.get("Retry-After") == "30"
    assert channel.received == []


async def test_a_key_endpoint_that_never_answers_is_503_in_bounded_time_and_other_requests_go_on(
    start_bot: StartBot, channel: ConnectorStub, issuer: Issuer, key_server: tuple[KeyServer, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.channel.signing_keys.KEY_FETCH_TIMEOUT_S", 0.5)
    _, url = key_server
    metadata = f"{url}/hang/{uuid.uuid4().hex}/.well-known/openid-configuration"
    keys = dict(bot_framework_keys(issuer.url), TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=metadata)
    bot: BotServer = await start_bot(APP_ID=APP_ID, APP_PASSWORD=APP_PASSWORD, bot_framework=keys)

    async def health() -> tuple[int, float]:
        await asyncio.sleep(0.2)  # while the key fetch hangs
        started = time.monotonic()
        async with bot.session.get(f"{bot.url}/healthz") as response:
            return response.status, time.monotonic() - started

    started = time.monotonic()
    status, (health_status, health_s) = await asyncio.gather(
        post(bot, teams_message(channel.url, "hello"), f"Bearer {issuer.channel_token(channel.url)}"), health())
    assert status == 503 and time.monotonic() - started < 2.5
    assert health_status == 200 and health_s < 0.2, "the event loop was blocked by the key fetch"
    assert channel.received == []


async def test_after_a_key_outage_the_next_request_fetches_the_keys_again(
    start_bot: StartBot, channel: ConnectorStub, issuer: Issuer, key_server: tuple[KeyServer, str]
) -> None:
    _, url = key_server
    metadata = f"{url}/recover/{uuid.uuid4().hex}/.well-known/openid-configuration"
    keys = dict(bot_framework_keys(issuer.url), TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=metadata)
    bot: BotServer = await start_bot(APP_ID=APP_ID, APP_PASSWORD=APP_PASSWORD, bot_framework=keys)
    statuses = [await post(bot, teams_message(channel.url, "hello"), f"Bearer {issuer.channel_token(channel.url)}")
                for _ in range(2)]
    assert statuses[0] == 503 and statuses[1] in (200, 201)
    assert len(channel.received) == 1


async def test_single_tenant_accepts_its_tenants_issuer_only(
    start_bot: StartBot, channel: ConnectorStub, issuer: Issuer
) -> None:
    tenant_issuer = f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    keys = dict(bot_framework_keys(issuer.url), TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=tenant_issuer)
    bot: BotServer = await start_bot(APP_ID=APP_ID, APP_PASSWORD=APP_PASSWORD, APP_TYPE="SingleTenant",
                                     APP_TENANTID=TENANT_ID, bot_framework=keys)
    for rejected in (CHANNEL_ISSUER, "https://login.microsoftonline.com/11111111-2222-4333-8444-555555555555/v2.0"):
        token = issuer.channel_token(channel.url, issuer=rejected)
        assert await post(bot, teams_message(channel.url, "hello"), f"Bearer {token}") == 401
    assert channel.received == []
    before = len(issuer.token_requests)
    token = issuer.channel_token(channel.url, issuer=tenant_issuer)
    assert await post(bot, teams_message(channel.url, "hello"), f"Bearer {token}") in (200, 201)
    assert len(channel.received) == 1
    assert len(issuer.token_requests) == before + 1
    assert issuer.token_requests[-1]["client_id"] == APP_ID
    assert channel.authorizations[-1] == f"Bearer {issuer.issued[-1]}"


async def test_user_assigned_managed_identity_validates_tokens_and_signs_replies_with_its_identity(
    start_bot: StartBot, channel: ConnectorStub, issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MSAL finds App Service's managed-identity endpoint through these; here it is the local issuer.
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{issuer.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", MSI_HEADER)
    bot: BotServer = await start_bot(APP_ID=APP_ID, APP_TYPE="UserAssignedMSI", APP_TENANTID=TENANT_ID,
                                     bot_framework=bot_framework_keys(issuer.url))
    asked_before = len(issuer.msi_requests)
    for case in ("unknown key, known key id", "wrong audience", "unsigned (alg none)"):
        token = forged_token(issuer, channel.url, case)
        assert await post(bot, teams_message(channel.url, "hello"), f"Bearer {token}") == 401
    assert channel.received == [] and len(issuer.msi_requests) == asked_before
    token = issuer.channel_token(channel.url)
    assert await post(bot, teams_message(channel.url, "hello"), f"Bearer {token}") in (200, 201)
    assert len(channel.received) == 1
    # MSAL keeps managed-identity tokens in a process-wide cache: an earlier test's token may be reused.
    assert issuer.msi_requests and {r["client_id"] for r in issuer.msi_requests} == {APP_ID}
    used = channel.authorizations[-1]
    assert used is not None and used.startswith("Bearer msi-token-") and used[len("Bearer "):] in issuer.issued


async def test_shutdown_closes_the_connections_kept_for_replies(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    token = issuer.channel_token(channel.url)
    assert await post(secured_bot, teams_message(channel.url, "hello"), f"Bearer {token}") in (200, 201, 202)
    pool = secured_bot.runner.app[SERVICES].authentication.pool
    assert len(pool) == 1 and not pool.closed
    await secured_bot.stop()
    assert pool.closed
    assert len(pool) == 0


async def test_no_secret_token_or_paste_reaches_the_log_at_info(
    start_bot: StartBot, channel: ConnectorStub, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # every logger: ours, botbuilder's, msal's, aiohttp's access log
    bot: BotServer = await start_bot(APP_ID=APP_ID, APP_PASSWORD=APP_PASSWORD,
                                     bot_framework=bot_framework_keys(issuer.url))
    paste = "Zyxqv-7731 quota exceeded on tenant mailbox, paste marker 5c1e"
    valid = issuer.channel_token(channel.url)
    forged = [forged_token(issuer, channel.url, case) for case in TOKEN_CASES]
    assert await post(bot, teams_message(channel.url, paste), f"Bearer {valid}") in (200, 201)
    card = teams_message(channel.url, value={"insightDesk": "no-such-action", "query": paste})
    assert await post(bot, card, f"Bearer {issuer.channel_token(channel.url)}") in (200, 201)
    for token in forged:
        assert await post(bot, teams_message(channel.url, paste), f"Bearer {token}") == 401
    assert len(channel.received) == 2
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "failed authentication" in logged  # the log does say what happened
    secrets = [APP_PASSWORD, valid, *forged, *issuer.issued, paste, "paste marker 5c1e"]
    secrets += [t.split(".")[2] for t in (valid, *forged) if t.count(".") == 2 and t.split(".")[2]]
    assert [s for s in secrets if s in logged] == []


async def test_a_signed_service_url_carrying_a_login_gets_no_reply_and_the_login_is_never_sent(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """Even a channel that signed such a ``serviceUrl``: the connector refuses it before anything is sent."""
    with_login = channel.url.replace("http://", "http://user:secret@")
    status = await post(secured_bot, teams_message(with_login, "hello"), f"Bearer {issuer.channel_token(with_login)}")
    assert status in (200, 201, 202)
    assert channel.received == [] and not [a for a in channel.authorizations if a and a.startswith("Basic")]
    assert any("carries a login" in r.getMessage() for r in caplog.records) and "secret" not in caplog.text
