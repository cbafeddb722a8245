"""Engine benchmark: build time (cold and warm), memory, and query latency against a naive scan.

    python -m bench.engine_bench --shared ../shared --kb-root /tmp/insight-kb [--quick]

For 1, 2, 4, 8 and 15 locales of both eval snapshots (two ``--kb`` folders per locale set),
each measured in a fresh subprocess so memory numbers are its own:
- cold build: parse every file and index it, no cache;
- warm build: the same folders from the knowledge cache;
- resident memory after the build (VmRSS);
- single-query latency p50/p99 over the eval queries of those locales;
- cold start: both 15-locale snapshots parsed and indexed from scratch (and parsed in one process as the
  baseline), each phase projected linearly to a 36-locale knowledge base of 92,000 files;
- the naive baseline in the same process: ``rapidfuzz.process.extractOne`` with
  ``fuzz.partial_ratio`` over every indexed text, on a sample of the same queries.
Reports ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PRODUCT_LOCALES = 40
"""How many locales the product is to carry: the projection line of the output."""
PRODUCT_FILES = 92_000
"""A 36-locale knowledge base (one snapshot): the size the cold-start projection is for."""
LOCALE_STEPS = (1, 2, 4, 8, 15)
ALL_LOCALES = ("sv-SE", "zh-TW", "ko-KR", "cs-CZ", "da-DK", "es-ES", "fi-FI", "id-ID", "it-IT", "nb-NO",
               "nl-NL", "pl-PL", "pt-BR", "tr-TR", "zh-CN")


def ensure_eval_kbs(shared: Path, kb_root: Path) -> None:
    """Build the two eval KB folders with the eval's own script when they are missing."""
    for snapshot in ("sxs", "plain"):
        if not (kb_root / snapshot / "KB-MANIFEST.json").exists():
            subprocess.run(
                [sys.executable, str(shared / "eval" / "make_kb.py"), "--corpus", str(shared / "corpus"),
                 "--snapshot", snapshot, "--out", str(kb_root / snapshot), "--force"],
                check=True,
            )


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def worker(
    folders: list[str], queries: list[dict[str, Any]], cache_dir: str, naive_sample: int
) -> dict[str, Any]:
    """Measure one configuration in this process (a fresh interpreter)."""
    from rapidfuzz import fuzz, process, utils

    from knowledge.cache import load_or_build
    from knowledge.engine import KnowledgeEngine

    base_rss = rss_mb()
    started = time.perf_counter()
    engine = load_or_build(folders, lambda: KnowledgeEngine.load(folders), cache_dir)
    build_s = time.perf_counter() - started
    rss = rss_mb()

    texts: list[str] = []
    for a in engine.kb.articles:
        texts += [a.title, a.heading, *a.error_strings]
        if a.english is not None:
            texts += [a.english.heading, *a.english.error_strings]
    choices = [utils.default_process(t) for t in texts if t.strip()]

    latencies = []
    for q in queries:
        t0 = time.perf_counter()
        engine.ask(q["text"], client_locale=q.get("locale"))
        latencies.append((time.perf_counter() - t0) * 1000)

    naive = []
    for q in queries[:naive_sample]:
        t0 = time.perf_counter()
        process.extractOne(q["text"], choices, scorer=fuzz.partial_ratio, processor=utils.default_process)
        naive.append((time.perf_counter() - t0) * 1000)

    return {
        "files": len(engine.kb.articles), "articles": len(engine.kb), "locales": len(engine.kb.locales),
        "texts": len(choices), "build_s": build_s, "rss_mb": rss, "base_rss_mb": base_rss,
        "queries": len(latencies), "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "naive_queries": len(naive), "naive_p50_ms": statistics.median(naive) if naive else float("nan"),
        "naive_p99_ms": percentile(naive, 0.99) if naive else float("nan"),
    }


