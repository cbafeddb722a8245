"""Parse one docfx article file: YAML front matter, span-format or plain body, heading, links.

Two formats occur in Microsoft's localized docs:

* span format ("sxs"): every sentence is ``<span data-ttu-id="x">LOCALIZED</span>`` followed by
  ``<span class="sxs-lookup"><span data-stu-id="x">ENGLISH</span></span>``; one file yields the
  localized article and its English source (``Article.english``);
* plain format: localized markdown only (``Article.english`` is ``None``).
"""

from __future__ import annotations

import html
import re
from typing import Any

import yaml

from knowledge.locales import canonical_locale
from knowledge.model import Article, ArticleParseError, EnglishSource, pack

__all__ = ["article_id_from_stem", "extra_headings", "parse_article", "quoted_strings"]

try:
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader

# --- span format -------------------------------------------------------------------------------------
# Real files sometimes lose the final '>' of a closing tag, so it is optional.
# A span's text runs to the closing tags that end the pair: a stray </span> inside stays text.
_ENGLISH_SPAN = re.compile(
    r'<span class="sxs-lookup">\s*<span data-stu-id="[^"]*">'
    r"[^<]*(?:<(?!/span>?\s*</span)[^<]*)*</span>?\s*</span>?"
)
_LOCAL_SPAN = re.compile(
    r'<span data-ttu-id="[^"]*">'
    r'[^<]*(?:<(?!/span>?\s*<span class="sxs-lookup">|span data-ttu-id=)[^<]*)*</span>?'
)
_SPAN_TAG = re.compile(r"<span\b[^<>]*>|</span>?")

# --- markup ------------------------------------------------------------------------------------------
_ANCHOR = re.compile(r'<a\s+name\s*=\s*"([^"]*)"\s*>\s*</a>', re.IGNORECASE)
_HTML_LINK = re.compile(r'<a\s[^<>]*?href\s*=\s*["\']([^"\']*)["\'][^<>]*>(.*?)</a\s*>', re.IGNORECASE | re.DOTALL)
_LINE_BREAK = re.compile(r"</?br\s*/?>", re.IGNORECASE)
# Only HTML elements are markup: <user>, <GUID> and <https://...> are placeholders and autolinks.
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|br|blockquote|caption|center|code|col|colgroup|dd|del|div|dl|dt|em|font|h[1-6]|hr|i"
    r"|iframe|img|ins|kbd|li|mark|nobr|ol|p|pre|s|section|small|span|strong|sub|sup|table|tbody|td|th"
    r"|thead|tr|tt|u|ul|video|wbr)\b[^<>]*>|</span\b",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")

