"""Display names checked against babel's own CLDR data for every corpus locale and many viewers, and
negotiation against the bundled seed article's locales."""

from __future__ import annotations

import pytest
from babel import Locale

from knowledge.locales import language_name, native_language_name, negotiate

CORPUS_LOCALES = [
    "cs-CZ", "da-DK", "es-ES", "fi-FI", "id-ID", "it-IT", "ko-KR", "nb-NO", "nl-NL",
    "pl-PL", "pt-BR", "sv-SE", "tr-TR", "zh-CN", "zh-TW",
]
VIEWERS = ["ko-KR", "sv-SE", "zh-TW", "zh-CN", "en-US", "ar-SA", "he-IL", "th-TH", "ru-RU", "el-GR", "ja-JP", "de-DE"]
SEED_LOCALES = ["ko-KR", "sv-SE", "zh-TW", "en"]


def babel_name(locale: str, viewer: str) -> str:
    """What CLDR calls ``locale``'s language in ``viewer``'s, qualified as language_name documents."""
    language, _, region = locale.partition("-")
    names = Locale.parse(viewer.replace("-", "_"))
    name = str(names.languages[language])
    if language in ("zh", "pt"):
        name += f" ({names.territories[region]})"
    return name


def test_swedish_named_in_korean_is_babels_korean_text() -> None:
    name = language_name("sv-SE", "ko-KR")
    assert name == Locale.parse("ko_KR").languages["sv"]
    assert all("\uac00" <= c <= "\ud7a3" for c in name)  # Hangul syllables only


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("locale", CORPUS_LOCALES)
def test_language_name_is_what_babel_says(locale: str, viewer: str) -> None:
    assert language_name(locale, viewer) == babel_name(locale, viewer)


@pytest.mark.parametrize("locale", CORPUS_LOCALES)
def test_native_language_name_is_babels_capitalized(locale: str) -> None:
    own = babel_name(locale, locale)
    assert native_language_name(locale) == own[:1].upper() + own[1:]


@pytest.mark.parametrize(
    ("wanted", "best"),
    [
        ("zh-HK", "zh-TW"),
        ("zh-MO", "zh-TW"),
        ("zh-Hant", "zh-TW"),
        ("zh-SG", None),  # Simplified Chinese: not served by Traditional
        ("zh-CN", None),
        ("sv-FI", "sv-SE"),
        ("sv", "sv-SE"),
        ("ko", "ko-KR"),
        ("en-GB", "en"),
        ("de-DE", None),
        ("ja-JP", None),
    ],
)
def test_negotiate_against_the_seed_article(wanted: str, best: str | None) -> None:
    assert negotiate([wanted], SEED_LOCALES) == best


def test_negotiate_chinese_norwegian_portuguese_and_serbian_fallbacks() -> None:
    assert negotiate(["zh-SG"], ["zh-CN", "zh-TW"]) == "zh-CN"
    assert negotiate(["pt-PT"], ["pt-BR"]) == "pt-BR"
    assert negotiate(["pt-BR"], ["pt-PT"]) == "pt-PT"
    for norwegian in ("nb", "no", "nn", "nb-NO", "nn-NO"):
        assert negotiate([norwegian], ["nb-NO", "sv-SE"]) == "nb-NO"
    assert negotiate(["sr-Latn"], ["sr-Cyrl-RS", "sr-Latn-RS"]) == "sr-Latn-RS"
