"""The load's progress bar: on a terminal only, after the first second and a half of a cold load, then erased."""

from __future__ import annotations

import io
from pathlib import Path

from bot.cli.progress import ERASE, ProgressBar
from tests.bot.cli.cli_runs import BUNDLED, SEED, run_bot


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_appears_after_the_delay_shows_indexing_and_is_erased() -> None:
    clock, terminal = Clock(), Terminal()
    bar = ProgressBar(terminal, clock=clock, delay=1.5)
    bar(0, 2000)
    clock.now += 1.0
    bar(400, 2000)
    assert terminal.getvalue() == ""  # a load done within the delay shows nothing
    clock.now += 1.0
    bar(800, 2000)
    assert terminal.getvalue() == ERASE + "loading [############..................] 800/2000 files  2 s"
    clock.now += 3.0
    bar(2000, 2000)
    bar.tick()  # while the index is built no callback comes; the ticker redraws
    assert terminal.getvalue().endswith(ERASE + "loading: indexing 2000 files  5 s")
    bar.erase()
    assert terminal.getvalue().endswith(ERASE)
    assert bar.reported


def test_no_bar_when_the_stream_is_not_a_terminal_or_nothing_was_parsed() -> None:
    clock, pipe = Clock(), io.StringIO()
    piped = ProgressBar(pipe, clock=clock)
    clock.now += 10
    piped(10, 2000)
    assert pipe.getvalue() == "" and piped.reported
    terminal = Terminal()
    warm = ProgressBar(terminal, clock=clock)  # a load from the cache reports no progress
    clock.now += 10
    warm.tick()
    warm.erase()
    assert terminal.getvalue() == "" and not warm.reported


def test_a_large_cold_load_into_a_pipe_writes_no_bar(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    (kb / "sv-SE").mkdir(parents=True)
    article = (BUNDLED / "sv-SE" / f"{SEED}.md").read_text(encoding="utf-8")
    for n in range(600):
        (kb / "sv-SE" / f"article-{n}.md").write_text(article, encoding="utf-8")
    done = run_bot("kb", "stats", str(kb), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "600 articles x 1 locales" in done.stdout
    assert done.stderr == ""
