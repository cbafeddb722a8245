"""Parsing one docfx article: the seed articles, real corpus files, edge cases and broken files."""

from __future__ import annotations

import gzip
import json
import re
import tarfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from knowledge.docfx import _simple_front_matter, article_id_from_stem, parse_article, quoted_strings
from knowledge.model import Article, ArticleParseError, pack, unpack

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "knowledge" / "articles"
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SEED_NAME = "error-validating-access-token-during-onboarding.md"
SEED_ANCHOR = "there-was-an-error-validating-access-token-error-during-desktop-analytics-onboarding"
CONDITIONAL_ACCESS = "https://docs.microsoft.com/azure/active-directory/conditional-access/plan-conditional-access"
ENGLISH_HEADING = '"There was an error validating access token" error during Desktop Analytics onboarding'
ENGLISH_BODY = (
    "This error is normally observed when the authentication token expires. Usually, refreshing the page "
    "refreshes the token. However, this issue can persist if there are any Conditional Access policies "
    "applied to the account being used to on-board Desktop Analytics. You can review the Azure AD Sign In "
    "logs in the Azure Portal to see if there are any sign-in failures for the account being used for "
    "Desktop Analytics onboarding.\n\n"
    "For more information about Conditional Access, visit "
    f"[Plan your Conditional Access deployment]({CONDITIONAL_ACCESS})."
)
MARKUP = re.compile(r"<span|</span|data-ttu-id|data-stu-id|sxs-lookup|<a name|&quot;|&amp;|&#\d+;")


def parse(text: str, *, path: str = "x/a.md", hint: str | None = None, article_id: str | None = None) -> Article:
    return parse_article(text, path=path, kb_root="/kb", locale_hint=hint, article_id=article_id)


def problem_of(text: str, *, hint: str | None = "sv-SE") -> tuple[int, str]:
    with pytest.raises(ArticleParseError) as caught:
        parse(text, path="sv-SE/bad.md", hint=hint)
    assert caught.value.problem.path == "sv-SE/bad.md"
    return caught.value.problem.line, caught.value.problem.reason


# --- the seed article, in the three bundled locales ----------------------------------------------------

SEED_EXPECTED = {
    "zh-TW": {
        "title": "在桌面機分析入職時，驗證存取權杖錯誤時發生錯誤",
        "heading": "在桌面分析上架時發生「驗證存取權杖時發生錯誤」錯誤",
        "error_strings": ("驗證存取權杖時發生錯誤",),
        "body": (
            "驗證權杖到期時，通常會觀測到此錯誤。 通常重新整理頁面會重新整理標記。 不過，如果有任何條件式存取原則套用至"
            "用來進行板載桌面機 Analytics 的帳戶，此問題便會存在。 您可以在 Azure 入口網站中檢查 Azure AD 登入記錄檔，"
            "以查看用於桌面機分析上架的帳戶是否有任何登入失敗。\n\n"
            f"如需條件式存取的相關資訊，請造訪 [規劃您的條件式存取部署]({CONDITIONAL_ACCESS})。"
        ),
    },
    "sv-SE": {
        "title": "Ett fel uppstod vid validering av åtkomsttoken under skrivbordsanalys på boarding",
        "heading": 'Felet "Ett fel uppstod vid validering av åtkomsttoken" under registrering av Skrivbordsanalys',
        "error_strings": ("Ett fel uppstod vid validering av åtkomsttoken",),
        "body": (
            "Det här felet observeras normalt när autentiseringstoken upphör att gälla. Vanligtvis uppdateras token "
            "när sidan uppdateras. Men det här problemet kan kvarstå om det finns några villkorsstyrda "
            "åtkomstprinciper som tillämpas på det konto som används för skrivbordsanalys. Du kan granska Azure "
            "AD-inloggningsloggarna i Azure Portal för att se om det uppstår något inloggningsfel för det konto som "
            "används för registrering av Skrivbordsanalys.\n\n"
            "Mer information om villkorsstyrd åtkomst finns i "
            f"[Planera villkorsstyrd åtkomstdistribution.]({CONDITIONAL_ACCESS})"
        ),
    },
    "ko-KR": {
        "title": "Desktop Analytics를 접속하는 동안 액세스 토큰 오류 유효성 검사 오류가 발생했습니다.",
        "heading": 'Desktop Analytics 온보더링 중에 "액세스 토큰 유효성 검사 오류가 발생했습니다." 오류',
        "error_strings": ("액세스 토큰 유효성 검사 오류가 발생했습니다",),
        "body": (
            "이 오류는 일반적으로 인증 토큰이 만료될 때 관찰됩니다. "
            "일반적으로 페이지를 새로 고치면 토큰이 새로 고쳐지게 됩니다. "
            "그러나 Desktop Analytics를 사용하는 계정에 적용되는 조건부 액세스 정책이 있는 경우 "
            "이 문제가 지속될 수 있습니다. Azure Portal의 Azure AD 로그인 로그를 검토하여 "
            "Desktop Analytics 등록에 사용되는 계정에 대한 로그인 오류가 없는지 볼 수 있습니다.\n\n"
            "조건부 액세스에 대한 자세한 내용은 "
            f"[Plan your Conditional Access deployment을 참조하십시오.]({CONDITIONAL_ACCESS})"
        ),
    },
}


