"""Answer quality on ../shared/eval: every query through the batch contract, scored by the eval's scorer.

    python -m bench.eval --shared ../shared --kb-root /tmp/insight-kb [--sets sxs,plain] [--curve] [--cv]

Builds the eval KB folders with the eval's own ``make_kb.py`` when missing, answers each set
in-process with ``knowledge.batch.answer_record`` (exactly what ``python -m bot ask --batch``
prints), then runs ``score.py`` with the product's targets as bounds: the exit status is
non-zero when any slice misses its target. Then prints the tentative-answer metric (how often the
explanation on the first card is the right article, without and with tentative answers) and, with
``--cv``, the leave-languages-out cross-validation of the thresholds (``bench.calibration``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.calibration import Calibrator, Case, cross_validate, cv_table, tentative_table
from bench.engine_bench import ensure_eval_kbs
from knowledge.model import Match

TARGETS = {
    "sxs": ["--min", "paste.answer_right=0.97", "--min", "paste.top3=0.99", "--min", "translation.top1=0.90",
            "--min", "english.answer_right=0.95", "--max", "unknown.confident_wrong=0.03"],
    "plain": ["--min", "paste.answer_right=0.97", "--min", "paste.top3=0.99", "--min", "translation.top1=0.90",
              "--max", "unknown.confident_wrong=0.03"],
}


def answer_set(
    kb: Path, queries: Path, out: Path, cache: Path | None
) -> tuple[float, float, dict[str, tuple[Match, ...]]]:
    """Answer every query of one set; ``(load seconds, answer seconds, each query's matches by id)``."""
    import json

    from knowledge.batch import answer_record, parse_query
    from knowledge.engine import KnowledgeEngine

    started = time.perf_counter()
    engine = KnowledgeEngine.load([kb], cache_dir=cache)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    matches: dict[str, tuple[Match, ...]] = {}
    with queries.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for number, line in enumerate(src, 1):
            if line.strip():
                qid, text, locale = parse_query(line, number)
                answer = engine.ask(text, client_locale=locale)
                dst.write(json.dumps(answer_record(qid, answer), ensure_ascii=False) + "\n")
                matches[qid] = answer.matches
    return loaded, time.perf_counter() - started, matches


def cases_of(name: str, queries: Path, matches: dict[str, tuple[Match, ...]]) -> list[Case]:
    """The set's queries with their gold answers (read here only, for scoring) and the engine's matches."""
    import json

    cases = []
    with queries.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                locale = q.get("expect_locale") or q.get("locale") or "-"
                cases.append(Case(name, q["slice"], locale, q.get("expect_article"), matches.get(q["id"], ())))
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--kb-root", type=Path, default=Path("/tmp/insight-kb"))
    ap.add_argument("--sets", default="sxs,plain")
    ap.add_argument("--curve", action="store_true", help="also print the score-threshold curve")
    ap.add_argument("--keep", type=Path, help="folder to keep the answers files in")
    ap.add_argument("--cv", action="store_true", help="also cross-validate the thresholds over languages")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "insight-kb-cache",
                    help="the engine's cache folder for the eval KBs")
    opts = ap.parse_args(argv)
    ensure_eval_kbs(opts.shared, opts.kb_root)
    scorer = str(opts.shared / "eval" / "score.py")
    failed = False
    cases: list[Case] = []
    names = opts.sets.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        folder = opts.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            queries = opts.shared / "eval" / f"dev-{name}.jsonl"
            batch = folder / f"dev-{name}.batch.jsonl"
            answers = folder / f"dev-{name}.answers.jsonl"
            with batch.open("w", encoding="utf-8") as f:
                subprocess.run([sys.executable, scorer, "--strip", str(queries)], stdout=f, check=True)
            loaded, answered, matches = answer_set(opts.kb_root / name, batch, answers, opts.cache)
            n = len(matches)
            cases += cases_of(name, queries, matches)
            print(f"\n== dev-{name}: {n} queries, KB loaded in {loaded:.1f} s, "
                  f"answered in {answered:.1f} s ({answered / max(n, 1) * 1000:.2f} ms/query)", flush=True)
            extra = ["--curve"] if opts.curve else []
            done = subprocess.run([sys.executable, scorer, str(queries), str(answers), *TARGETS[name], *extra],
                                  check=False)
            failed |= done.returncode != 0
    from knowledge.engine import Thresholds

    print("\n== the first card's explanation: right article without / with tentative answers "
          "(unknown: shown tentatively, answered outright)")
    print(tentative_table(cases, Thresholds(), names))
    if opts.cv:
        calibrator = Calibrator(cases)
        print(f"\n== leave-languages-out cross-validation ({len(calibrator.folds())} folds)")
        print(cv_table(cross_validate(calibrator), names))
        chosen = calibrator.choose(calibrator.locales)
        print(f"tuned on all {len(calibrator.locales)} locales: {chosen}")
        if chosen != Thresholds():
            print(f"(the engine's constants differ: {Thresholds()})")
    print("\nall targets met" if not failed else "\nsome targets missed (see the bounds above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
