"""``python -m bot ask``: answer one pasted error, or a JSON Lines batch (the contract in ``knowledge.batch``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from bot.cli.common import Commands, load_engine

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
    ask.add_argument("--batch", metavar="FILE", help="JSON Lines queries ('-' for stdin)")
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


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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