@pytest.mark.parametrize("locale", sorted(SEED_EXPECTED))
def test_seed_article_parses_into_localized_text_and_english_source(locale: str) -> None:
    path = f"{locale}/{SEED_NAME}"
    article = parse_article((SEEDS / path).read_text(encoding="utf-8"), path=path, kb_root=str(SEEDS))
    expected = SEED_EXPECTED[locale]
    assert article.id == SEED_ANCHOR  # no article_id given: the heading anchor
    assert article.locale == locale
    assert article.path == path
    assert article.kb_root == str(SEEDS)
    assert article.title == expected["title"]
    assert article.heading == expected["heading"]
    assert article.anchor == SEED_ANCHOR
    assert article.error_strings == expected["error_strings"]
    assert article.body == expected["body"]
    assert article.custom_ids == ("2536", "9000657")
    assert article.english is not None
    assert article.english.heading == ENGLISH_HEADING
    assert article.english.error_strings == ("There was an error validating access token",)
    assert article.english.body == ENGLISH_BODY


def test_an_explicit_article_id_wins_over_the_anchor() -> None:
    text = (SEEDS / "sv-SE" / SEED_NAME).read_text(encoding="utf-8")
    assert parse(text, article_id="error-validating-access-token-during-onboarding").id == (
        "error-validating-access-token-during-onboarding"
    )


# --- quoted error strings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ('"There was an error validating access token" error', ("There was an error validating access token",)),
        ("在桌面分析上架時發生「驗證存取權杖時發生錯誤」錯誤", ("驗證存取權杖時發生錯誤",)),
        ("『サインインできません』と表示される", ("サインインできません",)),
        ("Fehler „Zugriff verweigert“ beim Öffnen", ("Zugriff verweigert",)),
        ("Meddelandet ”Innehållet är inte tillgängligt än” i OneNote", ("Innehållet är inte tillgängligt än",)),
        ("Jak opravit ,,Vypadá to, že nemáme oprávnění\"", ("Vypadá to, že nemáme oprávnění",)),
        ("Erreur « Accès refusé » dans Outlook", ("Accès refusé",)),
        ("Fejlen »Adgang nægtet« i Outlook", ("Adgang nægtet",)),
        ("Virhe ‹Pääsy estetty› Outlookissa", ("Pääsy estetty",)),
        ("Error ‘Access denied’ in Outlook", ("Access denied",)),
        ("‘매개 변수를 찾을 수 없습니다” 오류 발생", ("매개 변수를 찾을 수 없습니다",)),
        ("出现＂访问被拒绝＂错误", ("访问被拒绝",)),
        ("Error 'Access denied' and \"Try again\"", ("Access denied", "Try again")),
        ("Geçiş sırasında 'Posta kutusu GUID'si olan bir alıcı bulamıyorum' hatası",
         ("Posta kutusu GUID'si olan bir alıcı bulamıyorum",)),
        ('Fel "Försök igen." och "Försök igen"', ("Försök igen",)),
    ],
)
def test_quoted_strings_in_any_quote_style(heading: str, expected: tuple[str, ...]) -> None:
    assert quoted_strings(heading) == expected


