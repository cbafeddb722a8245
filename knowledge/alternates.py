"""Other texts that should find an article: what a product's UI says where the docs' translation says
something else, or the wording of an older translation.

A KB folder may hold ``alternate-texts.yaml`` at its root, locale → article id → texts::

    sv-SE:
      increase-mailbox-size:
        - Växla planer för att öka storleken på postlådan
    en-US:
      increase-mailbox-size: Switch plans to increase mailbox size

Each text is matched like the article's own heading in that locale. Any folder's file may name
any loaded article, so a company's folder can add its portal's wording to Microsoft's articles
without editing them. A bad entry is a problem (path, line, reason) and is left out; the rest load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.locales import canonical_locale
from knowledge.model import ArticleProblem

__all__ = ["ALTERNATES_FILE", "MAX_ALTERNATE_CHARS", "AlternateText", "read_alternates"]

ALTERNATES_FILE = "alternate-texts.yaml"
MAX_ALTERNATE_CHARS = 500
"""Longer texts are not error messages: the entry is reported and left out."""
MAX_ALTERNATES_BYTES = 5_000_000
"""A bigger file is reported and not read."""


@dataclass(frozen=True, slots=True)
class AlternateText:
    """One more text for one article in one locale, and where it was written (``path:line``)."""

    article_id: str
    locale: str
    text: str
    path: str
    line: int


_NULL = "tag:yaml.org,2002:null"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML has it: a big file reads about ten times faster."""


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _texts(node: yaml.Node) -> list[yaml.ScalarNode] | None:
    """The scalars of a text or a list of texts; ``None`` when it is neither."""
    if isinstance(node, yaml.ScalarNode):
        return [node]
    if isinstance(node, yaml.SequenceNode) and all(isinstance(n, yaml.ScalarNode) for n in node.value):
        return list(node.value)
    return None


def read_alternates(root: Path) -> tuple[list[AlternateText], list[ArticleProblem]]:
    """The alternate texts of one KB folder (none when it has no file), and what is wrong with the file.

    Article ids are not checked here: the caller knows which articles were loaded.
    """
    path = root / ALTERNATES_FILE
    where = str(path)
    try:
        if not path.is_file():
            return [], []
        if path.stat().st_size > MAX_ALTERNATES_BYTES:
            reason = f"alternate texts: file over {MAX_ALTERNATES_BYTES} bytes, not read"
            return [], [ArticleProblem(where, 1, reason)]
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        return [], [ArticleProblem(where, 1, f"alternate texts: unreadable: {e.strerror}")]
    except UnicodeDecodeError as e:
        return [], [ArticleProblem(where, 1, f"alternate texts: not UTF-8 text ({e.reason} at byte {e.start})")]
    try:
        document = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [], [ArticleProblem(where, line, f"alternate texts: broken YAML: {getattr(e, 'problem', None) or e}")]
    if document is None:
        return [], []
    if not isinstance(document, yaml.MappingNode):
        return [], [ArticleProblem(where, _line(document), "alternate texts: expected locale: article id: texts")]
    found: list[AlternateText] = []
    problems: list[ArticleProblem] = []
    for locale_node, articles_node in document.value:
        locale = canonical_locale(str(locale_node.value)) if isinstance(locale_node, yaml.ScalarNode) else None
        if locale is None:
            reason = f"alternate texts: unknown locale {locale_node.value!r}"
            problems.append(ArticleProblem(where, _line(locale_node), reason))
            continue
        if not isinstance(articles_node, yaml.MappingNode):
            reason = f"alternate texts: {locale}: expected article id: texts"
            problems.append(ArticleProblem(where, _line(articles_node), reason))
            continue
        for id_node, texts_node in articles_node.value:
            article_id = str(id_node.value).strip() if isinstance(id_node, yaml.ScalarNode) else ""
            scalars = _texts(texts_node)
            if not article_id or scalars is None:
                reason = f"alternate texts: {locale}: expected article id: texts"
                problems.append(ArticleProblem(where, _line(id_node), reason))
                continue
            for scalar in scalars:
                value = "" if scalar.tag == _NULL else str(scalar.value).strip()
                if not value:
                    problems.append(ArticleProblem(where, _line(scalar), f"alternate texts: {article_id}: empty text"))
                elif len(value) > MAX_ALTERNATE_CHARS:
                    reason = f"alternate texts: {article_id}: text over {MAX_ALTERNATE_CHARS} characters"
                    problems.append(ArticleProblem(where, _line(scalar), reason))
                else:
                    found.append(AlternateText(article_id, locale, value, where, _line(scalar)))
    return found, problems
