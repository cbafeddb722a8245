"""Loading knowledge-base folders: layouts, grouping of translations, bad files, several folders."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import pytest

import knowledge.corpus as corpus
from knowledge.corpus import KnowledgeBase, check_folder, kb_stats, load_knowledge_base
from knowledge.model import Article

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "knowledge" / "articles"
CORPUS = REPO.parent / "shared" / "corpus"
SEED_ID = "error-validating-access-token-during-onboarding"


def article_text(heading: str, *, locale: str | None = None, anchor: str | None = None, body: str = "Text.") -> str:
    front = f"ms.contentlocale: {locale}\n" if locale else ""
    mark = f'<a name="{anchor}"></a>' if anchor else ""
    return f"---\ntitle: {heading}\n{front}---\n# {mark}{heading}\n\n{body}\n"


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_bundled_articles_load_as_one_article_in_three_locales() -> None:
    kb = load_knowledge_base([BUNDLED])
    assert kb.problems == ()
    assert len(kb) == 1
    assert kb.article_ids == (SEED_ID,)
    assert kb.locales == ("ko-KR", "sv-SE", "zh-TW")
    assert sorted(kb.translations(SEED_ID)) == ["ko-KR", "sv-SE", "zh-TW"]
    swedish = kb.article(SEED_ID, "sv-SE")
    assert swedish is not None
    assert swedish.path == f"sv-SE/{SEED_ID}.md"
    assert swedish.kb_root == str(BUNDLED)
    assert swedish.english is not None
    assert kb.article(SEED_ID, "da-DK") is None
    assert kb.translations("no-such-article") == {}


def test_same_stem_under_locale_folders_is_one_article_at_any_depth(tmp_path: Path) -> None:
    write(tmp_path, "sv-SE/AlchemyInsights/vpn-fails.md", article_text("VPN fungerar inte", anchor="vpn"))
    write(tmp_path, "da-DK/AlchemyInsights/commercial-dialogues/vpn-fails.md", article_text("VPN virker ikke"))
    write(tmp_path, "sv-SE/AlchemyInsights/commercial-dialogues/vpn-fails.md", article_text("VPN, dialog"))
    write(tmp_path, "zh_Hant/vpn-fails.md", article_text("VPN 無法運作"))
    kb = load_knowledge_base([tmp_path])
    assert kb.problems == ()
    assert kb.article_ids == ("vpn-fails",)  # the stem, not the path nor the anchor
    assert len(kb.articles) == 4
    assert sorted(kb.translations("vpn-fails")) == ["da-DK", "sv-SE", "zh-TW"]
    assert {a.path for a in kb.articles} == {
        "sv-SE/AlchemyInsights/vpn-fails.md",
        "da-DK/AlchemyInsights/commercial-dialogues/vpn-fails.md",
        "sv-SE/AlchemyInsights/commercial-dialogues/vpn-fails.md",
        "zh_Hant/vpn-fails.md",
    }


def test_nearest_locale_folder_wins_and_front_matter_wins_over_folders(tmp_path: Path) -> None:
    write(tmp_path, "sv-SE/archive/da-DK/a.md", article_text("Dansk"))
    write(tmp_path, "sv-SE/b.md", article_text("Norsk", locale="nb-NO"))
    kb = load_knowledge_base([tmp_path])
    assert {(a.id, a.locale) for a in kb.articles} == {("a", "da-DK"), ("b", "nb-NO")}


def test_the_kb_root_itself_may_be_a_locale_folder(tmp_path: Path) -> None:
    write(tmp_path, "ko-KR/sub/a.md", article_text("제목"))
    kb = load_knowledge_base([tmp_path / "ko-KR"])
    assert [(a.id, a.locale, a.path) for a in kb.articles] == [("a", "ko-KR", "sub/a.md")]


def test_flat_folder_groups_translations_by_heading_anchor(tmp_path: Path) -> None:
    write(tmp_path, "one.md", article_text("Sign-in fails", locale="en-US", anchor="sign-in-fails"))
    write(tmp_path, "två.md", article_text("Inloggningen misslyckas", locale="sv-SE", anchor="sign-in-fails"))
    write(tmp_path, "other/三.md", article_text("登入失敗", locale="zh-TW", anchor="sign-in-fails"))
    write(tmp_path, "no-anchor.md", article_text("Ingen ankare", locale="sv-SE"))
    kb = load_knowledge_base([tmp_path])
    assert kb.problems == ()
    assert kb.article_ids == ("no-anchor", "sign-in-fails")
    assert sorted(kb.translations("sign-in-fails")) == ["en-US", "sv-SE", "zh-TW"]
    translated = kb.article("sign-in-fails", "zh-TW")
    assert translated is not None and translated.path == "other/三.md"


def test_two_folders_with_the_same_article_keep_both_texts_and_show_the_later(tmp_path: Path) -> None:
    microsoft, company = tmp_path / "microsoft", tmp_path / "company"
    write(microsoft, "sv-SE/AlchemyInsights/vpn.md", article_text("VPN fungerar inte"))
    write(microsoft, "da-DK/AlchemyInsights/vpn.md", article_text("VPN virker ikke"))
    write(company, "sv-SE/vpn.md", article_text("VPN-felet hos oss"))
    kb = load_knowledge_base([microsoft, company])
    assert len(kb) == 1
    swedish = [a for a in kb.articles if a.locale == "sv-SE"]
    assert [(a.heading, a.kb_root) for a in swedish] == [
        ("VPN fungerar inte", str(microsoft)),
        ("VPN-felet hos oss", str(company)),
    ]
    shown = kb.article("vpn", "sv-SE")
    assert shown is not None and shown.heading == "VPN-felet hos oss"
    assert kb.translations("vpn")["da-DK"].heading == "VPN virker ikke"
    reversed_order = load_knowledge_base([company, microsoft]).article("vpn", "sv-SE")
    assert reversed_order is not None and reversed_order.heading == "VPN fungerar inte"


def test_bad_files_are_reported_and_good_files_beside_them_still_load(tmp_path: Path) -> None:
    good = write(tmp_path, "sv-SE/good.md", article_text("Bra artikel"))
    bad = {
        "no-front-matter": write(tmp_path, "sv-SE/no-front-matter.md", "# Rubrik\n\nText.\n"),
        "broken-yaml": write(tmp_path, "sv-SE/broken-yaml.md", "---\ntitle: ok\nms.author: a: b\n---\n# R\n\nT\n"),
        "no-heading": write(tmp_path, "sv-SE/no-heading.md", "---\ntitle: t\n---\n\nJust text.\n"),
        "empty-body": write(tmp_path, "sv-SE/empty-body.md", "---\ntitle: t\n---\n# Rubrik\n"),
        "unknown-locale": write(tmp_path, "misc/unknown-locale.md", article_text("Rubrik")),
        "bad-locale": write(tmp_path, "misc/bad-locale.md", article_text("Rubrik", locale="zz-QQ-!")),
        "not-utf8": write(tmp_path, "sv-SE/not-utf8.md", article_text("Fel").encode("utf-8") + b"\xff\xfe"),
    }
    kb = load_knowledge_base([tmp_path])
    assert [a.path for a in kb.articles] == ["sv-SE/good.md"]
    assert kb.articles[0].heading == "Bra artikel"
    found = {Path(p.path).stem: (p.line, p.reason) for p in kb.problems}
    assert found == {
        "no-front-matter": (1, "no front matter (the file must start with a '---' line)"),
        "broken-yaml": (3, "broken YAML front matter: mapping values are not allowed in this context"),
        "no-heading": (4, "no heading (a '# ' H1 line)"),
        "empty-body": (5, "empty body: no text after the heading"),
        "unknown-locale": (1, "unknown locale: no ms.contentlocale and no locale folder"),
        "bad-locale": (1, "unknown locale 'zz-QQ-!' in ms.contentlocale"),
        "not-utf8": (7, "not UTF-8 text (invalid start byte at byte 32)"),
    }
    assert {p.path for p in kb.problems} == {str(path) for path in bad.values()}  # absolute: openable
    assert good.exists()
    assert sorted(check_folder(tmp_path), key=lambda p: p.path) == sorted(kb.problems, key=lambda p: p.path)
    assert str(kb.problems[0]).startswith(f"{kb.problems[0].path}:{kb.problems[0].line}: ")


def test_only_article_files_are_read(tmp_path: Path) -> None:
    write(tmp_path, "sv-SE/a.md", article_text("Artikel"))
    write(tmp_path, "sv-SE/UPPER.MD", article_text("Versaler"))
    for skipped in ("sv-SE/TOC.md", "sv-SE/toc.yml", "sv-SE/notes.txt", "sv-SE/includes/part.md",
                    "sv-SE/Media/image.md", "sv-SE/breadcrumb/toc.md", "sv-SE/.git/x.md", "sv-SE/.hidden/y.md",
                    "sv-SE/._a.md"):
        write(tmp_path, skipped, "not an article")
    kb = load_knowledge_base([tmp_path])
    assert kb.problems == ()
    assert sorted(a.path for a in kb.articles) == ["sv-SE/UPPER.MD", "sv-SE/a.md"]


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"knowledge-base folder not found: .*nowhere"):
        load_knowledge_base([BUNDLED, tmp_path / "nowhere"])


def test_progress_counts_up_to_the_number_of_files(tmp_path: Path) -> None:
    for i in range(7):
        write(tmp_path, f"sv-SE/a{i}.md", article_text(f"Artikel {i}"))
    seen: list[tuple[int, int]] = []
    load_knowledge_base([tmp_path], progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 7) and seen[-1] == (7, 7)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_worker_processes_give_the_same_result_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(12):
        write(tmp_path, f"{'sv-SE' if i % 2 else 'da-DK'}/a{i}.md", article_text(f"Artikel {i}"))
    write(tmp_path, "sv-SE/bad.md", "no front matter")
    serial = load_knowledge_base([tmp_path])
    monkeypatch.setattr(corpus, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(corpus, "CHUNK_FILES", 3)
    monkeypatch.setattr(corpus, "_workers", lambda: 2)
    seen: list[int] = []
    parallel = load_knowledge_base([tmp_path], progress=lambda done, total: seen.append(done))
    assert parallel.articles == serial.articles
    assert parallel.problems == serial.problems
    assert seen == [0, 3, 6, 9, 12, 13]


def test_knowledge_base_pickles(tmp_path: Path) -> None:
    write(tmp_path, "sv-SE/bad.md", "broken")
    kb = load_knowledge_base([BUNDLED, tmp_path])
    copy = pickle.loads(pickle.dumps(kb))
    assert isinstance(copy, KnowledgeBase)
    assert (copy.articles, copy.problems, copy.locales, copy.article_ids) == (
        kb.articles, kb.problems, kb.locales, kb.article_ids)
    assert copy.translations(SEED_ID) == kb.translations(SEED_ID)


def test_stats_count_articles_files_and_locales(tmp_path: Path) -> None:
    write(tmp_path, "a/sv-SE/x.md", article_text("X sv"))
    write(tmp_path, "a/da-DK/x.md", article_text("X da"))
    write(tmp_path, "a/sv-SE/y.md", article_text("Y sv"))
    write(tmp_path, "b/sv-SE/x.md", article_text("X sv, ours"))
    write(tmp_path, "b/sv-SE/broken.md", "broken")
    stats = kb_stats(load_knowledge_base([tmp_path / "a", tmp_path / "b"]))
    assert stats == {
        "articles": 2,
        "locales": ["da-DK", "sv-SE"],
        "files": 4,
        "problems": 1,
        "with_english_source": 0,
        "per_locale": {"da-DK": 1, "sv-SE": 2},
        "files_per_locale": {"da-DK": 1, "sv-SE": 3},
    }


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")
def test_real_corpus_files_in_the_eval_layout(tmp_path: Path) -> None:
    """A few real files per locale, laid out as the eval KB: grouped by stem, nothing lost."""
    wanted = (
        "troubleshoot-presence-issues-outlook.md", "restore-an-office-365-group-using-eac", "1-1-call-recording.md")
    for locale in ("sv-SE", "zh-TW", "ko-KR"):
        with tarfile.open(CORPUS / locale / "sxs.tar.gz", "r:gz") as archive:
            for member in archive:
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and name.startswith(wanted):
                    handle = archive.extractfile(member)
                    assert handle is not None
                    write(tmp_path, f"{locale}/{member.name}", handle.read())
    kb = load_knowledge_base([tmp_path])
    assert kb.problems == ()
    assert len(kb.articles) == 9
    assert kb.article_ids == (
        "1-1-call-recording", "restore-an-office-365-group-using-eac", "troubleshoot-presence-issues-outlook")
    for article_id in kb.article_ids:
        versions: dict[str, Article] = kb.translations(article_id)
        assert sorted(versions) == ["ko-KR", "sv-SE", "zh-TW"]
        assert all(a.english is not None and a.english.heading for a in versions.values())
    presence = kb.article("troubleshoot-presence-issues-outlook", "zh-TW")
    assert presence is not None and presence.heading == "疑難排解 Outlook 中的目前狀態問題"