@pytest.mark.parametrize(
    "heading",
    [
        "Al client è impedito l'invio da un dominio dall'archivio",  # elisions are not quotes
        "SharePoint'de 403 Yasak OneDrive hatası",
        "Teams’e üye ekleme",
        'Solutions for "Office (64-bit or 32-bit) couldn\'t be installed',  # never closed
        "No quotes at all",
    ],
)
def test_apostrophes_and_unclosed_quotes_are_not_error_strings(heading: str) -> None:
    assert quoted_strings(heading) == ()


# --- edge cases ------------------------------------------------------------------------------------------

FRONT = "---\ntitle: Titel\nms.contentlocale: sv-SE\n---\n"


def test_bom_and_crlf_line_endings() -> None:
    text = "\ufeff" + (FRONT + "# Rubrik\n\nBrödtext med [länk](https://example.com/a).\n").replace("\n", "\r\n")
    article = parse(text)
    assert (article.title, article.heading) == ("Titel", "Rubrik")
    assert article.body == "Brödtext med [länk](https://example.com/a)."


def test_setext_heading_with_equals_underline() -> None:
    article = parse(FRONT + "\nFel vid inloggning\n==================\n\nText.\n")
    assert (article.heading, article.body) == ("Fel vid inloggning", "Text.")


def test_atx_heading_with_extra_spaces_and_closing_hashes() -> None:
    article = parse(FRONT + '#    <a name="x-y"></a>Fel   vid inloggning   ##  \n\nText.\n')
    assert (article.heading, article.anchor, article.id) == ("Fel vid inloggning", "x-y", "x-y")


def test_heading_after_other_lines_and_not_inside_a_code_fence() -> None:
    text = FRONT + "[!INCLUDE [x](includes/x.md)]\n\n```\n# not a heading\n```\n## Subheading\n\n# Rubrik\n\nText.\n"
    article = parse(text)
    assert (article.heading, article.body) == ("Rubrik", "Text.")


def test_heading_spanning_two_lines() -> None:
    anchor_alone = FRONT + '# <a name="two-lines"></a>\nFel vid inloggning\n\nText.\n'
    article = parse(anchor_alone)
    assert (article.heading, article.anchor, article.body) == ("Fel vid inloggning", "two-lines", "Text.")
    open_span = (
        FRONT + '# <a name="s"></a><span data-ttu-id="1-1">Fel vid\ninloggning</span><span class="sxs-lookup">'
        '<span data-stu-id="1-1">Sign-in\nfails</span></span>\n\n<span data-ttu-id="1-2">Text.</span>'
        '<span class="sxs-lookup"><span data-stu-id="1-2">Text in English.</span></span>\n'
    )
    article = parse(open_span)
    assert (article.heading, article.body) == ("Fel vid inloggning", "Text.")
    assert article.english is not None
    assert (article.english.heading, article.english.body) == ("Sign-in fails", "Text in English.")


def test_body_markup_is_cleaned_but_links_placeholders_and_autolinks_stay() -> None:
    text = FRONT + (
        "# Rubrik\n\n"
        'Kör <b>Get-User</b> &lt;email&gt; -Identity <email address> &amp; se <a href="https://x.test/a">sidan</a>.'
        "   \nRad två<br/>fortsätter, se <https://admin.microsoft.com>.\n\n\n\n"
        "![bild](media/a.png)\n"
    )
    assert parse(text).body == (
        "Kör Get-User <email> -Identity <email address> & se [sidan](https://x.test/a).\n"
        "Rad två fortsätter, se <https://admin.microsoft.com>.\n\n![bild](media/a.png)"
    )


def test_plain_file_has_no_english_source() -> None:
    assert parse(FRONT + "# Rubrik\n\nText.\n").english is None


def test_custom_ids_from_a_list_or_a_scalar() -> None:
    listed = "---\nms.contentlocale: sv-SE\nms.custom:\n- \"9000657\"\n- 2536\n- commerce_billing\n---\n# R\n\nT\n"
    assert parse(listed).custom_ids == ("9000657", "2536", "commerce_billing")
    scalar = "---\nms.contentlocale: sv-SE\nms.custom: 9000657\n---\n# R\n\nT\n"
    assert parse(scalar).custom_ids == ("9000657",)
    flow = "---\nms.contentlocale: sv-SE\nms.custom: [\"1\", 2]\n---\n# R\n\nT\n"  # YAML, not the fast path
    assert parse(flow).custom_ids == ("1", "2")
    assert parse("---\nms.contentlocale: sv-SE\nms.custom: ''\n---\n# R\n\nT\n").custom_ids == ()


