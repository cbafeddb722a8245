"""``python -m bot serve``: the bot's HTTP endpoint (``bot.app``)."""

from __future__ import annotations

import argparse
from typing import TextIO

from bot.cli.common import Commands, settings


def register(commands: Commands) -> None:
    """Add ``serve`` to the command parsers."""
    commands.add_parser("serve", help="run the bot's HTTP endpoint (/api/messages)").set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.app import run_server

    try:
        run_server(settings())
    except ValueError as e:  # a setting that cannot work (LOG_FORMAT, STATE_STORE, PORT, ...): say which
        err.write(f"error: {e}\n")
        return 2
    return 0
