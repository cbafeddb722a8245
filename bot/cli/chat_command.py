"""``python -m bot chat``: the conversation in this terminal (``bot.cli.chat``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TextIO

from bot.cli.common import Commands, add_cache_option, kb_folders, load_engine, settings


def register(commands: Commands) -> None:
    """Add ``chat`` to the command parsers."""
    chat = commands.add_parser("chat", help="talk to the bot in this terminal (and answer as support: /agent)")
    chat.add_argument("--locale", help="the chat client's locale, as a Teams client sends it (e.g. sv-SE)")
    add_cache_option(chat)
    chat.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.cli.chat import run_chat
    from knowledge.cache import is_fresh

    config = settings()
    if args.no_cache:
        config = dataclasses.replace(config, kb_cache_dir=None)
    elif config.kb_cache_dir and not is_fresh(kb_folders(None, config), config.kb_cache_dir):
        # The conversation loads its engine from the cache (as `serve` does); a cold load is done here first,
        # where it can show its progress, and the conversation then starts from the fresh cache.
        load_engine(None, err)
    run_chat(config, input=sys.stdin, output=out, locale=args.locale)
    return 0
