"""The string catalog: every locale has every key with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.strings import CATALOG, DEFAULT_LOCALE, all_language_commands, strings_for
from knowledge.corpus import load_knowledge_base
from knowledge.engine import BUNDLED_ARTICLES


def placeholders(template: object) -> set[str]:
    if not isinstance(template, str):
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("locale", sorted(CATALOG))
def test_every_locale_has_every_key_and_the_same_placeholders(locale: str) -> None:
    english = CATALOG[DEFAULT_LOCALE]
    entry = CATALOG[locale]
    assert set(entry) == set(english)
    for key, template in english.items():
        assert placeholders(entry[key]) == placeholders(template), (locale, key)
        assert entry[key], (locale, key)


def test_translations_are_not_copies_of_english() -> None:
    english = CATALOG[DEFAULT_LOCALE]
    for locale, entry in CATALOG.items():
        if locale != DEFAULT_LOCALE:
            assert entry["not_found"] != english["not_found"], locale


def test_the_bundled_knowledge_base_locales_are_all_in_the_catalog() -> None:
    for locale in load_knowledge_base([BUNDLED_ARTICLES]).locales:
        assert strings_for(locale).locale == locale


@pytest.mark.parametrize(("asked", "got"), [
    ("sv", "sv-SE"), ("zh-HK", "zh-TW"), ("zh-SG", "zh-CN"), ("pt-PT", "pt-BR"), ("nn", "nb-NO"),
    ("ja", "ja-JP"), ("ja-JP", "ja-JP"), ("ar", "ar-SA"), ("ar-EG", "ar-SA"), ("he", "he-IL"), ("iw", "he-IL"),
    ("iw-IL", "he-IL"), ("ru-KZ", "ru-RU"), ("ru", "ru-RU"), ("uk", "uk-UA"), ("el", "el-GR"), ("el-CY", "el-GR"),
    ("th", "th-TH"), ("de-AT", "de-DE"), ("de-CH", "de-DE"), ("fr-CA", "fr-FR"), ("fr-BE", "fr-FR"), ("hi", "hi-IN"),
    ("vi-VN", "en-US"), ("sr-Latn", "en-US"), (None, "en-US"),
])
def test_strings_for_negotiates(asked: str | None, got: str) -> None:
    assert strings_for(asked).locale == got


def test_language_command_words_in_several_languages() -> None:
    assert {"language", "lang", "språk", "언어", "語言", "言語", "اللغة", "שפה", "язык", "γλώσσα", "ภาษา", "мова",
            "sprache", "langue", "भाषा"} <= all_language_commands()
