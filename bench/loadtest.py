"""Load test: many concurrent conversations against the real bot process, counting every reply.

    python -m bench.loadtest [--conversations 200] [--messages 50] [--kb DIR] [--deadline 900]

Starts ``python -m bot serve`` on a free 127.0.0.1 port (SQLite state in a temporary folder, the
rate limit off) and a connector stub in this process (``bench.loopback``). Each conversation is a
closed loop of ``--messages`` messages: the next goes out once the reply to the previous one reached
the stub. Texts and client locales come from the eval set (``dev-sxs.jsonl``: many locales, and
answer, suggest and not-found paths); every ``--escalate-every``-th message of a conversation is the
"Talk to a person" button instead, whose record is counted in the state file afterwards.

Fails (exit 1) unless every message got exactly one reply, no request failed, every "not found" was
recorded once and every escalation was recorded exactly once. Prints throughput, p50/p99 latency and
what the replies were. Loopback only; bounded by ``--deadline``; the bot process is stopped by PID at
the end.

Escalation hook: ``escalation_value`` builds the card data a "Talk to a person" click sends and
``count_escalations`` counts what the store kept. When tickets replace the feedback record, change
those two functions (and nothing else) to send the ticket action and count ticket rows.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

from bench.loopback import (
    REPLY_TIMEOUT_S,
    ConnectorStub,
    Query,
    free_port,
    load_queries,
    percentile,
    teams_message,
    wait_until_listening,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bot.strings import CATALOG  # noqa: E402  # the catalog tells the reply kinds apart

SUGGEST_TITLES = {entry["did_you_mean"] for entry in CATALOG.values()}
NOT_FOUND_TEXTS = {entry["not_found"] for entry in CATALOG.values()}
ESCALATED_TEXTS = {entry["escalated"] for entry in CATALOG.values()}
EVAL_KB = Path("/tmp/insight-kb/sxs")


def escalation_value(query: Query) -> dict[str, Any]:
    """The data of the "Talk to a person" button for ``query`` (the hook for tickets)."""
    return {"insightDesk": "escalate", "query": query.text[:200], "language": query.locale or "en-US"}


def count_escalations(state: Path) -> int:
    """How many requests for a person the store kept (the hook for tickets)."""
    return count_feedback(state, "escalated")


def count_feedback(state: Path, kind: str) -> int:
    with sqlite3.connect(state) as db:
        row = db.execute("SELECT COUNT(*) FROM feedback WHERE kind = ?", (kind,)).fetchone()
    return int(row[0])


class ClassifyingStub(ConnectorStub):
    """``bench.loopback``'s stub that also sorts the replies: answer, suggestions, not found, escalated."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: Counter[str] = Counter()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        attachments = body.get("attachments") or []
        card = attachments[0].get("content") if attachments else None
        first = (card.get("body") or [{}])[0].get("text") if isinstance(card, dict) else None
        if first in SUGGEST_TITLES:
            self.paths["suggestions"] += 1
        elif first in NOT_FOUND_TEXTS:
            self.paths["not found"] += 1
        elif body.get("text") in ESCALATED_TEXTS:
            self.paths["escalation confirmed"] += 1
        elif card is not None:
            self.paths["answer"] += 1
        else:
            self.paths["other: " + str(body.get("text"))[:60]] += 1
        return await super()._receive(request)


@dataclass
class Tally:
    sent: int = 0
    replied: int = 0
    lost: int = 0
    failed_posts: int = 0
    escalations_sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)


async def drive(bot_url: str, stub: ConnectorStub, service_url: str, queries: Sequence[Query], *,
                conversations: int, messages: int, escalate_every: int, deadline: float) -> tuple[Tally, float]:
    tally = Tally()
    picks = itertools.count()
    started = time.perf_counter()

    async def conversation(number: int, session: ClientSession) -> None:
        for sequence in range(1, messages + 1):
            if time.monotonic() > deadline:
                return
            query = queries[next(picks) % len(queries)]
            activity_id = f"load-{number}-{sequence}"
            activity = teams_message(service_url, number, activity_id, query.text, query.locale)
            if escalate_every and sequence % escalate_every == 0:
                activity["text"] = ""
                activity["value"] = escalation_value(query)
                tally.escalations_sent += 1
            waiter = stub.expect(activity_id)
            sent = time.perf_counter()
            tally.sent += 1
            try:
                async with session.post(bot_url, json=activity) as response:
                    await response.read()
                    tally.statuses[response.status] += 1
                    ok = response.status < 300
            except (ClientError, TimeoutError):
                ok = False
            if not ok:
                tally.failed_posts += 1
                stub.forget(activity_id)
                continue
            try:
                arrived = await asyncio.wait_for(waiter, REPLY_TIMEOUT_S)
            except TimeoutError:
                tally.lost += 1
                stub.forget(activity_id)
                continue
            tally.replied += 1
            tally.latencies_ms.append((arrived - sent) * 1000)

    connector = TCPConnector(limit=conversations)
    async with ClientSession(connector=connector, timeout=ClientTimeout(total=REPLY_TIMEOUT_S)) as session:
        await asyncio.gather(*(conversation(n, session) for n in range(conversations)))
    return tally, time.perf_counter() - started