# --- headings ----------------------------------------------------------------------------------------
_ATX_H1 = re.compile(r" {0,3}#(?!#)[ \t]*(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_H1 = re.compile(r" {0,3}=+[ \t]*$")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_H1_CANDIDATE = re.compile(r"^ {0,3}(?:#(?!#)|=+[ \t]*\r?$)", re.MULTILINE)
"""A line that may be (or underline) an H1; ``extra_headings`` looks closer only when two lines are."""

# Quoted text, any quote style: "…" “…” ”…” „…“ ,,…" ＂…＂ 〝…〞 «…» »…« »…» ‹…› ›…‹ 「…」 『…』 ‘…’ ‚…‘ '…'.
# A straight single quote opens only after a non-letter and closes only before one, and may enclose
# apostrophes (don't, GUID'si), so that elisions (l'invio, SharePoint'de) are not quotes.
_QUOTED = re.compile(
    r'(?:[“”„"＂〝]|,,)([^“”„"＂〝〞〟\n]{2,}?)[“”"＂〞〟]'
    r"|[«»]\s?([^«»\n]{2,}?)\s?[«»]"
    r"|[‹›]\s?([^‹›\n]{2,}?)\s?[‹›]"
    r"|「([^」\n]{2,}?)」"
    r"|『([^』\n]{2,}?)』"
    r"|[‘‚]([^‘’‚\n]{2,}?)[’‘”]"
    r"|(?<!\w)'((?:[^'\n]|(?<=\w)'(?=\w)){4,}?)'(?!\w)"
)
_QUOTE_TRIM = " \t.。．,，:：;；!！?？"

# --- front matter ------------------------------------------------------------------------------------
_CLOSING_FENCE = re.compile(r"\n(?:---|\.\.\.)[ \t]*(?=\n|\Z)")  # a literal first character is found fast
# Front matter made only of `key: value` lines and `- item` lists below a bare `key:` is read by
# these expressions (one match validates it all); anything else goes to the YAML parser.
_FM_SCALAR = r"""(?:"[^"\\\n]*"|'[^'\n]*'|[^\s\-?:,\[\]{}#&*!|>'"%@`][^:#\n]*(?:(?::(?=[^ \n])|(?<! )#)[^:#\n]*)*)"""
_FM_KEY = r"[A-Za-z_][\w.\-]*"
_SIMPLE_FRONT_MATTER = re.compile(
    rf"(?:[ ]*\n|{_FM_KEY}:[ ]*\n(?:(?:[ ]*\n)*-[ ]+{_FM_SCALAR}[ ]*\n)*|{_FM_KEY}:[ ]+{_FM_SCALAR}[ ]*\n)*"
)
_FM_USED_FIELD = re.compile(  # searched in "\n" + raw: a literal first character is found fast
    r"\n(title|ms\.contentlocale|ms\.custom):(?:[ ]+(.*?))?[ ]*(?=\n)((?:\n[ ]*(?=\n)|\n-[ ]+.*(?=\n))*)"
)
_FM_ITEM = re.compile(r"^-[ ]+(.*?)[ ]*$", re.MULTILINE)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# Front matter swallowed by a span: its keys sit on one line inside the span.
# Translation may have translated the first key ("rubrik:", "title："), so the title is the text after
# the first colon up to the next key.
_SWALLOWED_TITLE = re.compile(r"\s*[^\s:：]+\s*[:：]\s*(.+?)\s+(?:ms\.|author\b|manager\b|description\b)")
_TITLE_QUOTES = " \"'「」『』“”„«»。."
_SWALLOWED_LOCALE = re.compile(r"ms\.contentlocale:\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)")
_LIST_ITEM = re.compile(r"^-\s*[\"']?([^\"'\n]+?)[\"']?\s*$", re.MULTILINE)


def article_id_from_stem(stem: str) -> str:
    """An article id from a file stem: zero-width characters, blanks and leading dots removed.

    ``restore-an-office-365-group-using-eac\\u200b\\u200b`` → ``restore-an-office-365-group-using-eac``;
    ``.uk-domain-transfers`` → ``uk-domain-transfers`` (the later name of the same article).
    """
    return _ZERO_WIDTH.sub("", stem).strip().lstrip(".").strip()


def _unwrap(text: str, *, english: bool) -> str:
    """The localized (or English source) text of span-format markup; plain text passes through."""
    if "<span" not in text:
        return text
    if english:
        return _SPAN_TAG.sub("", _LOCAL_SPAN.sub("", text))
    return _SPAN_TAG.sub("", _ENGLISH_SPAN.sub("", text))


def _strip_html(text: str) -> str:
    """HTML links as markdown links, line breaks as blanks, other HTML elements removed."""
    if "<" not in text:
        return text
    if "href" in text:
        text = _HTML_LINK.sub(lambda m: f"[{m.group(2).strip()}]({m.group(1).strip()})", text)
    if "<br" in text or "</br" in text or "<BR" in text:  # other spellings go with the tags below
        text = _LINE_BREAK.sub(" ", text)
    return _HTML_TAG.sub("", text)


def _plain(fragment: str) -> str:
    """Markup-free single-line text: anchors, tags and entities removed, blanks collapsed."""
    text = _strip_html(fragment)
    if "&" in text:
        text = html.unescape(text)
    return _SPACES.sub(" ", _ZERO_WIDTH.sub("", text.replace("\n", " "))).strip()


def _clean_body(markdown: str) -> str:
    """Markdown with HTML elements and entities removed and blank runs tidied; links are kept."""
    text = _strip_html(markdown)
    if "&" in text:
        text = html.unescape(text)
    text = "\n".join(map(str.rstrip, text.replace("\u00a0", " ").split("\n")))
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def quoted_strings(heading: str) -> tuple[str, ...]:
    """The strings quoted in a heading, in any quote style, in order of appearance, without duplicates.

    ``在桌面分析上架時發生「驗證存取權杖時發生錯誤」錯誤`` → ``("驗證存取權杖時發生錯誤",)``.
    """
    found: list[str] = []
    for m in _QUOTED.finditer(heading):
        value = next(g for g in m.groups() if g is not None).strip(_QUOTE_TRIM)
        if len(value) >= 2 and value not in found:
            found.append(value)
    return tuple(found)


# --- front matter ------------------------------------------------------------------------------------


def _simple_scalar(value: str | None) -> str | None:
    """The string a scalar of the simple front matter stands for (quotes removed, nulls ``None``)."""
    if value is None or value in _NULLS:
        return None
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _simple_front_matter(raw: str) -> dict[str, Any] | None:
    """``title``, ``ms.contentlocale`` and ``ms.custom`` of a simple front matter; ``None`` if not simple.

    Gives what YAML gives for them (as strings). ``raw`` ends with a newline.
    """
    if not _SIMPLE_FRONT_MATTER.fullmatch(raw):
        return None
    fields: dict[str, Any] = {}
    for m in _FM_USED_FIELD.finditer("\n" + raw):
        key, scalar, items = m.groups()
        if not scalar and items.strip():  # "key: " then items is the list, as in YAML
            fields[key] = [_simple_scalar(item) for item in _FM_ITEM.findall(items)]
        else:
            fields[key] = _simple_scalar(scalar)
    return fields


def _yaml_problem(error: yaml.MarkedYAMLError, raw: str, first_line: int) -> tuple[int, str]:
    """``(file line, reason)`` of a YAML error: where the parser stopped, or, when it ran off the end
    (an unclosed quote or bracket), where the unfinished construct began."""
    problem, problem_mark = error.problem or "unreadable", error.problem_mark
    context, context_mark = error.context, error.context_mark
    mark = problem_mark
    if context_mark is not None and (mark is None or mark.index >= len(raw.rstrip())):
        mark = context_mark
    line = first_line + mark.line if mark is not None else first_line
    reason = f"broken YAML front matter: {problem}"
    if context and context_mark is not None and mark is not context_mark:
        reason += f" ({context} from line {first_line + context_mark.line})"
    elif context:
        reason += f" ({context})"
    return line, reason


def _front_matter_fields(raw: str, *, path: str, first_line: int) -> dict[str, Any]:
    """The fields of a YAML front matter (the text between the ``---`` lines); at least those used.

    ``first_line`` is the file line ``raw`` starts on, for error positions. Raises
    ``ArticleParseError`` when the YAML is broken or not a mapping.
    """
    simple = _simple_front_matter(raw)
    if simple is not None:
        return simple
    try:
        fields = yaml.load(raw, Loader=_YamlLoader)
    except yaml.MarkedYAMLError as e:
        raise ArticleParseError(path, *_yaml_problem(e, raw, first_line)) from None
    except yaml.YAMLError as e:  # not tied to a position
        raise ArticleParseError(path, first_line, f"broken YAML front matter: {e}") from None
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise ArticleParseError(path, first_line, "front matter is not a mapping of keys to values")
    return fields


def _split_front_matter(text: str, path: str) -> tuple[dict[str, Any], str, int]:
    """``(fields, body, body_first_line)``; raises when there is no usable front matter."""
    first_end = text.find("\n")
    first = text if first_end < 0 else text[:first_end]
    if first.rstrip(" \t") != "---":
        raise ArticleParseError(path, 1, "no front matter (the file must start with a '---' line)")
    end = _CLOSING_FENCE.search(text, first_end) if first_end >= 0 else None
    if end is None:
        raise ArticleParseError(path, 1, "front matter is not closed by a '---' line")
    raw = text[first_end + 1: end.start() + 1]
    body = text[end.end() + 1:]
    body_line = text.count("\n", 0, end.end()) + 2
    if "<span" in raw:
        return _swallowed_front_matter(raw), body, body_line
    # raw starts on line 2 of the file; YAML counts lines from 0.
    return _front_matter_fields(raw, path=path, first_line=2), body, body_line


def _swallowed_front_matter(raw: str) -> dict[str, Any]:
    """Recover the keys of a front matter that translation tooling wrapped in a span.

    The title is kept only where it was translated: an untranslated one is the English title,
    and the localized heading is the better title then.
    """
    local = _plain(_unwrap(raw, english=False))
    english = _plain(_unwrap(raw, english=True))
    fields: dict[str, Any] = {}
    local_title = _SWALLOWED_TITLE.match(local)
    english_title = _SWALLOWED_TITLE.match(english)
    if local_title:
        title = local_title.group(1).strip(_TITLE_QUOTES)
        if english_title is None or english_title.group(1).strip(_TITLE_QUOTES) != title:
            fields["title"] = title
    if m := _SWALLOWED_LOCALE.search(local):
        fields["ms.contentlocale"] = m.group(1)
    items = _LIST_ITEM.findall(_HTML_TAG.sub("", _unwrap(raw, english=False)))
    if items:
        fields["ms.custom"] = items
    return fields


# --- heading and body --------------------------------------------------------------------------------


def _find_heading(lines: list[str]) -> tuple[int, int, str] | None:
    """``(first, last, raw text)`` of the H1: ATX (``# Title``) or setext (a paragraph over ``===``).

    The heading spans several lines when its span markup is left open at the line end, when
    the ``#`` line holds only the anchor and the text follows on the next line, or when a setext
    heading's paragraph has several lines. Fenced code (closed only by a fence of the same
    character, at least as long) and HTML comments (``<!--`` to ``-->``) are skipped.
    """
    fence = ""
    in_comment = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if fence:
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence) \
                    and not line[closing.end():].strip():
                fence = ""
            i += 1
            continue
        if in_comment:
            in_comment = "-->" not in line
            i += 1
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
            i += 1
            continue
        if "<!--" in line and "-->" not in line[line.rindex("<!--"):]:
            in_comment = True
            i += 1
            continue
        if not line.strip():
            i += 1
            continue
        atx = _ATX_H1.match(line) if "#" in line[:4] else None
        if atx:
            raw, last = atx.group(1), i
            while last + 1 < len(lines) and lines[last + 1].strip() and (
                raw.count("<span") > raw.count("</span") or not _plain(_unwrap(raw, english=False))
            ):
                last += 1
                raw += "\n" + lines[last]
            return i, last, raw
        if line.lstrip().startswith(("-", "|")):
            i += 1
            continue
        end = i  # the paragraph's last line: a setext underline after it makes the paragraph the heading
        while end + 1 < len(lines) and _continues_paragraph(lines[end + 1]):
            end += 1
        if end + 1 < len(lines) and _SETEXT_H1.match(lines[end + 1]):
            return i, end + 1, " ".join(part.strip() for part in lines[i: end + 1])
        i = end + 1
    return None


def extra_headings(text: str) -> list[int]:
    """The 1-based lines of the H1 headings after the first in an article file's text (below its front matter).

    An article has one; ``kb check`` warns about more (two articles in one file, or a ``#`` meant as ``##``):
    only the first is the article's heading, the rest reads as body text.
    """
    if len(_H1_CANDIDATE.findall(text, 0)) < 2:  # one line that could be an H1 at most: the usual case, fast
        return []
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    body, body_line = text, 1
    first_end = text.find("\n")
    if first_end >= 0 and text[:first_end].rstrip(" \t") == "---":
        end = _CLOSING_FENCE.search(text, first_end)
        if end is not None:
            body, body_line = text[end.end() + 1:], text.count("\n", 0, end.end()) + 2
    lines = body.split("\n")
    found: list[int] = []
    start = 0
    while (heading := _find_heading(lines[start:])) is not None:
        first, last, _ = heading
        found.append(body_line + start + first)
        start += last + 1
    return found[1:]


def _continues_paragraph(line: str) -> bool:
    """Whether a line goes on with the paragraph above it (not blank, not a heading, fence or rule)."""
    if not line.strip() or _SETEXT_H1.match(line) or _FENCE.match(line) or "<!--" in line:
        return False
    return not ("#" in line[:4] and _ATX_H1.match(line))


def _as_strings(value: Any) -> tuple[str, ...]:
    """A front-matter scalar or list as a tuple of non-empty strings."""
    if value is None:
        return ()
    values = value if isinstance(value, list | tuple) else [value]
    return tuple(s for v in values if v is not None and (s := str(v).strip()))


def _locale(fields: dict[str, Any], locale_hint: str | None, path: str) -> str:
    declared = fields.get("ms.contentlocale")
    if declared:
        locale = canonical_locale(str(declared))
        if locale is not None:
            return locale
        if locale_hint is None:
            raise ArticleParseError(path, 1, f"unknown locale {str(declared)!r} in ms.contentlocale")
    hinted = canonical_locale(locale_hint) if locale_hint else None
    if hinted is None:
        raise ArticleParseError(path, 1, "unknown locale: no ms.contentlocale and no locale folder")
    return hinted


def parse_article(
    text: str,
    *,
    path: str,
    kb_root: str,
    locale_hint: str | None = None,
    article_id: str | None = None,
    english_sources: dict[tuple[str, str], EnglishSource] | None = None,
) -> Article:
    """Parse one article file's text; ``ArticleParseError(path, line, reason)`` says what is wrong.

    ``locale_hint`` (a folder's locale) is used when the front matter has no valid
    ``ms.contentlocale``; ``article_id`` defaults to the heading anchor, else the file stem.
    ``english_sources``, one dict passed for many files, lets the span files of one article share one
    ``EnglishSource``: every locale's file carries the same English text, cleaned and packed only once.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    fields, body, body_line = _split_front_matter(text, path)
    locale = _locale(fields, locale_hint, path)

    lines = body.split("\n")
    found = _find_heading(lines)
    if found is None:
        raise ArticleParseError(path, body_line, "no heading (a '# ' H1 line)")
    first, last, raw_heading = found
    heading = _plain(_unwrap(raw_heading, english=False))
    if not heading:
        raise ArticleParseError(path, body_line + first, "the H1 heading is empty")
    raw_body = "\n".join(lines[last + 1:])
    local_body = _clean_body(_unwrap(raw_body, english=False))
    if not local_body:
        raise ArticleParseError(path, body_line + last + 1, "empty body: no text after the heading")
    anchor_match = _ANCHOR.search(raw_heading)
    anchor = (anchor_match.group(1).strip() or None) if anchor_match else None

    english = None
    if "sxs-lookup" in raw_heading or "sxs-lookup" in raw_body:
        key = (_unwrap(raw_heading, english=True), _unwrap(raw_body, english=True))
        english = english_sources.get(key) if english_sources is not None else None
        if english is None:
            en_heading = _plain(key[0])
            english = EnglishSource(
                heading=en_heading,
                error_strings=quoted_strings(en_heading),
                packed_body=pack(_clean_body(key[1])),
            )
            if english_sources is not None:
                english_sources[key] = english

    title = _plain(_unwrap(str(fields.get("title") or ""), english=False)) or heading
    if article_id is None:
        stem = path.rsplit("/", 1)[-1]
        stem = stem[:-3] if stem.lower().endswith(".md") else stem
        article_id = anchor or article_id_from_stem(stem)
    return Article(
        id=article_id,
        locale=locale,
        path=path,
        kb_root=kb_root,
        title=title,
        heading=heading,
        anchor=anchor,
        error_strings=quoted_strings(heading),
        packed_body=pack(local_body),
        custom_ids=_as_strings(fields.get("ms.custom")),
        english=english,
    )
