"""Command line: ``python -m bot serve | chat | ask | kb check | kb stats | kb import | kb learn | report``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.settings import Settings
    from knowledge.engine import KnowledgeEngine
    from knowledge.model import Answer

PROGRESS_MIN_FILES = 500
"""Loads smaller than this finish before a progress bar would help."""


def progress_bar(stream: TextIO, label: str = "loading") -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing one self-overwriting line on ``stream``."""
    last = [-1]

    def draw(done: int, total: int) -> None:
        if total < PROGRESS_MIN_FILES:
            return
        percent = done * 100 // total
        if percent == last[0]:
            return
        last[0] = percent
        filled = percent * 30 // 100
        end = "\n" if done >= total else ""
        stream.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} files{end}")
        stream.flush()

    return draw


def load_engine(kb: Sequence[str] | None, err: TextIO) -> KnowledgeEngine:
    """The engine over ``--kb`` folders, else ``KB_PATH``, else the bundled articles."""
    from knowledge.engine import KnowledgeEngine

    folders = list(kb) if kb else list(_settings().kb_paths)
    return KnowledgeEngine.load(folders, progress=progress_bar(err))


def _settings() -> Settings:
    from bot.settings import Settings

    return Settings.from_env()


def render_answer(engine: KnowledgeEngine, answer: Answer) -> str:
    """A plain-text rendering of one answer for the terminal."""
    from knowledge.locales import localize_links
    from knowledge.model import Tier

    if answer.tier is Tier.NONE or answer.article is None:
        return f"No matching article (best score {answer.score:.0f})."
    article = answer.article
    lines = []
    if answer.tier is Tier.SUGGEST:
        lines.append(f"Not sure; best guess (score {answer.score:.0f}):")
    lines += [f"# {article.heading or article.title}", "", localize_links(article.body, answer.reply_locale), ""]
    note = f"[{answer.reply_locale}, article {article.id}, score {answer.score:.0f}"
    if answer.fell_back:
        note += f"; not available in {answer.wanted_locale}"
    lines.append(note + "]")
    if answer.suggestions:
        lines.append("")
        lines.append("Other candidates:")
        for s in answer.suggestions:
            title = engine.translations(s.article_id).get(answer.reply_locale)
            lines.append(f"  - {s.article_id} ({s.score:.0f})" + (f": {title.heading}" if title else ""))
    return "\n".join(lines)


def answer_json(answer: Answer) -> dict[str, object]:
    """The ``--json`` object of one answer: the batch contract plus the rendered text."""
    from knowledge.batch import answer_record
    from knowledge.locales import localize_links

    record = answer_record("", answer)
    del record["id"]
    if answer.article is not None:
        record.update(
            title=answer.article.title,
            heading=answer.article.heading,
            body=localize_links(answer.article.body, answer.reply_locale),
            fell_back=answer.fell_back,
            wanted_locale=answer.wanted_locale,
        )
    return record