def cold_worker(folders: list[str], serial: bool) -> dict[str, Any]:
    """One cold build in this process (a fresh interpreter): parse every file, then index; ``serial`` parses
    in this process alone (the baseline)."""
    from knowledge import corpus
    from knowledge.engine import KnowledgeEngine

    if serial:
        corpus.PARALLEL_MIN_FILES = 1 << 62
    started = time.perf_counter()
    kb = corpus.load_knowledge_base(folders)
    parsed = time.perf_counter()
    engine = KnowledgeEngine(kb)
    built = time.perf_counter()
    return {"files": len(kb.articles) + len(kb.problems), "entries": len(engine.index),
            "parse_s": parsed - started, "index_s": built - parsed, "total_s": built - started,
            "rss_mb": rss_mb()}


def cold_start(folders: list[str]) -> str:
    """Cold build rows (parse, index, total) beside a one-process parse, projected to ``PRODUCT_FILES``."""
    def run(serial: bool) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "bench.engine_bench", "--cold", str(int(serial)), *folders],
                              capture_output=True, text=True, check=True)
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    with open("/proc/loadavg", encoding="ascii") as f:
        load = f.read().split()[0]
    base, cold = run(True), run(False)
    scale = PRODUCT_FILES / max(cold["files"], 1)
    lines = [f"cold start: {cold['files']} files, {cold['entries']} index entries, both 15-locale snapshots "
             f"(load average {load} at start); projected linearly to {PRODUCT_FILES} files (a projection; the two "
             "snapshots share most titles, so a 36-locale KB has more index entries per file)",
             f"{'':>22} {'measured':>9} {'1 process':>9} {'ratio':>6} {'at 92,000':>10}"]
    for label, key in (("parse s", "parse_s"), ("index build s", "index_s"), ("total s", "total_s")):
        lines.append(f"{label:>22} {cold[key]:>9.2f} {base[key]:>9.2f} {base[key] / cold[key]:>5.2f}x "
                     f"{cold[key] * scale:>9.1f}")
    lines.append(f"{'parse files/s':>22} {cold['files'] / cold['parse_s']:>9.0f} "
                 f"{base['files'] / base['parse_s']:>9.0f}")
    verdict = "met" if cold["total_s"] * scale <= 15 else "MISSED"
    lines.append(f"cold build projected to {PRODUCT_FILES} files: {cold['total_s'] * scale:.1f} s (target <= 15: "
                 f"{verdict}); RSS after the build {cold['rss_mb']:.0f} MB")
    return "\n".join(lines)


