"""``python -m bot ask``: answer one pasted error, or a JSON Lines batch (the contract in ``knowledge.batch``)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.common import CommandError, Commands, add_cache_option, load_engine

if TYPE_CHECKING:
    from knowledge.engine import KnowledgeEngine
    from knowledge.model import Answer


def register(commands: Commands) -> None:
    """Add ``ask`` to the command parsers."""
    ask = commands.add_parser("ask", help="answer one pasted error, or a JSON Lines batch")
    ask.add_argument("text", nargs="?", help="the pasted error text")
    ask.add_argument("--locale", help="answer in this locale (an explicit choice)")
    ask.add_argument("--client-locale", help="the chat client's locale (a hint)")
    ask.add_argument("--kb", action="append", help="knowledge-base folder (repeatable; later wins)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--batch", metavar="FILE", help="JSON Lines queries ('-' for stdin); exit 1 if a line is bad")
    add_cache_option(ask)
    ask.set_defaults(run=run)


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


def batch_lines(name: str) -> Iterable[str | bytes]:
    """The query lines of ``--batch FILE`` (``-``: standard input, read as it comes); a file that cannot be
    read as text is a ``CommandError`` naming it, before anything is loaded or answered."""
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"--batch {name}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"--batch {name}: is a folder; give a JSON Lines file") from None
    except OSError as e:
        raise CommandError(f"--batch {name}: cannot be read: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CommandError(f"--batch {name}: not UTF-8 text ({e.reason} at byte {e.start}); give a JSON Lines "
                           "file") from None
    return io.StringIO(text, newline=None)


def check_locale(engine: KnowledgeEngine, option: str, value: str | None) -> None:
    """A ``--locale`` or ``--client-locale`` that names no language is a ``CommandError`` listing the
    knowledge base's locales."""
    from knowledge.locales import canonical_locale

    if value is None or canonical_locale(value) is not None:
        return
    known = ", ".join(engine.locales)
    if any(a.english is not None for a in engine.kb.articles):
        known += " and English source text (en)"
    raise CommandError(f"{option} {value}: no such language; this knowledge base has {known}, and another "
                       "language (de-DE, say) is answered in the closest of these")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.batch is None and args.text is None:
        err.write("ask: give TEXT or --batch FILE\n")
        return 2
    queries = batch_lines(args.batch) if args.batch else None
    engine = load_engine(args.kb, err, no_cache=args.no_cache)
    if queries is not None:
        return answer_queries(engine, queries, "standard input" if args.batch == "-" else args.batch, out, err)
    check_locale(engine, "--locale", args.locale)
    check_locale(engine, "--client-locale", args.client_locale)
    answer = engine.ask(args.text, locale=args.locale, client_locale=args.client_locale)
    if args.json:
        out.write(json.dumps(answer_json(answer), ensure_ascii=False) + "\n")
    else:
        out.write(render_answer(engine, answer) + "\n")
    return 0


def answer_queries(engine: KnowledgeEngine, queries: Iterable[str | bytes], name: str, out: TextIO, err: TextIO) -> int:
    """One answer line per query line, in order; each bad line also said on ``err``, and then exit 1."""
    from knowledge.batch import answer_batch

    bad = total = 0
    for record in answer_batch(engine, queries):
        total += 1
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        if "error" in record:
            bad += 1
            err.write(f"error: --batch {name}: {record['error']}\n")
    if bad:
        err.write(f"error: --batch {name}: {bad} of {total} query lines could not be answered (their answers "
                  "carry an \"error\")\n")
        return 1
    return 0
