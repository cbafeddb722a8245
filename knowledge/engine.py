"""The engine's front door: load knowledge bases once, answer pasted text in the right language."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.cache import load_or_build
from knowledge.corpus import KnowledgeBase, load_knowledge_base
from knowledge.locales import (
    canonical_locale,
    choose_reply_locale,
    choose_words_locale,
    is_english,
    locale_script,
    negotiate,
)
from knowledge.matcher import MatchIndex
from knowledge.model import ENGLISH, Answer, Article, Match, Tier

BUNDLED_ARTICLES = Path(__file__).resolve().parent / "articles"
DEFAULT_LOCALE = "en-US"
TEXT_LANGUAGE_SURE = 95.0
"""A match at least this close tells the pasted text's language (see ``KnowledgeEngine._text_locale``)."""


@dataclass(frozen=True)
class Thresholds:
    """Tier boundaries on the 0-100 score, calibrated on ../shared/eval (see docs in bench/eval.py).

    ``answer``: answer outright at or above this confidence when every other candidate trails by
    at least ``margin`` (a cut-off paste shared by two articles is a question, not an answer).
    ``cut_off_margin``: the lead needed instead when the paste is cut off (its score discounted for
    the part of the text it lacks) and fits the start of another article at least as well
    (``Match.fit``): "Reset the MFA" fits "Reset the MFA phone number..." and "Reset the MFA
    authenticator app..." equally, and only the texts' lengths would set their scores apart.
    ``suggest``: offer choices when any of them reaches this confidence; below it, say we do not know.
    (The first choice is the best-ranked one, which need not be the most confident: ranking also
    weighs evidence from the article's other languages, see ``knowledge.matcher``.)

    ``tentative_floor`` / ``tentative_lead``: a ``suggest`` whose first article reaches the floor and
    leads every other by the lead is tentative (``tentative``): shown with "is this it?".

    The values are now chosen by cross-validation over languages (see the comment on the fields).
    The earlier calibration on all 15 locales at once, for the record, measured on dev-sxs / dev-plain
    (paste answer_right; paste and unknown confident_wrong; each sxs / plain):
    answer 84.5, margin 0.5, no cut-off rule: 0.967 / 0.972; 0.006 / 0.007; 0.023 / 0.022;
    answer 84.5, margin 0.5, cut_off_margin 1: 0.966 / 0.972; 0.004 / 0.005; 0.022 / 0.021;
    answer 84.5, margin 0.5, cut_off_margin 2 (chosen): 0.964 / 0.970; 0.003 / 0.003; 0.020 / 0.019;
    answer 84, the same rule: 0.966 / 0.972; 0.003 / 0.003; 0.025 / 0.020;
    answer 83.5, the same rule: 0.967 / 0.972; 0.003 / 0.003; 0.026 / 0.023.
    With garbled pastes (the text's own characters, at most two edits away, see
    ``knowledge.matcher._garbled``) scored 90, the chosen rule measures 0.968 / 0.974; 0.003 / 0.003;
    0.020 / 0.019; counting garbled cut-off pastes (at least 60 % of the text) too (chosen):
    0.974 / 0.978; 0.003 / 0.002; 0.021 / 0.019; searching a paste that shares no bigram with any
    text by pairs of characters one apart as well: 0.975 / 0.978; 0.003 / 0.002; 0.021 / 0.019.
    Two-typo pastes of short CJK headings are
    answered, unknown headings are not (they bring characters of their own). The remaining
    misses are mostly cut-off pastes shared by several articles (a question, by design).
    """

    # Chosen by leave-languages-out cross-validation (``python -m bench.eval --cv``, rule in
    # ``bench.calibration``): on the 15 eval locales, the bar and margin answering most among those whose
    # unknown confident-wrong rate stays at most 0.012 (a budget of 0.015 let one held-out fold reach 0.033)
    # with paste >= 0.97 and english >= 0.95 answered right; then the tentative
    # floor and lead that explain the right article most often while showing an explanation to at most
    # 0.02 of the unknown errors. Tuned on 12 locales and measured on the other 3 (5 folds), this rule
    # gave held-out unknown confident-wrong 0.012 / 0.012 on average (sxs / plain), 0.028 / 0.022 at
    # worst, paste answer_right 0.974 / 0.975 and english 0.993 (the table: ``make eval``).
    # Before (answer 84.5, margin 0.5, no tentative answers): unknown 0.021 / 0.019 on the tuning locales
    # themselves, 0.037 / 0.040 on 21 locales never tuned on.
    answer: float = 87.0
    margin: float = 2.0
    suggest: float = 50.0
    cut_off_margin: float = 2.0
    tentative_floor: float = 80.0
    tentative_lead: float = 10.0

    def tier(self, matches: Sequence[Match]) -> Tier:
        if not matches:
            return Tier.NONE
        best = matches[0].score
        runner_up = max((m.score for m in matches[1:]), default=0.0)
        # A cut-off paste (its best score discounted for what it lacks) that fits the start of
        # another article just as well needs a wider lead: only its length tells the two apart.
        cut_off_alike = matches[0].fit > best and any(
            m.fit >= matches[0].fit and best - m.score < self.cut_off_margin for m in matches[1:]
        )
        if best >= self.answer and best - runner_up >= self.margin and not cut_off_alike:
            return Tier.ANSWER
        return Tier.SUGGEST if max(best, runner_up) >= self.suggest else Tier.NONE

    def tentative(self, matches: Sequence[Match]) -> bool:
        """Whether a ``suggest`` is worth showing as its first article with "is this it?".

        True when the first article is below the answer bar but at least ``tentative_floor`` confident
        and ahead of every other by ``tentative_lead`` or more: one article clearly leads.
        """
        if self.tier(matches) is not Tier.SUGGEST:
            return False
        best = matches[0].score
        runner_up = max((m.score for m in matches[1:]), default=0.0)
        return best >= self.tentative_floor and best - runner_up >= self.tentative_lead


