"""The bot's words: gettext catalogs in bot/locales that babel reads, complete for every key the code uses."""

from __future__ import annotations

import json
import shutil
import string
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.strings import (
    CATALOG,
    COMMAND_WORDS,
    DEFAULT_LOCALE,
    LOCALES_DIR,
    all_language_commands,
    catalog_locales,
    strings_for,
)
from knowledge.corpus import load_knowledge_base
from knowledge.engine import BUNDLED_ARTICLES

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = "insight_desk.pot"
PO = Path("LC_MESSAGES") / "insight_desk.po"
PYBABEL = Path(sys.executable).with_name("pybabel")


def placeholders(template: object) -> set[str]:
    if not isinstance(template, str):
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, abort_invalid=True)  # a syntax error raises instead of being skipped


def extracted_keys(root: Path) -> set[str]:
    """The msgids ``pybabel extract`` (the venv's, with the repository's babel.cfg) finds under ``root``."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "extracted.pot"
        subprocess.run([str(PYBABEL), "extract", "-F", "babel.cfg", "--no-location", "-o", str(out), "."],
                       cwd=root, check=True, capture_output=True, timeout=120)
        return {m.id for m in read_catalog(out) if isinstance(m.id, str) and m.id}


def catalog_problems(locales: Path, code_keys: set[str]) -> list[str]:
    """Everything wrong with the catalogs in ``locales`` for code that uses ``code_keys``."""
    problems = []
    listed = [w for line in (locales / "LINGUAS").read_text().splitlines() for w in line.split("#", 1)[0].split()]
    folders = sorted(p.parent.parent.name for p in locales.glob(f"*/{PO}"))
    problems += [f"{name}: not in LINGUAS" for name in folders if name not in listed]
    problems += [f"{name}: in LINGUAS, no catalog" for name in listed if name not in folders]
    english = {m.id: m.string for m in read_catalog(locales / "en_US" / PO) if m.id}
    for name in listed:
        if name not in folders:
            continue
        catalog = read_catalog(locales / name / PO)
        texts = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
        problems += [f"{name}: {m.id} is fuzzy" for m in catalog if m.id and m.fuzzy]
        problems += [f"{name}: no text for {key}" for key in sorted(code_keys - set(texts))]
        problems += [f"{name}: {key} is not used by the code" for key in sorted(set(texts) - code_keys)]
        problems += [f"{name}: {key} has {sorted(placeholders(text))}, English {sorted(placeholders(english[key]))}"
                     for key, text in texts.items()
                     if key in english and placeholders(text) != placeholders(english[key])]
    return problems


@pytest.fixture(scope="module")
def code_keys() -> set[str]:
    return extracted_keys(REPO)


def test_pybabel_extract_finds_every_msgid_of_the_template(code_keys: set[str]) -> None:
    template = {m.id for m in read_catalog(LOCALES_DIR / TEMPLATE) if m.id}
    assert code_keys == template


def test_every_catalog_parses_and_has_every_key_the_code_uses_with_englishs_placeholders(code_keys: set[str]) -> None:
    assert catalog_problems(LOCALES_DIR, code_keys) == []


def _edit(po: Path, key: str, text: str | None) -> None:
    catalog = read_catalog(po)
    if text is None:
        del catalog[key]
    else:
        catalog[key].string = text
    with po.open("wb") as f:
        write_po(f, catalog)


def test_the_check_names_a_missing_key_a_placeholder_english_lacks_and_one_it_has(code_keys: set[str],
                                                                                  tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    _edit(locales / "sv_SE" / PO, "thanks", None)
    _edit(locales / "ko_KR" / PO, "status_none", "요청 {number}이(가) 없습니다.")
    _edit(locales / "ja_JP" / PO, "ticket_ended", "リクエストは終了しました。")
    shutil.copytree(locales / "da_DK", locales / "xx_XX")
    assert catalog_problems(locales, code_keys) == [
        "xx_XX: not in LINGUAS",
        "sv_SE: no text for thanks",
        "ko_KR: status_none has ['number'], English []",
        "ja_JP: ticket_ended has [], English ['number']",
    ]


def test_a_new_key_in_code_is_extracted_and_then_missing_from_every_catalog(code_keys: set[str],
                                                                           tmp_path: Path) -> None:
    shutil.copy(REPO / "babel.cfg", tmp_path / "babel.cfg")
    for source in (REPO / "bot").rglob("*.py"):
        (tmp_path / source.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, tmp_path / source.relative_to(REPO))
    (tmp_path / "bot" / "new_feature.py").write_text(
        "from bot.strings import N_, Strings\n\n"
        "KINDS = (N_('kind_new'),)\n\n\n"
        "def say(strings: Strings) -> str:\n"
        "    return strings.text('brand_new') + strings.text('answer_in', language='x')\n")
    found = extracted_keys(tmp_path)
    assert found - code_keys == {"kind_new", "brand_new"}
    problems = catalog_problems(LOCALES_DIR, found)
    assert "en_US: no text for brand_new" in problems
    assert len([p for p in problems if p.endswith("no text for kind_new")]) == len(catalog_locales())


def test_linguas_order_is_the_catalog_order_english_first() -> None:
    assert list(CATALOG) == list(catalog_locales())
    assert catalog_locales()[0] == DEFAULT_LOCALE


def test_command_words_every_locale_has_englishs_lists() -> None:
    words = json.loads(COMMAND_WORDS.read_text(encoding="utf-8"))
    assert list(words) == list(catalog_locales())
    for locale, entry in words.items():
        assert set(entry) == set(words[DEFAULT_LOCALE]), locale
        assert all(entry.values()), locale


def test_an_unknown_key_raises_instead_of_showing_the_key() -> None:
    with pytest.raises(KeyError):
        strings_for("sv-SE").text("no_such_key")


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
