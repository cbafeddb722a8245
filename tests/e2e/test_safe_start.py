"""Unsafe by default no more: a network ``HOST`` without authentication needs an explicit lab switch, and
without authentication the bot replies only to loopback or the ``serviceUrl`` origins it was told to.

Every test here runs under the loopback guard: an activity naming a metadata endpoint or a private
address must be refused before any lookup or connection, and the guard records any attempt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botbuilder.schema import ActivityTypes
from botframework.connector import Channels
from prometheus_client.parser import text_string_to_metric_families

from bot.channel.service_urls import parse_allowed_service_urls
from services import free_port
from tests.e2e.conftest import BotServer, ConnectorStub, StartBot, teams_message
from tests.e2e.loopback_guard import loopback_only
from tests.e2e.server_process import PASSED_THROUGH, REPO, start_server

SWEDISH_PASTE = "Ett fel uppstod vid validering av åtkomsttoken"
KNOWN_ACTIVITY_TYPES = frozenset(t.value for t in ActivityTypes)
KNOWN_CHANNELS = frozenset(c.value for c in Channels)
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                   "no_proxy", "NO_PROXY", "NETRC")


@pytest.fixture(autouse=True)
def only_loopback() -> Iterator[list[str]]:
    with loopback_only() as refused:
        yield refused
    assert refused == [], f"tried to leave loopback: {refused}"


# -- refusing to start -------------------------------------------------------------------------------


def serve(tmp_path: Path, env: dict[str, str], timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``python -m bot serve`` with a clean environment plus ``env``; killed after ``timeout_s`` if it serves."""
    environment = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
    environment.update({"PORT": str(free_port()), "KB_CACHE_DIR": "", "PYTHONPATH": str(REPO),
                        "STATE_STORE": f"sqlite:///{tmp_path / 'state.db'}", **env})
    return subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=tmp_path, env=environment, text=True,
                          capture_output=True, timeout=timeout_s, stdin=subprocess.DEVNULL, check=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_network_host_without_an_app_id_refuses_to_start_with_one_line_saying_how_to_proceed(
    tmp_path: Path, host: str
) -> None:
    finished = serve(tmp_path, {"HOST": host})
    assert finished.returncode != 0
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("error: ") and f"HOST={host}" in lines[0]
    assert "MicrosoftAppId" in lines[0] and "ALLOW_UNAUTHENTICATED=true" in lines[0]
    assert "listening" not in finished.stdout


def test_a_network_host_with_allow_unauthenticated_starts_and_warns(tmp_path: Path) -> None:
    server = start_server(tmp_path / "state.db", tmp_path / "bot.log",
                          env={"HOST": "0.0.0.0", "ALLOW_UNAUTHENTICATED": "true"})
    try:
        assert server.alive()
    finally:
        server.stop()
    warnings = [line for line in server.output().splitlines() if "WARNING" in line]
    assert any("authentication is OFF" in line and "HOST=0.0.0.0" in line for line in warnings), server.output()


