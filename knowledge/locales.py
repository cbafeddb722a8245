"""Locales: canonical tags, negotiation with regional fallbacks, display names, docs-link localization.

Negotiation (``negotiate``) looks for each wanted tag, in order of preference:
1. the same locale (case, ``_``/``-`` and script spelling ignored: ``zh_Hant_TW`` is ``zh-TW``);
2. the same language and script in another region, preferring the language's main region
   (``sv-FI`` → ``sv-SE``), then a region-less tag (``sv``), then any region:
   - Chinese is split by script: Traditional is ``zh-Hant`` and the regions TW, HK and MO
     (preferred region TW); Simplified is everything else, ``zh`` included (preferred region CN);
   - Portuguese crosses regions both ways; ``pt`` and ``pt-BR`` prefer BR, other regions PT;
   - Norwegian ``nb``, ``no`` and ``nn`` are one language: the same code first, then ``nb``/``no``
     (both Bokmål) for each other, then Nynorsk ↔ Bokmål;
   - Serbian is split by script: ``sr-Latn`` matches ``sr-Latn-RS``; ``sr``, ``sr-RS`` and
     ``sr-Cyrl`` are Cyrillic and never match Latin (nor the other way round).
Only when a wanted tag has no such match is the next one tried.

Reply locale (``choose_reply_locale``): see its docstring. The locale of the bot's own words around a
reply (``choose_words_locale``) follows from the same inputs: the one language policy, for the engine's
answers and for every other reply the bot writes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from knowledge.normalize import MAX_PASTE_CHARS

__all__ = [
    "canonical_locale",
    "choose_reply_locale",
    "choose_words_locale",
    "detect_script",
    "is_english",
    "is_right_to_left",
    "language_name",
    "locale_script",
    "localize_docs_url",
    "localize_links",
    "native_language_name",
    "negotiate",
]

# --- canonical tags ---------------------------------------------------------------------------------

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_SCRIPT = re.compile(r"^[a-z]{4}$")
_REGION = re.compile(r"^(?:[a-z]{2}|\d{3})$")
_VARIANT = re.compile(r"^(?:[a-z0-9]{5,8}|\d[a-z0-9]{3})$")
_NOT_A_LANGUAGE = {"und", "root", "mul", "mis", "zxx"}

_TRADITIONAL_CHINESE_REGIONS = frozenset({"TW", "HK", "MO"})
_NORWEGIAN = frozenset({"nb", "no", "nn"})
_SCRIPT_ALWAYS_SHOWN = frozenset({"sr"})
"""Languages whose canonical tag keeps a script subtag the input gave, even the default one."""


@dataclass(frozen=True)
class _Subtags:
    language: str
    script: str | None
    region: str | None


def _split(tag: str) -> _Subtags | None:
    """Subtags of a BCP-47-ish tag, cased canonically; ``None`` when it is not shaped like one.

    Extensions and private use (``-u-…``, ``-x-…``), variants and POSIX suffixes (``.UTF-8``,
    ``@euro``) are dropped.
    """
    tag = tag.strip().split(".", 1)[0].split("@", 1)[0].replace("_", "-").lower()
    parts = tag.split("-")
    if not parts or not _LANGUAGE.match(parts[0]) or parts[0] in _NOT_A_LANGUAGE:
        return None
    language, script, region = parts[0], None, None
    rest = parts[1:]
    if rest and _SCRIPT.match(rest[0]):
        script = rest.pop(0).title()
    if rest and _REGION.match(rest[0]):
        region = rest.pop(0).upper()
    for part in rest:
        if len(part) == 1:  # an extension or private use begins: the rest is not ours
            break
        if not _VARIANT.match(part):
            return None
    return _Subtags(language, script, region)


@lru_cache(maxsize=1)
def _known_regions() -> frozenset[str]:
    return frozenset(Locale("en").territories)


@lru_cache(maxsize=1)
def _known_scripts() -> frozenset[str]:
    return frozenset(Locale("en").scripts)


def _parse_first(*identifiers: str) -> Locale | None:
    for ident in identifiers:
        try:
            return Locale.parse(ident)
        except (UnknownLocaleError, ValueError):
            continue
    return None


@lru_cache(maxsize=4096)
def _babel(tag: str) -> Locale | None:
    """babel's closest data for ``tag`` (any case or separator): the full tag, else without region,
    else the bare language; ``None`` when the tag is junk or babel does not know the language,
    script or region. Deprecated codes resolve to current ones (``iw`` → ``he``)."""
    sub = _split(tag)
    if sub is None:
        return None
    if sub.region is not None and sub.region not in _known_regions():
        return None
    if sub.script is not None and sub.script not in _known_scripts():
        return None
    language_script = "_".join(p for p in (sub.language, sub.script) if p)
    full = f"{language_script}_{sub.region}" if sub.region else language_script
    return _parse_first(full, language_script, sub.language)


def _likely(language: str, region: str | None = None) -> tuple[str | None, str | None]:
    """CLDR's likely (script, region) for a language, optionally within one region."""
    table = get_global("likely_subtags")
    found = (table.get(f"{language}_{region}") if region else None) or table.get(language)
    if not found:
        return None, None
    parts = found.split("_")[1:]
    script = next((p for p in parts if len(p) == 4), None)
    likely_region = next((p for p in parts if _REGION.match(p.lower())), None)
    return script, likely_region


