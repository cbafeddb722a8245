"""Leave-languages-out calibration of the engine's tiers, and the tentative-answer metric, on ../shared/eval.

Each query's ranked matches are computed once (a ``Case``); the engine's own decision
(``Thresholds.tier`` and ``Thresholds.tentative``) is then a pure function of them, so a grid of
settings costs seconds, not a re-run of the engine.

The rule that picks a setting from the queries of some locales (``choose``):
1. answer bar and margin: among ``ANSWER_GRID`` x ``MARGIN_GRID``, the settings whose ``unknown``
   confident-wrong rate on those locales is at most ``TUNE_UNKNOWN_WRONG`` (below the 0.02 goal, for
   languages not seen) and whose ``paste`` / ``english`` answer_right reach ``MIN_PASTE`` /
   ``MIN_ENGLISH``; of these the one answering most (paste + english + translation answer_right);
2. tentative floor and lead: among ``FLOOR_GRID`` x ``LEAD_GRID`` with that bar, the settings that show
   an explanation to at most ``TUNE_UNKNOWN_TENTATIVE`` of the ``unknown`` queries; of these the one
   whose first card explains the right article most often (paste + english + translation).
Both sets (sxs and plain) are pooled when tuning. ``cross_validate`` tunes on 12 locales and measures
on the 3 held out, for each of ``FOLDS`` folds (locales in name order, dealt round-robin).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from knowledge.engine import Thresholds
from knowledge.model import Match, Tier

FOLDS = 5
ANSWER_GRID = tuple(84.5 + 0.5 * i for i in range(12))
MARGIN_GRID = (0.5, 1.0, 2.0, 3.0)
FLOOR_GRID = (80.0, 75.0, 70.0, 65.0, 60.0)
LEAD_GRID = (25.0, 20.0, 17.5, 15.0, 12.5, 10.0)
TUNE_UNKNOWN_WRONG = 0.012
TUNE_UNKNOWN_TENTATIVE = 0.02
MIN_PASTE = 0.97
MIN_ENGLISH = 0.95
KNOWN_SLICES = ("paste", "translation", "english")


@dataclass(frozen=True)
class Case:
    """One eval query: its set, slice, language, gold article (``None`` for ``unknown``) and the engine's matches."""

    kb: str
    slice: str
    locale: str
    expect: str | None
    matches: tuple[Match, ...]


@dataclass
class Tally:
    """Counts of one (set, slice, locale) cell under one setting."""

    n: int = 0
    answered_right: int = 0
    answered_wrong: int = 0
    tentative_right: int = 0
    tentative_wrong: int = 0

    def add(self, other: Tally) -> None:
        self.n += other.n
        self.answered_right += other.answered_right
        self.answered_wrong += other.answered_wrong
        self.tentative_right += other.tentative_right
        self.tentative_wrong += other.tentative_wrong


Cells = dict[tuple[str, str, str], Tally]
"""Tallies by (set, slice, locale)."""


def tally(cases: Iterable[Case], thresholds: Thresholds) -> Cells:
    """How ``thresholds`` decide each case, counted per (set, slice, locale)."""
    cells: Cells = {}
    for case in cases:
        cell = cells.setdefault((case.kb, case.slice, case.locale), Tally())
        cell.n += 1
        tier = thresholds.tier(case.matches)
        right = bool(case.matches) and case.matches[0].article_id == case.expect
        if tier is Tier.ANSWER:
            cell.answered_right += right
            cell.answered_wrong += not right
        elif thresholds.tentative(case.matches):
            cell.tentative_right += right
            cell.tentative_wrong += not right
    return cells


def pooled(cells: Cells, slice_: str, locales: Iterable[str], kb: str | None = None) -> Tally:
    """The sum of one slice's cells over ``locales`` (and one set, or both)."""
    wanted = set(locales)
    total = Tally()
    for (set_name, name, locale), cell in cells.items():
        if name == slice_ and locale in wanted and kb in (None, set_name):
            total.add(cell)
    return total


def answer_right(t: Tally) -> float:
    return t.answered_right / t.n if t.n else float("nan")


def confident_wrong(t: Tally) -> float:
    return t.answered_wrong / t.n if t.n else float("nan")


def first_card_right(t: Tally) -> float:
    """How often the explanation on the first card (an answer or a tentative answer) is the right article."""
    return (t.answered_right + t.tentative_right) / t.n if t.n else float("nan")


def tentative_share(t: Tally) -> float:
    return (t.tentative_right + t.tentative_wrong) / t.n if t.n else float("nan")


def _choose_bar(cases: Sequence[Case], locales: Sequence[str], grid: dict[Thresholds, Cells]) -> Thresholds:
    best: tuple[float, Thresholds] | None = None
    fallback: tuple[float, Thresholds] | None = None
    for setting, cells in grid.items():
        unknown = confident_wrong(pooled(cells, "unknown", locales))
        fallback = min(fallback or (unknown, setting), (unknown, setting), key=lambda pair: pair[0])
        if (unknown > TUNE_UNKNOWN_WRONG or answer_right(pooled(cells, "paste", locales)) < MIN_PASTE
                or answer_right(pooled(cells, "english", locales)) < MIN_ENGLISH):
            continue
        gain = sum(answer_right(pooled(cells, s, locales)) for s in KNOWN_SLICES)
        if best is None or gain > best[0] + 1e-12:
            best = (gain, setting)
    chosen = best or fallback
    assert chosen is not None, "an empty grid"
    return chosen[1]


