"""Locales: canonical tags, negotiation with regional fallbacks, names via babel, docs-link localization.

Reply-locale rules (``choose_reply_locale``), in order:
1. an explicit choice (``/language sv``, ``--locale``);
2. the language of the pasted text, when it is not English and the article has it;
3. the chat client's locale;
4. the default (en-US).
The wanted locale is negotiated against the article's locales (same language any region; Chinese
by script; pt-PT and pt-BR; nb/no/nn; sr-Latn by script). When nothing fits, English if the
article has it, else the article's first locale; ``fell_back`` is then true.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from babel import Locale, UnknownLocaleError

ENGLISH_TAGS = ("en-US", "en")

_TRADITIONAL_REGIONS = {"TW", "HK", "MO"}
_NORWEGIAN = {"nb", "no", "nn"}
_TAG_SHAPE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


@lru_cache(maxsize=4096)
def _parse(tag: str) -> Locale | None:
    tag = tag.strip().replace("_", "-")
    if not _TAG_SHAPE.match(tag):
        return None
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None


@lru_cache(maxsize=4096)
def canonical_locale(tag: str) -> str | None:
    """``sv_se`` → ``sv-SE``, ``zh-hant-tw`` → ``zh-TW``, ``zh_Hant`` → ``zh-TW``; ``None`` for junk."""
    loc = _parse(tag)
    if loc is None:
        return None
    language, territory, script = loc.language, loc.territory, loc.script
    if language == "zh":
        if script == "Hant" or territory in _TRADITIONAL_REGIONS:
            return "zh-TW" if territory in (None, "TW") else f"zh-{territory}"
        return f"zh-{territory}" if territory else ("zh-CN" if script == "Hans" else "zh")
    parts = [language]
    if script and language == "sr":
        parts.append(script)
    if territory:
        parts.append(territory)
    return "-".join(parts)


def _family(tag: str) -> tuple[str, str | None]:
    """The language and, where it matters, the script: zh by Hans/Hant, sr by Latn/Cyrl, Norwegian as one."""
    loc = _parse(tag)
    if loc is None:
        return tag.lower(), None
    if loc.language in _NORWEGIAN:
        return "no", None
    if loc.language == "zh":
        traditional = loc.script == "Hant" or loc.territory in _TRADITIONAL_REGIONS
        return "zh", "Hant" if traditional else "Hans"
    if loc.language == "sr":
        return "sr", loc.script or ("Latn" if "latn" in tag.lower() else "Cyrl")
    return loc.language, None


def negotiate(wanted: Sequence[str], available: Iterable[str]) -> str | None:
    """The best of ``available`` for the preferences in ``wanted`` (in order), or ``None``.

    Exact tag first, then same language (and script, for Chinese and Serbian) in any region,
    preferring the region babel considers the language's main one.
    """
    pool = [a for a in available if a]
    if not pool:
        return None
    by_tag = {(canonical_locale(a) or a).lower(): a for a in pool}
    for tag in wanted:
        if not tag:
            continue
        canonical = (canonical_locale(tag) or tag).lower()
        if canonical in by_tag:
            return by_tag[canonical]
        family = _family(tag)
        same = [a for a in pool if _family(a) == family]
        if same:
            likely = _likely_region(tag)
            for a in same:
                if likely and (canonical_locale(a) or "").endswith("-" + likely):
                    return a
            return sorted(same)[0]
    return None


def _likely_region(tag: str) -> str | None:
    loc = _parse(tag)
    if loc is None:
        return None
    if loc.territory:
        return loc.territory
    if loc.language == "pt":
        return "BR"
    return _main_region(loc.language)


@lru_cache(maxsize=512)
def _main_region(language: str) -> str | None:
    from babel.core import get_global

    likely = get_global("likely_subtags").get(language)
    if not likely:
        return None
    parts = likely.split("_")
    return parts[-1] if len(parts) > 1 and parts[-1].isupper() else None


@lru_cache(maxsize=4096)
def language_name(locale: str, in_locale: str) -> str:
    """``locale``'s display name in ``in_locale``'s language; the tag itself when babel has none."""
    loc, viewer = _parse(locale), _parse(in_locale) or _parse("en")
    if loc is None or viewer is None:
        return locale
    if loc.language in ("zh", "pt") or (loc.language == "sr" and loc.script):
        name = loc.get_display_name(viewer)  # the region or script is what tells these apart
    else:
        name = loc.get_language_name(viewer)
    return name or locale


@lru_cache(maxsize=4096)
def native_language_name(locale: str) -> str:
    """A language's own name for a picker: "svenska", "한국어", "中文 (台灣)"."""
    loc = _parse(locale)
    if loc is None:
        return locale
    name = loc.get_language_name(loc) or locale
    if loc.language == "zh" or loc.language in {"pt", "en", "es", "fr"}:
        region = loc.get_territory_name(loc)
        if region:
            name = f"{name} ({region})"
    return name[:1].upper() + name[1:] if name[:1].islower() else name


