"""The n-gram postings of an index built with numpy: the same n-grams as ``matcher.features``, far fewer
Python steps.

A cold build of a big knowledge base indexes a hundred thousand texts of some fifty n-grams each; a
Python dictionary lookup per n-gram was a third of the build. Here every n-gram becomes an integer
code (up to three code points, 21 bits each, offset by one so a shorter n-gram never equals a longer
one) computed over the texts laid end to end, and ``numpy.unique`` numbers them.
"""

from __future__ import annotations

import re

import numpy as np

from knowledge.normalize import DENSE_RANGES, SCRIPT_BOUNDARY

__all__ = ["FeaturePostings", "distinct_sorted", "feature_postings"]

_DENSE_CHAR = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in DENSE_RANGES) + "]")
_BITS = 21
_MASK = (1 << _BITS) - 1
_SPACE = ord(" ") + 1  # code points are stored plus one: 0 stands for "no character"


class FeaturePostings:
    """Which n-grams (``vocab``: n-gram → id) each entry has: ``feature_of[i]`` occurs in ``entry_of[i]``.

    Each pair is there once; pairs are sorted by feature id, then by entry: ``entry_of`` lists each feature's
    entries in turn.
    """

    __slots__ = ("entry_of", "feature_of", "vocab")

    def __init__(self, vocab: dict[str, int], feature_of: np.ndarray, entry_of: np.ndarray) -> None:
        self.vocab = vocab
        self.feature_of = feature_of
        self.entry_of = entry_of


def _code_points(parts: list[str]) -> np.ndarray:
    """The code points (plus one) of ``parts`` laid end to end."""
    joined = "".join(parts).encode("utf-32-le", "surrogatepass")
    return np.frombuffer(joined, dtype=np.uint32).astype(np.int64) + 1


def _owners(entries: list[int], lengths: list[int]) -> np.ndarray:
    """For each character of parts laid end to end, the entry its part belongs to."""
    return np.repeat(np.asarray(entries, dtype=np.int64), np.asarray(lengths, dtype=np.int64))


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (``numpy.unique`` hashes instead, many times slower on these codes)."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


def _decode(code: int) -> str:
    return "".join(chr(c - 1) for c in (code >> 2 * _BITS, (code >> _BITS) & _MASK, code & _MASK) if c)


def feature_postings(texts: list[str]) -> FeaturePostings:
    """The distinct n-grams of every text (``matcher.features``), numbered, as (feature, entry) pairs.

    Spaced text is padded and joined by single spaces, so an n-gram whose middle is a space, the only
    kind ``features`` leaves out, is also the only kind that spans two texts laid end to end. Unspaced
    scripts give bigrams of each token (one character alone for a one-character token), other tokens
    padded trigrams.
    """
    spaced: list[str] = []  # trigram parts: a padded text or a padded token
    spaced_entry: list[int] = []
    spaced_len: list[int] = []
    dense: list[str] = []  # bigram parts: a token of an unspaced script followed by a space
    dense_entry: list[int] = []
    dense_len: list[int] = []
    single_code: list[int] = []
    single_entry: list[int] = []
    for entry, text in enumerate(texts):
        if _DENSE_CHAR.search(text) is None:
            padded = f" {' '.join(text.split())} "
            spaced.append(padded)
            spaced_entry.append(entry)
            spaced_len.append(len(padded))
            continue
        for token in SCRIPT_BOUNDARY.sub(" ", text).split():
            if _DENSE_CHAR.match(token) is None:
                spaced.append(f" {token} ")
                spaced_entry.append(entry)
                spaced_len.append(len(token) + 2)
            elif len(token) == 1:
                single_code.append(ord(token) + 1)
                single_entry.append(entry)
            else:
                dense.append(token + " ")
                dense_entry.append(entry)
                dense_len.append(len(token) + 1)
    codes: list[np.ndarray] = [np.asarray(single_code, dtype=np.int64)]
    owners: list[np.ndarray] = [np.asarray(single_entry, dtype=np.int64)]
    if spaced:
        chars, owner = _code_points(spaced), _owners(spaced_entry, spaced_len)
        keep = np.flatnonzero(chars[1:-1] != _SPACE)
        codes.append((chars[keep] << 2 * _BITS) | (chars[keep + 1] << _BITS) | chars[keep + 2])
        owners.append(owner[keep])
    if dense:
        chars, owner = _code_points(dense), _owners(dense_entry, dense_len)
        keep = np.flatnonzero((chars[:-1] != _SPACE) & (chars[1:] != _SPACE))
        codes.append((chars[keep] << _BITS) | chars[keep + 1])
        owners.append(owner[keep])
    every = np.concatenate(codes)
    distinct = distinct_sorted(every)
    n_entries = max(len(texts), 1)
    pairs = distinct_sorted(np.searchsorted(distinct, every) * n_entries + np.concatenate(owners))
    vocab = {_decode(code): number for number, code in enumerate(distinct.tolist())}
    return FeaturePostings(vocab, (pairs // n_entries).astype(np.int32), (pairs % n_entries).astype(np.int32))
