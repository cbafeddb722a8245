"""Requests for a person and the ``status`` command in words, in any catalog language.

A request matches when the message is short and holds one of the catalog's phrases as whole words
(``"I want to talk to a human"``), never as part of a longer text: a pasted error that happens to say
"talk to a human resources server" is an error, not a request. Phrases in scripts without spaces
between words (Chinese, Japanese, Thai) match when the message is little more than the phrase: a few
more Han characters, or a few more letters of kana or Thai, where a word takes more letters
(``ขอคุยกับเจ้าหน้าที่ครับ``, ``すみません、担当者と話したいです``). Combining marks (Thai vowel
and tone marks, kana voicing marks) are not counted as letters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from bot.strings import CATALOG
from knowledge.normalize import normalize

MAX_REQUEST_CHARS = 80
EXTRA_WORDS = 4
"""Words a request may hold besides the phrase ("please, can I …")."""
EXTRA_CHARS = 4
"""Han characters a space-less request may hold besides the phrase (请, 我要…)."""
EXTRA_LETTERS = 8
"""Kana or Thai letters a request may hold besides a phrase written in them (すみません…です, อยาก…ครับ)."""
_SPACELESS = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF), (0x3400, 0x9FFF),
              (0xF900, 0xFAFF), (0xFF66, 0xFF9F))
"""Scripts without spaces between words: Thai, Lao, Myanmar, Khmer, kana, Han (not Hangul: Korean is spaced)."""
_HAN = ((0x3400, 0x9FFF), (0xF900, 0xFAFF))
TICKET_COMMAND = re.compile(r"^\s*/?ticket\s+#?(\S+)\s*$", re.IGNORECASE)
TICKETS_COMMAND = re.compile(r"^\s*/?tickets\s*$", re.IGNORECASE)
KB_COMMAND = re.compile(r"^\s*/kb(?:\s+(.+?))?\s*$", re.IGNORECASE | re.DOTALL)
"""The agents' commands in a ticket's thread or their channel: ``tickets``, ``ticket 12``, ``/kb text``."""


@dataclass(frozen=True)
class Phrases:
    """Normalized phrases: word tuples for spaced scripts, strings for space-less ones."""

    worded: frozenset[tuple[str, ...]]
    spaceless: frozenset[str]

    @classmethod
    def of(cls, phrases: Iterable[str]) -> Phrases:
        worded: set[tuple[str, ...]] = set()
        spaceless: set[str] = set()
        for phrase in phrases:
            folded = normalize(phrase)
            if not folded:
                continue
            if " " not in folded and not folded.isascii() and _is_spaceless_script(folded):
                spaceless.add(folded)
            else:
                worded.add(tuple(folded.split()))
        return cls(frozenset(worded), frozenset(spaceless))

    def found_in(self, text: str) -> bool:
        if not text or len(text) > MAX_REQUEST_CHARS:
            return False
        folded = normalize(text)
        words = folded.split()
        for phrase in self.worded:
            if len(words) <= len(phrase) + EXTRA_WORDS and _contains(words, phrase):
                return True
        squeezed = folded.replace(" ", "")
        return any(p in squeezed and _letters(squeezed) - _letters(p) <= _allowance(p) for p in self.spaceless)


def _in(ch: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in ranges)


def _is_spaceless_script(text: str) -> bool:
    return any(_in(ch, _SPACELESS) for ch in text)


def _letters(text: str) -> int:
    """Characters that are not combining marks (Thai vowel and tone marks, voicing marks)."""
    return sum(1 for ch in text if not unicodedata.category(ch).startswith("M"))


def _allowance(phrase: str) -> int:
    """Extra letters a request may hold: Han characters are words, kana and Thai letters are not."""
    return EXTRA_CHARS if all(_in(ch, _HAN) for ch in phrase) else EXTRA_LETTERS


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def escalation_phrases() -> Phrases:
    """Every catalog language's requests for a person, and its "Talk to a person" button text."""
    return Phrases.of(p for entry in CATALOG.values()
                      for p in [*entry.get("escalation_words", []), entry.get("talk_to_person", "")])


def status_phrases() -> Phrases:
    return Phrases.of(p for entry in CATALOG.values() for p in entry.get("status_commands", []))


def is_status_command(phrases: Phrases, text: str) -> bool:
    """``status`` alone (or ``/status``): a command, not a phrase inside a sentence."""
    folded = normalize(text.strip().lstrip("/"))
    return bool(folded) and ((folded,) in phrases.worded or folded in phrases.spaceless)


def agents_command(text: str) -> str | None:
    """The name of the agents' command ``text`` is (``tickets``, ``ticket``, ``/kb``), else ``None``:
    said outside an agents' channel, the user is told where it works instead of it being searched."""
    if TICKETS_COMMAND.match(text):
        return "tickets"
    if TICKET_COMMAND.match(text):
        return "ticket"
    return "/kb" if KB_COMMAND.match(text) else None