def _script_of(language: str, script: str | None, region: str | None) -> str | None:
    """The script a tag is written in, explicit or implied."""
    if script:
        return script
    if language == "zh":
        return "Hant" if region in _TRADITIONAL_CHINESE_REGIONS else "Hans"
    return _likely(language, region)[0]


@lru_cache(maxsize=4096)
def canonical_locale(tag: str) -> str | None:
    """A tag in canonical form (``sv_se`` → ``sv-SE``, ``zh-hant-tw`` → ``zh-TW``), ``None`` for junk.

    Language codes babel knows as aliases are replaced (``iw`` → ``he``); Chinese keeps only the
    region when it implies the script (``zh_Hant`` → ``zh-TW``, ``zh-Hans`` → ``zh-CN``); other
    languages keep a script only when it is not their usual one (``uz-Arab``), except Serbian,
    which keeps any script it is given (``sr-Latn-RS``, ``sr-Cyrl``).
    """
    sub = _split(tag)
    loc = _babel(tag)
    if sub is None or loc is None:
        return None
    language, script, region = loc.language, sub.script, sub.region
    if language == "zh":
        implied = _script_of("zh", None, region) if region else None
        if script is None or script == implied:
            return f"zh-{region}" if region else "zh"
        if region is None:
            return {"Hant": "zh-TW", "Hans": "zh-CN"}.get(script, f"zh-{script}")
        return f"zh-{script}-{region}"
    if script is not None and language not in _SCRIPT_ALWAYS_SHOWN and script == _likely(language, region)[0]:
        script = None
    return "-".join(p for p in (language, script, region) if p)


def is_english(locale: str | None) -> bool:
    """Whether ``locale`` is English in any region (``en``, ``en-US``, ``EN_gb``)."""
    sub = _split(locale) if locale else None
    return sub is not None and sub.language == "en"


def locale_script(locale: str) -> str | None:
    """The script ``locale`` is written in, given or implied by CLDR (``sv-SE`` → ``Latn``, ``zh-TW`` →
    ``Hant``, ``sr-Latn`` → ``Latn``); ``None`` for junk."""
    sub = _split(locale) if isinstance(locale, str) else None
    return _script_of(sub.language, sub.script, sub.region) if sub else None


def is_right_to_left(locale: str) -> bool:
    """Whether ``locale``'s language is written right to left (``ar-SA``, ``he``, legacy ``iw``, ``fa``,
    ``uz-Arab``), by CLDR's character order; ``False`` for anything babel cannot parse."""
    loc = _babel(locale) if isinstance(locale, str) else None
    return loc is not None and loc.character_order == "right-to-left"


