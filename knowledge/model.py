"""Value types shared by the knowledge engine: articles, problems, matches, answers."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def pack(text: str) -> bytes:
    """``text`` compressed for keeping: article bodies are most of a big knowledge base's memory."""
    return zlib.compress(text.encode("utf-8", "surrogatepass"))


def unpack(packed: bytes) -> str:
    """The text that ``pack`` compressed."""
    return zlib.decompress(packed).decode("utf-8", "surrogatepass")


class _PickledByFields:
    """Pickled as a call of the class with its field values: unpickling a frozen slots dataclass the
    default way looks its fields up again for every object (about 7 µs each, most of a warm load)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), tuple(getattr(self, name) for name in self.__dataclass_fields__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class EnglishSource(_PickledByFields):
    """The English source text carried by a span-format (sxs) file; ``body`` is kept packed (see ``pack``)."""

    heading: str
    error_strings: tuple[str, ...]
    packed_body: bytes = field(repr=False)

    @property
    def body(self) -> str:
        return unpack(self.packed_body)


@dataclass(frozen=True, slots=True)
class Article(_PickledByFields):
    """One article file in one locale.

    ``id`` groups translations: the file stem (zero-width characters removed) when the
    file sits under a locale folder, else the heading anchor. ``path`` is relative to
    ``kb_root`` with forward slashes. The markdown ``body`` is kept packed (``packed_body``, see ``pack``)
    and unpacked on each read: about 8 µs, once per answer shown.
    """

    id: str
    locale: str
    path: str
    kb_root: str
    title: str
    heading: str
    anchor: str | None
    error_strings: tuple[str, ...]
    packed_body: bytes = field(repr=False)
    custom_ids: tuple[str, ...] = ()
    english: EnglishSource | None = None

    @property
    def body(self) -> str:
        return unpack(self.packed_body)


@dataclass(frozen=True, slots=True)
class ArticleProblem:
    """Why one file could not be (fully) loaded: path, 1-based line, reason."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class ArticleParseError(ValueError):
    """A file that is not a usable article."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.problem = ArticleProblem(path, line, reason)


class Tier(StrEnum):
    """How sure the engine is: answer outright, offer choices, or say it does not know."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    NONE = "none"


ENGLISH = "en"
"""Locale tag of texts indexed from the English source of span-format files."""


@dataclass(frozen=True)
class Match:
    """One ranked candidate: the article, the indexed text that matched, and its score (0-100).

    ``locale`` is the language of the matched text (``ENGLISH`` for English source text),
    ``path`` the file (relative to its KB root) the matched text came from. ``fit`` (0-100) is
    how well the paste fits the start of the text before any discount for the part of the text
    the paste lacks: a cut-off paste fits two texts that begin alike equally well.
    """

    article_id: str
    locale: str
    path: str
    score: float
    text: str = field(default="", compare=False)
    fit: float = field(default=0.0, compare=False)


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What the engine says to one pasted text (built with keywords only: eight of its fields are alike).

    ``article`` is the version to show (in ``reply_locale``), ``None`` for tier ``none``.
    ``wanted_locale`` is the locale the user would have liked; when the article lacks it,
    ``reply_locale`` differs and ``fell_back`` is true. ``words_locale`` is the locale of the bot's own
    words around the answer (buttons, notes, "did you mean", "not found"), chosen by
    ``knowledge.locales.choose_words_locale`` among the caller's catalog locales. ``article_locales``
    are the locales the best article can be shown in (see ``KnowledgeEngine.article_locales``).
    ``suggestions`` are further distinct articles, best first.
    ``tentative`` marks a ``suggest`` answer whose first article clearly leads the rest: worth showing
    with "is this it?" (see ``Thresholds.tentative``).
    """

    tier: Tier
    article: Article | None
    score: float
    reply_locale: str
    wanted_locale: str
    fell_back: bool
    words_locale: str
    article_locales: tuple[str, ...] = ()
    matches: tuple[Match, ...] = ()
    suggestions: tuple[Match, ...] = ()
    tentative: bool = False
