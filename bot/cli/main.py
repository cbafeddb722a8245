"""The command line's parser: each command module adds its own arguments and ``run``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.cli import ask, chat_command, kb, report, serve
from bot.cli.common import CommandError

COMMANDS = (serve, chat_command, ask, kb, report)
"""The command modules, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Insight Desk knowledge-base bot.")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args, out, err)
    except (CommandError, FileNotFoundError, NotADirectoryError) as e:
        err.write(f"error: {e}\n")
        return 2
    return code