def test_title_falls_back_to_the_heading() -> None:
    assert parse("---\nms.contentlocale: sv-SE\n---\n# Rubrik\n\nText.\n").title == "Rubrik"


@pytest.mark.parametrize(
    ("declared", "hint", "expected"),
    [
        ("sv-se", None, "sv-SE"),
        ("zh-tw", None, "zh-TW"),
        ("zh-Hant-TW", None, "zh-TW"),
        ("sr-Latn-RS", None, "sr-Latn-RS"),
        ("pt_BR", None, "pt-BR"),
        (None, "ko-KR", "ko-KR"),
        ("xx-INVALID-!!", "da-DK", "da-DK"),  # a junk declaration falls back to the folder's locale
        ("nb-NO", "da-DK", "nb-NO"),  # the front matter wins over the folder
    ],
)
def test_locale_from_front_matter_else_hint(declared: str | None, hint: str | None, expected: str) -> None:
    front = f"ms.contentlocale: {declared}\n" if declared else ""
    assert parse(f"---\n{front}---\n# R\n\nT\n", hint=hint).locale == expected


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("restore-an-office-365-group-using-eac\u200b\u200b\u200b", "restore-an-office-365-group-using-eac"),
        (".uk-domain-transfers", "uk-domain-transfers"),
        ("\ufeffa\u200cb\u200d\u2060", "ab"),
        ("plain-stem", "plain-stem"),
    ],
)
def test_article_id_from_stem(stem: str, expected: str) -> None:
    assert article_id_from_stem(stem) == expected


def test_without_anchor_the_id_is_the_cleaned_stem() -> None:
    article = parse(FRONT + "# Rubrik\n\nText.\n", path="sv-SE/.uk-domain\u200b-transfers.md")
    assert article.id == "uk-domain-transfers"


def test_front_matter_swallowed_by_a_span_is_recovered() -> None:
    text = (
        '---\n<span data-ttu-id="b-101">rubrik: "Felsök närvaroproblem" ms.author: pebaum ms.custom: (</span>'
        '<span class="sxs-lookup"><span data-stu-id="b-101">title: "Troubleshoot presence" ms.author: pebaum '
        'ms.custom: (</span></span>\n- <span data-ttu-id="b-102">9257</span><span class="sxs-lookup">'
        '<span data-stu-id="b-102">9257</span></span>\n---\n\n# <a name="p"></a><span data-ttu-id="b-104">Felsöka '
        'närvaro</span><span class="sxs-lookup"><span data-stu-id="b-104">Troubleshoot presence</span></span>\n\n'
        '<span data-ttu-id="b-105">Text.</span><span class="sxs-lookup"><span data-stu-id="b-105">Text.</span></span>\n'
    )
    article = parse(text, hint="sv-SE")
    assert (article.title, article.heading, article.locale) == ("Felsök närvaroproblem", "Felsöka närvaro", "sv-SE")
    assert article.custom_ids == ("9257",)
    untranslated = text.replace("rubrik: \"Felsök närvaroproblem\"", 'title: "Troubleshoot presence"')
    assert parse(untranslated, hint="sv-SE").title == "Felsöka närvaro"  # an English title is not shown


# --- broken files: each says where and what --------------------------------------------------------------


def test_no_front_matter() -> None:
    assert problem_of("# Rubrik\n\nText.\n") == (1, "no front matter (the file must start with a '---' line)")


def test_front_matter_not_closed() -> None:
    assert problem_of("---\ntitle: x\n# Rubrik\n\nText.\n") == (1, "front matter is not closed by a '---' line")


@pytest.mark.parametrize(
    ("front", "line", "reason"),
    [
        ("title: ok\nms.author: a\ntitle: a: b\n", 4, "mapping values are not allowed in this context"),
        ('title: ok\ntitle: "never closed\nms.author: x\n', 3,
         "found unexpected end of stream (while scanning a quoted scalar)"),
        ("title: ok\nms.custom:\n- a\n  b: [\n", 5, "mapping values are not allowed in this context"),
        ("title: x\n\tms.author: tab\n", 3,
         "found a tab character that violates indentation (while scanning a plain scalar from line 2)"),
        ("ms.custom: [1, 2\ntitle: 3\n", 3,
         "did not find expected ',' or ']' (while parsing a flow sequence from line 2)"),
    ],
)
def test_broken_yaml_reports_the_file_line(front: str, line: int, reason: str) -> None:
    assert problem_of(f"---\n{front}---\n# Rubrik\n\nText.\n") == (line, f"broken YAML front matter: {reason}")


