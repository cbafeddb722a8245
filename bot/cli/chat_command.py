"""``python -m bot chat``: the conversation in this terminal (``bot.cli.chat``)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from bot.cli.common import Commands, settings


def register(commands: Commands) -> None:
    """Add ``chat`` to the command parsers."""
    commands.add_parser("chat", help="talk to the bot in this terminal").set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.cli.chat import run_chat

    run_chat(settings(), input=sys.stdin, output=out)
    return 0
