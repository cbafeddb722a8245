"""Load knowledge-base folders: every article file parsed, translations grouped, bad files reported.

A folder is a KB root with any nesting. An article's locale is its ``ms.contentlocale``, else the
nearest enclosing folder named like a locale (``sv-SE``, ``zh_Hant``). Files below a locale folder
are grouped into one article by their stem (``sv-SE/x/foo.md`` and ``ko-KR/foo.md`` are both
``foo``); other files by their heading anchor (``<a name="...">``).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.alternates import ALTERNATES_FILE, AlternateText, read_alternates
from knowledge.docfx import article_id_from_stem, parse_article
from knowledge.locales import canonical_locale
from knowledge.model import Article, ArticleParseError, ArticleProblem, EnglishSource
from knowledge.normalize import normalize

__all__ = [
    "KnowledgeBase",
    "check_folder",
    "find_article_files",
    "folder_locale",
    "kb_stats",
    "load_knowledge_base",
]

SKIPPED_FOLDERS = frozenset({"includes", "media", "breadcrumb"})
"""Folders that hold parts of articles or images, never articles (compared lower-case)."""
PARALLEL_MIN_FILES = 3000
"""Below this many files, starting worker processes costs more than it saves."""
CHUNK_FILES = 400
MAX_WORKERS = 4

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ArticleFile:
    """One file to parse: where it is, its path in its KB, and what its folders say."""

    absolute: str
    relative: str
    kb_root: str
    locale_hint: str | None
    article_id: str | None


class KnowledgeBase:
    """Every loaded article version, the files that failed, and translations grouped by article id.

    ``articles`` keeps every file version in load order, so when two folders hold the same
    article and locale both texts are there to match; the later folder's version is the one
    ``translations`` and ``article`` give to show. ``alternates`` are further texts to match
    (see ``knowledge.alternates``), each naming a loaded article.
    """

    def __init__(
        self,
        articles: Sequence[Article],
        problems: Sequence[ArticleProblem] = (),
        alternates: Sequence[AlternateText] = (),
    ) -> None:
        self.articles: tuple[Article, ...] = tuple(articles)
        self.problems: tuple[ArticleProblem, ...] = tuple(problems)
        self.alternates: tuple[AlternateText, ...] = tuple(alternates)
        shown: dict[str, dict[str, Article]] = {}
        for article in self.articles:  # later folders come later: their text is shown
            shown.setdefault(article.id, {})[article.locale] = article
        self._shown = shown
        self.article_ids: tuple[str, ...] = tuple(sorted(shown))
        self.locales: tuple[str, ...] = tuple(sorted({a.locale for a in self.articles}))

    def __len__(self) -> int:
        """The number of distinct articles (translations count once)."""
        return len(self._shown)

    def __repr__(self) -> str:
        return (f"KnowledgeBase({len(self)} articles, {len(self.locales)} locales, "
                f"{len(self.articles)} files, {len(self.problems)} problems)")

    @property
    def file_problems(self) -> tuple[ArticleProblem, ...]:
        """The problems of article files: each a file that did not load."""
        return tuple(p for p in self.problems if not _in_alternates_file(p))

    @property
    def alternate_problems(self) -> tuple[ArticleProblem, ...]:
        """The problems of alternate-texts files: each an entry left out (or the whole file, when unreadable)."""
        return tuple(p for p in self.problems if _in_alternates_file(p))

    def translations(self, article_id: str) -> dict[str, Article]:
        """Locale → the version of one article to show (the later folder's, when two have it)."""
        return dict(self._shown.get(article_id, {}))

    def article(self, article_id: str, locale: str) -> Article | None:
        """The version of one article to show in one locale, ``None`` when there is none."""
        return self._shown.get(article_id, {}).get(locale)

    def alternate_versions(self) -> list[tuple[AlternateText, Article]]:
        """Each alternate text with the version of its article it stands for: the one in its locale, else
        the first loaded (the reply picks its own locale)."""
        return [(alt, versions.get(alt.locale) or next(iter(versions.values())))
                for alt in self.alternates if (versions := self._shown.get(alt.article_id))]


def _in_alternates_file(problem: ArticleProblem) -> bool:
    return os.path.basename(problem.path) == ALTERNATES_FILE


def folder_locale(name: str) -> str | None:
    """The locale a folder name states: a tag with a region or script (``sv-SE``, ``zh-Hant``).

    A bare language code is not enough: folders called ``it``, ``no`` or ``is`` are usually
    not Italian, Norwegian or Icelandic articles.
    """
    return canonical_locale(name) if ("-" in name or "_" in name) else None


def _is_article_file(name: str) -> bool:
    """A markdown file that is not a table of contents nor a macOS resource fork (``._name.md``)."""
    return name.lower().endswith(".md") and not name.upper().startswith("TOC.") and not name.startswith("._")


def _article_folders(root: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """The one walk of a knowledge-base folder: each folder loading reads (hidden ones and ``includes/``,
    ``media/``, ``breadcrumb/`` skipped; symbolic links to folders not followed), its path parts below
    ``root`` and its article files' names, in a stable order."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d.lower() not in SKIPPED_FOLDERS and not d.startswith("."))
        rel_folder = os.path.relpath(folder, root)
        yield folder, [] if rel_folder == "." else rel_folder.split(os.sep), sorted(filter(_is_article_file, files))


def find_article_files(root: Path) -> Iterator[ArticleFile]:
    """Every article file below ``root`` with the locale and id its folders imply, in a stable order.

    Skips ``TOC.*``, hidden folders and ``includes/``, ``media/``, ``breadcrumb/``.
    """
    kb_root = str(root)
    root_locale = folder_locale(root.name)
    folder_locales: dict[str, str | None] = {}
    ids: dict[str, str] = {}  # one string per id: translations share it, in memory and in a chunk's pickle
    for folder, parts, names in _article_folders(root):
        locale_hint = root_locale
        for part in parts:  # the nearest (innermost) locale folder wins
            if part not in folder_locales:
                folder_locales[part] = folder_locale(part)
            locale_hint = folder_locales[part] or locale_hint
        prefix = "/".join(parts) + "/" if parts else ""
        for name in names:
            yield ArticleFile(
                absolute=os.path.join(folder, name),
                relative=prefix + name,
                kb_root=kb_root,
                locale_hint=locale_hint,
                article_id=(ids.get(name) or ids.setdefault(name, article_id_from_stem(name[:-3])))
                if locale_hint else None,
            )


FileStamp = tuple[str, int, int]
"""A file's path below its knowledge-base folder, its size and its modification time (ns)."""


def file_stamps(root: Path) -> list[FileStamp]:
    """Every file a load of ``root`` reads, stamped, sorted: the articles ``find_article_files`` finds and the
    folder's alternate-texts file. The cache key and the hot reload's change check both come from this one
    walk (``_article_folders``), so what loading reads is what they watch (``Onboarding.MD`` included,
    ``TOC.md`` not)."""
    stamps: list[FileStamp] = []
    for folder, parts, names in _article_folders(root):
        prefix = "/".join(parts) + "/" if parts else ""
        for name in names:
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:
                continue  # removed while walking: the next look sees it gone
            stamps.append((prefix + name, st.st_size, st.st_mtime_ns))
    try:
        st = os.stat(root / ALTERNATES_FILE)
        stamps.append((ALTERNATES_FILE, st.st_size, st.st_mtime_ns))
    except OSError:
        pass
    stamps.sort()
    return stamps


def parse_file(
    job: ArticleFile, english_sources: dict[tuple[str, str], EnglishSource] | None = None
) -> Article | ArticleProblem:
    """Parse one file; a problem (with the file's absolute path) when it is not a usable article.

    ``english_sources``: see ``parse_article`` (one dict for the files of one chunk).
    """
    try:
        with open(job.absolute, "rb") as f:
            data = f.read()
    except OSError as e:
        return ArticleProblem(job.absolute, 1, f"unreadable: {e.strerror}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return ArticleProblem(job.absolute, line, f"not UTF-8 text ({e.reason} at byte {e.start})")
    try:
        return parse_article(
            text,
            path=job.relative,
            kb_root=job.kb_root,
            locale_hint=job.locale_hint,
            article_id=job.article_id,
            english_sources=english_sources,
        )
    except ArticleParseError as e:
        return ArticleProblem(job.absolute, e.problem.line, e.problem.reason)


def _parse_chunk(jobs: list[ArticleFile]) -> list[Article | ArticleProblem]:
    """Parse the files of one chunk; span files of one article share one English source (cleaned and
    packed once), which also crosses the process boundary once."""
    english_sources: dict[tuple[str, str], EnglishSource] = {}
    return [parse_file(job, english_sources) for job in jobs]


def _chunks(jobs: Sequence[ArticleFile]) -> list[list[int]]:
    """The jobs' positions in chunks of at least ``CHUNK_FILES`` (but the last), files of the same name
    (the translations of one article) together in one chunk."""
    order = sorted(range(len(jobs)), key=lambda i: _file_name(jobs[i]))
    chunks: list[list[int]] = []
    chunk: list[int] = []
    previous = None
    for i in order:
        name = _file_name(jobs[i])
        if len(chunk) >= CHUNK_FILES and name != previous:
            chunks.append(chunk)
            chunk = []
        chunk.append(i)
        previous = name
    if chunk:
        chunks.append(chunk)
    return chunks


def _file_name(job: ArticleFile) -> str:
    return job.relative.rsplit("/", 1)[-1]


def _workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _parse_all(jobs: list[ArticleFile], progress: Progress | None) -> list[Article | ArticleProblem]:
    """Every job's result, in the jobs' order; in worker processes when there are enough files."""
    total = len(jobs)
    results: list[Article | ArticleProblem | None] = [None] * total
    chunks = _chunks(jobs)
    parts = [[jobs[i] for i in chunk] for chunk in chunks]
    workers = _workers()
    done = 0
    if progress:
        progress(0, total)
    with contextlib.ExitStack() as stack:
        if total >= PARALLEL_MIN_FILES and workers > 1:
            parsed_parts: Iterator[list[Article | ArticleProblem]] = stack.enter_context(
                ProcessPoolExecutor(max_workers=workers)).map(_parse_chunk, parts)
        else:
            parsed_parts = map(_parse_chunk, parts)
        for chunk, parsed in zip(chunks, parsed_parts, strict=True):
            for i, result in zip(chunk, parsed, strict=True):
                results[i] = result
            done += len(chunk)
            if progress:
                progress(done, total)
    return [r for r in results if r is not None]


def load_knowledge_base(folders: Sequence[str | Path], *, progress: Progress | None = None) -> KnowledgeBase:
    """Load every article below each folder, later folders shown first; bad files become problems.

    Each folder's alternate texts (``knowledge.alternates``) may name an article of any folder;
    one naming no loaded article, or that is another article's own text, is a problem and left out.
    ``progress(done, total)`` is called as files are parsed. Raises ``FileNotFoundError`` for a
    folder that does not exist.
    """
    jobs: list[ArticleFile] = []
    alternates: list[AlternateText] = []
    problems: list[ArticleProblem] = []
    for folder in folders:
        root = Path(folder).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"knowledge-base folder not found: {folder}")
        jobs += find_article_files(root)
        found, wrong = read_alternates(root)
        alternates += found
        problems += wrong
    articles: list[Article] = []
    for result in _parse_all(jobs, progress):
        if isinstance(result, Article):
            articles.append(result)
        else:
            problems.append(result)
    usable, wrong = _usable_alternates(articles, alternates)
    return KnowledgeBase(articles, problems + wrong, usable)


def _usable_alternates(
    articles: Sequence[Article], alternates: Sequence[AlternateText]
) -> tuple[list[AlternateText], list[ArticleProblem]]:
    """The alternates that name a loaded article and are not another article's own text in their language
    (its heading, title or a quoted error string: that article keeps its text), and problems for the rest."""
    if not alternates:
        return [], []
    languages = {alt.locale.split("-")[0] for alt in alternates}
    by_raw: dict[tuple[str, str], set[str]] = {}  # each distinct text is normalized once below: titles repeat
    for a in articles:                            # headings, span files their English source in every locale
        language = a.locale.split("-")[0]
        if language in languages:
            for raw in (a.heading, a.title, *a.error_strings):
                by_raw.setdefault((language, raw), set()).add(a.id)
        if a.english is not None and "en" in languages:
            for raw in (a.english.heading, *a.english.error_strings):
                by_raw.setdefault(("en", raw), set()).add(a.id)
    owners: dict[tuple[str, str], set[str]] = {}
    for (language, raw), users in by_raw.items():
        owners.setdefault((language, normalize(raw)), set()).update(users)
    ids = {a.id for a in articles}
    usable: list[AlternateText] = []
    problems: list[ArticleProblem] = []
    for alt in alternates:
        others = owners.get((alt.locale.split("-")[0], normalize(alt.text)), set()) - {alt.article_id}
        if alt.article_id not in ids:
            problems.append(ArticleProblem(alt.path, alt.line, f"alternate texts: no article {alt.article_id!r} in "
                                                                "the loaded folders"))
        elif others:
            problems.append(ArticleProblem(alt.path, alt.line, f"alternate texts: {alt.text!r} is the text of "
                                                                f"article {sorted(others)[0]!r}, which keeps it"))
        else:
            usable.append(alt)
    return usable, problems


def check_folder(folder: str | Path, *, progress: Progress | None = None) -> list[ArticleProblem]:
    """Every problem of the files below one folder (path, line, reason), in file order."""
    return list(load_knowledge_base([folder], progress=progress).problems)


def kb_stats(kb: KnowledgeBase) -> dict[str, Any]:
    """Counts for ``kb stats``: distinct articles, files, problems, and per locale the articles it has.

    ``per_locale[locale]`` counts distinct article ids in that locale; ``files_per_locale`` counts
    every file version (two folders with the same article count twice there).
    """
    files = Counter(a.locale for a in kb.articles)
    ids: dict[str, set[str]] = {}
    for a in kb.articles:
        ids.setdefault(a.locale, set()).add(a.id)
    english = sum(1 for a in kb.articles if a.english is not None)
    return {
        "articles": len(kb),
        "locales": list(kb.locales),
        "files": len(kb.articles),
        "problems": len(kb.problems),
        "with_english_source": english,
        "per_locale": {locale: len(ids[locale]) for locale in sorted(ids)},
        "files_per_locale": {locale: files[locale] for locale in sorted(files)},
    }
