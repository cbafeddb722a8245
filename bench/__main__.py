"""``make bench``: the engine benchmark, then end-to-end bot throughput, each beside its baseline.

    python -m bench --shared ../shared --kb-root /tmp/insight-kb [--quick] [--only engine|bot]

1. Builds the two eval knowledge bases under ``--kb-root`` (``sxs`` and ``plain``) with the eval's
   own ``make_kb.py`` when they are missing.
2. Engine (``bench.engine_bench``): build time, memory and query latency against a naive scan.
3. Bot (``bench.bot_throughput``): replies per second end to end against the canonical botbuilder
   echo bot, alternating rounds in the same run; the real bot serves the ``sxs`` eval KB
   (15 locales) so every message is matched, answered with a card and recorded in SQLite.

Every timing claim of the project is printed here; the unit tests assert none.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.engine_bench import ensure_eval_kbs

REPO = Path(__file__).resolve().parents[1]


def run_engine_bench(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("bench.engine_bench") is None:
        print("engine benchmark: bench/engine_bench.py not present, skipped")
        return 0
    from bench import engine_bench

    argv = ["--shared", str(args.shared), "--kb-root", str(args.kb_root)] + (["--quick"] if args.quick else [])
    code: int = engine_bench.main(argv)
    return code


def run_bot_bench(args: argparse.Namespace) -> int:
    from bench import bot_throughput

    argv = ["--shared", str(args.shared), "--kb", str(args.kb_root / "sxs")]
    if args.quick:
        argv += ["--rounds", "2", "--seconds", "5"]
    return bot_throughput.main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--kb-root", type=Path, default=Path("/tmp/insight-kb"))
    parser.add_argument("--quick", action="store_true", help="fewer locale steps and shorter rounds")
    parser.add_argument("--only", choices=("engine", "bot"), help="run one of the two benchmarks")
    args = parser.parse_args(argv)
    args.shared = args.shared.resolve()
    ensure_eval_kbs(args.shared, args.kb_root)
    codes = []
    if args.only in (None, "engine"):
        codes.append(run_engine_bench(args))
        print()
    if args.only in (None, "bot"):
        codes.append(run_bot_bench(args))
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
