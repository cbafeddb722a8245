# ruff: noqa: E501
"""A folder names a locale only with a region or script; English copies count as English."""

from __future__ import annotations

from pathlib import Path

from knowledge.corpus import folder_locale, load_knowledge_base
from knowledge.engine import KnowledgeEngine
from knowledge.model import ENGLISH

SPAN_ARTICLE = """---
title: Oversatt titel
ms.contentlocale: nl-NL
---
# <a name="x"></a><span data-ttu-id="a-1">Mailbox quota exceeded</span><span class="sxs-lookup"><span data-stu-id="a-1">Mailbox quota exceeded</span></span>

<span data-ttu-id="a-2">Tekst.</span><span class="sxs-lookup"><span data-stu-id="a-2">Text.</span></span>
"""


def test_folder_locale_needs_a_region_or_script() -> None:
    assert folder_locale("sv-SE") == "sv-SE"
    assert folder_locale("zh_Hant") == "zh-TW"
    for name in ("it", "no", "is", "src", "AlchemyInsights", "commercial-dialogues"):
        assert folder_locale(name) is None, name


def test_a_folder_called_it_is_not_italian(tmp_path: Path) -> None:
    folder = tmp_path / "it"
    folder.mkdir()
    (folder / "vpn.md").write_text("---\ntitle: VPN\n---\n# VPN fails\n\nText.\n", encoding="utf-8")
    kb = load_knowledge_base([tmp_path])
    assert kb.articles == ()
    assert [p.reason for p in kb.problems] == ["unknown locale: no ms.contentlocale and no locale folder"]


def test_an_untranslated_heading_matches_as_english(tmp_path: Path) -> None:
    (tmp_path / "nl-NL").mkdir()
    (tmp_path / "nl-NL" / "quota.md").write_text(SPAN_ARTICLE, encoding="utf-8")
    engine = KnowledgeEngine.load([tmp_path])
    best = engine.match("Mailbox quota exceeded")[0]
    assert (best.article_id, best.locale) == ("quota", ENGLISH)
    answer = engine.ask("Mailbox quota exceeded", client_locale="nl-NL")
    assert answer.reply_locale == "nl-NL"
