"""Load knowledge-base folders: every article file parsed, translations grouped, bad files reported."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.docfx import clean_id, parse_article
from knowledge.locales import canonical_locale
from knowledge.model import Article, ArticleParseError, ArticleProblem

SKIPPED_FOLDERS = frozenset({"includes", "media", "breadcrumb", ".git"})
PARALLEL_MIN_FILES = 4000
"""Below this many files, starting worker processes costs more than it saves."""
CHUNK = 500

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FileJob:
    """One file to parse: where it is, its path in its KB, and what its folders say."""

    absolute: str
    relative: str
    kb_root: str
    locale_hint: str | None
    article_id: str | None


@dataclass
class KnowledgeBase:
    """Every loaded article version, the files that failed, and translations grouped by article id."""

    articles: tuple[Article, ...]
    problems: tuple[ArticleProblem, ...] = ()
    _shown: dict[str, dict[str, Article]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for article in self.articles:  # later folders come later: their text is shown
            self._shown.setdefault(article.id, {})[article.locale] = article

    def __len__(self) -> int:
        return len(self._shown)

    @property
    def article_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._shown))

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(sorted({a.locale for a in self.articles}))

    def translations(self, article_id: str) -> dict[str, Article]:
        """Locale → the version of one article to show (the later folder's, when two have it)."""
        return dict(self._shown.get(article_id, {}))

    def article(self, article_id: str, locale: str) -> Article | None:
        return self._shown.get(article_id, {}).get(locale)


def folder_locale(name: str) -> str | None:
    """The locale a folder name states: a tag with a region or script (``sv-SE``, ``zh-Hant``).

    A bare language code is not enough: folders called ``it``, ``no`` or ``is`` are usually
    not Italian, Norwegian or Icelandic articles.
    """
    return canonical_locale(name) if ("-" in name or "_" in name) else None


def _is_article_file(name: str) -> bool:
    return name.endswith(".md") and not name.upper().startswith("TOC.")


def find_files(root: Path) -> Iterator[FileJob]:
    """Every article file below ``root`` with the locale and id its folders imply, in a stable order."""
    kb_root = str(root)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d.lower() not in SKIPPED_FOLDERS)
        rel_folder = os.path.relpath(folder, root)
        parts = [] if rel_folder == "." else rel_folder.split(os.sep)
        locale_hint = next((loc for p in reversed(parts) if (loc := folder_locale(p))), None)
        if locale_hint is None:
            locale_hint = folder_locale(root.name)
        for name in sorted(files):
            if not _is_article_file(name):
                continue
            relative = "/".join([*parts, name])
            yield FileJob(
                absolute=os.path.join(folder, name),
                relative=relative,
                kb_root=kb_root,
                locale_hint=locale_hint,
                article_id=clean_id(name[:-3]) if locale_hint else None,
            )


def parse_file(job: FileJob) -> Article | ArticleProblem:
    """Parse one file; a problem instead of an exception when it is not a usable article."""
    try:
        with open(job.absolute, encoding="utf-8", errors="strict") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        return ArticleProblem(job.absolute, 1, f"not UTF-8 text ({e.reason} at byte {e.start})")
    except OSError as e:
        return ArticleProblem(job.absolute, 1, f"unreadable: {e.strerror}")
    try:
        return parse_article(
            text,
            path=job.relative,
            kb_root=job.kb_root,
            locale_hint=job.locale_hint,
            article_id=job.article_id,
        )
    except ArticleParseError as e:
        return ArticleProblem(job.absolute, e.problem.line, e.problem.reason)


def _parse_chunk(jobs: list[FileJob]) -> list[Article | ArticleProblem]:
    return [parse_file(job) for job in jobs]


def _parse_all(jobs: list[FileJob], progress: Progress | None) -> list[Article | ArticleProblem]:
    total = len(jobs)
    results: list[Article | ArticleProblem] = []
    chunks = [jobs[i: i + CHUNK] for i in range(0, total, CHUNK)]
    workers = min(os.cpu_count() or 1, 4)
    if total >= PARALLEL_MIN_FILES and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for parsed in pool.map(_parse_chunk, chunks):
                results += parsed
                if progress:
                    progress(len(results), total)
    else:
        for chunk in chunks:
            results += _parse_chunk(chunk)
            if progress:
                progress(len(results), total)
    return results


def load_knowledge_base(folders: Sequence[str | Path], *, progress: Progress | None = None) -> KnowledgeBase:
    """Load every article below each folder (later folders win for display); bad files become problems."""
    jobs: list[FileJob] = []
    for folder in folders:
        root = Path(folder).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"knowledge-base folder not found: {folder}")
        jobs += find_files(root)
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    for result in _parse_all(jobs, progress):
        (articles if isinstance(result, Article) else problems).append(result)  # type: ignore[arg-type]
    return KnowledgeBase(tuple(articles), tuple(problems))


def check_folder(folder: str | Path) -> list[ArticleProblem]:
    """Every problem of the files below one folder."""
    return list(load_knowledge_base([folder]).problems)