class KnowledgeEngine:
    """Articles from one or more folders, indexed for matching; answers in the user's language."""

    def __init__(self, kb: KnowledgeBase, *, thresholds: Thresholds | None = None) -> None:
        self.kb = kb
        self.index = MatchIndex.build(kb.articles, kb.alternate_versions())
        self.thresholds = thresholds or Thresholds()

    @classmethod
    def load(
        cls,
        folders: Sequence[str | Path] = (),
        *,
        progress: Callable[[int, int], None] | None = None,
        cache_dir: str | Path | None = None,
    ) -> KnowledgeEngine:
        """Load the given folders (the bundled articles when none are given), from ``cache_dir`` if fresh."""
        chosen = list(folders) or [BUNDLED_ARTICLES]
        for folder in chosen:
            if not Path(folder).is_dir():
                raise FileNotFoundError(f"knowledge-base folder not found: {folder}")

        def build() -> KnowledgeEngine:
            return cls(load_knowledge_base(chosen, progress=progress))

        return load_or_build(chosen, build, cache_dir) if cache_dir else build()

    @property
    def locales(self) -> tuple[str, ...]:
        return self.kb.locales

    def translations(self, article_id: str) -> dict[str, Article]:
        """Every locale's version of one article (the later folder's text wins)."""
        return self.kb.translations(article_id)

    def match(self, text: str, *, limit: int = 3, prefer_locale: str | None = None) -> list[Match]:
        """Distinct articles best first."""
        return self.index.match(text, limit=limit, prefer_locale=prefer_locale)

    def article_locales(self, article_id: str) -> list[str]:
        """The locales an article can be shown in; ``en`` included when it carries English source text."""
        versions = self.translations(article_id)
        locales = list(versions)
        if any(a.english is not None for a in versions.values()) and not any(
            loc.lower().startswith("en") for loc in locales
        ):
            locales.append(ENGLISH)
        return locales

    def version(self, article_id: str, locale: str) -> Article | None:
        """The article in ``locale``; for ``en``, its English source text as an Article."""
        versions = self.translations(article_id)
        if locale in versions:
            return versions[locale]
        if locale == ENGLISH:
            source = next((a for a in versions.values() if a.english is not None), None)
            if source is not None and source.english is not None:
                en = source.english
                return Article(
                    id=source.id, locale=ENGLISH, path=source.path, kb_root=source.kb_root,
                    title=en.heading, heading=en.heading, anchor=source.anchor,
                    error_strings=en.error_strings, packed_body=en.packed_body, custom_ids=source.custom_ids,
                )
        return None

    def ask(self, text: str, *, locale: str | None = None, client_locale: str | None = None,
            words_locales: Collection[str] = ()) -> Answer:
        """Answer one pasted text. ``locale`` is an explicit choice; ``client_locale`` the chat client's;
        ``words_locales`` the locales the caller can write its own words in (its catalog), from which
        ``Answer.words_locale`` is chosen (``knowledge.locales.choose_words_locale``)."""
        matches = self.match(text, limit=4, prefer_locale=locale or client_locale)
        tier = self.thresholds.tier(matches)
        if tier is Tier.NONE:
            wanted, _, _ = choose_reply_locale(
                explicit=locale, text_locale=None, client_locale=client_locale, article_locales=(),
                default=DEFAULT_LOCALE,
            )
            words = choose_words_locale(explicit=locale, text=text, client_locale=client_locale,
                                        available=words_locales, default=DEFAULT_LOCALE)
            score = matches[0].score if matches else 0.0
            return Answer(tier=Tier.NONE, article=None, score=score, reply_locale=wanted, wanted_locale=wanted,
                          fell_back=False, words_locale=words, matches=tuple(matches))
        best = matches[0]
        article_locales = self.article_locales(best.article_id)
        text_locale = self._text_locale(best, client_locale, article_locales)
        reply, wanted, fell_back = choose_reply_locale(
            explicit=locale,
            text_locale=text_locale,
            client_locale=client_locale,
            article_locales=article_locales,
            default=DEFAULT_LOCALE,
        )
        words = choose_words_locale(
            explicit=locale, text_locale=text_locale, text=text, client_locale=client_locale,
            article_locales=article_locales, shown_locale=reply if tier is Tier.ANSWER else None,
            available=words_locales, default=DEFAULT_LOCALE,
        )
        return Answer(
            tier=tier, article=self.version(best.article_id, reply), score=best.score, reply_locale=reply,
            wanted_locale=wanted, fell_back=fell_back, words_locale=words, article_locales=tuple(article_locales),
            matches=tuple(matches), suggestions=tuple(matches[1:]), tentative=self.thresholds.tentative(matches),
        )

    @staticmethod
    def _text_locale(best: Match, client_locale: str | None, article_locales: Sequence[str]) -> str | None:
        """The language of the pasted text, as far as the match tells it.

        The text that matched best tells the paste's language only when it matched nearly word for
        word, or by its script: an older Danish translation may be closer to the Norwegian heading
        than to the Danish one, and a Simplified Chinese one to the Traditional heading, but Chinese
        is never Korean. So when the match is looser and the chat client is in another language of
        the same script, or another script of the same language, that the article has (not
        English), the client's language is the better guess: ``None`` lets it decide.
        """
        client = canonical_locale(client_locale) if client_locale else None
        if (best.score < TEXT_LANGUAGE_SURE and client and not is_english(client)
                and negotiate([client], [best.locale]) is None
                and (locale_script(client) == locale_script(best.locale) is not None
                     or client.split("-")[0] == best.locale.split("-")[0].lower())
                and negotiate([client], article_locales)):
            return None
        return best.locale

    def present(self, article_id: str, *, locale: str | None = None, client_locale: str | None = None,
                words_locales: Collection[str] = ()) -> Answer | None:
        """One chosen article (from "did you mean" or the language picker) as an answer, or ``None``."""
        locales = self.article_locales(article_id)
        if not locales:
            return None
        reply, wanted, fell_back = choose_reply_locale(
            explicit=locale, text_locale=None, client_locale=client_locale, article_locales=locales,
            default=DEFAULT_LOCALE,
        )
        article = self.version(article_id, reply)
        if article is None:
            return None
        words = choose_words_locale(explicit=locale, client_locale=client_locale, article_locales=locales,
                                    shown_locale=reply, available=words_locales, default=DEFAULT_LOCALE)
        chosen = Match(article_id, reply, article.path, 100.0, article.heading)
        return Answer(tier=Tier.ANSWER, article=article, score=100.0, reply_locale=reply, wanted_locale=wanted,
                      fell_back=fell_back, words_locale=words, article_locales=tuple(locales), matches=(chosen,))
