"""``python -m bot kb import``: docs repositories' localized folders into the layout the bot reads."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.ops.kb_import import import_docs, locale_of_folder
from knowledge.engine import KnowledgeEngine

BUNDLED = Path(__file__).resolve().parents[3] / "knowledge" / "articles"
ARTICLE = "error-validating-access-token-during-onboarding.md"
SWEDISH_ERROR = "Ett fel uppstod vid validering av åtkomsttoken"


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_locale_folder_names() -> None:
    assert locale_of_folder("sv-se") == "sv-SE"
    assert locale_of_folder("OfficeDocs-Support.zh-tw") == "zh-TW"
    assert locale_of_folder("azure-docs") is None
    assert locale_of_folder("articles") is None
    assert locale_of_folder("v1.2") is None


def test_articles_locale_layout_of_a_git_checkout(tmp_path: Path) -> None:
    repo = tmp_path / "support-docs"
    for locale in ("sv-se", "ko-kr", "zh-tw"):
        target = repo / "articles" / locale / "desktop-analytics"
        target.mkdir(parents=True)
        shutil.copy(BUNDLED / {"sv-se": "sv-SE", "ko-kr": "ko-KR", "zh-tw": "zh-TW"}[locale] / ARTICLE, target)
        (target / "TOC.md").write_text("# toc\n")
        (target / "media").mkdir()
        (target / "media" / "shot.md").write_text("# not an article\n")
    (repo / ".git" / "sv-se").mkdir(parents=True)
    (repo / ".git" / "sv-se" / "HEAD.md").write_text("# git internals\n")
    (repo / "README.md").write_text("# repo readme\n")
    report = import_docs(repo, tmp_path / "kb")
    assert files(tmp_path / "kb") == {f"{loc}/desktop-analytics/{ARTICLE}" for loc in ("sv-SE", "ko-KR", "zh-TW")}
    assert dict(report.copied) == {"sv-SE": 1, "ko-KR": 1, "zh-TW": 1}
    assert report.skipped == 1, "README.md sits outside any locale folder"
    engine = KnowledgeEngine.load([tmp_path / "kb"])
    assert len(engine.kb) == 1 and len(engine.kb.articles) == 3, "the three translations are one article"
    assert engine.ask(SWEDISH_ERROR).reply_locale == "sv-SE"


def test_one_checkout_per_locale_and_reimport_touches_only_changes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for repo_locale, locale in (("OfficeDocs-Support.sv-se", "sv-SE"), ("OfficeDocs-Support.ko-kr", "ko-KR")):
        target = docs / repo_locale / "Microsoft-365"
        target.mkdir(parents=True)
        shutil.copy(BUNDLED / locale / ARTICLE, target)
    (docs / "OfficeDocs-Support" / "Microsoft-365").mkdir(parents=True)
    shutil.copy(BUNDLED / "sv-SE" / ARTICLE, docs / "OfficeDocs-Support" / "Microsoft-365" / ARTICLE)
    first = import_docs(docs, tmp_path / "kb", default_locale="en-us")
    assert files(tmp_path / "kb") == {f"{loc}/Microsoft-365/{ARTICLE}" for loc in ("sv-SE", "ko-KR", "en-US")}
    assert sum(first.copied.values()) == 3
    copied = tmp_path / "kb" / "sv-SE" / "Microsoft-365" / ARTICLE
    mtime = copied.stat().st_mtime_ns
    assert mtime == (docs / "OfficeDocs-Support.sv-se" / "Microsoft-365" / ARTICLE).stat().st_mtime_ns
    again = import_docs(docs, tmp_path / "kb", default_locale="en-us")
    assert sum(again.copied.values()) == 0 and again.unchanged == 3
    assert copied.stat().st_mtime_ns == mtime


def test_the_command_line(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["kb", "import", str(BUNDLED), str(tmp_path / "kb")], out=out, err=err) == 0
    assert out.getvalue().startswith("3 files copied (ko-KR 1, sv-SE 1, zh-TW 1), 0 unchanged")
    assert main(["kb", "import", str(tmp_path / "nowhere"), str(tmp_path / "kb")], out=out, err=err) == 2
    assert "docs folder not found" in err.getvalue()
    assert main(["kb", "import", str(tmp_path), str(tmp_path / "kb" / "x")], out=out, err=err) == 2
    assert "must not be inside the source" in err.getvalue()
    with pytest.raises(ValueError, match="not a locale"):
        import_docs(BUNDLED, tmp_path / "other", default_locale="klingon")
    assert not os.path.exists(tmp_path / "other")
