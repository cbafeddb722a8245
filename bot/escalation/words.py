"""Requests for a person and the ``status`` command in words, in any catalog language.

A request matches when the message is short and holds one of the catalog's phrases as whole words
(``"I want to talk to a human"``), never as part of a longer text: a pasted error that happens to say
"talk to a human resources server" is an error, not a request. Phrases in scripts without spaces
(Chinese, Japanese) match when the message is little more than the phrase.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.strings import CATALOG
from knowledge.normalize import normalize

MAX_REQUEST_CHARS = 80
EXTRA_WORDS = 4
"""Words a request may hold besides the phrase ("please, can I …")."""
EXTRA_CHARS = 4
"""Characters a space-less request may hold besides the phrase (请, 我要…)."""


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
        return any(p in squeezed and len(squeezed) <= len(p) + EXTRA_CHARS for p in self.spaceless)


def _is_spaceless_script(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


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
