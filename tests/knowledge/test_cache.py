"""The knowledge cache: reused while nothing changes, rebuilt when any article file changes."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from knowledge.cache import fingerprint, load_or_build
from knowledge.corpus import load_knowledge_base
from knowledge.engine import BUNDLED_ARTICLES
from knowledge.model import Article, EnglishSource, pack


def make_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "kb" / "sv-SE"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("one", encoding="utf-8")
    (folder / "b.md").write_text("two", encoding="utf-8")
    return tmp_path / "kb"


def test_second_load_comes_from_the_cache(tmp_path: Path) -> None:
    kb = make_folder(tmp_path)
    builds: list[int] = []

    def build() -> dict[str, int]:
        builds.append(1)
        return {"n": len(builds)}

    assert load_or_build([kb], build, tmp_path / "cache") == {"n": 1}
    assert load_or_build([kb], build, tmp_path / "cache") == {"n": 1}
    assert len(builds) == 1


def test_any_changed_added_or_removed_article_rebuilds(tmp_path: Path) -> None:
    kb = make_folder(tmp_path)
    seen = [fingerprint([kb])]
    (kb / "sv-SE" / "a.md").write_text("one, edited", encoding="utf-8")
    seen.append(fingerprint([kb]))
    (kb / "sv-SE" / "c.md").write_text("three", encoding="utf-8")
    seen.append(fingerprint([kb]))
    (kb / "sv-SE" / "b.md").unlink()
    seen.append(fingerprint([kb]))
    stat = (kb / "sv-SE" / "c.md").stat()
    os.utime(kb / "sv-SE" / "c.md", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    seen.append(fingerprint([kb]))
    assert len(set(seen)) == len(seen)


def test_stale_cache_is_rebuilt_and_corrupt_cache_ignored(tmp_path: Path) -> None:
    kb = make_folder(tmp_path)
    cache = tmp_path / "cache"
    assert load_or_build([kb], lambda: "first", cache) == "first"
    (kb / "sv-SE" / "a.md").write_text("changed", encoding="utf-8")
    assert load_or_build([kb], lambda: "second", cache) == "second"
    for f in cache.iterdir():
        f.write_bytes(b"not a pickle")
    assert load_or_build([kb], lambda: "third", cache) == "third"
    assert load_or_build([kb], lambda: "fourth", cache) == "third"


def test_folder_order_is_part_of_the_key(tmp_path: Path) -> None:
    a, b = make_folder(tmp_path / "x"), make_folder(tmp_path / "y")
    cache = tmp_path / "cache"
    assert load_or_build([a, b], lambda: "ab", cache) == "ab"
    assert load_or_build([b, a], lambda: "ba", cache) == "ba"
    assert load_or_build([a, b], lambda: "never", cache) == "ab"


def test_a_cached_knowledge_base_comes_back_equal_sharing_one_english_source_per_article() -> None:
    kb = load_knowledge_base([BUNDLED_ARTICLES])
    source = EnglishSource(heading="Error", error_strings=("Error",), packed_body=pack("Body."))
    twins = [Article(id="a", locale=loc, path=f"{loc}/a.md", kb_root="/kb", title="T", heading="H", anchor=None,
                     error_strings=(), packed_body=pack("Text."), custom_ids=("1",), english=source)
             for loc in ("sv-SE", "da-DK")]
    again = pickle.loads(pickle.dumps((kb.articles, twins), protocol=pickle.HIGHEST_PROTOCOL))
    assert again == (kb.articles, twins)
    assert again[1][0].english is again[1][1].english
    assert again[1][0].body == "Text." and again[1][0].english.body == "Body."


def test_an_article_named_in_capitals_is_loaded_and_its_edit_seen(tmp_path: Path) -> None:
    """Loading reads ``Onboarding.MD``; the cache must see its edit too (one walker decides both)."""
    from knowledge.engine import KnowledgeEngine

    folder = tmp_path / "kb" / "en-US"
    folder.mkdir(parents=True)
    article = folder / "Onboarding.MD"
    article.write_text("---\ntitle: Onboarding fails\nms.contentlocale: en-US\n---\n# Onboarding fails\n\nText.\n",
                       encoding="utf-8")
    first = KnowledgeEngine.load([tmp_path / "kb"], cache_dir=tmp_path / "cache")
    assert [a.heading for a in first.kb.articles] == ["Onboarding fails"]
    article.write_text("---\ntitle: Onboarding stalls\nms.contentlocale: en-US\n---\n# Onboarding stalls\n\n"
                       "Longer text.\n", encoding="utf-8")
    again = KnowledgeEngine.load([tmp_path / "kb"], cache_dir=tmp_path / "cache")
    assert [a.heading for a in again.kb.articles] == ["Onboarding stalls"]


def test_what_is_not_loaded_does_not_change_the_key(tmp_path: Path) -> None:
    kb = make_folder(tmp_path)
    before = fingerprint([kb])
    for ignored in (kb / "sv-SE" / "TOC.md", kb / "sv-SE" / "includes" / "part.md", kb / ".git" / "x.md"):
        ignored.parent.mkdir(parents=True, exist_ok=True)
        ignored.write_text("not an article", encoding="utf-8")
    assert fingerprint([kb]) == before