def test_front_matter_that_is_not_a_mapping() -> None:
    assert problem_of("---\n- a\n- b\n---\n# R\n\nT\n") == (2, "front matter is not a mapping of keys to values")


def test_no_heading() -> None:
    assert problem_of(FRONT + "\n## Only a subheading\n\nText.\n") == (5, "no heading (a '# ' H1 line)")


def test_empty_heading() -> None:
    assert problem_of(FRONT + "\n#   \n") == (6, "the H1 heading is empty")


def test_empty_body() -> None:
    assert problem_of(FRONT + "\n# Rubrik\n\n   \n") == (7, "empty body: no text after the heading")
    span_only = FRONT + '# Rubrik\n<span data-ttu-id="1"></span><span class="sxs-lookup"><span data-stu-id="1">' \
        "English only</span></span>\n"
    assert problem_of(span_only)[1] == "empty body: no text after the heading"


def test_unknown_or_missing_locale() -> None:
    body = "# Rubrik\n\nText.\n"
    assert problem_of("---\nms.contentlocale: xx-ZZZZ-!!\n---\n" + body, hint=None) == (
        1, "unknown locale 'xx-ZZZZ-!!' in ms.contentlocale")
    assert problem_of("---\ntitle: t\n---\n" + body, hint=None) == (
        1, "unknown locale: no ms.contentlocale and no locale folder")


# --- the fast front-matter path agrees with YAML ---------------------------------------------------------

_LINE = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(["title", "ms.custom", "ms.contentlocale", "a-b_c"]),
              st.text(alphabet="ab :#'\"-[]{}&*!|>%@`,?~\\", max_size=12)),
    st.builds(lambda k: f"{k}:", st.sampled_from(["title", "ms.custom"])),
    st.builds(lambda v: f"- {v}", st.text(alphabet="ab :#'\"-[]{}", max_size=8)),
    st.sampled_from(["", "  ", "# comment", "  - indented", "\tx: tab", "ms.custom: ''", "title: 'it''s'"]),
)


def _as_strings(value: Any) -> Any:
    if isinstance(value, list):
        return [None if v is None else str(v) for v in value]
    return None if value is None else str(value)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINE, max_size=6))
@example(["title: ", "- a"])  # a key with trailing spaces, then list items: the items are its value
def test_simple_front_matter_reads_what_yaml_reads(lines: list[str]) -> None:
    raw = "".join(line + "\n" for line in lines)
    simple = _simple_front_matter(raw)
    if simple is None:
        return  # handed to the YAML parser
    loaded = yaml.safe_load(raw) or {}
    assert isinstance(loaded, dict)
    used = {k: _as_strings(v) for k, v in loaded.items() if k in ("title", "ms.contentlocale", "ms.custom")}
    assert {k: _as_strings(v) for k, v in simple.items()} == used


# --- real corpus files -----------------------------------------------------------------------------------

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")


def corpus_files(locale: str, snapshot: str) -> Iterator[tuple[str, str]]:
    """``(path, text)`` of every markdown file in one corpus tarball, read as a stream."""
    with tarfile.open(CORPUS / locale / f"{snapshot}.tar.gz", "r:gz") as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".md"):
                handle = archive.extractfile(member)
                assert handle is not None
                yield member.name, handle.read().decode("utf-8")


def corpus_article(locale: str, snapshot: str, name_start: str) -> Article:
    """The first file of a corpus tarball whose name below AlchemyInsights/ starts with ``name_start``."""
    path, text = next(
        (p, t) for p, t in corpus_files(locale, snapshot) if p.startswith(f"AlchemyInsights/{name_start}")
    )
    stem = article_id_from_stem(path.rsplit("/", 1)[-1][:-3])
    return parse_article(text, path=f"{locale}/{path}", kb_root="/kb", locale_hint=locale, article_id=stem)


