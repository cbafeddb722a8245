"""``python -m bot kb import SRC DEST``: a docs repository's localized articles, in the layout the bot reads.

Docs repositories keep translations in locale folders (``articles/sv-se/...``, ``sv-se/...``) or in one
checkout per locale named ``<repo>.<locale>`` (``OfficeDocs-Support.sv-se/...``); ``SRC`` may be one such
checkout or a folder holding several. Every article file (``*.md``, not ``TOC.md``) below a locale
folder is copied to ``DEST/<locale>/<path below the locale folder>``, the locale spelled canonically
(``sv-SE``), so the same article's translations sit at the same relative path and are grouped by it.
Hidden folders (``.git``), ``includes/``, ``media/`` and ``breadcrumb/`` are skipped. Files outside any
locale folder are copied under ``--default-locale`` when it is given (an English source repository;
``<repo>`` beside ``<repo>.<locale>`` counts from its own root), else counted as skipped. Copies keep
their modification times; a file already identical in ``DEST`` is left alone, so importing again after
a ``git pull`` touches only what changed (and hot reload sees only that).
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.corpus import SKIPPED_FOLDERS, folder_locale
from knowledge.locales import canonical_locale

__all__ = ["ImportReport", "import_docs", "locale_of_folder"]


def locale_of_folder(name: str) -> str | None:
    """The locale a docs folder name states: ``sv-se`` or ``<repo>.sv-se`` → ``sv-SE``; else ``None``."""
    return folder_locale(name) or (folder_locale(name.rsplit(".", 1)[1]) if "." in name else None)


def _is_article(name: str) -> bool:
    return name.lower().endswith(".md") and not name.upper().startswith("TOC.") and not name.startswith("._")


@dataclass
class ImportReport:
    """What ``import_docs`` did: files copied per locale, files already up to date, files skipped."""

    copied: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    skipped: int = 0

    def summary(self) -> str:
        locales = ", ".join(f"{locale} {n}" for locale, n in sorted(self.copied.items())) or "none"
        return (f"{sum(self.copied.values())} files copied ({locales}), {self.unchanged} unchanged,"
                f" {self.skipped} outside any locale folder skipped")


def import_docs(source: str | Path, destination: str | Path, *, default_locale: str | None = None) -> ImportReport:
    """Copy the localized articles below ``source`` into ``destination`` (see the module)."""
    src, dest = Path(source).resolve(), Path(destination).resolve()
    if not src.is_dir():
        raise FileNotFoundError(f"docs folder not found: {source}")
    if dest == src or src in dest.parents:
        raise ValueError(f"the destination {destination} must not be inside the source {source}")
    fallback = canonical_locale(default_locale) if default_locale else None
    if default_locale and not fallback:
        raise ValueError(f"--default-locale {default_locale!r} is not a locale")
    report = ImportReport()
    # ``<repo>`` beside ``<repo>.<locale>`` is the source-language checkout: its paths start below it.
    children = {d.name for d in src.iterdir() if d.is_dir()}
    source_repos = {name.rsplit(".", 1)[0] for name in children if locale_of_folder(name) and "." in name} & children
    for folder, dirs, files in os.walk(src):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d.lower() not in SKIPPED_FOLDERS)
        parts = here.relative_to(src).parts
        locale, below = fallback, Path(*parts[1:] if parts and parts[0] in source_repos else parts)
        for depth, part in enumerate((src.name, *parts)):   # the nearest locale folder wins
            found = locale_of_folder(part)
            if found:
                locale, below = found, Path(*parts[depth:])
        for name in sorted(files):
            if not _is_article(name):
                continue
            if locale is None:
                report.skipped += 1
                continue
            target = dest / locale / below / name
            if target.is_file() and filecmp.cmp(here / name, target, shallow=False):
                report.unchanged += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(here / name, target)
            report.copied[locale] += 1
    return report