async def test_a_lab_server_warns_again_on_every_hundredth_request(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.channel.ingress")
    bot = await start_bot(host="0.0.0.0", allow_unauthenticated=True)
    for _ in range(250):
        assert await bot.post({}) == 400
    said = [r.getMessage() for r in caplog.records if "authentication is OFF" in r.getMessage()]
    assert len(said) == 3, said  # at start, after 100 and after 200
    assert "(100 requests so far)" in said[1] and "(200 requests so far)" in said[2]


async def test_a_lab_server_reads_bodies_up_to_256_kb_and_a_loopback_one_up_to_8_mb(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    lab = await start_bot(host="0.0.0.0", allow_unauthenticated=True)
    developer = await start_bot()
    big = teams_message(connector.url, SWEDISH_PASTE + " " + "x" * 300_000)
    assert await lab.post(big) == 413
    assert connector.received == []
    assert await lab.post(teams_message(connector.url, SWEDISH_PASTE + " " + "x" * 100_000)) in (200, 201)
    assert await developer.post(big) in (200, 201)
    assert len(connector.received) == 2


# -- where replies may go without authentication ---------------------------------------------------------


def with_port(url: str, stub: ConnectorStub) -> str:
    return url.format(port=stub.url.rsplit(":", 1)[1])


REFUSED_SERVICE_URLS = [
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://10.0.0.1/",
    "http://user:pw@127.0.0.1:{port}/",
    "http://0x7f.1:{port}/",
    "http://127.1:{port}/",
    "http://2130706433:{port}/",
    "https://smba.trafficmanager.net/amer/",
]


@pytest.mark.parametrize("service_url", REFUSED_SERVICE_URLS)
async def test_without_authentication_a_service_url_off_loopback_or_ambiguous_is_refused_and_nothing_is_sent(
    start_bot: StartBot, connector: ConnectorStub, caplog: pytest.LogCaptureFixture, service_url: str
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    bot = await start_bot()
    status = await bot.post(teams_message(with_port(service_url, connector), SWEDISH_PASTE))
    assert status == 403
    await asyncio.sleep(0.2)  # a turn that slipped through would be sending its reply by now
    assert connector.received == []
    assert "refused an unauthenticated activity" in caplog.text and "is not allowed" in caplog.text
    assert "pw@" not in caplog.text
    # The loopback stub itself is still answered.
    assert await bot.post(teams_message(connector.url, SWEDISH_PASTE)) in (200, 201)
    assert len(connector.received) == 1


async def test_a_service_url_listed_in_allowed_service_urls_is_answered_and_another_origin_is_not(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    relayed: list[str] = []

    async def relay(request: web.Request) -> web.Response:
        relayed.append(str(request.url))
        return web.json_response({"id": f"relayed-{len(relayed)}"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", relay)
    proxy = TestServer(app, host="127.0.0.1")
    await proxy.start_server()
    try:
        # The listed name resolves nowhere: replies reach it only through an HTTP proxy on loopback.
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        listed = "http://connector.lab.test:8123/emea"
        bot: BotServer = await start_bot(allowed_service_urls=parse_allowed_service_urls(listed))
        assert await bot.post(teams_message(listed + "/", SWEDISH_PASTE)) in (200, 201)
        assert len(relayed) == 1
        assert relayed[0].startswith("http://connector.lab.test:8123/emea/v3/conversations/")
        for other in ("http://connector.lab.test:8124/emea/", "http://connector.lab.test:8123/amer/",
                      "https://connector.lab.test:8123/emea/", "http://connector.lab.test.evil:8123/emea/",
                      "http://connector.lab.test:8123/emea/../amer/", "http://connector.lab.test:8123/emeax/"):
            assert await bot.post(teams_message(other, SWEDISH_PASTE)) == 403, other
        assert len(relayed) == 1
    finally:
        await proxy.close()


# -- bounded metric labels ----------------------------------------------------------------------------


async def test_invented_activity_types_and_channels_do_not_grow_the_metrics(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    invented = [dict(teams_message(connector.url), type=f"made-up-{i}", channelId=f"channel-{i % 500}")
                for i in range(2000)]
    for start in range(0, len(invented), 25):
        statuses = await asyncio.gather(*(bot.post(a) for a in invented[start:start + 25]))
        assert set(statuses) <= {200, 201}
    async with bot.session.get(f"{bot.url}/metrics") as response:
        exposition = await response.text()
    counted = [sample for family in text_string_to_metric_families(exposition) for sample in family.samples
               if sample.name == "insight_desk_activities_total"]
    types = {sample.labels["type"] for sample in counted}
    channels = {sample.labels["channel"] for sample in counted}
    assert types <= KNOWN_ACTIVITY_TYPES | {"other", "unknown"}, types
    assert channels <= KNOWN_CHANNELS | {"other", "unknown"}, channels
    assert sum(sample.value for sample in counted if sample.labels["type"] == "other") == 2000
    assert len(exposition) < 64 * 1024
