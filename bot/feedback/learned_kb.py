"""Wordings agents approved: kept in the state store, written to each instance's learned knowledge-base folder.

    learned = LearnedKnowledge(storage, settings.kb_learned_path)
    await learned.add(LearnedEntry("en", "some-article", "Access token validation failed", "Anna", now))
    sync = LearnedSync(learned, reload=reloader.reload)     # on every instance: the file follows the store
    sync.start()

The store's ``insight-desk/learning/learned`` document is the truth: its ``version`` and ``texts`` (locale,
article, text, who added it, when). Each instance writes ``alternate-texts.yaml`` (``knowledge.alternates``)
into its ``KB_LEARNED_PATH`` folder from it, keeping the entries the file already had, and the folder is loaded
after ``KB_PATH`` (``settings.knowledge_folders``). Every instance reads the document every ``POLL_S`` seconds; when its
version is not the one the instance last wrote, it writes the file again and reloads its knowledge base. So a
text added through one instance is answered by all of them, whether they share a disk or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botbuilder.core import Storage

from bot.stores.base import CREATE_ONLY_E_TAG, EtagConflictError, StorageError, honours_create_only
from bot.stores.keyed_locks import KeyedLocks
from knowledge.alternates import ALTERNATES_FILE, read_alternates
from knowledge.locales import canonical_locale

__all__ = ["LEARNED_KEY", "LearnedEntry", "LearnedKnowledge", "LearnedSync", "write_learned_file"]

log = logging.getLogger(__name__)

LEARNED_KEY = "insight-desk/learning/learned"
POLL_S = 2.0
"""How often each instance looks at the store's version of the learned texts."""
MAX_ATTEMPTS = 20
"""Writes of the learned document tried against other instances' writes before giving up."""


