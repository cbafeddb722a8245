"""Index article texts and rank them against pasted text: cheap candidates, then precise rescoring.

Every title, heading and quoted error string (localized and, for span files, English) is one
entry. Candidates come from an inverted index of character n-grams (trigrams of space-padded
words; bigrams inside Han, Kana, Hangul, Thai and other unspaced scripts) weighted by IDF;
the best few are rescored with rapidfuzz on the normalized strings. Long pastes are cut into
lines and the best-scoring line wins, so a 1 MB paste costs a bounded window.

Ranking also weighs cross-language word association (``_related``): each article's words in
all its languages and in its file name, so an older or different translation of a heading still
finds its article. Where an unspaced script meets another (``附加文件Outlook``) is a word boundary.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from knowledge.alternates import AlternateText
from knowledge.locales import is_english
from knowledge.model import ENGLISH, Article, Match
from knowledge.normalize import DENSE_RANGES, SCRIPT_BOUNDARY, clean_paste, normalize
from knowledge.postings import distinct_sorted, feature_postings

CANDIDATES = 60
"""Entries rescored precisely per query window."""
MAX_QUERY_CHARS = 300
"""A normalized query window longer than this is cut: headings are far shorter."""
LONG_PASTE_CHARS = 160
"""A cleaned paste at least this long is also tried line by line (the error may be one line of a log)."""
MAX_WINDOWS = 24
"""Lines of a long paste tried as separate query windows."""
MIN_CONTAINED_CHARS = 6
"""A quoted error string this long found whole inside a paste counts nearly as a full match."""
COMMON_FEATURE_SHARE = 0.05
"""n-grams in more entries than this share are skipped when gathering candidates."""
RARE_MIN_SHARE = 0.3
"""When fewer of a query's n-grams than this share are rare enough to gather candidates, common ones join."""
COMMON_POSTINGS_BUDGET = 40_000
"""How many postings of common n-grams may join then (least common first)."""
WORD_PREFIX = 5
"""Words of spaced scripts are cut to this many characters: a crude stemmer for inflected languages."""
RELATED_WEIGHT = 100.0
"""Rank points for an article whose words (in any language) go with every query word (see ``_related``)."""
VERBATIM_FROM = 90.0
VERBATIM_TO = 95.0
"""Association counts fully below the first best confidence of a window and not at all from the second."""
PREFER_SLACK = 8.0
"""Rank points by which an entry in the preferred locale may trail its article's best entry and still stand for it."""
TYPO_MIN_CHARS = 4
"""An unknown query word this long is looked up with one typo undone."""
TYPO_CREDIT = 0.8
"""The share of a known word's evidence that a word one typo away from it gets."""
TYPO_MAX_WORDS = 6
"""At most this many known words stand for one unknown query word."""
RELATED_MAX_SHARE = 0.2
"""Query words in more articles than this share carry no association evidence."""
RELATED_SMOOTHING = 2.0
"""Added to the Dice denominator so words seen in one or two articles do not associate perfectly."""
GARBLED_EDITS = 2
"""A paste made only of a text's own characters, at most this many edits from it, is that text garbled."""
GARBLED_MIN_CHARS = 4
"""Texts shorter than this (spaces aside) are too short to tell garbled from different."""
GARBLED_MIN_SHARE = 0.6
"""A garbled paste may be cut off, but keep at least this share of the text."""
GARBLED_CONFIDENCE = 90.0
"""The confidence a garbled paste of a text gets (see ``_garbled``)."""


_DENSE_CHAR = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in DENSE_RANGES) + "]")


def _dense(ch: str) -> bool:
    """Whether ``ch`` belongs to a script written without spaces (``DENSE_RANGES``)."""
    return _DENSE_CHAR.match(ch) is not None


