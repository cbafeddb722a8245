"""The engine's front door: load knowledge bases once, answer pasted text in the right language.

PROVISIONAL: the matching here is a placeholder (rapidfuzz scan) until ``knowledge.matcher``
lands; the public surface (``KnowledgeEngine``, ``ask``, ``translations``) is stable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rapidfuzz import fuzz, process, utils

from knowledge.corpus import KnowledgeBase, load_knowledge_base
from knowledge.model import ENGLISH, Answer, Article, Match, Tier

BUNDLED_ARTICLES = Path(__file__).resolve().parent / "articles"
DEFAULT_LOCALE = "en-US"


class KnowledgeEngine:
    """Articles from one or more folders, indexed for matching; answers in the user's language."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._texts: list[str] = []
        self._keys: list[Match] = []
        for a in kb.articles:
            for text in (a.heading, a.title, *a.error_strings):
                self._add(text, a.id, a.locale, a.path)
            if a.english is not None:
                for text in (a.english.heading, *a.english.error_strings):
                    self._add(text, a.id, ENGLISH, a.path)

    def _add(self, text: str, article_id: str, locale: str, path: str) -> None:
        if text.strip():
            self._texts.append(utils.default_process(text))
            self._keys.append(Match(article_id, locale, path, 0.0, text))

    @classmethod
    def load(
        cls,
        folders: Sequence[str | Path] = (),
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> KnowledgeEngine:
        """Load the given folders (the bundled articles when none are given)."""
        return cls(load_knowledge_base(list(folders) or [BUNDLED_ARTICLES], progress=progress))

    @property
    def locales(self) -> tuple[str, ...]:
        return self.kb.locales

    def translations(self, article_id: str) -> dict[str, Article]:
        """Every locale's version of one article (the later folder's text wins)."""
        return self.kb.translations(article_id)

    def match(self, text: str, *, limit: int = 3) -> list[Match]:
        """Distinct articles best first."""
        query = utils.default_process(text or "")
        if not query or not self._texts:
            return []
        found: list[Match] = []
        seen: set[str] = set()
        for _, score, i in process.extract(query, self._texts, scorer=fuzz.partial_ratio, limit=limit * 8):
            key = self._keys[i]
            if key.article_id in seen:
                continue
            seen.add(key.article_id)
            found.append(Match(key.article_id, key.locale, key.path, float(score), key.text))
            if len(found) == limit:
                break
        return found

    def ask(self, text: str, *, locale: str | None = None, client_locale: str | None = None) -> Answer:
        """Answer one pasted text. ``locale`` is an explicit choice; ``client_locale`` the chat client's."""
        matches = self.match(text, limit=4)
        wanted = locale or (
            matches[0].locale if matches and matches[0].locale != ENGLISH else client_locale
        ) or DEFAULT_LOCALE
        if not matches or matches[0].score < 60:
            return Answer(Tier.NONE, None, matches[0].score if matches else 0.0, wanted, wanted, False,
                          tuple(matches), ())
        best = matches[0]
        versions = self.translations(best.article_id)
        reply = wanted if wanted in versions else next(iter(versions))
        tier = Tier.ANSWER if best.score >= 85 else Tier.SUGGEST
        return Answer(tier, versions[reply], best.score, reply, wanted, reply != wanted,
                      tuple(matches), tuple(matches[1:]))