# --- negotiation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variant:
    """What negotiation compares: the canonical tag, its language family and script, its region."""

    canonical: str
    family: str
    language: str
    script: str | None
    region: str | None


@lru_cache(maxsize=4096)
def _variant(tag: str) -> _Variant | None:
    canonical = canonical_locale(tag)
    if canonical is None:
        return None
    sub = _split(canonical)
    assert sub is not None  # a canonical tag always splits
    family = "no" if sub.language in _NORWEGIAN else sub.language
    return _Variant(canonical, family, sub.language, _script_of(sub.language, sub.script, sub.region), sub.region)


def _preferred_region(wanted: _Variant) -> str | None:
    """The region to prefer when the wanted region is not available."""
    if wanted.language == "zh":
        return "TW" if wanted.script == "Hant" else "CN"
    if wanted.language == "pt":
        return "BR" if wanted.region in (None, "BR") else "PT"
    if wanted.family == "no":
        return "NO"
    return _likely(wanted.language)[1]


def _language_distance(wanted: str, candidate: str) -> int:
    """0 for the same code; Norwegian: 1 between ``nb`` and ``no`` (both Bokmål), 2 to or from ``nn``."""
    if wanted == candidate:
        return 0
    return 2 if "nn" in (wanted, candidate) else 1


def _rank(wanted: _Variant, candidate: _Variant) -> tuple[int, int] | None:
    """How well ``candidate`` serves ``wanted`` (lower is better), ``None`` if it does not."""
    if candidate.family != wanted.family or candidate.script != wanted.script:
        return None
    if candidate.canonical == wanted.canonical:
        return (0, 0)
    if candidate.region == wanted.region:
        region_rank = 0
    elif candidate.region is not None and candidate.region == _preferred_region(wanted):
        region_rank = 1
    elif candidate.region is None:
        region_rank = 2
    else:
        region_rank = 3
    return (1 + _language_distance(wanted.language, candidate.language), region_rank)


def _loose(tag: str) -> str:
    return tag.strip().replace("_", "-").lower()


def negotiate(wanted: Sequence[str], available: Iterable[str]) -> str | None:
    """The string from ``available`` that best serves the preferences ``wanted`` (best first), or ``None``.

    The rules are in this module's docstring. Ties go to the smallest canonical tag, so the
    answer does not depend on the order of ``available``. Tags babel cannot parse still match
    themselves, ignoring case and ``_``/``-``.
    """
    pool = [(a, _variant(a)) for a in dict.fromkeys(available) if a and a.strip()]
    for tag in wanted:
        if not tag:
            continue
        want = _variant(tag)
        if want is None:
            loose = _loose(tag)
            exact = sorted(a for a, _ in pool if _loose(a) == loose)
            if exact:
                return exact[0]
            continue
        ranked = [
            (rank, cand.canonical, a)
            for a, cand in pool
            if cand is not None and (rank := _rank(want, cand)) is not None
        ]
        if ranked:
            return min(ranked)[2]
    return None


def _text_language(text_locale: str | None, available: Sequence[str]) -> str | None:
    """``text_locale`` when it tells the user's language: not English (``None`` or any ``en*`` means
    English) and a locale the article has."""
    if text_locale and not is_english(text_locale) and negotiate([text_locale], available):
        return text_locale
    return None


def _first_valid(*tags: str | None) -> str | None:
    return next((tag for tag in tags if tag and canonical_locale(tag)), None)


