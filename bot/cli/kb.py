"""``python -m bot kb check | stats | import | learn``: knowledge-base tools."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TextIO

from bot.cli.common import Commands, load_engine, settings
from bot.cli.progress import progress_bar


def register(commands: Commands) -> None:
    """Add ``kb`` and its subcommands to the command parsers."""
    kb = commands.add_parser("kb", help="knowledge-base tools").add_subparsers(dest="kb_command", required=True)
    check = kb.add_parser("check", help="report every bad article file and alternate text; exit 1 if any")
    check.add_argument("dirs", nargs="*")
    check.set_defaults(run=run_check)
    stats = kb.add_parser("stats", help="articles x locales and load time")
    stats.add_argument("dirs", nargs="*")
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
    learn.set_defaults(run=run_learn)


def run_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from knowledge.corpus import load_knowledge_base

    folders = args.dirs or [str(Path(__file__).resolve().parents[2] / "knowledge" / "articles")]
    kb = load_knowledge_base(folders, progress=progress_bar(err, "checking"))
    for problem in kb.problems:
        out.write(f"{problem}\n")
    alternates = f" and {len(kb.alternates)} alternate texts" if kb.alternates else ""
    out.write(f"{len(kb.articles)} files{alternates} loaded, {len(kb.problems)} bad\n")
    return 1 if kb.problems else 0


def run_stats(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    started = time.perf_counter()
    engine = load_engine(args.dirs, err)
    seconds = time.perf_counter() - started
    kb = engine.kb
    per_locale: dict[str, int] = {}
    for article in kb.articles:
        per_locale[article.locale] = per_locale.get(article.locale, 0) + 1
    alternates = f", {len(kb.alternates)} alternate texts" if kb.alternates else ""
    out.write(f"{len(kb)} articles x {len(kb.locales)} locales ({len(kb.articles)} files{alternates})"
              f", loaded and indexed in {seconds:.2f} s\n")
    for locale in sorted(per_locale):
        out.write(f"  {locale:<10} {per_locale[locale]:>7}\n")
    if kb.problems:
        out.write(f"{len(kb.problems)} bad files (see `python -m bot kb check`)\n")
    return 0


def run_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.kb_import import import_docs

    try:
        report = import_docs(args.source, args.destination, default_locale=args.default_locale)
    except ValueError as e:
        err.write(f"error: {e}\n")
        return 2
    out.write(report.summary() + "\n")
    return 0


def run_learn(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.feedback import load_events
    from bot.learning import format_alternates, learned_alternates
    from bot.storage import StorageError

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
    texts = learned_alternates(load_engine(args.kb, err), events, min_users=args.min_users)
    out.write(format_alternates(texts))
    err.write(f"{len(texts)} texts proposed from {len(events)} feedback events\n")
    return 0
