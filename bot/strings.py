"""Everything the bot itself says, read from the gettext catalogs in ``bot/locales``.

One domain, ``insight_desk``: ``bot/locales/<ll_CC>/LC_MESSAGES/insight_desk.po`` for each locale in
``bot/locales/LINGUAS``. The ``msgid`` is the key the code asks for (``strings.text("not_found")``);
English (``en-US``) holds the source text and stands behind any key a locale lacks. The ``.po`` files
are parsed with babel and compiled in memory on first use (nothing is generated on disk), then read
through ``babel.support.Translations``. The words users type as commands (requests for a person,
``status``, ``/language``) are data, not translations: ``bot/locales/command_words.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path
from types import MappingProxyType
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from knowledge.locales import negotiate

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "insight_desk"
DEFAULT_LOCALE = "en-US"
COMMAND_WORDS = LOCALES_DIR / "command_words.json"


def N_(key: str) -> str:  # gettext's name for "mark only"
    """Mark ``key`` as a catalog key where code holds it as data (not as the argument of ``text``),
    so that ``pybabel extract`` finds it (see babel.cfg); returns ``key`` unchanged."""
    return key


@cache
def catalog_locales() -> tuple[str, ...]:
    """The catalog's locales in ``LINGUAS`` order (the folder ``sv_SE`` is the locale ``sv-SE``)."""
    text = (LOCALES_DIR / "LINGUAS").read_text(encoding="ascii")
    return tuple(word.replace("_", "-") for line in text.splitlines() for word in line.split("#", 1)[0].split())


def po_file(locale: str) -> Path:
    return LOCALES_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@dataclass(frozen=True)
class _Loaded:
    texts: Mapping[str, str]  # only what this locale's file translates
    translations: Translations  # the same, with English behind it


@cache
def _load(locale: str) -> _Loaded:
    with po_file(locale).open("rb") as f:
        catalog = read_po(f, locale=locale.replace("-", "_"), domain=DOMAIN)
    texts = {m.id: m.string for m in catalog
             if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string and not m.fuzzy}
    compiled = BytesIO()
    write_mo(compiled, catalog)  # leaves out untranslated and fuzzy entries, as msgfmt does
    compiled.seek(0)
    translations = Translations(compiled, domain=DOMAIN)
    if locale != DEFAULT_LOCALE:
        translations.add_fallback(_load(DEFAULT_LOCALE).translations)
    return _Loaded(MappingProxyType(texts), translations)


@cache
def _command_words() -> dict[str, dict[str, list[str]]]:
    """locale → key → words, from ``command_words.json`` (checked: a typo there fails at start-up)."""
    data: object = json.loads(COMMAND_WORDS.read_text(encoding="utf-8"))
    valid = isinstance(data, dict) and all(
        isinstance(entry, dict)
        and all(isinstance(words, list) and all(isinstance(w, str) for w in words) for words in entry.values())
        for entry in data.values())
    if not (isinstance(data, dict) and valid):
        raise ValueError(f"{COMMAND_WORDS}: expected {{locale: {{key: [words, ...]}}}}")
    return data


@cache
def _entries() -> Mapping[str, Mapping[str, Any]]:
    words = _command_words()
    return MappingProxyType({locale: MappingProxyType({**_load(locale).texts, **words.get(locale, {})})
                             for locale in catalog_locales()})


class _Catalog(Mapping[str, Mapping[str, Any]]):
    """locale → key → text (or a list of command words), read from ``bot/locales`` on first use."""

    def __getitem__(self, locale: str) -> Mapping[str, Any]:
        return _entries()[locale]

    def __iter__(self) -> Iterator[str]:
        return iter(_entries())

    def __len__(self) -> int:
        return len(_entries())


CATALOG: Mapping[str, Mapping[str, Any]] = _Catalog()


@dataclass(frozen=True)
class Strings:
    """What the bot says in one locale; ``text(key, **values)`` fills the text's placeholders."""

    locale: str
    translations: Translations

    def text(self, key: str, **values: str) -> str:
        if key not in _load(DEFAULT_LOCALE).texts:
            raise KeyError(key)
        template = self.translations.gettext(key)
        return template.format(**values) if values else template

    @property
    def entries(self) -> Mapping[str, Any]:
        return CATALOG[self.locale]

    @property
    def language_commands(self) -> tuple[str, ...]:
        words = {*CATALOG[DEFAULT_LOCALE]["language_commands"], *self.entries.get("language_commands", [])}
        return tuple(sorted(words))


def strings_for(locale: str | None) -> Strings:
    """The catalog locale that best fits ``locale`` (English when none does)."""
    chosen = negotiate([locale], catalog_locales()) if locale else None
    chosen = chosen or DEFAULT_LOCALE
    return Strings(chosen, _load(chosen).translations)


def all_language_commands() -> frozenset[str]:
    """Every locale's word for the language command, so "/språk en" works in any chat."""
    return frozenset(w.casefold() for entry in CATALOG.values() for w in entry.get("language_commands", []))
