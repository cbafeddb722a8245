"""Parse one docfx article file: YAML front matter, span-format or plain body, heading, links."""

from __future__ import annotations

import html
import re
from typing import Any

import yaml

from knowledge.locales import canonical_locale
from knowledge.model import Article, ArticleParseError, EnglishSource

try:
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader

# A localized sentence and its English source: <span data-ttu-id="x">LOCAL</span>
# <span class="sxs-lookup"><span data-stu-id="x">ENGLISH</span></span>. Real files sometimes lose
# the final '>' of a closing tag, so it is optional.
_ENGLISH_SPAN = re.compile(
    r'<span class="sxs-lookup">\s*<span data-stu-id="[^"]*">(.*?)</span>?\s*</span>?', re.DOTALL
)
_LOCAL_SPAN = re.compile(r'<span data-ttu-id="[^"]*">(.*?)</span>?', re.DOTALL)
_ANCHOR = re.compile(r'<a\s+name\s*=\s*"([^"]*)"\s*>\s*</a>', re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>|</span\b")
_ATX_H1 = re.compile(r"^ {0,3}#(?!#)[ \t]*(.*?)[ \t#]*$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_QUOTED = re.compile(
    r'"([^"\n]{2,}?)"|“([^”\n]{2,}?)”|„([^“”\n]{2,}?)[“”]|«\s?([^»\n]{2,}?)\s?»|「([^」\n]{2,}?)」'
    r"|『([^』\n]{2,}?)』|‘([^’\n]{2,}?)’|‹([^›\n]{2,}?)›|＂([^＂\n]{2,}?)＂|(?<!\w)'([^'\n]{4,}?)'(?!\w)"
)
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# Front matter swallowed by a span: the keys of the YAML sit on one line inside the span.
_SWALLOWED_TITLE = re.compile(r'title:\s*"([^"]*)"|title:\s*(.*?)\s+(?:ms\.|author:|manager:|description:)')
_SWALLOWED_LOCALE = re.compile(r"ms\.contentlocale:\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)")
_LIST_ITEM = re.compile(r"^-\s*\"?([^\"\n]+?)\"?\s*$", re.MULTILINE)


def clean_id(stem: str) -> str:
    """An article id from a file stem: zero-width characters and surrounding blanks removed."""
    return _ZERO_WIDTH.sub("", stem).strip()


def _unwrap(text: str, *, english: bool) -> str:
    """The localized (or English source) text of span-format markup; plain text passes through."""
    if english:
        text = _LOCAL_SPAN.sub("", text)
        text = _ENGLISH_SPAN.sub(r"\1", text)
    else:
        text = _ENGLISH_SPAN.sub("", text)
        text = _LOCAL_SPAN.sub(r"\1", text)
    return text


def _plain(fragment: str) -> str:
    """Markup-free single-line text: anchors, tags and entities removed, blanks collapsed."""
    text = _TAG.sub("", _ANCHOR.sub("", fragment))
    return _SPACES.sub(" ", html.unescape(text).replace("\n", " ")).strip()


def _clean_body(markdown: str) -> str:
    """Markdown with leftover HTML tags and entities removed and blank runs tidied."""
    text = html.unescape(_TAG.sub("", markdown))
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def quoted_strings(heading: str) -> tuple[str, ...]:
    """The strings quoted in a heading, in any quote style, in order of appearance."""
    found: list[str] = []
    for m in _QUOTED.finditer(heading):
        value = next(g for g in m.groups() if g is not None).strip().rstrip(".")
        if value and value not in found:
            found.append(value)
    return tuple(found)


def _front_matter(text: str, path: str) -> tuple[dict[str, Any], str, int]:
    """``(fields, body, body_first_line)``; raises when there is no usable front matter."""
    if not text.startswith("---"):
        raise ArticleParseError(path, 1, "no front matter (the file must start with '---')")
    end = re.search(r"^---[ \t]*$", text[3:], re.MULTILINE)
    if end is None:
        raise ArticleParseError(path, 1, "front matter is not closed by a '---' line")
    raw = text[3:][: end.start()]
    body = text[3:][end.end():]
    body_line = 1 + text[: 3 + end.end()].count("\n") + 1
    if "<span" in raw:
        return _swallowed_front_matter(raw), body, body_line
    try:
        fields = yaml.load(raw, Loader=_YamlLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1  # raw starts on the file's first line
        reason = getattr(e, "problem", None) or str(e).split("\n")[0]
        raise ArticleParseError(path, line, f"broken YAML front matter: {reason}") from None
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise ArticleParseError(path, 2, "front matter is not a mapping of keys to values")
    return fields, body, body_line


def _swallowed_front_matter(raw: str) -> dict[str, Any]:
    """Recover the keys of a front matter that translation tooling wrapped in a span."""
    flat = _plain(_unwrap(raw, english=False))
    fields: dict[str, Any] = {}
    if m := _SWALLOWED_TITLE.search(flat):
        fields["title"] = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
    if m := _SWALLOWED_LOCALE.search(flat):
        fields["ms.contentlocale"] = m.group(1)
    items = _LIST_ITEM.findall(_TAG.sub("", _unwrap(raw, english=False)))
    if items:
        fields["ms.custom"] = items
    return fields


def _find_heading(lines: list[str]) -> tuple[int, int] | None:
    """``(first, last)`` line indexes of the H1 (ATX or setext), spanning lines if its markup does."""
    in_fence = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if _ATX_H1.match(line) and line.lstrip().startswith("#"):
            last = i
            # A heading whose span markup is not closed continues on the next line.
            while last + 1 < len(lines) and lines[last].count("<span") > lines[last].count("</span") \
                    and lines[last + 1].strip():
                last += 1
            return i, last
        setext = i + 1 < len(lines) and _SETEXT_H1.match(lines[i + 1])
        if line.strip() and setext and not line.startswith("-"):
            return i, i + 1
    return None


def _scalar_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if v is not None and str(v).strip())
    return (str(value).strip(),) if str(value).strip() else ()


def parse_article(
    text: str,
    *,
    path: str,
    kb_root: str,
    locale_hint: str | None = None,
    article_id: str | None = None,
) -> Article:
    """Parse one article file's text. ``ArticleParseError`` says what is wrong and where."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    fields, body, body_line = _front_matter(text, path)

    locale = None
    declared = fields.get("ms.contentlocale")
    if declared:
        locale = canonical_locale(str(declared))
        if locale is None and locale_hint is None:
            raise ArticleParseError(path, 1, f"unknown locale {declared!r} in ms.contentlocale")
    locale = locale or (canonical_locale(locale_hint) if locale_hint else None)
    if locale is None:
        raise ArticleParseError(path, 1, "unknown locale: no ms.contentlocale and no locale folder")

    lines = body.split("\n")
    found = _find_heading(lines)
    if found is None:
        raise ArticleParseError(path, body_line, "no heading (a '# ' H1 line)")
    first, last = found
    raw_heading = "\n".join(lines[first: last + 1])
    if _SETEXT_H1.match(lines[last]) and last != first:
        raw_heading = lines[first]
    else:
        raw_heading = re.sub(r"^\s*#\s*", "", raw_heading)
    anchor_match = _ANCHOR.search(raw_heading)
    anchor = anchor_match.group(1).strip() if anchor_match else None
    heading = _plain(_unwrap(raw_heading, english=False))
    raw_body = "\n".join(lines[last + 1:])
    local_body = _clean_body(_unwrap(raw_body, english=False))
    if not heading:
        raise ArticleParseError(path, body_line + first, "the H1 heading is empty")
    if not local_body:
        raise ArticleParseError(path, body_line + last + 1, "empty body: no text after the heading")

    english = None
    if "sxs-lookup" in raw_heading or "sxs-lookup" in raw_body:
        en_heading = _plain(_unwrap(raw_heading, english=True))
        english = EnglishSource(
            heading=en_heading,
            error_strings=quoted_strings(en_heading),
            body=_clean_body(_unwrap(raw_body, english=True)),
        )

    title = _plain(_unwrap(str(fields.get("title") or ""), english=False)) or heading
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return Article(
        id=article_id or anchor or clean_id(stem),
        locale=locale,
        path=path,
        kb_root=kb_root,
        title=title,
        heading=heading,
        anchor=anchor,
        error_strings=quoted_strings(heading),
        body=local_body,
        custom_ids=_scalar_list(fields.get("ms.custom")),
        english=english,
    )