@needs_corpus
def test_corpus_front_matter_swallowed_by_a_span() -> None:
    article = corpus_article("sv-SE", "sxs", "troubleshoot-presence-issues-outlook.md")
    assert article.locale == "sv-SE"  # from the folder: the swallowed front matter has no locale
    assert article.title == "Felsök närvaroproblem i Outlook"  # its key was translated to "rubrik"
    assert article.heading == "Felsöka närvaroproblem i Outlook"
    assert article.custom_ids == ("9257", "9003349")
    assert article.english is not None
    assert article.english.heading == "Troubleshoot presence issues in Outlook"
    assert "[närvaroscenario i Teams.](https://aka.ms/SaRA-TeamsPresenceScenario)" in article.body


@needs_corpus
def test_corpus_file_name_with_zero_width_spaces() -> None:
    article = corpus_article("sv-SE", "sxs", "restore-an-office-365-group-using-eac")
    assert "\u200b" in article.path
    assert article.id == "restore-an-office-365-group-using-eac"
    assert article.heading == "Återställa en Microsoft 365-grupp med administrationscentret för Exchange"


@needs_corpus
def test_corpus_stray_closing_span_keeps_languages_apart() -> None:
    article = corpus_article("zh-TW", "sxs", "outlook-com-setting-changes.md")
    assert "If the recipient mailbox" not in article.body
    assert "如果收件者信箱位於 **Yahoo 或 Gmail**上" in article.body
    assert article.english is not None
    assert "If the recipient mailbox is on **Yahoo or Gmail**" in article.english.body
    assert not re.search(r"[\u4e00-\u9fff]", article.english.body)


@needs_corpus
def test_corpus_placeholders_survive_markup_removal() -> None:
    article = corpus_article("sv-SE", "sxs", "multiple-objects-have-the-same-email-address-as-identity.md")
    assert article.english is not None
    assert "Get-Recipient <email address>" in article.english.body


@needs_corpus
@pytest.mark.parametrize(
    ("locale", "name", "expected"),
    [
        ("sv-SE", "content-not-yet-available-message-in-onenote.md", ("Innehållet är inte tillgängligt än",)),
        ("cs-CZ", "outlook-com-connected-account-permissions.md", ("Vypadá to, že nemáme oprávnění",)),
        ("ko-KR", "getting-parameter-cannot-be-found-error.md",
         ("매개 변수 이름과 일치하는 매개 변수를 찾을 수 없습니다",)),
    ],
)
def test_corpus_error_strings_in_local_quote_styles(locale: str, name: str, expected: tuple[str, ...]) -> None:
    assert corpus_article(locale, "plain", name).error_strings == expected


def corpus_locales() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


@needs_corpus
@pytest.mark.parametrize("locale", corpus_locales())
def test_every_corpus_file_parses_and_headings_agree_with_the_corpus_index(locale: str) -> None:
    """Each file of both snapshots parses; its H1 (and English H1) is one the corpus index lists for it."""
    index: dict[tuple[str, str], set[str]] = defaultdict(set)
    with gzip.open(CORPUS / locale / "headings.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            index[(record["path"], record["kind"])].add(" ".join(record["text"].split()))
    parsed = 0
    for snapshot in ("sxs", "plain"):
        for path, text in corpus_files(locale, snapshot):
            if "/includes/" in path or "/media/" in path or path.rsplit("/", 1)[-1].upper().startswith("TOC."):
                continue
            article = parse_article(text, path=path, kb_root="/kb", locale_hint=locale)
            parsed += 1
            assert article.locale == locale, path
            assert article.heading in index[(path, "h1")], path
            assert not MARKUP.search(article.heading + article.title + article.body), path
            assert (article.english is not None) == ("sxs-lookup" in text), path
            if article.english is not None:
                assert article.english.heading in index[(path, "h1_en")], path
                assert not MARKUP.search(article.english.body), path
    assert parsed > 4000


@given(st.text(alphabet=st.characters(blacklist_categories=())))
def test_any_text_packed_reads_back_unchanged(text: str) -> None:
    assert unpack(pack(text)) == text


def test_an_article_body_is_kept_packed_and_read_back_unchanged() -> None:
    body = "Om du vill återställa lösenordet går du till [administrationscentret](/microsoft-365/admin/).\n" * 8
    article = parse_article(f"---\ntitle: T\nms.contentlocale: sv-SE\n---\n# Rubrik\n\n{body}", path="sv-SE/a.md",
                            kb_root="/kb", locale_hint=None, article_id=None)
    assert article.body == body.strip()
    assert len(article.packed_body) < len(body.encode()) / 4
