"""Property-based fuzzing of the whole endpoint: random activities into ``python -m bot serve``.

The bot runs as its own process (so its resident memory can be read) with a connector stub on a
thread. Every example must get a non-5xx answer within ``TURN_LIMIT_S`` (the reply, if any, has
reached the stub by then: the adapter answers the POST after the turn); after a warm-up, the
server's resident memory may grow by at most ``RSS_GROWTH_LIMIT_KB`` over the whole run. The number
of examples is ``FUZZ_EXAMPLES`` (``tests/fuzz_budget.py``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from tests.activity_strategies import activities
from tests.e2e.server_process import ServerProcess, start_server
from tests.e2e.threaded_connector import ThreadedConnector, threaded_connector
from tests.fuzz_budget import fuzz_examples, fuzz_settings

TURN_LIMIT_S = 1.0
RSS_GROWTH_LIMIT_KB = 24 * 1024
WARMUP = 300


@pytest.fixture(scope="module")
def stub() -> Iterator[ThreadedConnector]:
    with threaded_connector() as connector:
        yield connector


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("fuzz-server")
    process = start_server(folder / "state.db", folder / "server.log", env={"RATE_LIMIT_PER_MINUTE": "0"})
    yield process
    process.stop()


def post(session: requests.Session, server: ServerProcess, body: bytes) -> tuple[int, float]:
    started = time.perf_counter()
    response = session.post(f"{server.url}/api/messages", data=body,
                            headers={"Content-Type": "application/json"}, timeout=30)
    return response.status_code, time.perf_counter() - started


def _first_traceback(log: str) -> str:
    """The first traceback in the server's log: the line before it, its last frames and the exception."""
    lines = log[log.index("Traceback") :].splitlines()
    end = next((i for i, line in enumerate(lines[1:], 1) if not line.startswith(" ")), len(lines) - 1)
    return "\n".join(lines[max(1, end - 6) : end + 1])


RAW_BODIES = st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))


def test_random_activities_get_no_5xx_no_slow_turn_and_memory_stays_flat(
    server: ServerProcess, stub: ThreadedConnector
) -> None:
    session = requests.Session()
    warm = json.dumps({"type": "message", "serviceUrl": stub.url, "conversation": {"id": "a:warm"},
                       "from": {"id": "29:warm"}, "recipient": {"id": "28:bot"}, "channelId": "msteams",
                       "channelData": {"tenant": {"id": "t-1"}},
                       "text": "Ett fel uppstod vid validering av åtkomsttoken"}).encode()
    for _ in range(WARMUP):
        assert post(session, server, warm)[0] in (200, 201)
    rss_before = server.rss_kb()
    statuses: Counter[int] = Counter()
    slowest: list[float] = [0.0]

    @fuzz_settings()
    @given(activity=activities(stub.url), raw=st.one_of(st.none(), st.none(), st.none(), RAW_BODIES))
    def one(activity: dict[str, Any], raw: bytes | None) -> None:
        body = raw if raw is not None else json.dumps(activity).encode()
        status, seconds = post(session, server, body)
        statuses[status] += 1
        slowest[0] = max(slowest[0], seconds)
        assert status < 500, f"{status} for {body[:300]!r}"
        assert seconds < TURN_LIMIT_S, f"{seconds:.2f} s for {body[:300]!r}"

    one()
    assert server.alive(), server.log_tail()
    rss_after = server.rss_kb()
    examples = sum(statuses.values())
    print(f"\nfuzzed {examples} requests (budget {fuzz_examples()}): statuses {dict(sorted(statuses.items()))},"
          f" slowest {slowest[0] * 1000:.0f} ms, replies {len(stub.replies())},"
          f" server RSS {rss_before} -> {rss_after} KiB ({rss_after - rss_before:+d})")
    assert rss_after - rss_before < RSS_GROWTH_LIMIT_KB
    # The server still answers a real question after all that.
    before = len(stub.replies())
    assert post(session, server, warm)[0] in (200, 201)
    assert len(stub.replies()) == before + 1
    log = Path(server.log).read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, _first_traceback(log)
