"""README's "Where things are" map names every package folder of the tree, and only folders that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_FOLDERS = ("bot", "knowledge", "services", "tests", "bench", "deploy")


def _mapped_folders() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Where things are", 1)[1]
    return set(re.findall(r"^\| `([\w/]+)/` \|", section, re.M))


def _package_folders() -> set[str]:
    found = set(TOP_FOLDERS)
    for top in ("bot", "knowledge"):
        found |= {str(init.parent.relative_to(ROOT)) for init in (ROOT / top).rglob("__init__.py")}
    found |= {"knowledge/articles", "bot/locales"}  # data folders
    return found


def test_the_map_names_every_package_folder_and_nothing_that_is_gone() -> None:
    mapped = _mapped_folders()
    assert mapped == _package_folders()
    assert all((ROOT / folder).is_dir() for folder in mapped)
