"""Answer quality on ../shared/eval: every query through the batch contract, scored by the eval's scorer.

    python -m bench.eval --shared ../shared --kb-root /tmp/insight-kb [--sets sxs,plain] [--curve]

Builds the eval KB folders with the eval's own ``make_kb.py`` when missing, answers each set
in-process with ``knowledge.batch.answer_batch`` (exactly what ``python -m bot ask --batch``
prints), then runs ``score.py`` with the product's targets as bounds: the exit status is
non-zero when any slice misses its target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.engine_bench import ensure_eval_kbs

TARGETS = {
    "sxs": ["--min", "paste.answer_right=0.97", "--min", "paste.top3=0.99", "--min", "translation.top1=0.90",
            "--min", "english.answer_right=0.95", "--max", "unknown.confident_wrong=0.03"],
    "plain": ["--min", "paste.answer_right=0.97", "--min", "paste.top3=0.99", "--min", "translation.top1=0.90",
              "--max", "unknown.confident_wrong=0.03"],
}


def answer_set(kb: Path, queries: Path, out: Path) -> tuple[float, float, int]:
    """Answer every query of one set; ``(load seconds, answer seconds, queries)``."""
    import json

    from knowledge.batch import answer_batch
    from knowledge.engine import KnowledgeEngine

    started = time.perf_counter()
    engine = KnowledgeEngine.load([kb])
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    n = 0
    with queries.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for record in answer_batch(engine, src):
            dst.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return loaded, time.perf_counter() - started, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--kb-root", type=Path, default=Path("/tmp/insight-kb"))
    ap.add_argument("--sets", default="sxs,plain")
    ap.add_argument("--curve", action="store_true", help="also print the score-threshold curve")
    ap.add_argument("--keep", type=Path, help="folder to keep the answers files in")
    opts = ap.parse_args(argv)
    ensure_eval_kbs(opts.shared, opts.kb_root)
    scorer = str(opts.shared / "eval" / "score.py")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = opts.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in opts.sets.split(","):
            queries = opts.shared / "eval" / f"dev-{name}.jsonl"
            batch = folder / f"dev-{name}.batch.jsonl"
            answers = folder / f"dev-{name}.answers.jsonl"
            with batch.open("w", encoding="utf-8") as f:
                subprocess.run([sys.executable, scorer, "--strip", str(queries)], stdout=f, check=True)
            loaded, answered, n = answer_set(opts.kb_root / name, batch, answers)
            print(f"\n== dev-{name}: {n} queries, KB loaded in {loaded:.1f} s, "
                  f"answered in {answered:.1f} s ({answered / max(n, 1) * 1000:.2f} ms/query)", flush=True)
            extra = ["--curve"] if opts.curve else []
            done = subprocess.run([sys.executable, scorer, str(queries), str(answers), *TARGETS[name], *extra],
                                  check=False)
            failed |= done.returncode != 0
    print("\nall targets met" if not failed else "\nsome targets missed (see the bounds above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
