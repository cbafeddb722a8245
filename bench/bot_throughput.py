"""End-to-end throughput of Insight Desk against the canonical botbuilder echo bot, in the same run.

    python -m bench.bot_throughput [--shared ../shared] [--rounds 3] [--seconds 10] [--kb DIR ...]

Each bot runs in its own process bound to 127.0.0.1 on a free port; this process hosts a connector
stub (the channel's ``serviceUrl``) and the load generator: 50 conversations at once, each a
closed loop (the next message only after the reply reached the stub and the POST was answered),
texts and client locales drawn from the eval set. Contenders:

- ``echo``: the canonical echo bot (``bench.echo_bot``, CloudAdapter, empty credentials);
- ``echo+reuse``: the same echo bot with ``bot.channel.connector``'s client reuse, nothing else changed;
- ``insight``: ``python -m bot serve`` (the real bot: engine, cards, SQLite state), when present.

Rounds alternate (A B C A B C ...), each bounded in time and count, after one unmeasured warm-up
per bot. Reports replies/s, p50/p99 latency, bot CPU per reply, and ratios to the echo bot.
Asserts nothing; every process it starts is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.loopback import (
    Query,
    RoundResult,
    free_port,
    load_queries,
    percentile,
    run_round,
    running_stub,
    wait_until_listening,
)

REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Contender:
    """One bot to measure: how to start it and how long it may take to come up."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]
    startup_s: float = 60.0


@dataclass
class Running:
    """A started bot process."""

    contender: Contender
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU the bot process has used so far."""
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def insight_available() -> bool:
    """Whether the real bot's app factory exists in this checkout."""
    return (REPO / "bot" / "app.py").exists()


def contenders(names: Sequence[str], kb: Sequence[str], state_dir: Path) -> list[Contender]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "MICROSOFT"))}
    base_env["PYTHONPATH"] = str(REPO)
    made: list[Contender] = []
    for name in names:
        if name == "echo":
            made.append(Contender(name, (sys.executable, "-m", "bench.echo_bot"), base_env))
        elif name == "echo+reuse":
            made.append(Contender(name, (sys.executable, "-m", "bench.echo_bot", "--connector", "reuse"),
                                  base_env))
        elif name == "insight":
            env = dict(base_env, STATE_STORE=f"sqlite:///{state_dir / 'insight-bench.db'}", MicrosoftAppId="",
                       RATE_LIMIT_PER_MINUTE="0",  # closed loops far above a person's pace
                       MicrosoftAppPassword="")
            if kb:
                env["KB_PATH"] = os.pathsep.join(kb)
            made.append(Contender(name, (sys.executable, "-m", "bot", "serve"), env, startup_s=180.0))
        else:
            raise ValueError(f"unknown contender {name!r}")
    return made


def start(contender: Contender, log_dir: Path) -> Running:
    port = free_port()
    argv = list(contender.argv)
    env = dict(contender.env, HOST="127.0.0.1", PORT=str(port))
    if contender.name.startswith("echo"):
        argv += ["--port", str(port)]
    log = log_dir / f"{contender.name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Running(contender, process, port, log)


def stop(running: Running) -> None:
    """Stop one bot by its PID: SIGTERM, then SIGKILL if it lingers."""
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGTERM)
        try:
            running.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait(timeout=10)


@contextlib.contextmanager
def started(contenders_: Sequence[Contender], log_dir: Path) -> Iterator[list[Running]]:
    runs: list[Running] = []
    try:
        for contender in contenders_:
            runs.append(start(contender, log_dir))
        yield runs
    finally:
        for running in runs:
            stop(running)


@dataclass
class Tally:
    """Everything measured for one bot over all its rounds."""

    replies: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, result: RoundResult, cpu: float, kinds: Counter[str]) -> None:
        self.replies += result.replies
        self.errors += result.errors
        self.seconds += result.seconds
        self.cpu_seconds += cpu
        self.latencies_ms += result.latencies_ms
        self.rounds.append(result.per_second)
        self.kinds.update(kinds)

    @property
    def per_second(self) -> float:
        return self.replies / self.seconds if self.seconds else 0.0


