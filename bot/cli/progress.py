"""A progress bar for a cold knowledge-base load, drawn on one self-overwriting line of a terminal.

    with ProgressBar(sys.stderr) as bar:
        engine = KnowledgeEngine.load(folders, progress=bar, cache_dir=cache)

Nothing is drawn unless the stream is a terminal, the load is a cold one (the engine calls ``bar`` only
while it parses files, never for a load from its cache), and it has run for ``DELAY_S``: a quick load, a
pipe or a log file stays clean. A ticker thread redraws the line while the index is built after the last
file, so the line keeps moving where no callback comes; leaving the ``with`` block erases it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

DELAY_S = 1.5
"""A load shorter than this shows no bar."""
TICK_S = 0.25
WIDTH = 30
ERASE = "\r\x1b[K"
"""Carriage return, then erase to the end of the line (every terminal since the VT100)."""


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (a closed or detached stream is not)."""
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False


class ProgressBar:
    """``bar(done, total)`` records how far a load is; ``tick`` draws it when due (see the module)."""

    def __init__(self, stream: TextIO, label: str = "loading", *, delay: float = DELAY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.label = label
        self.delay = delay
        self.clock = clock
        self.enabled = is_terminal(stream)
        self.started = clock()
        self.drawn = False
        self._state: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @property
    def reported(self) -> bool:
        """Whether the load reported any progress: it parsed files, so it did not come from the cache."""
        return self._state is not None

    def __call__(self, done: int, total: int) -> None:
        self._state = (done, total)
        self.tick()

    def line(self) -> str | None:
        """The line to show now, ``None`` while nothing is to be shown."""
        if not self.enabled or self._state is None:
            return None
        elapsed = self.clock() - self.started
        if elapsed < self.delay:
            return None
        done, total = self._state
        if total > 0 and done >= total:
            return f"{self.label}: indexing {total} files  {elapsed:.0f} s"
        filled = done * WIDTH // total if total > 0 else 0
        return f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} files  {elapsed:.0f} s"

    def tick(self) -> None:
        """Draw the current line if there is one."""
        text = self.line()
        if text is None:
            return
        with self._lock:
            self.stream.write(ERASE + text)
            self.stream.flush()
            self.drawn = True

    def erase(self) -> None:
        """Remove the line, if one was drawn."""
        with self._lock:
            if self.drawn:
                self.stream.write(ERASE)
                self.stream.flush()
                self.drawn = False

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._ticker = threading.Thread(target=self._tick_until_stopped, name="progress-bar", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self.erase()

    def _tick_until_stopped(self) -> None:
        while not self._stop.wait(TICK_S):
            self.tick()
