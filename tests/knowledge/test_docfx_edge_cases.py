"""Parser edge cases beside test_docfx.py: Spanish corpus files with odd front matter and file names,
a made-up locale, and markdown block rules (HTML comments, multi-line setext headings, fences)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from knowledge.docfx import article_id_from_stem, parse_article
from knowledge.model import Article, ArticleParseError, ArticleProblem

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"
FRONT = "---\ntitle: Titel\nms.contentlocale: sv-SE\n---\n"


def parse(text: str, *, hint: str | None = "sv-SE") -> Article:
    return parse_article(text, path="sv-SE/a.md", kb_root="/kb", locale_hint=hint)


@pytest.fixture(scope="module")
def spanish_sxs() -> dict[str, str]:
    """Every markdown file of the es-ES span-format snapshot, by its path in the tarball."""
    tarball = CORPUS / "es-ES" / "sxs.tar.gz"
    if not tarball.is_file():
        pytest.skip("../shared/corpus is not present")
    files = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".md"):
                handle = archive.extractfile(member)
                assert handle is not None
                files[member.name] = handle.read().decode("utf-8")
    return files


def corpus_article(files: dict[str, str], path: str) -> Article:
    stem = article_id_from_stem(path.rsplit("/", 1)[-1][:-3])
    return parse_article(files[path], path=f"es-ES/{path}", kb_root="/kb", locale_hint="es-ES", article_id=stem)


def test_swallowed_front_matter_with_an_untranslated_title(spanish_sxs: dict[str, str]) -> None:
    path = "AlchemyInsights/troubleshoot-presence-issues-outlook.md"
    assert spanish_sxs[path].startswith('---\n<span data-ttu-id="')  # the front matter sits inside a span
    article = corpus_article(spanish_sxs, path)
    assert article.locale == "es-ES"  # from the folder: the swallowed keys carry no locale
    # The title key kept its English text, so the Spanish heading is the title.
    assert article.title == article.heading == "Solucionar problemas de presencia en Outlook"
    assert article.anchor == "troubleshoot-presence-issues-in-outlook"
    assert article.custom_ids == ("9257", "9003349")
    assert article.english is not None
    assert article.english.heading == "Troubleshoot presence issues in Outlook"
    assert "<span" not in article.body and "To diagnose" not in article.body
    assert "[Escenario de presencia de Teams](https://aka.ms/SaRA-TeamsPresenceScenario)" in article.body


def test_swallowed_front_matter_needs_a_locale_folder(spanish_sxs: dict[str, str]) -> None:
    path = "AlchemyInsights/troubleshoot-presence-issues-outlook.md"
    with pytest.raises(ArticleParseError) as caught:
        parse_article(spanish_sxs[path], path=path, kb_root="/kb")
    assert (caught.value.problem.line, caught.value.problem.reason) == (
        1, "unknown locale: no ms.contentlocale and no locale folder")


def test_file_name_with_zero_width_spaces(spanish_sxs: dict[str, str]) -> None:
    prefix = "AlchemyInsights/restore-an-office-365-group-using-eac"
    (path,) = [p for p in spanish_sxs if p.startswith(prefix)]
    assert "\u200b" in path
    article = corpus_article(spanish_sxs, path)
    assert article.id == "restore-an-office-365-group-using-eac"
    assert article.locale == "es-ES"
    assert article.title == article.heading == (
        "Restaurar un grupo de Microsoft 365 mediante el Centro de administración de Exchange")
    assert article.english is not None
    assert article.english.heading == "Restore a Microsoft 365 Group using the Exchange admin center"


def test_file_names_with_a_leading_dot(spanish_sxs: dict[str, str]) -> None:
    dotted = [p for p in spanish_sxs if p.rsplit("/", 1)[-1].startswith(".")]
    if not dotted:
        pytest.skip("no file name with a leading dot in the es-ES snapshot")
    for path in dotted:
        article = corpus_article(spanish_sxs, path)
        assert not article.id.startswith(".")


def test_a_made_up_locale_without_a_folder_is_a_problem() -> None:
    text = "---\nms.contentlocale: xx-notreal\n---\n# Rubrik\n\nText.\n"
    with pytest.raises(ArticleParseError) as caught:
        parse(text, hint=None)
    assert caught.value.problem == ArticleProblem(
        "sv-SE/a.md", 1, "unknown locale 'xx-notreal' in ms.contentlocale")
    assert parse(text, hint="da-DK").locale == "da-DK"


def test_the_seed_heading_keeps_fullwidth_quoted_text_as_an_error_string() -> None:
    article = parse(FRONT + "# 出現＂驗證存取權杖時發生錯誤＂錯誤\n\nText.\n")
    assert article.error_strings == ("驗證存取權杖時發生錯誤",)


# --- markdown block rules ----------------------------------------------------------------------------


def test_a_one_line_html_comment_is_not_a_heading() -> None:
    assert parse(FRONT + "<!-- # old heading -->\n# Rubrik\n\nText.\n").heading == "Rubrik"


def test_a_heading_inside_a_multi_line_html_comment_is_not_the_heading() -> None:
    article = parse(FRONT + "<!--\n# old heading\n-->\n# Rubrik\n\nText.\n")
    assert (article.heading, article.body) == ("Rubrik", "Text.")


def test_a_setext_heading_of_two_lines() -> None:
    article = parse(FRONT + "Fel vid\ninloggning\n==========\n\nText.\n")
    assert (article.heading, article.body) == ("Fel vid inloggning", "Text.")


def test_a_fence_is_closed_only_by_the_same_fence() -> None:
    article = parse(FRONT + "```\n# not this\n~~~\n# nor this\n```\n# Rubrik\n\nText.\n")
    assert (article.heading, article.body) == ("Rubrik", "Text.")


def test_a_setext_heading_after_a_blank_line_and_an_atx_heading_spanning_two_lines() -> None:
    assert parse(FRONT + "\nFel vid inloggning\n===\n\nText.\n").heading == "Fel vid inloggning"
    article = parse(FRONT + '# <a name="fel"></a>\nFel vid inloggning\n\nText.\n')
    assert (article.heading, article.anchor, article.body) == ("Fel vid inloggning", "fel", "Text.")