def features(norm: str) -> list[str]:
    """The n-grams of a normalized text: bigrams in unspaced scripts, padded trigrams elsewhere."""
    if _DENSE_CHAR.search(norm) is None:  # most texts: every trigram of the padded text but those across a space
        padded = f" {' '.join(norm.split())} "
        return [padded[i: i + 3] for i in range(len(padded) - 2) if padded[i + 1] != " "]
    grams: list[str] = []
    for token in SCRIPT_BOUNDARY.sub(" ", norm).split():
        if _dense(token[0]):
            if len(token) == 1:
                grams.append(token)
            else:
                grams.extend(token[i: i + 2] for i in range(len(token) - 1))
        else:
            padded = f" {token} "
            grams.extend(padded[i: i + 3] for i in range(len(padded) - 2))
    return grams


def skip_bigrams(norm: str) -> list[str]:
    """Pairs of characters one apart in unspaced scripts: where slips leave no bigram of the text intact.

    "群原組群則" (群組原則 with 原 moved and 群 doubled) shares no bigram with its text, but 群組.
    """
    return [token[i] + token[i + 2] for token in SCRIPT_BOUNDARY.sub(" ", norm).split()
            if _dense(token[0]) for i in range(len(token) - 2)]


def words(norm: str) -> list[str]:
    """Word features of a normalized text: words cut to ``WORD_PREFIX`` characters; bigrams in unspaced scripts."""
    if _DENSE_CHAR.search(norm) is None:
        return [token[:WORD_PREFIX] for token in norm.split()]
    out: list[str] = []
    for token in SCRIPT_BOUNDARY.sub(" ", norm).split():
        if _dense(token[0]):
            out.extend([token] if len(token) == 1 else [token[i: i + 2] for i in range(len(token) - 1)])
        else:
            out.append(token[:WORD_PREFIX])
    return out


def _garbled(query: str, text: str) -> bool:
    """Whether ``query`` is ``text``, or its start, with a few of its own characters dropped, doubled, moved or swapped.

    Counted on the strings without spaces, with a swap of two neighbours as one edit (OSA distance):
    at most ``GARBLED_EDITS`` edits from the text or from a start of it at least
    ``GARBLED_MIN_SHARE`` as long, fewer than half the paste's characters, and no character that
    the text lacks. Edit-distance ratios judge short texts harshly: two slips in a five-character
    Han heading leave a ratio of 60-80, where an unrelated heading sharing words scores as much;
    but an unrelated heading brings characters of its own, a slip does not.
    """
    q, t = query.replace(" ", ""), text.replace(" ", "")
    near = range(len(q) - GARBLED_EDITS, len(q) + GARBLED_EDITS + 1)
    if GARBLED_MIN_SHARE * len(t) <= len(q) < len(t):  # cut off: compare with the starts of about its length
        lengths = [n for n in near if 0 < n <= len(t)]
    else:
        lengths = [len(t)] if len(t) in near else []
    if not lengths or len(t) < GARBLED_MIN_CHARS or not set(q) <= set(t):
        return False
    edits = min((OSA.distance(q, t[:n], score_cutoff=GARBLED_EDITS) for n in lengths), default=GARBLED_EDITS + 1)
    return edits <= GARBLED_EDITS and 2 * edits < len(q)


