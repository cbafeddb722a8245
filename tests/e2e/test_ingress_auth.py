"""With authentication on, the token is checked before the body is read: an unauthenticated sender costs
no body read and no parse, and the big bodies an authenticated channel sends are parsed once, off the loop.

The local OpenID issuer of ``test_auth`` signs the channel tokens; nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import threading
import time
from typing import Any

import pytest

from bot.app import MAX_BODY_BYTES
from bot.channel.ingress import MAX_FIELDS
from tests.e2e.conftest import BotServer, ConnectorStub, teams_message
from tests.e2e.test_auth import Issuer, channel, issuer, only_loopback, rsa_key, secured_bot

SHARED_FIXTURES = (channel, issuer, only_loopback, secured_bot)
"""``test_auth``'s local issuer, the bot that trusts it and the loopback guard, used here by name."""

KEYS = 420_000
"""Keys in the big bodies: the CPU of parsing them is what an unauthenticated sender must not cost."""


def many_keys(service_url: str, keys: int = KEYS) -> bytes:
    """A message activity padded with ``keys`` extra top-level keys, under the 8 MB limit."""
    activity: dict[str, Any] = teams_message(service_url, "hello")
    activity.update({f"k{i}": i for i in range(keys)})
    body = json.dumps(activity, separators=(",", ":")).encode()
    assert len(body) < MAX_BODY_BYTES
    return body


async def status_after_partial_body(bot: BotServer, authorization: str | None, body: bytes,
                                    sent: int = 64 * 1024, wait_s: float = 10.0) -> int | None:
    """POST declaring ``body``'s full length but sending only its first ``sent`` bytes; the status the bot
    answers within ``wait_s`` with the rest never sent, or ``None`` if it waited for the rest."""
    host, port = bot.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = ["POST /api/messages HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
            f"Content-Length: {len(body)}"]
    if authorization is not None:
        head.append(f"Authorization: {authorization}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body[:sent])
    await writer.drain()
    try:
        status_line = await asyncio.wait_for(reader.readline(), wait_s)
    except TimeoutError:
        return None
    finally:
        writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize("authorization", [None, "", "Bearer garbage", "Bearer a.b.c", "unknown key"])
async def test_without_a_valid_token_the_401_comes_before_the_body_is_read(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer, authorization: str | None
) -> None:
    if authorization == "unknown key":
        authorization = f"Bearer {issuer.channel_token(channel.url, key=rsa_key())}"
    body = many_keys(channel.url)
    assert await status_after_partial_body(secured_bot, authorization, body) == 401
    assert channel.received == []


async def test_a_valid_token_lets_the_body_be_read_and_answered(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    token = f"Bearer {issuer.channel_token(channel.url)}"
    body = many_keys(channel.url, keys=1000)
    # With a valid token the bot waits for the rest of the body: it never answers from half of it.
    assert await status_after_partial_body(secured_bot, token, body, sent=len(body) // 2, wait_s=1.0) is None
    headers = {"Content-Type": "application/json", "Authorization": token}
    async with secured_bot.session.post(f"{secured_bot.url}/api/messages", data=body, headers=headers) as response:
        assert response.status in (200, 201)
    assert len(channel.received) == 1


async def test_a_valid_token_with_a_body_over_the_limit_is_413(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    token = f"Bearer {issuer.channel_token(channel.url)}"
    oversized = json.dumps(teams_message(channel.url, "x" * (MAX_BODY_BYTES + 10))).encode()
    assert await status_after_partial_body(secured_bot, token, oversized) == 413
    assert channel.received == []


class HealthProbe:
    """Asks ``/healthz`` every 20 ms from a thread of its own, outside the bot's event loop: a loop blocked
    while a probe waits for its answer shows as that probe's latency, whenever it happens."""

    def __init__(self, url: str) -> None:
        self.address = url.removeprefix("http://").split(":")
        self.latencies: list[float] = []
        self.statuses: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-probe", daemon=True)

    def _run(self) -> None:
        host, port = self.address
        while not self._stop.is_set():
            connection = http.client.HTTPConnection(host, int(port), timeout=60)
            started = time.perf_counter()
            try:
                connection.request("GET", "/healthz")
                self.statuses.add(connection.getresponse().status)
            finally:
                connection.close()
            self.latencies.append(time.perf_counter() - started)
            self._stop.wait(0.02)

    def start(self) -> HealthProbe:
        self._thread.start()
        return self

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 60)  # its last probe needs the loop to be answered


async def test_healthz_keeps_answering_while_big_authenticated_bodies_arrive(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    token = f"Bearer {issuer.channel_token(channel.url)}"
    bodies = [many_keys(channel.url) for _ in range(3)]

    async def send(body: bytes) -> int:
        headers = {"Content-Type": "application/json", "Authorization": token}
        async with secured_bot.session.post(f"{secured_bot.url}/api/messages", data=io.BytesIO(body),
                                            headers=headers) as response:
            return response.status

    started = time.perf_counter()
    probe = HealthProbe(secured_bot.url).start()
    try:
        statuses = await asyncio.gather(*(send(b) for b in bodies))
    finally:
        await probe.stop()
    elapsed = time.perf_counter() - started
    # more keys than any activity has: refused after a scan of the bytes, never parsed
    assert statuses == [400, 400, 400] and probe.statuses == {200}
    assert channel.received == []
    latencies = probe.latencies
    print(f"\n3 authenticated bodies of {KEYS} keys ({len(bodies[0]) / 1e6:.1f} MB): {elapsed:.2f} s;"
          f" /healthz answered {len(latencies)} times, slowest {max(latencies):.3f} s")
    # A stall guard, not a timing claim: parsed on the loop (twice, as before), the three bodies held /healthz
    # 8-17 s; parsed in a worker thread, up to one whole json.loads (0.4-2 s under load); refused, one scan.
    assert max(latencies) < 2.0


async def test_a_body_with_more_fields_than_any_activity_is_refused_and_one_with_many_is_answered(
    secured_bot: BotServer, channel: ConnectorStub, issuer: Issuer
) -> None:
    token = f"Bearer {issuer.channel_token(channel.url)}"
    headers = {"Content-Type": "application/json", "Authorization": token}
    for keys, status in ((MAX_FIELDS + 1, 400), (MAX_FIELDS - 100, 201)):
        async with secured_bot.session.post(f"{secured_bot.url}/api/messages", data=many_keys(channel.url, keys),
                                            headers=headers) as response:
            assert response.status == status, keys
            if status == 400:
                assert f"more than {MAX_FIELDS} fields" in (await response.json())["reason"]
    assert len(channel.received) == 1  # the reply to the one with many, but not too many, fields
