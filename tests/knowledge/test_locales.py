"""Locale tags, negotiation fallbacks, babel display names, docs-link localization, script detection."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.locales import (
    canonical_locale,
    choose_reply_locale,
    choose_words_locale,
    detect_script,
    is_english,
    is_right_to_left,
    language_name,
    localize_docs_url,
    localize_links,
    native_language_name,
    negotiate,
)

ARTICLES = Path(__file__).resolve().parents[2] / "knowledge" / "articles"
SEED_STEM = "error-validating-access-token-during-onboarding"
SEED_PATH = "azure/active-directory/conditional-access/plan-conditional-access"

# The 15 locales of the shared corpus, plus "en" for the English source text of span files.
KB = [
    "cs-CZ", "da-DK", "es-ES", "fi-FI", "id-ID", "it-IT", "ko-KR", "nb-NO", "nl-NL",
    "pl-PL", "pt-BR", "sv-SE", "tr-TR", "zh-CN", "zh-TW", "en",
]


# --- canonical_locale ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("sv", "sv"),
        ("sv_se", "sv-SE"),
        ("SV-se", "sv-SE"),
        (" sv-SE ", "sv-SE"),
        ("sv_SE.UTF-8", "sv-SE"),
        ("zh-hant-tw", "zh-TW"),
        ("zh_Hant", "zh-TW"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hant-HK", "zh-HK"),
        ("zh-Hans-HK", "zh-Hans-HK"),
        ("zh", "zh"),
        ("sr-Latn-RS", "sr-Latn-RS"),
        ("sr_latn", "sr-Latn"),
        ("sr-cyrl-rs", "sr-Cyrl-RS"),
        ("az-Latn-AZ", "az-AZ"),
        ("uz-Arab", "uz-Arab"),
        ("nb", "nb"),
        ("no", "no"),
        ("no-NO", "no-NO"),
        ("nn_no", "nn-NO"),
        ("pt", "pt"),
        ("pt-pt", "pt-PT"),
        ("es-419", "es-419"),
        ("iw", "he"),
        ("de-DE-u-co-phonebk", "de-DE"),
        ("en-US-x-private", "en-US"),
    ],
)
def test_canonical_locale(tag: str, canonical: str) -> None:
    assert canonical_locale(tag) == canonical


@pytest.mark.parametrize(
    "junk",
    ["", "   ", "english", "xx", "en-XX", "sv-Abcd", "und", "root", "x-klingon", "12", "sv--SE", "AlchemyInsights"],
)
def test_canonical_locale_rejects_junk(junk: str) -> None:
    assert canonical_locale(junk) is None


@given(st.text(max_size=20))
def test_canonical_locale_never_raises_and_is_a_fixed_point(tag: str) -> None:
    canonical = canonical_locale(tag)
    if canonical is not None:
        assert canonical_locale(canonical) == canonical


@pytest.mark.parametrize(("tag", "english"), [("en", True), ("EN_gb", True), ("en-US", True), ("eng", False),
                                              ("sv-SE", False), (None, False), ("", False)])
def test_is_english(tag: str | None, english: bool) -> None:
    assert is_english(tag) is english


# --- negotiate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "best"),
    [
        # exact, whatever the spelling
        ("sv-SE", "sv-SE"),
        ("SV_se", "sv-SE"),
        ("zh-hant-tw", "zh-TW"),
        # same language, any region
        ("sv-FI", "sv-SE"),
        ("sv", "sv-SE"),
        ("es-MX", "es-ES"),
        # Chinese by script
        ("zh-HK", "zh-TW"),
        ("zh-MO", "zh-TW"),
        ("zh-Hant", "zh-TW"),
        ("zh-SG", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh", "zh-CN"),
        # Portuguese: Portugal served from Brazil
        ("pt-PT", "pt-BR"),
        ("pt", "pt-BR"),
        # Norwegian in every spelling
        ("no", "nb-NO"),
        ("nb", "nb-NO"),
        ("nn", "nb-NO"),
        ("nn-NO", "nb-NO"),
        ("no-NO", "nb-NO"),
        # English variants find the English source text
        ("en-GB", "en"),
        ("EN_us", "en"),
        # nothing fits
        ("ja-JP", None),
        ("sr-Latn", None),
        ("klingon", None),
    ],
)
def test_negotiate_against_the_corpus_locales(wanted: str, best: str | None) -> None:
    assert negotiate([wanted], KB) == best


def test_negotiate_returns_the_exact_available_string() -> None:
    assert negotiate(["sv-SE"], ["SV_se", "ko-KR"]) == "SV_se"
    assert negotiate(["zh-HK"], ["zh_hant_tw", "zh-cn"]) == "zh_hant_tw"


def test_negotiate_does_not_cross_chinese_scripts() -> None:
    assert negotiate(["zh-TW"], ["zh-CN", "zh-SG"]) is None
    assert negotiate(["zh-CN"], ["zh-TW", "zh-HK"]) is None
    assert negotiate(["zh-HK"], ["zh-CN", "zh-TW"]) == "zh-TW"


def test_negotiate_prefers_the_exact_chinese_region_then_the_main_one() -> None:
    assert negotiate(["zh-HK"], ["zh-TW", "zh-HK", "zh-MO"]) == "zh-HK"
    assert negotiate(["zh-MO"], ["zh-HK", "zh-TW"]) == "zh-TW"
    assert negotiate(["zh-SG"], ["zh-SG", "zh-CN"]) == "zh-SG"


def test_negotiate_portuguese_both_ways() -> None:
    assert negotiate(["pt-BR"], ["pt-PT", "es-ES"]) == "pt-PT"
    assert negotiate(["pt-PT"], ["pt-BR", "es-ES"]) == "pt-BR"
    assert negotiate(["pt-AO"], ["pt-BR", "pt-PT"]) == "pt-PT"
    assert negotiate(["pt"], ["pt-PT", "pt-BR"]) == "pt-BR"


def test_negotiate_norwegian_prefers_the_exact_code() -> None:
    assert negotiate(["nn-NO"], ["nb-NO", "nn-NO"]) == "nn-NO"
    assert negotiate(["nn-NO"], ["nb-NO", "nn"]) == "nn"
    assert negotiate(["nb-NO"], ["nn-NO", "no"]) == "no"  # Bokmål before Nynorsk
    assert negotiate(["no"], ["nn-NO", "nb-NO"]) == "nb-NO"
    assert negotiate(["no"], ["nn-NO"]) == "nn-NO"
    assert negotiate(["nb"], ["no", "nb-NO"]) == "nb-NO"


def test_negotiate_serbian_by_script() -> None:
    both = ["sr-Cyrl-RS", "sr-Latn-RS"]
    assert negotiate(["sr-Latn"], both) == "sr-Latn-RS"
    assert negotiate(["sr-latn-rs"], both) == "sr-Latn-RS"
    assert negotiate(["sr"], both) == "sr-Cyrl-RS"
    assert negotiate(["sr-RS"], both) == "sr-Cyrl-RS"
    assert negotiate(["sr-Latn"], ["sr-Cyrl-RS", "sr"]) is None
    assert negotiate(["sr-Cyrl"], ["sr-Latn-RS"]) is None


def test_negotiate_region_preference_order() -> None:
    # same region, then the language's main region, then no region, then any other region
    assert negotiate(["sv-FI"], ["sv-AX", "sv", "sv-SE"]) == "sv-SE"
    assert negotiate(["sv-FI"], ["sv-AX", "sv"]) == "sv"
    assert negotiate(["sv-FI"], ["sv-AX"]) == "sv-AX"


def test_negotiate_follows_the_order_of_preferences() -> None:
    assert negotiate(["ja-JP", "sv-FI", "en"], KB) == "sv-SE"
    assert negotiate(["sv-FI", "ko-KR"], KB) == "sv-SE"  # a regional match of the first beats the second
    assert negotiate(["", "junk", "ko"], KB) == "ko-KR"


def test_negotiate_is_independent_of_available_order() -> None:
    choices = ["sv-AX", "sv-FI", "sv-AX"]
    assert negotiate(["sv-SE"], choices) == negotiate(["sv-SE"], list(reversed(choices))) == "sv-AX"


def test_negotiate_matches_unparseable_tags_by_spelling() -> None:
    assert negotiate(["x-custom"], ["X_Custom", "en"]) == "X_Custom"


def test_negotiate_with_nothing_available() -> None:
    assert negotiate(["sv-SE"], []) is None
    assert negotiate([], KB) is None


@given(st.lists(st.sampled_from([*KB, "zh-HK", "pt-PT", "nn", "sr-Latn", "junk", ""]), max_size=4),
       st.lists(st.sampled_from([*KB, "sv", "zh-HK", "pt-PT", "nn-NO", "sr-Latn-RS", "SV_se"]), max_size=6))
def test_negotiate_returns_an_available_string_or_none(wanted: list[str], available: list[str]) -> None:
    best = negotiate(wanted, available)
    assert best is None or best in available


# --- choose_reply_locale ------------------------------------------------------------------------

SEED_LOCALES = ["ko-KR", "sv-SE", "zh-TW", "en"]


def test_reply_explicit_choice_comes_first() -> None:
    assert choose_reply_locale(
        explicit="ko", text_locale="sv-SE", client_locale="zh-TW", article_locales=SEED_LOCALES
    ) == ("ko-KR", "ko", False)


def test_reply_in_the_language_of_the_pasted_text_before_the_client_locale() -> None:
    assert choose_reply_locale(
        explicit=None, text_locale="sv-SE", client_locale="ko-KR", article_locales=SEED_LOCALES
    ) == ("sv-SE", "sv-SE", False)


@pytest.mark.parametrize("english", [None, "en", "en-US"])
def test_reply_english_paste_uses_the_client_locale(english: str | None) -> None:
    assert choose_reply_locale(
        explicit=None, text_locale=english, client_locale="ko-KR", article_locales=SEED_LOCALES
    ) == ("ko-KR", "ko-KR", False)


def test_reply_text_language_the_article_lacks_gives_way_to_the_client_locale() -> None:
    assert choose_reply_locale(
        explicit=None, text_locale="ja-JP", client_locale="zh-HK", article_locales=SEED_LOCALES
    ) == ("zh-TW", "zh-HK", False)


def test_reply_default_when_nothing_is_known() -> None:
    assert choose_reply_locale(
        explicit=None, text_locale=None, client_locale=None, article_locales=SEED_LOCALES
    ) == ("en", "en-US", False)
    assert choose_reply_locale(
        explicit=None, text_locale=None, client_locale=None, article_locales=SEED_LOCALES, default="sv-SE"
    ) == ("sv-SE", "sv-SE", False)


def test_reply_junk_choices_are_skipped() -> None:
    assert choose_reply_locale(
        explicit="klingon", text_locale=None, client_locale="???", article_locales=SEED_LOCALES
    ) == ("en", "en-US", False)


def test_reply_regional_fallback_is_not_a_fall_back() -> None:
    assert choose_reply_locale(
        explicit="sv-FI", text_locale=None, client_locale=None, article_locales=SEED_LOCALES
    ) == ("sv-SE", "sv-FI", False)


def test_reply_falls_back_to_english_when_the_article_lacks_the_language() -> None:
    assert choose_reply_locale(
        explicit=None, text_locale="en", client_locale="ja-JP", article_locales=SEED_LOCALES
    ) == ("en", "ja-JP", True)
    assert choose_reply_locale(
        explicit="zh-CN", text_locale=None, client_locale=None, article_locales=["zh-TW", "en-US"]
    ) == ("en-US", "zh-CN", True)


def test_reply_falls_back_to_the_first_locale_in_sorted_order_without_english() -> None:
    for order in (["sv-SE", "ko-KR", "zh-TW"], ["zh-TW", "sv-SE", "ko-KR"]):
        assert choose_reply_locale(
            explicit="ja", text_locale=None, client_locale=None, article_locales=order
        ) == ("ko-KR", "ja", True)


def test_reply_without_article_locales() -> None:
    assert choose_reply_locale(
        explicit=None, text_locale=None, client_locale="sv_se", article_locales=[]
    ) == ("sv-SE", "sv-SE", False)


# --- choose_words_locale: the one rule for the bot's own words ----------------------------------

CATALOG_LOCALES = ["en-US", "sv-SE", "ko-KR", "zh-TW", "zh-CN", "ar-SA"]


def test_words_the_users_choice_comes_first() -> None:
    assert choose_words_locale(explicit="sv", text_locale="ko-KR", text="액세스", client_locale="ar-SA",
                               article_locales=SEED_LOCALES, available=CATALOG_LOCALES) == "sv-SE"


def test_words_in_the_pasted_texts_language_when_the_article_has_it() -> None:
    assert choose_words_locale(explicit=None, text_locale="ko-KR", client_locale="en-US",
                               article_locales=SEED_LOCALES, available=CATALOG_LOCALES) == "ko-KR"
    # a text language the article lacks tells nothing; English text neither
    for text_locale in ("ja-JP", "en", None):
        assert choose_words_locale(explicit=None, text_locale=text_locale, client_locale="ar-SA",
                                   article_locales=SEED_LOCALES, available=CATALOG_LOCALES) == "ar-SA"


@pytest.mark.parametrize(("text", "client", "words"), [
    ("프린터가 연결되지 않습니다", "en-US", "ko-KR"),     # Hangul names Korean whatever the client
    ("印表機無法連線", "en-US", "zh-TW"),               # Han alone: Chinese, Traditional
    ("打印机无法连接", "zh-CN", "zh-CN"),               # ... the client's Chinese when it is Chinese
    ("印表機無法連線", "zh-HK", "zh-TW"),
    ("The printer cannot connect", "sv-SE", "sv-SE"),  # Latin names no one language: the client's
    ("The printer cannot connect", None, "en-US"),
])
def test_words_for_text_nothing_matched_follow_its_script_then_the_client(
        text: str, client: str | None, words: str) -> None:
    assert choose_words_locale(explicit=None, text=text, client_locale=client, available=CATALOG_LOCALES) == words


def test_words_in_a_language_the_catalog_lacks_follow_the_article_shown_else_english() -> None:
    assert choose_words_locale(explicit=None, client_locale="is-IS", shown_locale="sv-SE",
                               available=CATALOG_LOCALES) == "sv-SE"
    assert choose_words_locale(explicit="is", client_locale=None, available=CATALOG_LOCALES) == "en-US"
    assert choose_words_locale(explicit="klingon", client_locale="???", available=CATALOG_LOCALES) == "en-US"


def test_words_without_a_catalog_are_the_users_language() -> None:
    assert choose_words_locale(explicit=None, client_locale="sv_se") == "sv-SE"


# --- display names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "in_locale", "name"),
    [
        ("sv-SE", "ko-KR", "스웨덴어"),
        ("sv-SE", "en-US", "Swedish"),
        ("sv-SE", "sv-SE", "svenska"),
        ("ko-KR", "sv-SE", "koreanska"),
        ("ko-KR", "zh-TW", "韓文"),
        ("ko-KR", "zh-CN", "韩语"),
        ("zh-TW", "en", "Chinese (Taiwan)"),
        ("zh-TW", "sv-SE", "kinesiska (Taiwan)"),
        ("zh-Hant", "en", "Chinese (Taiwan)"),
        ("pt-BR", "en", "Portuguese (Brazil)"),
        ("sr-Latn-RS", "en", "Serbian (Latin)"),
        ("nb-NO", "en", "Norwegian Bokmål"),
        ("en-US", "sv", "engelska"),
        ("de-DE", "fr-FR", "allemand"),
    ],
)
def test_language_name_in_the_users_language(locale: str, in_locale: str, name: str) -> None:
    assert language_name(locale, in_locale) == name


def test_language_name_never_raises() -> None:
    assert language_name("xx-YY", "ko-KR") == "xx-YY"
    assert language_name("", "ko-KR") == ""
    assert language_name("sv-SE", "not a locale") == "Swedish"  # unknown viewer: English names


@pytest.mark.parametrize(
    ("locale", "name"),
    [
        ("sv-SE", "Svenska"),
        ("ko-KR", "한국어"),
        ("zh-TW", "中文 (台灣)"),
        ("zh-CN", "中文 (中国)"),
        ("pt-BR", "Português (Brasil)"),
        ("pt-PT", "Português (Portugal)"),
        ("nb-NO", "Norsk bokmål"),
        ("sr-Latn-RS", "Srpski (latinica)"),
        ("he", "עברית"),
        ("fr-CA", "Français"),
    ],
)
def test_native_language_name(locale: str, name: str) -> None:
    assert native_language_name(locale) == name


def test_native_language_name_of_junk_is_the_tag() -> None:
    assert native_language_name("xx") == "xx"
    assert native_language_name("nonsense tag") == "nonsense tag"


# --- docs links ---------------------------------------------------------------------------------


def _seed_links() -> list[str]:
    urls: set[str] = set()
    for path in ARTICLES.glob(f"*/{SEED_STEM}.md"):
        urls.update(re.findall(r"\]\((https?://[^)\s]+)\)", path.read_text(encoding="utf-8")))
    return sorted(urls)


def test_the_bundled_seed_article_links_to_conditional_access_docs() -> None:
    assert _seed_links() == [f"https://docs.microsoft.com/{SEED_PATH}"]


@pytest.mark.parametrize(("locale", "segment"), [("zh-TW", "zh-tw"), ("sv-SE", "sv-se"), ("ko-KR", "ko-kr"),
                                                 ("en-US", "en-us"), ("en", "en-us"), ("sv", "sv-se"),
                                                 ("zh-Hant", "zh-tw"), ("no", "nb-no"), ("sr-Latn", "sr-latn-rs")])
def test_seed_article_link_localized(locale: str, segment: str) -> None:
    (url,) = _seed_links()
    assert localize_docs_url(url, locale) == f"https://learn.microsoft.com/{segment}/{SEED_PATH}"


@pytest.mark.parametrize("locale", ["zh-TW", "sv-SE", "ko-KR", "en-US"])
def test_seed_article_body_links_localized(locale: str) -> None:
    path = ARTICLES / (locale if locale != "en-US" else "sv-SE") / f"{SEED_STEM}.md"
    body = localize_links(path.read_text(encoding="utf-8"), locale)
    assert "docs.microsoft.com" not in body
    assert body.count(f"https://learn.microsoft.com/{locale.lower()}/{SEED_PATH})") == 2


@pytest.mark.parametrize(
    ("url", "localized"),
    [
        ("https://docs.microsoft.com/en-us/azure/x?view=a&b=1#frag", "https://learn.microsoft.com/sv-se/azure/x?view=a&b=1#frag"),
        ("http://LEARN.microsoft.com/EN-US/azure", "https://learn.microsoft.com/sv-se/azure"),
        ("https://learn.microsoft.com/zh-hant/x", "https://learn.microsoft.com/sv-se/x"),
        ("https://learn.microsoft.com/sr-latn-rs/x", "https://learn.microsoft.com/sv-se/x"),
        ("https://docs.microsoft.com", "https://learn.microsoft.com/sv-se/"),
        ("https://docs.microsoft.com/azure#a?b", "https://learn.microsoft.com/sv-se/azure#a?b"),
        ("https://docs.microsoft.com/azure?", "https://learn.microsoft.com/sv-se/azure?"),
        # first segments that look a little like locales but are paths
        ("https://learn.microsoft.com/ef/core", "https://learn.microsoft.com/sv-se/ef/core"),
        ("https://docs.microsoft.com/ef-core/x", "https://learn.microsoft.com/sv-se/ef-core/x"),
    ],
)
def test_localize_docs_url(url: str, localized: str) -> None:
    assert localize_docs_url(url, "sv-SE") == localized


@pytest.mark.parametrize(
    "url",
    [
        "https://aka.ms/cadeploy",
        "https://support.microsoft.com/en-us/office/x",
        "https://portal.azure.com/#blade",
        "https://example.com/docs.microsoft.com/azure",
        "https://docs.microsoft.com.evil.example/azure/x",
        "https://learn.microsoft.com.evil.example/en-us/x",
        "https://evildocs.microsoft.com/x",
        "https://user@docs.microsoft.com/x",
        "https://docs.microsoft.com:8443/x",
        "ftp://docs.microsoft.com/x",
        "/azure/active-directory/x",
        "../plan-conditional-access.md",
        "//docs.microsoft.com/x",
        "https://[broken/x",
        "",
    ],
)
def test_other_links_are_untouched(url: str) -> None:
    assert localize_docs_url(url, "sv-SE") == url


def test_junk_locale_leaves_links_untouched() -> None:
    url = f"https://docs.microsoft.com/{SEED_PATH}"
    assert localize_docs_url(url, "klingon") == url


def test_localize_links_in_every_markdown_form() -> None:
    markdown = (
        "See [Plan](https://docs.microsoft.com/azure/x \"Title\") and <https://docs.microsoft.com/en-us/azure/y>.\n"
        "Bare: https://learn.microsoft.com/en-us/azure/z. Also (https://docs.microsoft.com/azure/w) and "
        "**https://docs.microsoft.com/a/b**\n"
        "請參閱https://docs.microsoft.com/azure/c。[k](https://docs.microsoft.com/a_(b))\n"
        '<a href="https://docs.microsoft.com/h">h</a>\n'
        "[ref]: https://docs.microsoft.com/ref\n"
    )
    expected = (
        "See [Plan](https://learn.microsoft.com/zh-tw/azure/x \"Title\") and "
        "<https://learn.microsoft.com/zh-tw/azure/y>.\n"
        "Bare: https://learn.microsoft.com/zh-tw/azure/z. Also (https://learn.microsoft.com/zh-tw/azure/w) and "
        "**https://learn.microsoft.com/zh-tw/a/b**\n"
        "請參閱https://learn.microsoft.com/zh-tw/azure/c。[k](https://learn.microsoft.com/zh-tw/a_(b))\n"
        '<a href="https://learn.microsoft.com/zh-tw/h">h</a>\n'
        "[ref]: https://learn.microsoft.com/zh-tw/ref\n"
    )
    assert localize_links(markdown, "zh-TW") == expected


def test_localize_links_leaves_other_links_and_code_alone() -> None:
    markdown = (
        "[a](https://aka.ms/x) <https://support.microsoft.com/en-us/y> https://docs.microsoft.com.evil.example/z\n"
        "`https://docs.microsoft.com/inline`\n"
        "```\ncurl https://docs.microsoft.com/fenced\n```\n"
        "[rel](../other-article.md)"
    )
    assert localize_links(markdown, "ko-KR") == markdown


_LINK_PIECES = [*"[]()<>`* .:/-_#?\nx", "https://", "docs.microsoft.com", "learn.microsoft.com", "en-us", "zh-tw"]


@given(st.lists(st.sampled_from(_LINK_PIECES), max_size=30).map("".join))
def test_localize_links_is_idempotent(markdown: str) -> None:
    once = localize_links(markdown, "sv-SE")
    assert localize_links(once, "sv-SE") == once


# --- scripts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("Ett fel uppstod vid validering av åtkomsttoken", "Latin"),
        ("Lỗi xác thực mã thông báo", "Latin"),
        ("ＡＣＣＥＳＳ ＤＥＮＩＥＤ", "Latin"),
        ("驗證存取權杖時發生錯誤", "Han"),
        ("アクセス トークンの検証中にエラーが発生しました", "Kana"),
        ("액세스 토큰의 유효성을 검사하는 동안 오류가 발생했습니다", "Hangul"),
        (unicodedata.normalize("NFD", "액세스 토큰의 유효성을 검사하는 동안 오류가 발생했습니다"), "Hangul"),
        ("เกิดข้อผิดพลาดในการตรวจสอบโทเค็น", "Thai"),
        ("\u200fحدث خطأ أثناء التحقق من صحة رمز الوصول", "Arabic"),
        ("אירעה שגיאה באימות אסימון הגישה", "Hebrew"),
        ("Произошла ошибка при проверке маркера доступа", "Cyrillic"),
        ("Παρουσιάστηκε σφάλμα κατά την επικύρωση", "Greek"),
        ("एक्सेस टोकन को मान्य करते समय त्रुटि हुई", "Devanagari"),
        ("<at>Bot</at> 驗證存取權杖時發生錯誤，請協助處理", "Han"),
    ],
)
def test_detect_script(text: str, script: str) -> None:
    assert detect_script(text) == script


@pytest.mark.parametrize("text", ["", "   ", "80070005 12:00:01 !!! 42", "🙂🙂"])
def test_detect_script_without_letters(text: str) -> None:
    assert detect_script(text) is None


def test_detect_script_reads_a_bounded_sample() -> None:
    assert detect_script("error " * 2000 + "錯誤" * 100_000) == "Latin"


@pytest.mark.parametrize("tag", ["ar", "ar-SA", "ar_EG", "AR-sa", "he", "he-IL", "iw", "iw-IL", "fa-IR", "ur", "yi",
                                 "uz-Arab", "ar-SA-x-private"])
def test_right_to_left_languages(tag: str) -> None:
    assert is_right_to_left(tag)


@pytest.mark.parametrize("tag", ["en", "en-US", "sv-SE", "ja-JP", "zh-TW", "ru", "el-GR", "th-TH", "hi-IN", "uz",
                                 "", "xx-YY", "not a tag", "und", "@@", "ar-SA-toolongvariantx"])
def test_left_to_right_languages_and_junk(tag: str) -> None:
    assert not is_right_to_left(tag)


def test_the_script_is_told_from_the_part_of_a_paste_the_engine_reads() -> None:
    """One length rule: a paste's language is told from the same first ``MAX_PASTE_CHARS`` characters
    the matcher reads (before, 64 Ki characters: Korean the matcher never saw named the reply's words)."""
    from knowledge.normalize import MAX_PASTE_CHARS

    text = "0" * MAX_PASTE_CHARS + " 프린터가 연결되지 않습니다"
    assert detect_script(text) is None
    assert choose_words_locale(explicit=None, text=text, client_locale="sv-SE", available=CATALOG_LOCALES) == "sv-SE"
    assert detect_script(text[-20:]) == "Hangul"