def _choose_tentative(cases: Sequence[Case], locales: Sequence[str], bar: Thresholds) -> Thresholds:
    held = [c for c in cases if c.locale in set(locales)]
    best: tuple[float, Thresholds] | None = None
    for floor in FLOOR_GRID:
        for lead in LEAD_GRID:
            setting = replace(bar, tentative_floor=floor, tentative_lead=lead)
            cells = tally(held, setting)
            if tentative_share(pooled(cells, "unknown", locales)) > TUNE_UNKNOWN_TENTATIVE:
                continue
            gain = sum(first_card_right(pooled(cells, s, locales)) for s in KNOWN_SLICES)
            if best is None or gain > best[0] + 1e-12:
                best = (gain, setting)
    return best[1] if best else replace(bar, tentative_floor=100.0, tentative_lead=100.0)


class Calibrator:
    """Tallies every grid setting of the answer bar once, then tunes on any set of locales."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self.cases = cases
        self.locales = sorted({c.locale for c in cases})
        self.grid = {
            setting: tally(cases, setting)
            for setting in (Thresholds(answer=a, margin=m, tentative_floor=101.0)
                            for a in ANSWER_GRID for m in MARGIN_GRID)
        }

    def choose(self, locales: Sequence[str]) -> Thresholds:
        """The setting the rule (module docstring) picks from the queries of ``locales``."""
        bar = _choose_bar(self.cases, locales, self.grid)
        return _choose_tentative(self.cases, locales, bar)

    def folds(self) -> list[list[str]]:
        return [self.locales[i::FOLDS] for i in range(FOLDS)]


@dataclass(frozen=True)
class FoldResult:
    """One fold: the locales tuned on and held out, the setting chosen, and the held-out cells."""

    tuned_on: tuple[str, ...]
    held_out: tuple[str, ...]
    thresholds: Thresholds
    cells: Cells


def cross_validate(calibrator: Calibrator) -> list[FoldResult]:
    """Tune on all locales but one fold's, measure on that fold; for each fold."""
    results = []
    for held_out in calibrator.folds():
        tuned_on = [loc for loc in calibrator.locales if loc not in held_out]
        setting = calibrator.choose(tuned_on)
        cells = tally([c for c in calibrator.cases if c.locale in held_out], setting)
        results.append(FoldResult(tuple(tuned_on), tuple(held_out), setting, cells))
    return results


def _describe(t: Thresholds) -> str:
    return f"answer {t.answer:g} margin {t.margin:g} tentative {t.tentative_floor:g}/+{t.tentative_lead:g}"


def _row(cells: Cells, locales: Sequence[str], kb: str | None) -> list[float]:
    return [
        confident_wrong(pooled(cells, "unknown", locales, kb)),
        tentative_share(pooled(cells, "unknown", locales, kb)),
        answer_right(pooled(cells, "paste", locales, kb)),
        answer_right(pooled(cells, "english", locales, kb)),
        answer_right(pooled(cells, "translation", locales, kb)),
        first_card_right(pooled(cells, "translation", locales, kb)),
    ]


COLUMNS = ("unk.cw", "unk.tent", "paste.ar", "engl.ar", "transl.ar", "transl.1st")


def _fmt(values: Iterable[float]) -> str:
    return "".join(f"{'-' if v != v else f'{v:.3f}':>11}" for v in values)


def cv_table(results: Sequence[FoldResult], kbs: Sequence[str]) -> str:
    """The cross-validation table: per fold and set, the held-out rates; then mean, min and max per set."""
    lines = [f"{'fold':<5}{'held out':<24}{'set':<7}{'thresholds (tuned on the other 12)':<40}"
             + "".join(f"{c:>11}" for c in COLUMNS)]
    per_kb: dict[str, list[list[float]]] = {kb: [] for kb in kbs}
    for number, fold in enumerate(results, 1):
        for kb in kbs:
            row = _row(fold.cells, fold.held_out, kb)
            per_kb[kb].append(row)
            lines.append(f"{number:<5}{','.join(fold.held_out):<24}{kb:<7}{_describe(fold.thresholds):<40}{_fmt(row)}")
    for kb in kbs:
        columns = list(zip(*per_kb[kb], strict=True))
        for name, summary in (("mean", statistics.fmean), ("min", min), ("max", max)):
            values = [summary([v for v in col if v == v]) if any(v == v for v in col) else float("nan")
                      for col in columns]
            lines.append(f"{name:<5}{'':<24}{kb:<7}{'':<40}{_fmt(values)}")
    return "\n".join(lines)


def tentative_table(cases: Sequence[Case], thresholds: Thresholds, kbs: Sequence[str]) -> str:
    """Per set and slice: how often the first card's explanation is the right article without and with
    tentative answers, and for ``unknown`` the share answered outright and the share shown tentatively."""
    without = replace(thresholds, tentative_floor=101.0)
    before, after = tally(cases, without), tally(cases, thresholds)
    locales = sorted({c.locale for c in cases})
    lines = [f"{'set':<7}{'slice':<13}{'n':>6}{'1st right w/o':>15}{'1st right with':>16}{'tentative':>11}"
             f"{'tent. wrong':>13}{'unk.answered':>14}"]
    for kb in kbs:
        for slice_ in (*KNOWN_SLICES, "seed", "unknown"):
            old, new = pooled(before, slice_, locales, kb), pooled(after, slice_, locales, kb)
            if not new.n:
                continue
            wrong = new.tentative_wrong / new.n
            if slice_ == "unknown":
                cols = ["-", "-"]
            else:
                cols = [f"{first_card_right(old):.3f}", f"{first_card_right(new):.3f}"]
            answered = f"{confident_wrong(new):.3f}" if slice_ == "unknown" else "-"
            lines.append(f"{kb:<7}{slice_:<13}{new.n:>6}{cols[0]:>15}{cols[1]:>16}{tentative_share(new):>11.3f}"
                         f"{wrong:>13.3f}{answered:>14}")
    return "\n".join(lines)
