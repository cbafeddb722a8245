"""A progress bar for long knowledge-base loads, drawn on one self-overwriting terminal line."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

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