def _deletions(word: str) -> set[str]:
    """The word with one letter left out, each way."""
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _gather(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The concatenated CSR rows ``rows`` of ``values`` (``offsets`` delimits the rows)."""
    starts, ends = offsets[rows], offsets[rows + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return values[:0]
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    gathered: np.ndarray = values[np.arange(total) + shift]
    return gathered


class MatchIndex:
    """An n-gram index over article texts, searched with ``match``."""

    def __init__(
        self,
        texts: list[str],
        entry_article: list[str],
        entry_locale: list[str],
        entry_path: list[str],
        entry_is_error: list[bool],
    ) -> None:
        self.texts = texts
        self.entry_is_error = entry_is_error
        self.entry_article = entry_article
        self.entry_locale = entry_locale
        self.entry_path = entry_path
        found = feature_postings(texts)  # each text's distinct n-grams (``features``), numbered
        vocab, feature_of, entry_of = found.vocab, found.feature_of, found.entry_of
        self.postings = entry_of  # grouped by feature, entries ascending
        df = np.bincount(feature_of, minlength=len(vocab)).astype(np.int32)
        self.offsets = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
        n = max(len(texts), 1)
        self.idf = np.log((n + 1) / (df + 0.5)).astype(np.float32)
        self.entry_weight = np.bincount(entry_of, weights=self.idf[feature_of], minlength=n).astype(np.float32)
        self.max_df = max(50, int(n * COMMON_FEATURE_SHARE))
        self.vocab = vocab
        self._index_article_words()

    def _index_article_words(self) -> None:
        """Which word features each article uses in any of its texts, and which articles use each word."""
        numbers: dict[str, int] = {}
        self.entry_article_no = np.asarray(
            [numbers.setdefault(a, len(numbers)) for a in self.entry_article], dtype=np.int32
        )
        # Every text's words, then every file name's (a file name often keeps the words of the original
        # title); words are numbered in order of first use.
        texts_words = [words(text) for text in self.texts]
        texts_words += [words(normalize(article)) for article in numbers]
        every_word = [w for found in texts_words for w in found]
        word_vocab = {w: number for number, w in enumerate(dict.fromkeys(every_word))}
        word_of = np.fromiter(map(word_vocab.__getitem__, every_word), dtype=np.int64, count=len(every_word))
        users = np.concatenate((self.entry_article_no, np.arange(len(numbers)))).astype(np.int64)
        article_of = np.repeat(users, [len(found) for found in texts_words])
        n_words = max(len(word_vocab), 1)
        pairs = distinct_sorted(article_of * n_words + word_of)  # each (article, word) once, by article then word
        article_of, word_of = (pairs // n_words).astype(np.int32), (pairs % n_words).astype(np.int32)
        self.article_words = word_of
        self.article_offsets = np.concatenate(([0], np.cumsum(np.bincount(article_of, minlength=len(numbers)))))
        order = np.argsort(word_of, kind="stable")
        self.word_articles = article_of[order]
        self.word_df = np.bincount(word_of, minlength=len(word_vocab)).astype(np.int32)
        self.word_offsets = np.concatenate(([0], np.cumsum(self.word_df)))
        self.word_vocab = word_vocab
        self.n_articles = len(numbers)
        deletions: dict[str, list[int]] = {}
        for word, number in word_vocab.items():
            if len(word) >= TYPO_MIN_CHARS - 1 and not _dense(word[0]):
                for key in (word, *_deletions(word)):
                    deletions.setdefault(key, []).append(number)
        self.word_deletions = deletions

    @classmethod
    def build(cls, articles: Iterable[Article],
              alternates: Iterable[tuple[AlternateText, Article]] = ()) -> MatchIndex:
        """Index every title, heading and quoted error string, localized and English, once per article,
        and each alternate text as an error text of the article version it stands for, in its locale
        (``KnowledgeBase.alternate_versions``; see ``knowledge.alternates``)."""
        texts: list[str] = []
        entry_article: list[str] = []
        entry_locale: list[str] = []
        entry_path: list[str] = []
        entry_is_error: list[bool] = []
        seen: set[tuple[str, str, str]] = set()
        normalized: dict[str, str] = {}  # a third of the raw texts are distinct: titles repeat headings,
        # span files repeat their English source in every locale

        def add(raw: str, article: Article, locale: str, is_error: bool = False) -> None:
            norm = normalized.get(raw)
            if norm is None:
                norm = normalized[raw] = normalize(raw)
            key = (article.id, locale, norm)
            if len(norm) < 2 or key in seen or (article.id, ENGLISH, norm) in seen:
                return
            seen.add(key)
            texts.append(norm)
            entry_article.append(article.id)
            entry_locale.append(locale)
            entry_path.append(article.path)
            entry_is_error.append(is_error)

        # English first, so a "translation" that is still the English text counts as English:
        # a paste of it is in English and the reply goes by the client's locale.
        for article in articles:
            if article.english is not None:
                for raw in article.english.error_strings:
                    add(raw, article, ENGLISH, is_error=True)
                add(article.english.heading, article, ENGLISH)
            for raw in article.error_strings:
                add(raw, article, article.locale, is_error=True)
            for raw in (article.heading, article.title):
                add(raw, article, article.locale)
        for alternate, version in alternates:
            add(alternate.text, version, ENGLISH if is_english(alternate.locale) else alternate.locale, True)
        return cls(texts, entry_article, entry_locale, entry_path, entry_is_error)

    def __len__(self) -> int:
        return len(self.texts)

    def _candidates(self, query: str, grams: list[str] | None = None) -> list[tuple[int, float]]:
        """Up to ``CANDIDATES`` entries sharing the most IDF-weighted n-grams (``features`` of the query
        unless ``grams`` are given), with their cosine."""
        ids = [self.vocab[g] for g in set(features(query) if grams is None else grams) if g in self.vocab]
        if not ids:
            return []
        fids = np.asarray(ids, dtype=np.int64)
        starts, ends = self.offsets[fids], self.offsets[fids + 1]
        counts = ends - starts
        keep = counts <= self.max_df
        if not keep.any():
            keep = counts == counts.min()
        elif keep.sum() < RARE_MIN_SHARE * len(keep):
            # A typo in a text of common words ("micosoft outlook") leaves a few rare n-grams of its
            # own: they alone would draw the candidates. Add the least common others, within a budget.
            order = np.argsort(counts, kind="stable")
            within = np.cumsum(np.where(keep[order], 0, counts[order])) <= COMMON_POSTINGS_BUDGET
            keep[order[within]] = True
        fids, starts, ends = fids[keep], starts[keep], ends[keep]
        postings = np.concatenate([self.postings[s:e] for s, e in zip(starts, ends, strict=True)])
        weights = np.repeat(self.idf[fids], ends - starts)
        shared = np.bincount(postings, weights=weights, minlength=len(self.texts))
        sharing = np.flatnonzero(shared)  # the cosine and the top-k of these only: far fewer than all entries
        query_weight = float(self.idf[np.asarray(ids)].sum())
        cosine = shared[sharing] / np.sqrt(self.entry_weight[sharing] * query_weight + 1e-9)
        k = min(CANDIDATES, len(cosine))
        top = np.argpartition(-cosine, k - 1)[:k] if k < len(cosine) else np.arange(len(cosine))
        return [(int(sharing[i]), float(cosine[i])) for i in top]

    def _related(self, query: str, articles: np.ndarray) -> np.ndarray:
        """How well each given article's words, in any of its languages, go with the query's words (0-1).

        For each query word, the Dice association between it and each word of the article is counted
        over the articles that use them (smoothed: ``2 * both / (df_q + df_w + RELATED_SMOOTHING)``);
        the article's best-associated word stands in for the query word, weighted by the query
        word's IDF. A word and its translations are used by the same articles, so an older or
        different translation of a heading ("prenumeration") still finds the article whose text
        says "abonnemang" in that language and "subscription" or "Abonnement" in others. An unknown
        query word stands for the known words one typo away (see ``_query_words``).
        """
        groups = self._query_words(query)
        if not groups or not len(articles):
            return np.zeros(len(articles))
        their_words = _gather(self.article_words, self.article_offsets, articles)
        segments = np.concatenate(([0], np.cumsum(np.diff(self.article_offsets)[articles])[:-1])).astype(np.int64)
        their_df = self.word_df[their_words]
        score = np.zeros(len(articles))
        total = 0.0
        for ids, credit in groups:
            dfs = [int(self.word_df[word]) for word in ids]
            total += credit * math.log((self.n_articles + 1) / (min(dfs) + 0.5))
            best = None
            for word, word_df in zip(ids, dfs, strict=True):
                if word_df > RELATED_MAX_SHARE * self.n_articles:
                    continue
                users = self.word_articles[self.word_offsets[word]: self.word_offsets[word + 1]]
                used_with = _gather(self.article_words, self.article_offsets, users)
                together = np.bincount(used_with, minlength=len(self.word_df))
                dice = 2.0 * together[their_words] / (word_df + their_df + RELATED_SMOOTHING)
                dice = np.maximum.reduceat(dice, segments)
                weighted = credit * math.log((self.n_articles + 1) / (word_df + 0.5)) * dice
                best = weighted if best is None else np.maximum(best, weighted)
            if best is not None:
                score += best
        return score / total if total else score

    def _query_words(self, query: str) -> list[tuple[list[int], float]]:
        """Each distinct query word as the known words it stands for, with the credit they get.

        A known word stands for itself; an unknown word of a spaced script (``TYPO_MIN_CHARS`` or
        more) for the known words one typo away (an edit of one letter or a swap of two neighbours,
        found through their one-letter deletions), at ``TYPO_CREDIT``.
        """
        groups: list[tuple[list[int], float]] = []
        for word in dict.fromkeys(words(query)):
            known = self.word_vocab.get(word)
            if known is not None:
                groups.append(([known], 1.0))
            elif len(word) >= TYPO_MIN_CHARS and not _dense(word[0]):
                near = {i for key in (word, *_deletions(word)) for i in self.word_deletions.get(key, ())}
                if near:
                    groups.append((sorted(near)[:TYPO_MAX_WORDS], TYPO_CREDIT))
        return groups

    def _rescore(self, query: str, entries: list[int], cosines: list[float]) -> list[tuple[float, float, float]]:
        """``(rank, confidence, fit)`` of each entry for one query window, scored together (``process.cdist``).

        Confidence is edit-distance similarity that tolerates typos, a cut-off end (prefix
        ratio) and surrounding words (partial ratio), discounted when lengths differ; it decides
        the tier. Rank adds word-order-free similarity and the n-gram cosine, which find
        other translations of the same text better; it orders the candidates. Fit is the
        similarity of the paste to the text or its start, without the discount for a cut-off end.
        """
        texts = [self.texts[e] for e in entries]
        n_query = len(query)
        lengths = np.fromiter(map(len, texts), dtype=np.float64, count=len(texts))
        longer = np.maximum(lengths, n_query)
        coverage = np.minimum(lengths, n_query) / np.maximum(longer, 1.0)

        def scores(scorer: Callable[..., float], choices: list[str]) -> np.ndarray:
            found: np.ndarray = process.cdist([query], choices, scorer=scorer, dtype=np.float64)[0]
            return found

        ratio = scores(fuzz.ratio, texts)
        prefix = scores(fuzz.ratio, [t[:n_query] for t in texts])  # the text itself when not longer than the paste
        # The whole entry inside a longer paste (an error string with context) is strong evidence;
        # the paste matching only the middle of a longer entry is weak.
        is_error = np.fromiter((self.entry_is_error[e] for e in entries), dtype=bool, count=len(entries))
        contained = is_error & (lengths < n_query) & (lengths >= MIN_CONTAINED_CHARS)
        partial = np.zeros(len(texts))
        wanted = np.flatnonzero((coverage >= 0.5) | contained)
        if len(wanted):
            partial[wanted] = scores(fuzz.partial_ratio, [texts[i] for i in wanted])
        confidence = np.maximum.reduce([
            ratio, prefix * (0.85 + 0.15 * coverage), partial * (0.6 + 0.4 * coverage),
            np.where(contained, partial * (0.85 + 0.15 * coverage), 0.0),
        ])
        loose = np.maximum.reduce([
            ratio, prefix * (0.8 + 0.2 * coverage), partial * (0.7 + 0.3 * coverage),
            scores(fuzz.token_sort_ratio, texts),
        ])
        rank = 0.7 * loose + 30.0 * np.minimum(np.asarray(cosines, dtype=np.float64), 1.0)
        fit = np.maximum(ratio, prefix)
        out: list[tuple[float, float, float]] = []
        for i, text in enumerate(texts):
            c = float(confidence[i]) if longer[i] else 0.0
            if c < GARBLED_CONFIDENCE and _garbled(query, text):
                c = GARBLED_CONFIDENCE
            out.append((float(rank[i]), c, float(fit[i])) if longer[i] else (0.0, 0.0, 0.0))
        return out

    def _windows(self, text: str) -> list[str]:
        cleaned = clean_paste(text)
        whole = normalize(cleaned)[:MAX_QUERY_CHARS].strip()
        if not whole:
            return []
        if len(whole) < LONG_PASTE_CHARS:
            return [whole]
        lines = [normalize(line) for line in cleaned.split("\n")[:MAX_WINDOWS]]
        return [whole, *(w[:MAX_QUERY_CHARS] for w in lines if len(w) >= 2 and w != whole)]

    def match(self, text: str, *, limit: int = 3, prefer_locale: str | None = None) -> list[Match]:
        """Distinct articles best first (at most ``limit``); empty for empty or unmatched text.

        Each ``Match.score`` is the confidence (0-100) of that article's best entry.
        """
        if not isinstance(text, str) or limit < 1:
            return []
        best: dict[str, tuple[float, float, int]] = {}
        fits: dict[str, float] = {}
        preferred: dict[str, tuple[float, int]] = {}
        prefer = (prefer_locale or "").split("-")[0].lower()
        for window in self._windows(text):
            candidates = self._candidates(window) or self._candidates(window, skip_bigrams(window))
            if not candidates:
                continue
            numbers = self.entry_article_no[[entry for entry, _ in candidates]]
            articles, which = np.unique(numbers, return_inverse=True)
            scored = self._rescore(window, [entry for entry, _ in candidates], [c for _, c in candidates])
            # A near-verbatim match is not reordered by association: it fades out between the two bounds.
            best_confidence = max(c for _, c, _ in scored)
            verbatim = min(max((best_confidence - VERBATIM_FROM) / (VERBATIM_TO - VERBATIM_FROM), 0.0), 1.0)
            related = RELATED_WEIGHT * (1.0 - verbatim) * self._related(window, articles) if verbatim < 1 else None
            for (entry, _), k, (rank, confidence, fit) in zip(candidates, which.tolist(), scored, strict=True):
                if related is not None:
                    rank += float(related[k])
                article = self.entry_article[entry]
                fits[article] = max(fit, fits.get(article, 0.0))
                if prefer and self.entry_locale[entry].lower().startswith(prefer) and (
                    article not in preferred or rank > preferred[article][0]
                ):
                    preferred[article] = (rank, entry)
                held = best.get(article)
                if held is None or rank > held[0] + 1e-6 or (
                    math.isclose(rank, held[0]) and prefer and self.entry_locale[entry].lower().startswith(prefer)
                ):
                    best[article] = (rank, max(confidence, held[1]) if held else confidence, entry)
                elif confidence > held[1]:
                    best[article] = (held[0], confidence, held[2])
        # Equal ranks (the same words in another order) go to the more confident article.
        ranked = sorted(best.items(), key=lambda kv: (-round(kv[1][0], 6), -kv[1][1], kv[0]))[:limit]
        # The text of the user's own language stands for the article when it matches nearly as well
        # (an older Danish translation may be closer to the Norwegian heading than to the Danish one).
        shown: list[tuple[str, float, int]] = []
        for article, (rank, confidence, entry) in ranked:
            own = preferred.get(article)
            shown.append((article, confidence, own[1] if own and own[0] >= rank - PREFER_SLACK else entry))
        return [
            Match(article, self.entry_locale[e], self.entry_path[e], round(c, 2), self.texts[e],
                  round(fits[article], 2))
            for article, c, e in shown
        ]