_DOCS_URL = re.compile(
    r"^(?P<scheme>https?)://(?P<host>docs\.microsoft\.com|learn\.microsoft\.com)(?P<port>:\d+)?"
    r"(?P<path>/[^?#\s]*)?(?P<rest>[?#]\S*)?$",
    re.IGNORECASE,
)
_LOCALE_SEGMENT = re.compile(r"^/[a-z]{2,3}(?:-[a-z0-9]{2,8}){1,2}(?=/|$)", re.IGNORECASE)
_MD_LINK = re.compile(r"(\]\()(\s*<?)(https?://[^\s)>]+)")
_AUTOLINK = re.compile(r"<(https?://[^\s>]+)>")
_BARE_URL = re.compile(r"(?<![(<\w/])(https?://[^\s)<>\]]+)")


def localize_docs_url(url: str, locale: str) -> str:
    """A docs.microsoft.com / learn.microsoft.com link rewritten to ``locale``; other links unchanged."""
    m = _DOCS_URL.match(url.strip())
    if m is None:
        return url
    path = m.group("path") or "/"
    path = _LOCALE_SEGMENT.sub("", path) or "/"
    segment = (canonical_locale(locale) or locale).lower()
    return f"https://learn.microsoft.com/{segment}{path}{m.group('rest') or ''}"


def localize_links(markdown: str, locale: str) -> str:
    """Every Microsoft docs link in ``markdown`` (links, autolinks, bare URLs) localized to ``locale``."""
    text = _MD_LINK.sub(lambda m: m.group(1) + m.group(2) + localize_docs_url(m.group(3), locale), markdown)
    text = _AUTOLINK.sub(lambda m: "<" + localize_docs_url(m.group(1), locale) + ">", text)
    return _BARE_URL.sub(lambda m: localize_docs_url(m.group(1), locale), text)


def is_english(locale: str | None) -> bool:
    return locale is not None and (locale == "en" or locale.lower().startswith("en-"))


def choose_reply_locale(
    *,
    explicit: str | None,
    text_locale: str | None,
    client_locale: str | None,
    article_locales: Iterable[str],
    default: str = "en-US",
) -> tuple[str, str, bool]:
    """``(reply_locale, wanted_locale, fell_back)`` by the rules in this module's docstring."""
    available = sorted(set(article_locales))
    wanted = explicit
    if wanted is None and text_locale and not is_english(text_locale) and negotiate([text_locale], available):
        wanted = text_locale
    if wanted is None:
        wanted = client_locale or default
    wanted = canonical_locale(wanted) or wanted
    reply = negotiate([wanted], available)
    if reply is not None:
        return reply, wanted, False
    fallback = negotiate(list(ENGLISH_TAGS), available) or (available[0] if available else wanted)
    return fallback, wanted, True


_SCRIPT_PREFIXES = (
    ("CJK", "Han"), ("HIRAGANA", "Kana"), ("KATAKANA", "Kana"), ("HANGUL", "Hangul"), ("THAI", "Thai"),
    ("ARABIC", "Arabic"), ("HEBREW", "Hebrew"), ("CYRILLIC", "Cyrillic"), ("GREEK", "Greek"),
    ("LATIN", "Latin"), ("DEVANAGARI", "Devanagari"),
)


def detect_script(text: str) -> str | None:
    """The script of most letters in ``text`` (Han, Kana, Hangul, Thai, Arabic, …), or ``None``."""
    counts: dict[str, int] = {}
    for ch in text[:2000]:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        for prefix, script in _SCRIPT_PREFIXES:
            if name.startswith(prefix):
                counts[script] = counts.get(script, 0) + 1
                break
    if not counts:
        return None
    if counts.get("Kana") and counts.get("Han"):
        counts["Kana"] += counts.pop("Han")
    return max(counts, key=lambda k: counts[k])