def choose_reply_locale(
    *,
    explicit: str | None,
    text_locale: str | None,
    client_locale: str | None,
    article_locales: Iterable[str],
    default: str = "en-US",
) -> tuple[str, str, bool]:
    """``(reply_locale, wanted_locale, fell_back)`` for one answer.

    The wanted locale is the first of these that is a valid tag:
    1. ``explicit``: the user's own choice (``/language sv``, ``--locale``);
    2. ``text_locale``, the language of the pasted text, when it is not English (``None`` or any
       ``en*`` means English) and the article has it (by ``negotiate``);
    3. ``client_locale``, the chat client's locale;
    4. ``default``.
    The reply locale is the article locale ``negotiate`` picks for the wanted one (so ``sv-FI``
    gets ``sv-SE``, ``zh-HK`` gets ``zh-TW``). When none fits, the reply falls back to English if
    the article has any ``en*`` locale (``en`` stands for the English source text of span files),
    else to the article's first locale in sorted order, and ``fell_back`` is true. With no article
    locales at all the reply is the wanted locale and ``fell_back`` is false: there is nothing to
    fall back from. ``wanted_locale`` is canonical (``sv_se`` → ``sv-SE``); ``reply_locale`` is the
    string from ``article_locales``.
    """
    available = sorted(set(article_locales), key=lambda a: (canonical_locale(a) or _loose(a), a))
    if explicit and canonical_locale(explicit):
        wanted: str | None = explicit
    else:
        wanted = _text_language(text_locale, available) or _first_valid(client_locale)
    wanted = canonical_locale(wanted or default) or default
    if not available:
        return wanted, wanted, False
    reply = negotiate([wanted], available)
    if reply is not None:
        return reply, wanted, False
    english = negotiate(["en-US"], available)
    return english or available[0], wanted, True


SCRIPT_LANGUAGES = {"Hangul": "ko-KR", "Han": "zh-TW"}
"""Scripts that name one language on their own, and the locale a text in them is answered in when
nothing closer is known (a Han text from a Chinese client keeps the client's Chinese)."""


def _script_language(text: str, client_locale: str | None) -> str | None:
    """The language ``text``'s script names (``SCRIPT_LANGUAGES``), unless the client's language is that
    language (``None``: the client's locale says it better, ``zh-CN`` for Han from a zh-CN client)."""
    named = SCRIPT_LANGUAGES.get(detect_script(text) or "") if text else None
    client = _variant(client_locale) if client_locale else None
    if named is None or (client is not None and client.language == named.split("-")[0]):
        return None
    return named


def choose_words_locale(
    *,
    explicit: str | None,
    text_locale: str | None = None,
    text: str = "",
    client_locale: str | None,
    article_locales: Iterable[str] = (),
    shown_locale: str | None = None,
    available: Iterable[str] = (),
    default: str = "en-US",
) -> str:
    """The locale of the bot's own words in one reply (buttons, notes, "did you mean", "not found",
    confirmations): one rule for every reply the bot writes.

    The user's language is the first of these that is a valid tag:
    1. ``explicit``: their own choice (``/language sv``);
    2. ``text_locale``, the language of the pasted text as the match tells it, on the terms of
       ``choose_reply_locale`` (not English, a locale of the article: ``article_locales``);
    3. the language ``text``'s script names on its own (Hangul: Korean; Han: Chinese, see
       ``SCRIPT_LANGUAGES``), unless the client's language is that language;
    4. ``client_locale``;
    5. ``default``.
    The result is the locale of ``available`` (the caller's catalog) that ``negotiate`` picks for it;
    when the catalog lacks that language, the one it picks for the article shown (``shown_locale``,
    so the words match the text), else for ``default``. With nothing ``available``, the user's
    language itself (canonical).
    """
    wanted = _first_valid(explicit)
    if wanted is None:
        articles = sorted(set(article_locales))
        wanted = (_text_language(text_locale, articles) or _script_language(text, client_locale)
                  or _first_valid(client_locale))
    wanted = canonical_locale(wanted or default) or default
    catalog = list(available)
    if not catalog:
        return wanted
    return (negotiate([wanted], catalog) or (negotiate([shown_locale], catalog) if shown_locale else None)
            or negotiate([default], catalog) or default)


# --- display names ----------------------------------------------------------------------------------


def _qualifier(sub: _Subtags, viewer: Locale) -> str | None:
    """The detail that tells variants of a language apart in a name: Chinese region (or script),
    Portuguese region, Serbian script. Other languages are named without detail."""
    if sub.language == "zh":
        if sub.region:
            return viewer.territories.get(sub.region)
        return viewer.scripts.get(sub.script) if sub.script else None
    if sub.language == "pt" and sub.region:
        return viewer.territories.get(sub.region)
    if sub.language == "sr" and sub.script:
        return viewer.scripts.get(sub.script)
    return None


