"""State-store benchmark: one UserState-sized item written and read back, per backend, against botbuilder's
``MemoryStorage`` measured in the same run.

    python -m bench.storage_bench [--ops 2000] [--concurrency 16]

Redis and Azurite are installed and started on loopback by ``services`` (as the tests do) and
stopped afterwards. Each backend runs ``--ops`` write-then-read pairs on distinct keys from
``--concurrency`` tasks (Blob a tenth of them: one HTTP request per item). Printed: pairs per second,
p50 and p99 of one pair, and the ratio of pairs per second to MemoryStorage's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from botbuilder.core import MemoryStorage, Storage

from bot.stores import aclose_storage
from bot.stores.blob import create_blob_storage
from bot.stores.redis import RedisStorage
from bot.stores.sqlite import SqliteStorage
from services import azurite_blob, redis_server

ITEM = {"InsightDeskLanguage": "sv-SE", "InsightDeskWelcomed": True, "notes": "x" * 400}


async def measure(storage: Storage, ops: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = list(range(ops))

    async def worker() -> None:
        while queue:
            n = queue.pop()
            key = f"msteams/users/29:user-{n}"
            started = time.perf_counter()
            await storage.write({key: dict(ITEM)})
            found = await storage.read([key])
            assert found[key]["InsightDeskLanguage"] == "sv-SE"
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ops / (time.perf_counter() - started), latencies


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        redis = stack.enter_context(redis_server(folder / "redis"))
        azurite = stack.enter_context(azurite_blob(folder / "azurite"))
        backends: list[tuple[str, Callable[[], Storage], int]] = [
            ("memory (baseline)", MemoryStorage, args.ops),
            ("sqlite", lambda: SqliteStorage(folder / "state.db"), args.ops),
            ("redis", lambda: RedisStorage(redis.url, prefix=f"bench-{uuid.uuid4().hex[:6]}:"), args.ops),
            ("blob (azurite)", lambda: create_blob_storage(f"azureblob://bench-{uuid.uuid4().hex[:8]}",
                                                          azurite.connection_string), max(args.ops // 10, 50)),
        ]

        async def run_all() -> None:
            baseline = 0.0
            print(f"{'store':<18} {'pairs':>6} {'pairs/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs memory':>10}")
            for name, make, ops in backends:
                storage = make()
                try:
                    rate, latencies = await measure(storage, ops, args.concurrency)
                finally:
                    await aclose_storage(storage)
                baseline = baseline or rate
                cuts = statistics.quantiles(latencies, n=100)
                print(f"{name:<18} {ops:>6} {rate:>9.0f} {cuts[49] * 1000:>8.2f} {cuts[98] * 1000:>8.2f}"
                      f" {rate / baseline:>9.3f}x")

        asyncio.run(run_all())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
