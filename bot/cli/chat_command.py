"""``python -m bot chat``: the conversation in this terminal (``bot.cli.chat``)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from bot.cli.common import Commands, add_cache_option, load_engine, settings


def register(commands: Commands) -> None:
    """Add ``chat`` to the command parsers."""
    chat = commands.add_parser("chat", help="talk to the bot in this terminal (and answer as support: /agent)")
    chat.add_argument("--locale", help="the chat client's locale, as a Teams client sends it (e.g. sv-SE)")
    add_cache_option(chat)
    chat.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.cli.chat import run_chat

    # loaded here, once: from the cache as `serve` does, else with its progress on a terminal
    engine = load_engine(None, err, no_cache=args.no_cache)
    run_chat(settings(), input=sys.stdin, output=out, locale=args.locale, engine=engine)
    return 0