@dataclass(frozen=True)
class LearnedEntry:
    """One wording added by an agent: the locale to file it under, the article, the text, who, when (ISO 8601)."""

    locale: str
    article: str
    text: str
    added_by: str
    at: str

    def to_document(self) -> dict[str, str]:
        return {"locale": self.locale, "article": self.article, "text": self.text, "added_by": self.added_by,
                "at": self.at}

    @classmethod
    def from_document(cls, doc: Any) -> LearnedEntry | None:
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) and doc.get(k)
                                                for k in ("locale", "article", "text")):
            return None
        return cls(doc["locale"], doc["article"], doc["text"], str(doc.get("added_by") or ""), str(doc.get("at") or ""))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def write_learned_file(folder: str | Path, entries: Sequence[LearnedEntry]) -> bool:
    """Write ``folder``/``alternate-texts.yaml``: the entries it holds now, then ``entries`` it lacks (each with
    a comment saying who added it); the folder is created on first use. Whether the file changed."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    path = root / ALTERNATES_FILE
    kept, _ = read_alternates(root)  # what the file holds (hand-written entries too): never dropped
    texts: dict[str, dict[str, dict[str, str]]] = {}
    for alt in kept:
        texts.setdefault(alt.locale, {}).setdefault(alt.article_id, {}).setdefault(alt.text, "")
    for entry in entries:
        locale = canonical_locale(entry.locale) or entry.locale
        note = f"added by {json.dumps(_one_line(entry.added_by), ensure_ascii=False)} {entry.at[:10]}".rstrip()
        by_text = texts.setdefault(locale, {}).setdefault(entry.article, {})
        if not by_text.get(entry.text):
            by_text[entry.text] = note
    lines = ["# Wordings agents added from Insight Desk's proposals (kept in the state store, which rewrites",
             "# this file on every instance). Entries written here by hand are kept."]
    for locale, articles in texts.items():
        lines.append(f"{json.dumps(locale)}:")
        for article, by_text in articles.items():
            lines.append(f"  {json.dumps(article, ensure_ascii=False)}:")
            for text, note in by_text.items():
                if note:
                    lines.append(f"    # {note}")
                lines.append(f"    - {json.dumps(_one_line(text), ensure_ascii=False)}")
    content = "\n".join(lines) + "\n"
    with contextlib.suppress(FileNotFoundError):
        if path.read_text(encoding="utf-8") == content:
            return False
    temporary = path.with_name(f".{ALTERNATES_FILE}.{os.getpid()}.tmp")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, path)  # a reader (a reload, `kb check`) sees the old file or the new one, never half
    return True


class LearnedKnowledge:
    """The learned texts in the state store (one document) and the folder this instance writes them to."""

    def __init__(self, storage: Storage, folder: str | Path) -> None:
        self.storage = storage
        self.folder = Path(folder)
        self._locks = KeyedLocks()
        self._new: dict[str, Any] = {"e_tag": CREATE_ONLY_E_TAG} if honours_create_only(storage) else {}

    async def read(self) -> tuple[int, list[LearnedEntry]]:
        """The stored version (0 before the first text) and the texts."""
        found = await self.storage.read([LEARNED_KEY])
        doc = found.get(LEARNED_KEY)
        if not isinstance(doc, dict):
            return 0, []
        entries = [LearnedEntry.from_document(item) for item in doc.get("texts") or []]
        version = doc.get("version")
        return (version if isinstance(version, int) else 0), [e for e in entries if e is not None]

    async def add(self, entry: LearnedEntry) -> int:
        """Store ``entry`` (nothing changes when that text is stored for that article and locale); the version."""
        async with self._locks.hold(LEARNED_KEY):  # this process's adds take turns; e-tags settle the others'
            for attempt in range(MAX_ATTEMPTS):
                found = await self.storage.read([LEARNED_KEY])
                stored = found.get(LEARNED_KEY)
                doc = dict(stored) if isinstance(stored, dict) else dict(self._new)
                texts = [t for t in doc.get("texts") or [] if isinstance(t, dict)]
                stored_version = doc.get("version")
                version = stored_version if isinstance(stored_version, int) else 0
                same = (entry.locale, entry.article, entry.text)
                if any((t.get("locale"), t.get("article"), t.get("text")) == same for t in texts):
                    return version
                doc["texts"] = [*texts, entry.to_document()]
                doc["version"] = version + 1
                try:
                    await self.storage.write({LEARNED_KEY: doc})
                except EtagConflictError:
                    await asyncio.sleep(0.01 * (attempt + 1))
                    continue
                return version + 1
        raise StorageError(f"add a learned text: gave up after {MAX_ATTEMPTS} concurrent changes", operation="write")


Reload = Callable[[str], Awaitable[object]]


class LearnedSync:
    """Keeps this instance's learned file and knowledge base at the store's version (see the module)."""

    def __init__(self, learned: LearnedKnowledge, *, reload: Reload | None, interval: float = POLL_S) -> None:
        self.learned = learned
        self.reload = reload
        """The knowledge base's reload (``KnowledgeReloader.reload``); ``None`` when the application was given a
        fixed engine: the file is still written."""
        self.interval = interval
        self.seen: int | None = None
        """The store's version the file was last written from."""
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        """Write the file and reload when the store's version is new to this instance; whether it reloaded."""
        async with self._lock:
            version, entries = await self.learned.read()
            if version == self.seen:
                return False
            changed = bool(entries) and await asyncio.to_thread(write_learned_file, self.learned.folder, entries)
            self.seen = version
            if not changed:
                return False
            log.info("learned texts version %d written to %s", version, self.learned.folder / ALTERNATES_FILE)
            if self.reload is None:
                return False
            await self.reload(f"learned texts version {version}")
            return True

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled (the first check at once); a failure is logged when it
        starts and when it ends, not at every look."""
        failing = False
        while True:
            try:
                await self.check()
            except (StorageError, OSError) as e:
                if not failing:
                    log.error("could not bring %s to the learned texts in the state store; trying again every %.0f s:"
                              " %s", self.learned.folder, self.interval, e)
                failing = True
            else:
                if failing:
                    log.info("learned texts in %s follow the state store again", self.learned.folder)
                failing = False
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="learned-texts-sync")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
