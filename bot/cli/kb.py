"""``python -m bot kb check | stats | import | learn``: knowledge-base tools."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.common import Commands, add_cache_option, cache_dir, kb_folders, load_engine, settings
from bot.cli.progress import ProgressBar

if TYPE_CHECKING:
    from knowledge.corpus import KnowledgeBase


def register(commands: Commands) -> None:
    """Add ``kb`` and its subcommands to the command parsers."""
    kb = commands.add_parser("kb", help="knowledge-base tools").add_subparsers(dest="kb_command", required=True)
    check = kb.add_parser("check", help="report every bad article file and alternate text; exit 1 if any")
    check.add_argument("dirs", nargs="*")
    check.set_defaults(run=run_check)
    stats = kb.add_parser("stats", help="articles x locales and load time")
    stats.add_argument("dirs", nargs="*")
    add_cache_option(stats)
    stats.set_defaults(run=run_stats)
    kb_import = kb.add_parser("import", help="copy a docs repository's localized articles into the bot's layout")
    kb_import.add_argument("source", help="a docs checkout (articles/<locale>/..., <repo>.<locale>/...)")
    kb_import.add_argument("destination", help="the knowledge-base folder to fill (KB_PATH)")
    kb_import.add_argument("--default-locale", help="locale of files outside any locale folder (else skipped)")
    kb_import.set_defaults(run=run_import)
    learn = kb.add_parser("learn", help="propose alternate texts from what users said helped (YAML to review)")
    learn.add_argument("--kb", action="append", help="knowledge-base folder (repeatable; default KB_PATH)")
    learn.add_argument("--store", help="state store URL (default: STATE_STORE)")
    learn.add_argument("--min-users", type=int, default=2, help="different users who must agree (default 2)")
    add_cache_option(learn)
    learn.set_defaults(run=run_learn)


def run_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Every problem (path, line, reason), then every warning; exit 1 when a file or entry is bad."""
    from knowledge.corpus import load_knowledge_base

    folders = args.dirs or [str(Path(__file__).resolve().parents[2] / "knowledge" / "articles")]
    with ProgressBar(err, "checking") as bar:
        kb = load_knowledge_base(folders, progress=bar)
    for problem in kb.problems:
        out.write(f"{problem}\n")
    warnings = heading_warnings(kb)
    for warning in warnings:
        out.write(f"{warning}\n")
    alternates = f" and {len(kb.alternates)} alternate texts" if kb.alternates else ""
    summary = f"{len(kb.articles)} files{alternates} loaded, {len(kb.problems)} bad"
    if kb.alternate_problems:
        summary += f" ({len(kb.file_problems)} files, {len(kb.alternate_problems)} alternate-text entries)"
    if warnings:
        summary += f", {len(warnings)} warnings"
    out.write(summary + "\n")
    return 1 if kb.problems else 0


def heading_warnings(kb: KnowledgeBase) -> list[str]:
    """``path:line: warning: ...`` for each H1 heading after an article file's first (``docfx.extra_headings``)."""
    from knowledge.docfx import extra_headings

    warnings = []
    for article in kb.articles:
        path = os.path.join(article.kb_root, article.path)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = extra_headings(f.read())
        except OSError:
            continue  # changed since it loaded: the next check sees it as it is then
        warnings += [f"{path}:{line}: warning: a second '# ' H1 heading; only the first is the article's heading, "
                     "this one is read as body text (use '## ' for a section)" for line in lines]
    return warnings


def run_stats(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from knowledge.engine import KnowledgeEngine

    config = settings()
    started = time.perf_counter()
    with ProgressBar(err) as bar:
        engine = KnowledgeEngine.load(kb_folders(args.dirs, config), progress=bar,
                                      cache_dir=cache_dir(config, args.no_cache))
    seconds = time.perf_counter() - started
    kb = engine.kb
    per_locale: dict[str, int] = {}
    for article in kb.articles:
        per_locale[article.locale] = per_locale.get(article.locale, 0) + 1
    alternates = f", {len(kb.alternates)} alternate texts" if kb.alternates else ""
    how = "loaded and indexed" if bar.reported else "loaded from the cache"
    out.write(f"{len(kb)} articles x {len(kb.locales)} locales ({len(kb.articles)} files{alternates})"
              f", {how} in {seconds:.2f} s\n")
    for locale in sorted(per_locale):
        out.write(f"  {locale:<10} {per_locale[locale]:>7}\n")
    bad = [f"{len(kb.file_problems)} bad files"] if kb.file_problems else []
    if kb.alternate_problems:
        bad.append(f"{len(kb.alternate_problems)} bad alternate-text entries")
    if bad:
        out.write(f"{', '.join(bad)} (see `python -m bot kb check`)\n")
    return 0


def run_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.ops.kb_import import import_docs

    try:
        report = import_docs(args.source, args.destination, default_locale=args.default_locale)
    except ValueError as e:
        err.write(f"error: {e}\n")
        return 2
    out.write(report.summary() + "\n")
    return 0


def run_learn(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.feedback.learning import format_alternates, learned_alternates
    from bot.feedback.report import load_events
    from bot.stores.base import StorageError

    config = settings()
    if args.min_users < 1:
        err.write("kb learn: --min-users must be at least 1\n")
        return 2
    try:
        events = load_events(args.store or config.state_store,
                             blob_connection_string=config.azure_storage_connection_string)
    except (ValueError, StorageError) as e:  # no feedback kept there, or the store is down
        err.write(f"error: {e}\n")
        return 2
    # without --kb: KB_PATH and the texts agents already added (KB_LEARNED_PATH), so those are not proposed again
    engine = load_engine(args.kb, err, no_cache=args.no_cache)
    texts = learned_alternates(engine, events, min_users=args.min_users)
    out.write(format_alternates(texts))
    err.write(f"{len(texts)} texts proposed from {len(events)} feedback events\n")
    return 0
