"""People's words shown to other people as words: escaped for Teams markdown and HTML.

A user's question on the agents' card, a relayed line, an agent's name: whatever one person wrote must
not render, for the person reading it, as a link with a disguised target, an image, a heading, a list,
bold text that imitates the bot's own speaker lines, or HTML.

    escape_markdown("**Anna (support):** [login](https://evil.example)")
    # '\\*\\*Anna (support):\\*\\* \\[login\\](https://evil.example)'

Plain URLs stay as they are, so Teams can still link them: a plain URL shows its real target. Inside
them, only the characters that could end them early or open markup are percent-encoded. ``html=True``
(Teams message text, which renders some HTML) also turns ``&``, ``<`` and ``>`` into entities; Adaptive
Card text renders no HTML, so on cards they stay as typed.
"""

from __future__ import annotations

import re

__all__ = ["escape_markdown"]

_URL = re.compile(r"https?://[^\s<>\[\]()`\"']+", re.IGNORECASE)
_MARKUP = re.compile(r"([\\`*_~\[\]])")
_LINE_START = re.compile(r"^([ \t]*)(>|(?:[-+=]|#{1,6}|\d{1,9}[.)])(?=\s|$))", re.MULTILINE)
_URL_UNSAFE = {"*": "%2A", "~": "%7E", "\\": "%5C"}


def _escape_words(text: str, *, html: bool) -> str:
    text = _MARKUP.sub(r"\\\1", text)
    if html:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _escape_url(url: str) -> str:
    return "".join(_URL_UNSAFE.get(ch, ch) for ch in url)


def escape_markdown(text: str, *, html: bool = False) -> str:
    """``text`` as literal words for Teams: markdown (and with ``html``, HTML) cannot take effect."""
    parts: list[str] = []
    start = 0
    for url in _URL.finditer(text):
        parts.append(_escape_words(text[start:url.start()], html=html))
        parts.append(_escape_url(url.group()))
        start = url.end()
    parts.append(_escape_words(text[start:], html=html))
    # a list item, setext underline or numbered item at the start of a line: escape its marker
    return _LINE_START.sub(_escape_marker, "".join(parts))


def _escape_marker(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[-1] in ".)":  # "1." -> "1\.": CommonMark escapes the punctuation, not the digits
        return f"{indent}{marker[:-1]}\\{marker[-1]}"
    return f"{indent}\\{marker}"
