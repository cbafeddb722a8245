"""One text clean-up for indexing and querying, and the removal of what surrounds a pasted error.

``normalize`` folds what should not matter for matching, in every script: compatibility forms
(full-width, Hangul jamo, ligatures) via NFKC, case, Latin/Greek/Cyrillic diacritics (so
"atkomsttoken" finds "åtkomsttoken"), Arabic harakat and tatweel, Hebrew points, direction and
zero-width marks, punctuation and quote marks of every kind. Marks that carry meaning (Thai and
Indic vowel signs, Japanese voicing marks) stay. It is idempotent and never raises.

``clean_paste`` removes what a paste carries around the error: Teams ``<at>`` mentions, HTML tags
and entities, GUIDs and ids, timestamps, URLs, e-mail addresses and "Error:"-style prefixes. (The bot
removes the channel's own wrapping first, in one place: ``bot.channel.channel_text``; the batch contract and
the CLI hand pastes here as they come, so this keeps removing markup too.)

The length rule, one cap per meaning:
- ``bot.channel_text.MAX_TEXT_CHARS`` (1,000,000): the longest message the bot keeps of what the
  channel sent, what escalation relays to agents and keeps in a transcript;
- ``MAX_PASTE_CHARS`` here (20,000): how much of a paste the engine reads, for matching
  (``clean_paste``) and for telling its language by its script (``knowledge.locales.detect_script``);
- ``knowledge.matcher.MAX_QUERY_CHARS`` (300) caps no text: it is the length of each window of the
  cleaned paste that the matcher scores against the indexed texts.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_PASTE_CHARS = 20_000
"""How much of a paste the engine reads (for matching and for its script): the error is near the start
of anything longer."""

_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF]
)
_GENERIC_MARKS = (
    (0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F),
)
_DROPPED_MARKS = ((0x0591, 0x05C7), (0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06ED))
_TATWEEL = 0x0640


def _in(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on first sight of each character."""

    def __missing__(self, code: int) -> str:
        value = self._fold(code)
        self[code] = value
        return value

    @staticmethod
    def _fold(code: int) -> str:
        ch = chr(code)
        if code == _TATWEEL or _in(code, _GENERIC_MARKS) or _in(code, _DROPPED_MARKS):
            return ""
        category = unicodedata.category(ch)
        if category[0] in "PSZC":
            return " "
        if category[0] == "L" and code > 0x7F:
            decomposed = unicodedata.normalize("NFD", ch)
            if len(decomposed) > 1 and all(_in(ord(m), _GENERIC_MARKS) for m in decomposed[1:]):
                base = decomposed[0]
                if unicodedata.category(base)[0] == "L":
                    return base
        return ch


_FOLD = _FoldTable()
_SPACES = re.compile(r"\s+")

DENSE_RANGES = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1100, 0x11FF), (0x1780, 0x17FF), (0x2E80, 0x9FFF),
    (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF),
)
"""Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, Han, Kana, Hangul)."""
_DENSE_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in DENSE_RANGES)
SCRIPT_BOUNDARY = re.compile(
    f"(?<=[{_DENSE_CLASS}])(?=[^\\s{_DENSE_CLASS}])|(?<=[^\\s{_DENSE_CLASS}])(?=[{_DENSE_CLASS}])"
)
"""Where an unspaced script meets another script (``附加文件outlook``): a word boundary for matching."""


def normalize(text: str) -> str:
    """The matching form of ``text``: folded, punctuation-free, single-spaced, trimmed."""
    if not isinstance(text, str) or not text:
        return ""
    for _ in range(3):
        folded = unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).casefold().translate(_FOLD)
        folded = _SPACES.sub(" ", folded).strip()
        if folded == text or unicodedata.is_normalized("NFKC", folded):
            return folded
        text = folded
    return text


_MENTION = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h\d|p|div|li|tr|h\d)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]{1,500}>")
_URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_GUID = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.IGNORECASE)
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{16,}\b", re.IGNORECASE)
_TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?Z|[+-]\d{2}:?\d{2})?)?"
    r"|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?:,?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AP]M)?)?"
    r"|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s?Z)?",
    re.IGNORECASE,
)
_ID_LABEL = re.compile(
    r"\b(?:correlation|request|activity|trace|tracking|session|client request|server request|incident|"
    r"message|error|event|object|tenant|user|app|application)[ _-]?id\b\s*[:=#-]?"
    r"|\b(?:timestamp|time stamp|date|time|server|build|version)\s*[:=]",
    re.IGNORECASE,
)
_PREFIX = re.compile(
    r"^\s*(?:error(?: message| code| details)?|exception|warning|message|details|fel(?:meddelande)?|"
    r"fehler(?:meldung)?|erreur|errore|erro|error|fout(?:melding)?|feil(?:melding)?|fejl(?:meddelelse)?|"
    r"virhe(?:ilmoitus)?|chyba|błąd|hata|kesalahan|ошибка|σφάλμα|שגיאה|خطأ|ข้อผิดพลาด|오류|错误|錯誤|エラー)"
    r"\s*[:：\-–—]\s*",
    re.IGNORECASE,
)


def clean_paste(text: str) -> str:
    """The error text of a paste: markup, mentions, ids, timestamps, links and prefixes removed."""
    if not isinstance(text, str) or not text:
        return ""
    text = text[:MAX_PASTE_CHARS]
    text = _MENTION.sub(" ", text)
    if "<" in text:
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    for pattern in (_URL, _EMAIL, _GUID, _TIMESTAMP, _HEX_ID, _ID_LABEL):
        text = pattern.sub(" ", text)
    lines = []
    for line in text.split("\n"):
        line = _PREFIX.sub("", line, count=1).strip()
        if line:
            lines.append(line)
    return "\n".join(lines)