def run_worker(folders: list[str], queries_file: str, cache_dir: str, naive_sample: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.engine_bench", "--worker", queries_file, cache_dir, str(naive_sample),
         *folders],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def load_queries(shared: Path, locales: set[str], limit: int, seed: int = 7) -> list[dict[str, Any]]:
    rows = []
    for name in ("dev-sxs.jsonl", "dev-plain.jsonl"):
        with open(shared / "eval" / name, encoding="utf-8") as f:
            rows += [r for r in map(json.loads, f) if r.get("expect_locale") in locales or
                     (r.get("expect_locale") is None and r.get("locale") in locales)]
    random.Random(seed).shuffle(rows)
    return [{"text": r["text"], "locale": r.get("locale")} for r in rows[:limit]]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args and args[0] == "--cold":
        print(json.dumps(cold_worker(args[2:], args[1] == "1")))
        return 0
    if args and args[0] == "--worker":
        queries_file, cache_dir, naive_sample, *folders = args[1:]
        with open(queries_file, encoding="utf-8") as f:
            queries = json.load(f)
        print(json.dumps(worker(folders, queries, cache_dir, int(naive_sample))))
        return 0

    ap = argparse.ArgumentParser(prog="python -m bench.engine_bench", description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--kb-root", type=Path, default=Path("/tmp/insight-kb"))
    ap.add_argument("--quick", action="store_true", help="only 1 and 15 locales, fewer queries")
    opts = ap.parse_args(args)
    ensure_eval_kbs(opts.shared, opts.kb_root)
    steps = (1, 15) if opts.quick else LOCALE_STEPS
    n_queries, naive_sample = (500, 40) if opts.quick else (2000, 100)

    print("engine benchmark: both eval snapshots as two --kb folders per locale set")
    header = (f"{'locales':>7} {'files':>7} {'texts':>7} {'cold s':>7} {'warm s':>7} {'RSS MB':>7} "
              f"{'p50 ms':>7} {'p99 ms':>7} {'naive p50':>9} {'naive p99':>9} {'speedup':>8}")
    print(header)
    rows = []
    for n in steps:
        locales = ALL_LOCALES[:n]
        if n == len(ALL_LOCALES):
            folders = [str(opts.kb_root / "sxs"), str(opts.kb_root / "plain")]
        else:
            folders = [str(opts.kb_root / s / loc) for loc in locales for s in ("sxs", "plain")]
        with tempfile.TemporaryDirectory() as tmp:
            qfile = str(Path(tmp) / "queries.json")
            queries = load_queries(opts.shared, set(locales), n_queries)
            Path(qfile).write_text(json.dumps(queries), encoding="utf-8")
            cache = str(Path(tmp) / "cache")
            cold = run_worker(folders, qfile, cache, naive_sample)
            warm = run_worker(folders, qfile, cache, 0)
        speedup = cold["naive_p50_ms"] / cold["p50_ms"]
        rows.append({"locales": n, "cold": cold, "warm": warm, "speedup_p50": speedup})
        print(f"{n:>7} {cold['files']:>7} {cold['texts']:>7} {cold['build_s']:>7.2f} {warm['build_s']:>7.2f} "
              f"{cold['rss_mb']:>7.0f} {cold['p50_ms']:>7.2f} {cold['p99_ms']:>7.2f} "
              f"{cold['naive_p50_ms']:>9.1f} {cold['naive_p99_ms']:>9.1f} {speedup:>7.0f}x", flush=True)
    last = rows[-1]
    print(f"\n{last['locales']} locales: p99 {last['cold']['p99_ms']:.2f} ms (target <= 5), "
          f"{last['speedup_p50']:.0f}x faster than the naive scan at p50 (target >= 100x), "
          f"cold build {last['cold']['build_s']:.1f} s (target <= 20), warm {last['warm']['build_s']:.2f} s "
          f"(target <= 2), RSS {last['cold']['rss_mb']:.0f} MB (target <= 600)")
    if len(rows) > 1:
        print(projection(rows, PRODUCT_LOCALES))
    print()
    print(cold_start([str(opts.kb_root / "sxs"), str(opts.kb_root / "plain")]), flush=True)
    return 0


def projection(rows: list[dict[str, Any]], locales: int) -> str:
    """What a straight line through the measured rows (least squares) gives for ``locales`` locales."""
    xs = [float(r["locales"]) for r in rows]

    def at(values: list[float]) -> tuple[float, float]:
        mean_x, mean_y = sum(xs) / len(xs), sum(values) / len(values)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True)) / sum(
            (x - mean_x) ** 2 for x in xs)
        return slope, mean_y + slope * (locales - mean_x)

    rss_slope, rss = at([r["cold"]["rss_mb"] for r in rows])
    cold_slope, cold = at([r["cold"]["build_s"] for r in rows])
    warm_slope, warm = at([r["warm"]["build_s"] for r in rows])
    _, p99 = at([r["cold"]["p99_ms"] for r in rows])
    return (f"growth per locale (both snapshots): RSS {rss_slope:.1f} MB, cold build {cold_slope:.2f} s, warm "
            f"{warm_slope:.3f} s; on that line {locales} locales: RSS {rss:.0f} MB, cold {cold:.1f} s, "
            f"warm {warm:.2f} s, p99 {p99:.2f} ms (a projection, not a measurement)")


if __name__ == "__main__":
    sys.exit(main())
