"""Knowledge-base hot reload: a changed article folder is loaded again while the bot keeps answering.

    reloader = KnowledgeReloader(folders, load=load_engine, swap=install_engine, interval=5.0)
    task = asyncio.create_task(reloader.watch())         # polls file sizes and mtimes every 5 s
    reloader.listen_for_sighup()                          # `kill -HUP <pid>` reloads at once

The new engine is built in a worker thread; requests keep being answered by the old one until
``swap`` installs the new one in a single assignment, so no request is dropped or sees half an index.

What is kept instead of loaded: a load that raises (a folder that vanished or cannot be read), a knowledge
base that would shrink to no articles, and a file that loaded before and is bad now (a half-saved edit):
the last good index stays whole, the reason is logged, and the next change is tried again. Files that
were never good are reported and the good ones load.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from knowledge.corpus import KnowledgeBase, file_stamps
from knowledge.engine import KnowledgeEngine

__all__ = ["HotReload", "KnowledgeReloader", "ReloadOutcome", "kb_fingerprint", "log_kb_problems"]

log = logging.getLogger(__name__)
PROBLEMS_LOGGED = 5
"""Bad files named in the log line at start and on each reload; ``python -m bot kb check`` lists every one."""


def log_kb_problems(kb: KnowledgeBase, when: str) -> None:
    """One WARNING about a knowledge base's bad files and alternate-text entries (counts apart, the first
    few with their reasons), or nothing when there are none. ``when``: ``at start``, ``reloaded``..."""
    if not kb.problems:
        return
    shown = "; ".join(str(p) for p in kb.problems[:PROBLEMS_LOGGED])
    more = f"; and {len(kb.problems) - PROBLEMS_LOGGED} more" if len(kb.problems) > PROBLEMS_LOGGED else ""
    log.warning("knowledge base %s: %d bad files, %d bad alternate-text entries, left out (`python -m bot kb check`"
                " lists every one): %s%s", when, len(kb.file_problems), len(kb.alternate_problems), shown, more)

Fingerprint = tuple[tuple[str, int, int], ...]


def kb_fingerprint(folders: Sequence[str | Path]) -> Fingerprint:
    """(path, size, mtime) of every file a load of ``folders`` reads (``knowledge.corpus.file_stamps``: the
    same walk loading and the cache make). A folder that is missing is one entry of its own, so its
    vanishing and its return are both changes.
    """
    found: list[tuple[str, int, int]] = []
    for folder in folders:
        root = Path(folder).resolve()
        if not root.is_dir():
            found.append((str(root), -1, -1))
            continue
        found.extend((os.path.join(root, rel), size, mtime) for rel, size, mtime in file_stamps(root))
    return tuple(found)


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: ``loaded`` (swapped in) or ``kept`` (the last good index stays), and why."""

    outcome: str
    reason: str
    articles: int
    problems: tuple[str, ...] = ()


def _problem_paths(engine: KnowledgeEngine) -> set[str]:
    return {os.path.realpath(p.path) for p in engine.kb.problems}


def _loaded_paths(engine: KnowledgeEngine) -> set[str]:
    """The article files and alternate-texts files that gave ``engine`` something."""
    return ({os.path.realpath(os.path.join(a.kb_root, a.path)) for a in engine.kb.articles}
            | {os.path.realpath(alt.path) for alt in engine.kb.alternates})


class KnowledgeReloader:
    """Watches knowledge-base folders and installs a freshly loaded engine when they change."""

    def __init__(
        self,
        folders: Sequence[str | Path],
        *,
        current: KnowledgeEngine,
        load: Callable[[], KnowledgeEngine],
        swap: Callable[[KnowledgeEngine], None],
        interval: float = 5.0,
        on_outcome: Callable[[ReloadOutcome], None] | None = None,
    ) -> None:
        self.folders = list(folders)
        self.current = current
        self.load = load
        self.swap = swap
        self.interval = interval
        self.on_outcome = on_outcome
        self._seen = kb_fingerprint(self.folders)
        self._lock = asyncio.Lock()

    async def reload(self, why: str = "requested") -> ReloadOutcome:
        """Load the folders again and swap the new engine in, unless it would be worse (see the module)."""
        async with self._lock:
            self._seen = await asyncio.to_thread(kb_fingerprint, self.folders)
            try:
                engine = await asyncio.to_thread(self.load)
            except (OSError, ValueError) as e:
                return self._finish(ReloadOutcome("kept", f"the knowledge base could not be loaded: {e}",
                                                  len(self.current.kb)), None)
            problems = tuple(str(p) for p in engine.kb.problems)
            # A file that gave the old engine something and gives the new one nothing but a problem;
            # one bad entry in an alternate-texts file whose other entries load does not count.
            turned_bad = (_problem_paths(engine) & _loaded_paths(self.current)) - _loaded_paths(engine)
            if turned_bad:
                return self._finish(ReloadOutcome(
                    "kept", f"{len(turned_bad)} file(s) that loaded before are bad now: "
                    + ", ".join(sorted(turned_bad)[:5]), len(self.current.kb), problems), engine.kb)
            if len(engine.kb) == 0 and len(self.current.kb) > 0:
                return self._finish(ReloadOutcome("kept", "the new knowledge base has no articles",
                                                  len(self.current.kb), problems), engine.kb)
            self.current = engine
            self.swap(engine)
            return self._finish(ReloadOutcome("loaded", why, len(engine.kb), problems), engine.kb)

    def _finish(self, outcome: ReloadOutcome, loaded: KnowledgeBase | None) -> ReloadOutcome:
        """Log what the reload did (and a summary of the bad files of what it ``loaded``), then report it."""
        if outcome.outcome == "loaded":
            log.info("knowledge base reloaded (%s): %d articles, %d bad files or entries", outcome.reason,
                     outcome.articles, len(outcome.problems))
        else:
            log.error("knowledge base NOT reloaded, keeping the last good one (%d articles): %s", outcome.articles,
                      outcome.reason)
        if loaded is not None:
            log_kb_problems(loaded, f"reloaded ({outcome.reason})" if outcome.outcome == "loaded"
                            else "as found on the reload that was not kept")
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome

    async def check(self) -> ReloadOutcome | None:
        """Reload if any file changed since the last look; ``None`` when nothing did."""
        if await asyncio.to_thread(kb_fingerprint, self.folders) == self._seen:
            return None
        return await self.reload("files changed")

    async def watch(self) -> None:
        """Check every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.check()

    def listen_for_sighup(self) -> bool:
        """Reload on SIGHUP (where the platform has it); ``False`` when it could not be installed."""
        if not hasattr(signal, "SIGHUP"):
            return False
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[ReloadOutcome]] = set()

        def on_hangup() -> None:
            task = loop.create_task(self.reload("SIGHUP"))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        try:
            loop.add_signal_handler(signal.SIGHUP, on_hangup)
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        return True

    def stop_listening(self) -> None:
        """Remove the SIGHUP handler."""
        if hasattr(signal, "SIGHUP"):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


class HotReload:
    """A reloader running for one application: SIGHUP always, polling when its interval is above 0.

    Made on the application's event loop (in its startup); ``stop`` on shutdown.
    """

    def __init__(self, reloader: KnowledgeReloader) -> None:
        self.reloader = reloader
        self.sighup = reloader.listen_for_sighup()
        interval = reloader.interval
        self.task = asyncio.get_running_loop().create_task(reloader.watch()) if interval > 0 else None

    async def stop(self) -> None:
        if self.sighup:
            self.reloader.stop_listening()
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task
