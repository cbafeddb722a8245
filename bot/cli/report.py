"""``python -m bot report``: the unanswered and unhelpful queries, most frequent first."""

from __future__ import annotations

import argparse
from typing import TextIO

from bot.cli.common import Commands, settings


def register(commands: Commands) -> None:
    """Add ``report`` to the command parsers."""
    report = commands.add_parser("report", help="unanswered and unhelpful queries, most frequent first")
    report.add_argument("--limit", type=int, default=20)
    report.add_argument("--store", help="state store URL (default: STATE_STORE)")
    report.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.feedback.report import format_report, load_report
    from bot.stores.base import StorageError

    config = settings()
    try:
        rows = load_report(args.store or config.state_store, args.limit,
                           blob_connection_string=config.azure_storage_connection_string)
    except (ValueError, StorageError) as e:  # no feedback kept there, a bad --limit, or the store is down
        err.write(f"error: {e}\n")
        return 2
    out.write(format_report(rows) + "\n")
    return 0