@lru_cache(maxsize=4096)
def language_name(locale: str, in_locale: str) -> str:
    """The name of ``locale``'s language in ``in_locale``'s language, e.g. "스웨덴어" for sv-SE in ko-KR.

    Chinese is qualified by region or script ("Chinese (Taiwan)"), Portuguese by region and Serbian
    by script; other languages by nothing. Names are as CLDR writes them in running text (lower case
    in Swedish, French, ...). An unknown ``in_locale`` gives English names; an unknown ``locale``
    gives ``locale`` itself.
    """
    canonical = canonical_locale(locale)
    sub = _split(canonical) if canonical else None
    if sub is None:
        return locale
    viewer = _babel(in_locale) or Locale("en")
    name = viewer.languages.get(sub.language)
    if not name:
        return locale
    detail = _qualifier(sub, viewer)
    return f"{name} ({detail})" if detail else name


def _capitalize_first(text: str) -> str:
    """Upper-case the first letter when its script has case; the rest is left as it is."""
    return text[:1].upper() + text[1:] if text[:1].islower() else text


@lru_cache(maxsize=4096)
def native_language_name(locale: str) -> str:
    """A language's own name for a language picker: "Svenska", "한국어", "中文 (台灣)", "Português (Brasil)".

    Capitalized at the start (as CLDR asks for menus) when the script has case; ``locale`` itself
    when babel does not know it.
    """
    name = language_name(locale, locale)
    return name if name == locale else _capitalize_first(name)


# --- docs links -------------------------------------------------------------------------------------

_DOCS_HOSTS = frozenset({"docs.microsoft.com", "learn.microsoft.com"})
_DOCS_LOCALE_SEGMENT = re.compile(r"^[a-z]{2,3}(?:-[a-z]{4})?(?:-(?:[a-z]{2}|\d{3}))$|^[a-z]{2,3}-[a-z]{4}$", re.I)


@lru_cache(maxsize=512)
def _docs_segment(locale: str) -> str | None:
    """The path segment Microsoft Learn uses for ``locale``: always with a region (``sv`` → ``sv-se``)."""
    variant = _variant(locale)
    if variant is None:
        return None
    sub = _split(variant.canonical)
    assert sub is not None
    region = sub.region or _preferred_region(variant)
    language = "nb" if sub.language == "no" else sub.language
    if language == "sr":
        return "-".join(p for p in ("sr", variant.script, region or "RS") if p).lower()
    return "-".join(p for p in (language, sub.script, region) if p).lower()