def start_bot(state: Path, log: Path, kb: Sequence[str], port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "MICROSOFT"))}
    env.update(HOST="127.0.0.1", PORT=str(port), STATE_STORE=f"sqlite:///{state}", RATE_LIMIT_PER_MINUTE="0",
               LOG_LEVEL="WARNING", PYTHONPATH=str(REPO), KB_CACHE_DIR=str(REPO / "var" / "kb-cache"))
    if kb:
        env["KB_PATH"] = os.pathsep.join(kb)
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def run(args: argparse.Namespace, queries: Sequence[Query], state: Path, log: Path) -> int:
    deadline = time.monotonic() + args.deadline
    port = free_port()
    process = start_bot(state, log, args.kb, port)
    try:
        await wait_until_listening(port, min(args.startup, args.deadline), lambda: process.poll() is None)
        stub = ClassifyingStub()
        runner = web.AppRunner(stub.app(), access_log=None)
        await runner.setup()
        stub_port = free_port()
        await web.TCPSite(runner, "127.0.0.1", stub_port).start()
        service_url = f"http://127.0.0.1:{stub_port}/"
        try:
            url = f"http://127.0.0.1:{port}/api/messages"
            tally, seconds = await drive(url, stub, service_url, queries, conversations=args.conversations,
                                         messages=args.messages, escalate_every=args.escalate_every,
                                         deadline=deadline)
            await asyncio.sleep(0.5)  # late duplicates, if any, would arrive now
            replies, kinds = stub.replies, Counter(stub.kinds)
        finally:
            await runner.cleanup()
    finally:
        stop(process)
    expected = args.conversations * args.messages
    escalations = count_escalations(state) if state.exists() else 0
    unanswered = count_feedback(state, "unanswered") if state.exists() else 0
    lat = tally.latencies_ms
    print(f"load: {args.conversations} conversations x {args.messages} messages = {expected} planned,"
          f" {tally.sent} sent in {seconds:.1f} s ({tally.replied / seconds if seconds else 0:.1f} replies/s)")
    print(f"latency: p50 {percentile(lat, 0.5):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms,"
          f" max {max(lat) if lat else float('nan'):.1f} ms")
    print(f"replies: {tally.replied} matched, {replies} received at the stub, {tally.lost} lost,"
          f" {tally.failed_posts} failed posts; HTTP statuses {dict(sorted(tally.statuses.items()))}")
    print("reply kinds: " + ", ".join(f"{kind.rsplit('.', 1)[-1]} {n}" for kind, n in kinds.most_common())
          + "; paths: " + ", ".join(f"{path} {n}" for path, n in stub.paths.most_common())
          + f"; {unanswered} recorded as unanswered")
    print(f"escalations: {tally.escalations_sent} sent, {escalations} recorded")
    problems = []
    if tally.sent != expected:
        problems.append(f"only {tally.sent} of {expected} messages were sent before the deadline")
    if tally.lost or tally.failed_posts:
        problems.append(f"{tally.lost} replies lost, {tally.failed_posts} posts failed")
    if replies != tally.sent:
        problems.append(f"{replies} replies for {tally.sent} messages (duplicates or strays)")
    if unanswered != stub.paths["not found"]:
        problems.append(f"{stub.paths['not found']} 'not found' replies but {unanswered} recorded as unanswered")
    if escalations != tally.escalations_sent:
        problems.append(f"{escalations} escalations recorded for {tally.escalations_sent} sent")
    errors = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if " ERROR " in line]
    if errors:
        problems.append(f"{len(errors)} errors in the bot's log, first: {errors[0][:200]}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print("PASS: every message answered once, no errors, every not-found and escalation recorded once")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--texts", type=Path, help="eval JSON Lines to draw texts from (default: dev-sxs)")
    parser.add_argument("--kb", action="append", default=None,
                        help=f"KB folder (repeatable; default: {EVAL_KB} when present, else the bundled articles)")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50, help="messages per conversation")
    parser.add_argument("--escalate-every", type=int, default=10, help="every Nth message is 'Talk to a person'"
                        " (0: never)")
    parser.add_argument("--startup", type=float, default=300.0, help="seconds the bot may take to load")
    parser.add_argument("--deadline", type=float, default=900.0, help="hard limit for the whole run, seconds")
    args = parser.parse_args(argv)
    if args.kb is None:
        args.kb = [str(EVAL_KB)] if EVAL_KB.is_dir() else []
    queries = load_queries(str(args.texts or args.shared / "eval" / "dev-sxs.jsonl"))
    print(f"texts: {len(queries)} from the eval set, {len({q.locale for q in queries})} locales;"
          f" KB: {', '.join(args.kb) or 'bundled'}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="insight-load-") as tmp:
        return asyncio.run(run(args, queries, Path(tmp) / "state.db", Path(tmp) / "bot.log"))


if __name__ == "__main__":
    sys.exit(main())