def cmd_ask(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    engine = load_engine(args.kb, err)
    if args.batch:
        from knowledge.batch import answer_batch

        source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")  # noqa: SIM115
        with source:
            for record in answer_batch(engine, source):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    if args.text is None:
        err.write("ask: give TEXT or --batch FILE\n")
        return 2
    answer = engine.ask(args.text, locale=args.locale, client_locale=args.client_locale)
    if args.json:
        out.write(json.dumps(answer_json(answer), ensure_ascii=False) + "\n")
    else:
        out.write(render_answer(engine, answer) + "\n")
    return 0


def cmd_kb_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from knowledge.corpus import load_knowledge_base

    folders = args.dirs or [str(Path(__file__).resolve().parents[1] / "knowledge" / "articles")]
    kb = load_knowledge_base(folders, progress=progress_bar(err, "checking"))
    for problem in kb.problems:
        out.write(f"{problem}\n")
    alternates = f" and {len(kb.alternates)} alternate texts" if kb.alternates else ""
    out.write(f"{len(kb.articles)} files{alternates} loaded, {len(kb.problems)} bad\n")
    return 1 if kb.problems else 0


def cmd_kb_stats(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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


def cmd_kb_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.kb_import import import_docs

    try:
        report = import_docs(args.source, args.destination, default_locale=args.default_locale)
    except ValueError as e:
        err.write(f"error: {e}\n")
        return 2
    out.write(report.summary() + "\n")
    return 0


def cmd_kb_learn(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.feedback import load_events
    from bot.learning import format_alternates, learned_alternates
    from bot.storage import StorageError

    settings = _settings()
    if args.min_users < 1:
        err.write("kb learn: --min-users must be at least 1\n")
        return 2
    try:
        events = load_events(args.store or settings.state_store,
                             blob_connection_string=settings.azure_storage_connection_string)
    except (ValueError, StorageError) as e:  # no feedback kept there, or the store is down
        err.write(f"error: {e}\n")
        return 2
    from bot.learned_kb import knowledge_folders

    # without --kb: KB_PATH and the texts agents already added (KB_LEARNED_PATH), so those are not proposed again
    texts = learned_alternates(load_engine(args.kb or knowledge_folders(settings), err), events,
                               min_users=args.min_users)
    out.write(format_alternates(texts))
    err.write(f"{len(texts)} texts proposed from {len(events)} feedback events\n")
    return 0


def cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.feedback import format_report, load_report
    from bot.storage import StorageError

    settings = _settings()
    try:
        rows = load_report(args.store or settings.state_store, args.limit,
                           blob_connection_string=settings.azure_storage_connection_string)
    except (ValueError, StorageError) as e:  # no feedback kept there, a bad --limit, or the store is down
        err.write(f"error: {e}\n")
        return 2
    out.write(format_report(rows) + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.app import run_server

    try:
        settings = _settings()
        run_server(settings)
    except ValueError as e:  # a setting that cannot work (LOG_FORMAT, STATE_STORE, PORT, ...): say which
        err.write(f"error: {e}\n")
        return 2
    return 0


def cmd_chat(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.chat import run_chat

    run_chat(_settings(), input=sys.stdin, output=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Insight Desk knowledge-base bot.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("serve", help="run the bot's HTTP endpoint (/api/messages)").set_defaults(run=cmd_serve)
    sub.add_parser("chat", help="talk to the bot in this terminal").set_defaults(run=cmd_chat)

    ask = sub.add_parser("ask", help="answer one pasted error, or a JSON Lines batch")
    ask.add_argument("text", nargs="?", help="the pasted error text")
    ask.add_argument("--locale", help="answer in this locale (an explicit choice)")
    ask.add_argument("--client-locale", help="the chat client's locale (a hint)")
    ask.add_argument("--kb", action="append", help="knowledge-base folder (repeatable; later wins)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--batch", metavar="FILE", help="JSON Lines queries ('-' for stdin)")
    ask.set_defaults(run=cmd_ask)

    kb = sub.add_parser("kb", help="knowledge-base tools").add_subparsers(dest="kb_command", required=True)
    check = kb.add_parser("check", help="report every bad article file and alternate text; exit 1 if any")
    check.add_argument("dirs", nargs="*")
    check.set_defaults(run=cmd_kb_check)
    stats = kb.add_parser("stats", help="articles x locales and load time")
    stats.add_argument("dirs", nargs="*")
    stats.set_defaults(run=cmd_kb_stats)
    kb_import = kb.add_parser("import", help="copy a docs repository's localized articles into the bot's layout")
    kb_import.add_argument("source", help="a docs checkout (articles/<locale>/..., <repo>.<locale>/...)")
    kb_import.add_argument("destination", help="the knowledge-base folder to fill (KB_PATH)")
    kb_import.add_argument("--default-locale", help="locale of files outside any locale folder (else skipped)")
    kb_import.set_defaults(run=cmd_kb_import)

    learn = kb.add_parser("learn", help="propose alternate texts from what users said helped (YAML to review)")
    learn.add_argument("--kb", action="append", help="knowledge-base folder (repeatable; default KB_PATH)")
    learn.add_argument("--store", help="state store URL (default: STATE_STORE)")
    learn.add_argument("--min-users", type=int, default=2, help="different users who must agree (default 2)")
    learn.set_defaults(run=cmd_kb_learn)

    report = sub.add_parser("report", help="unanswered and unhelpful queries, most frequent first")
    report.add_argument("--limit", type=int, default=20)
    report.add_argument("--store", help="state store URL (default: STATE_STORE)")
    report.set_defaults(run=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args, out, err)
    except (FileNotFoundError, NotADirectoryError) as e:
        err.write(f"error: {e}\n")
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