def localize_docs_url(url: str, locale: str) -> str:
    """A docs.microsoft.com or learn.microsoft.com link rewritten to ``locale`` on learn.microsoft.com.

    ``https://docs.microsoft.com/en-us/azure/x?y#z`` with ``sv-SE`` becomes
    ``https://learn.microsoft.com/sv-se/azure/x?y#z``. Any other link (other hosts, look-alike hosts,
    user info or a port, relative links) and any link when ``locale`` is not a valid tag is returned
    unchanged.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if (
        parts.scheme.lower() not in ("http", "https")
        or (parts.hostname or "") not in _DOCS_HOSTS
        or parts.netloc.lower() != parts.hostname
        or port is not None
    ):
        return url
    segment = _docs_segment(locale)
    if segment is None:
        return url
    path = parts.path.lstrip("/")
    first, _, rest = path.partition("/")
    if _DOCS_LOCALE_SEGMENT.match(first) and canonical_locale(first):
        path = rest
    localized = f"https://learn.microsoft.com/{segment}/{path}"
    if "?" in url.partition("#")[0]:
        localized += "?" + parts.query
    if "#" in url:
        localized += "#" + parts.fragment
    return localized


_URL_CHAR = r"[A-Za-z0-9\-._~:/?#@!$&*+,;=%]"
_LINKISH = re.compile(
    r"(?P<code>```.*?```|`[^`\n]+`)"  # code is quoted, not linked: left alone
    rf"|(?P<url>https?://(?:{_URL_CHAR}|\({_URL_CHAR}*\))+)",
    re.IGNORECASE | re.DOTALL,
)
_TRAILING_PUNCTUATION = ".,;:!?*_~"


def _localize_match(match: re.Match[str], locale: str) -> str:
    url = match.group("url")
    if url is None:
        return match.group(0)
    trimmed = url.rstrip(_TRAILING_PUNCTUATION)
    return localize_docs_url(trimmed, locale) + url[len(trimmed):]


def localize_links(markdown: str, locale: str) -> str:
    """Every Microsoft docs link in ``markdown`` localized to ``locale`` by ``localize_docs_url``.

    Covers inline links ``[text](url "title")``, autolinks ``<url>``, bare URLs (trailing
    punctuation is not part of them) and ``href`` attributes; text in code spans and fenced code
    blocks is left alone.
    """
    if "://" not in markdown:
        return markdown
    return _LINKISH.sub(lambda m: _localize_match(m, locale), markdown)


# --- scripts ----------------------------------------------------------------------------------------

_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "Latin"),
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0530, 0x058F, "Armenian"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"),
    (0x0B80, 0x0BFF, "Tamil"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x10A0, 0x10FF, "Georgian"),
    (0x1100, 0x11FF, "Hangul"),
    (0x1C80, 0x1C8F, "Cyrillic"),
    (0x1E00, 0x1EFF, "Latin"),
    (0x1F00, 0x1FFF, "Greek"),
    (0x3040, 0x309F, "Kana"),
    (0x30A0, 0x30FF, "Kana"),
    (0x3130, 0x318F, "Hangul"),
    (0x31F0, 0x31FF, "Kana"),
    (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"),
    (0xA960, 0xA97F, "Hangul"),
    (0xAC00, 0xD7FF, "Hangul"),
    (0xF900, 0xFAFF, "Han"),
    (0xFB1D, 0xFB4F, "Hebrew"),
    (0xFB50, 0xFDFF, "Arabic"),
    (0xFE70, 0xFEFF, "Arabic"),
    (0xFF21, 0xFF5A, "Latin"),
    (0xFF66, 0xFF9F, "Kana"),
    (0xFFA0, 0xFFDC, "Hangul"),
    (0x20000, 0x3134F, "Han"),
)
_RANGE_STARTS = tuple(start for start, _, _ in _SCRIPT_RANGES)
_SCRIPT_SAMPLE_LETTERS = 4096


def _script_of_char(ch: str) -> str | None:
    code = ord(ch)
    i = bisect_right(_RANGE_STARTS, code) - 1
    if i >= 0 and code <= _SCRIPT_RANGES[i][1]:
        return _SCRIPT_RANGES[i][2]
    return None


def detect_script(text: str) -> str | None:
    """The script of most letters in ``text``, or ``None`` when it has no letters of a known script.

    Returns one of Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, Devanagari, Bengali, Tamil,
    Thai, Georgian, Hangul (composed or decomposed jamo), Han, or Kana for Japanese: Hiragana or
    Katakana, together with the Han characters around them once kana make a tenth of the two
    (Japanese mixes both; Chinese has no kana). Looks at no more than the first 4096 letters of the
    part of a paste the engine reads (``knowledge.normalize.MAX_PASTE_CHARS``: one length rule).
    """
    counts: dict[str, int] = {}
    seen = 0
    for ch in text[:MAX_PASTE_CHARS]:
        if not ch.isalpha():
            continue
        script = _script_of_char(ch)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
        seen += 1
        if seen >= _SCRIPT_SAMPLE_LETTERS:
            break
    if not counts:
        return None
    kana, han = counts.get("Kana", 0), counts.get("Han", 0)
    if kana and kana * 10 >= kana + han:
        counts["Kana"] = kana + counts.pop("Han", 0)
    return max(counts, key=lambda script: counts[script])
