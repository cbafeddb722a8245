"""The languages a user may choose with ``/language``, and the one a code or a name names."""

from __future__ import annotations

from collections.abc import Iterable

from bot.strings import CATALOG
from knowledge.locales import canonical_locale, language_name, native_language_name, negotiate
from knowledge.model import ENGLISH

__all__ = ["choosable_locales", "locale_named"]


def choosable_locales(kb_locales: Iterable[str]) -> list[str]:
    """Languages a user may choose: the knowledge base's, English, and the catalog's."""
    return list(dict.fromkeys([*kb_locales, ENGLISH, *CATALOG]))


def locale_named(value: str, available: list[str]) -> str | None:
    """The locale ``value`` names among ``available`` (a code like ``sv``, or a name like "svenska", "Swedish",
    "한국어"), else ``None``."""
    code = canonical_locale(value)
    if code:
        return negotiate([code], available)
    wanted = " ".join(value.split()).casefold()
    for locale in available:
        names = {native_language_name(locale), language_name(locale, ENGLISH), language_name(locale, locale)}
        if wanted in {n.casefold() for n in names}:
            return locale
    return None