async def measure(
    runs: Sequence[Running], queries: Sequence[Query], args: argparse.Namespace, deadline: float
) -> dict[str, Tally]:
    tallies = {r.contender.name: Tally() for r in runs}
    async with running_stub() as (stub, service_url):
        for running in runs:
            remaining = max(1.0, min(running.contender.startup_s, deadline - time.monotonic()))
            try:
                await wait_until_listening(running.port, remaining, running.alive)
            except TimeoutError as e:
                tail = running.log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise SystemExit(f"{running.contender.name} did not start ({e}); its log ends:\n{tail}") from None
            await run_round(running.url, stub, service_url, queries, conversations=args.conversations,
                            seconds=args.warmup, max_messages=args.max_messages, id_prefix="warmup")
            print(f"  {running.contender.name}: listening on {running.port}, warmed up", file=sys.stderr)
        offset = 0
        for round_no in range(args.rounds):
            for running in runs:
                if time.monotonic() + args.seconds > deadline:
                    print("  deadline reached; stopping early", file=sys.stderr)
                    return tallies
                cpu_before = running.cpu_seconds()
                kinds_before = Counter(stub.kinds)
                result = await run_round(
                    running.url, stub, service_url, queries, conversations=args.conversations,
                    seconds=args.seconds, max_messages=args.max_messages, first_query=offset,
                    id_prefix=f"r{round_no}")
                tallies[running.contender.name].add(result, running.cpu_seconds() - cpu_before,
                                                    stub.kinds - kinds_before)
                print(f"  round {round_no + 1} {running.contender.name:<11} {result.per_second:8.1f} replies/s"
                      f" ({result.replies} replies, {result.errors} errors)", file=sys.stderr)
            offset += args.max_messages
    return tallies


def report(tallies: dict[str, Tally], conversations: int) -> str:
    baseline = tallies.get("echo")
    lines = [f"End-to-end replies over loopback, {conversations} concurrent conversations (closed loop)",
             f"{'bot':<12}{'replies/s':>10}{'ratio':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/reply':>14}"
             f"{'replies':>9}{'errors':>8}  per round"]
    for name, t in tallies.items():
        if not t.replies:
            lines.append(f"{name:<12}{'no replies':>10}  errors {t.errors}")
            continue
        lat = t.latencies_ms
        ratio = t.per_second / baseline.per_second if baseline and baseline.per_second else float("nan")
        per_round = " ".join(f"{r:.0f}" for r in t.rounds)
        lines.append(f"{name:<12}{t.per_second:>10.1f}{ratio:>7.2f}x{percentile(lat, 0.5):>9.1f}"
                     f"{percentile(lat, 0.99):>9.1f}{1000 * t.cpu_seconds / t.replies:>14.2f}"
                     f"{t.replies:>9}{t.errors:>8}  {per_round}")
    if baseline and baseline.rounds:
        paired = {name: [r / b for r, b in zip(t.rounds, baseline.rounds, strict=False) if b]
                  for name, t in tallies.items() if t is not baseline}
        lines.append("ratio to echo per round (alternating, same run): " + "; ".join(
            f"{name} " + " ".join(f"{r:.2f}" for r in ratios) for name, ratios in paired.items()))
    lines.append("replies by kind: " + "; ".join(
        f"{name}: " + ", ".join(f"{kind.rsplit('.', 1)[-1]} {n}" for kind, n in t.kinds.most_common())
        for name, t in tallies.items()))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--texts", type=Path, help="eval JSON Lines to draw texts from (default: dev-sxs)")
    parser.add_argument("--kb", action="append", default=[], help="KB folder for the real bot (repeatable;"
                        " default: the bundled articles)")
    parser.add_argument("--bots", default="echo,echo+reuse,insight",
                        help="comma-separated contenders (echo, echo+reuse, insight)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one round")
    parser.add_argument("--max-messages", type=int, default=5000, help="messages per round at most")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per bot first")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=600.0, help="hard limit for the whole run, seconds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    deadline = time.monotonic() + args.deadline
    texts = args.texts or args.shared / "eval" / "dev-sxs.jsonl"
    queries = load_queries(str(texts))
    names = [n.strip() for n in args.bots.split(",") if n.strip()]
    if "insight" in names and not insight_available():
        print("  bot/app.py not found: measuring the echo bots only", file=sys.stderr)
        names.remove("insight")
    with tempfile.TemporaryDirectory(prefix="insight-bench-") as tmp, \
            started(contenders(names, args.kb, Path(tmp)), Path(tmp)) as runs:
        tallies = asyncio.run(measure(runs, queries, args, deadline))
        for running in runs:
            if running.process.poll() is not None:
                print(f"  {running.contender.name} exited early ({running.process.returncode})", file=sys.stderr)
    print(report(tallies, args.conversations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
