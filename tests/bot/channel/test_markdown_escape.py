"""People's words as words: what escape_markdown leaves cannot render as markup, and reads as typed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channel.markdown_escape import escape_markdown
from tests.fuzz_budget import fuzz_settings


def unescaped(text: str) -> str:
    """What a CommonMark reader shows for ``text`` when every backslash escape is taken as the character."""
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


@pytest.mark.parametrize(("typed", "shown"), [
    ("**Anna (support):** hi", "\\*\\*Anna (support):\\*\\* hi"),
    ("[login](https://evil.example/x)", "\\[login\\](https://evil.example/x)"),
    ("![x](https://evil.example/p.png)", "!\\[x\\](https://evil.example/p.png)"),
    ("# Urgent\n## Also\n- item\n1. first\n> quote", "\\# Urgent\n\\## Also\n\\- item\n1\\. first\n\\> quote"),
    ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),  # a card renders no HTML
    ("__bold__ ~~gone~~ `code`", "\\_\\_bold\\_\\_ \\~\\~gone\\~\\~ \\`code\\`"),
    ("see https://learn.microsoft.com/a_b/c*d", "see https://learn.microsoft.com/a_b/c%2Ad"),
    ("Ett fel uppstod vid validering av åtkomsttoken", "Ett fel uppstod vid validering av åtkomsttoken"),
    ("驗證存取權杖時發生錯誤 (0x80070005)", "驗證存取權杖時發生錯誤 (0x80070005)"),
])
def test_card_text_is_escaped(typed: str, shown: str) -> None:
    assert escape_markdown(typed) == shown


def test_message_text_turns_html_into_entities() -> None:
    assert escape_markdown("<b>x</b> & y", html=True) == "&lt;b&gt;x&lt;/b&gt; &amp; y"


@given(st.lists(st.sampled_from([*"*_[]()!<>#-+.1 \n\\`~&ab:/", "https://e.x/", "**", "]("])).map("".join))
@fuzz_settings(0.3)
def test_nothing_escaped_renders_as_bold_link_image_heading_or_tag(text: str) -> None:
    shown = escape_markdown(text)
    assert not re.search(r"(?<!\\)\*\*|(?<!\\)\]\(", shown.replace("\\\\", ""))
    assert not re.search(r"^[ \t]*#{1,6}(?:[ \t]|$)", shown, re.MULTILINE)  # an ATX heading
    html = escape_markdown(text, html=True)
    assert "<" not in html and ">" not in html


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
@fuzz_settings(0.3)
def test_a_reader_sees_the_words_typed_outside_urls(text: str) -> None:
    if "http" not in text.lower():
        assert unescaped(escape_markdown(text)) == text
