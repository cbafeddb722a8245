"""Cards are pure functions of data: checked against golden JSON, rendered for TextBlocks, within size.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/bot/test_cards.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import cards
from bot.strings import strings_for

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
LINK = "https://learn.microsoft.com/sv-se/azure/active-directory/conditional-access/plan-conditional-access"
SV_BODY = (
    "Det här felet observeras normalt när autentiseringstoken upphör att gälla. Vanligtvis uppdateras token "
    "när sidan uppdateras.\n\n"
    f"Mer information om villkorsstyrd åtkomst finns i [Planera villkorsstyrd åtkomstdistribution.]({LINK})"
)
SV_TITLE = 'Felet "Ett fel uppstod vid validering av åtkomsttoken" under registrering av Skrivbordsanalys'
SEED = "error-validating-access-token-during-onboarding"


def answer_sv() -> dict[str, Any]:
    strings = strings_for("sv-SE")
    return cards.answer_card(
        article_id=SEED, title=SV_TITLE, body=SV_BODY, locale="sv-SE",
        note=cards.answer_note(strings, "svenska", None), query="Ett fel uppstod vid validering av åtkomsttoken",
        strings=strings, languages=[("en", "English"), ("ko-KR", "한국어"), ("zh-TW", "中文 (台灣)")],
    )


def answer_en_for_korean_user() -> dict[str, Any]:
    strings = strings_for("ko-KR")
    return cards.answer_card(
        article_id="reset-mfa", title="Reset the MFA phone number for a user",
        body="## Steps\n\n1. Open the [admin center](/microsoft-365/admin/).\n2. Select **Reset MFA**.\n",
        locale="en", note=cards.answer_note(strings, "영어", "한국어"), query="reset mfa", strings=strings,
        languages=[],
    )


def suggest_ko() -> dict[str, Any]:
    choices = [cards.Choice("reset-mfa-phone", "사용자의 MFA 전화 번호 재설정"),
               cards.Choice("reset-mfa-app", "사용자의 MFA 인증 앱 재설정")]
    return cards.suggest_card(choices, query="MFA 재설정", strings=strings_for("ko-KR"))


def not_found_zh_tw() -> dict[str, Any]:
    return cards.not_found_card(query="印表機卡紙", strings=strings_for("zh-TW"))


def welcome_en() -> dict[str, Any]:
    return cards.welcome_card(strings=strings_for("en-US"))


def escalate_sv() -> dict[str, Any]:
    return cards.escalate_card(query="Ett fel uppstod", article_id=SEED, strings=strings_for("sv-SE"))


RUNNERS_UP = [cards.Choice("reset-mfa-phone", "Återställ MFA-telefonnumret för en användare"),
              cards.Choice("reset-mfa-app", "Återställ MFA-autentiseringsappen för en användare")]


def tentative_sv() -> dict[str, Any]:
    strings = strings_for("sv-SE")
    return cards.tentative_card(
        article_id=SEED, title=SV_TITLE, body=SV_BODY, locale="sv-SE",
        note=cards.answer_note(strings, "svenska", None), query="Fel vid validering av token",
        strings=strings, others=RUNNERS_UP,
    )


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "tentative-sv-SE": tentative_sv,
    "answer-sv-SE": answer_sv,
    "answer-en-fell-back-ko-KR": answer_en_for_korean_user,
    "suggest-ko-KR": suggest_ko,
    "not-found-zh-TW": not_found_zh_tw,
    "welcome-en-US": welcome_en,
    "escalate-sv-SE": escalate_sv,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_card_matches_its_golden_file(name: str) -> None:
    card = CASES[name]()
    path = GOLDEN / f"{name}.json"
    rendered = json.dumps(card, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if UPDATE:
        path.write_text(rendered, encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDEN=1 to create it"
    assert json.loads(path.read_text(encoding="utf-8")) == card


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_card_is_a_1_5_card_with_a_fallback_and_tagged_submits(name: str) -> None:
    card = CASES[name]()
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.5")
    assert card["fallbackText"].strip()
    for action in _all_actions(card):
        assert action["title"].strip()
        if action["type"] == "Action.Submit":
            assert action["data"][cards.ACTION_KEY] in {"helped", "not_helped", "escalate", "choose", "language"}
        if action["type"] == "Action.OpenUrl":
            assert action["url"].startswith("https://")


def _all_actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for action in card.get("actions", []):
        found.append(action)
        if action["type"] == "Action.ShowCard":
            found += _all_actions(action["card"])
    for block in card.get("body", []):
        if block["type"] == "ActionSet":
            found += _all_actions(block)
    return found


def test_tentative_card_asks_is_this_it_over_the_explanation_and_offers_the_runners_up() -> None:
    strings = strings_for("sv-SE")
    card = tentative_sv()
    texts = [block.get("text") for block in card["body"]]
    assert texts[:3] == ["Är det här det?", SV_TITLE, strings.text("answer_in", language="svenska")]
    assert texts[3].startswith("Det här felet observeras normalt") and "[Planera villkorsstyrd" in texts[3]
    assert texts[4] == strings.text("other_choices")
    (action_set,) = [block for block in card["body"] if block["type"] == "ActionSet"]
    assert [(a["title"], a["data"]) for a in action_set["actions"]] == [
        (c.title, {cards.ACTION_KEY: "choose", "article": c.article_id, "query": "Fel vid validering av token",
                   "locale": "sv-SE"}) for c in RUNNERS_UP]
    assert [(a["title"], a["data"][cards.ACTION_KEY], a["data"].get("article")) for a in card["actions"]] == [
        (strings.text("helped"), "helped", SEED), (strings.text("not_helped"), "not_helped", SEED),
        (strings.text("talk_to_person"), "escalate", SEED)]
    fallback = card["fallbackText"]
    assert fallback.startswith("**Är det här det?**") and SV_TITLE in fallback
    assert fallback.endswith("1. Återställ MFA-telefonnumret för en användare\n"
                             "2. Återställ MFA-autentiseringsappen för en användare")
    assert fallback == cards.tentative_markdown(title=SV_TITLE, body=SV_BODY, locale="sv-SE",
                                                note=strings.text("answer_in", language="svenska"),
                                                strings=strings, others=RUNNERS_UP)


def test_a_tentative_card_without_runners_up_has_no_empty_choice_row() -> None:
    strings = strings_for("en-US")
    card = cards.tentative_card(article_id="a", title="T", body="Text.", locale="en", note="n", query="q",
                                strings=strings, others=[])
    assert [block["type"] for block in card["body"]] == ["TextBlock"] * 4
    assert strings.text("other_choices") not in card["fallbackText"]


@pytest.mark.parametrize("paragraph", ["Lorem ipsum dolor sit amet. ", "這是一個很長的說明文字。", "مرحبا بالعالم "])
def test_a_huge_tentative_answer_fits_the_size_budget(paragraph: str) -> None:
    strings = strings_for("ar-SA")
    card = cards.tentative_card(article_id="a", title="T", body=paragraph * 5000, locale="ar-SA", note="n",
                                query="q" * 1000, strings=strings, others=RUNNERS_UP)
    assert cards.wire_size(card) <= cards.MAX_CARD_BYTES
    assert card.get("rtl") is True
    assert card["body"][4]["text"] == strings.text("truncated")


def test_answer_card_shows_title_language_text_link_button_and_actions() -> None:
    card = answer_sv()
    title, note, text = (block["text"] for block in card["body"])
    assert title == SV_TITLE
    assert note == "Svar på svenska"
    assert text.startswith("Det här felet")
    assert [a["type"] for a in card["actions"]] == ["Action.OpenUrl"] + ["Action.Submit"] * 3 + ["Action.ShowCard"]
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Planera villkorsstyrd åtkomstdistribution",
                                  "url": LINK}
    data = [a["data"] for a in card["actions"][1:4]]
    assert [d[cards.ACTION_KEY] for d in data] == ["helped", "not_helped", "escalate"]
    assert all(d["article"] == SEED and d["query"].startswith("Ett fel") for d in data)
    assert card["fallbackText"].startswith(f"**{SV_TITLE}**\n\n_Svar på svenska_\n\nDet här felet")


def test_language_picker_lists_the_other_versions_by_their_own_names() -> None:
    picker = answer_sv()["actions"][-1]
    assert picker["title"] == "Andra språk"
    (choice_set,) = picker["card"]["body"]
    assert choice_set["id"] == cards.LANGUAGE_INPUT
    assert [(c["title"], c["value"]) for c in choice_set["choices"]] == [
        ("English", "en"), ("한국어", "ko-KR"), ("中文 (台灣)", "zh-TW")]
    (show,) = picker["card"]["actions"]
    assert show["data"] == {cards.ACTION_KEY: "language", "article": SEED,
                            "query": "Ett fel uppstod vid validering av åtkomsttoken"}


def test_fell_back_note_and_buttons_are_in_the_users_language() -> None:
    card = answer_en_for_korean_user()
    assert card["body"][1]["text"] == "이 문서는 한국어(으)로 제공되지 않아 영어(으)로 표시합니다."
    assert [a["title"] for a in card["actions"] if a["type"] == "Action.Submit"] == [
        "도움이 되었습니다", "도움이 되지 않았습니다", "상담원과 대화"]
    assert not any(a["type"] == "Action.ShowCard" for a in card["actions"])
    assert card["actions"][0]["url"] == "https://learn.microsoft.com/en-us/microsoft-365/admin/"


# -- markdown for TextBlocks ----------------------------------------------------------------------


@pytest.mark.parametrize(("markdown", "expected"), [
    ("## Så här gör du\n\nText", "**Så här gör du**\n\nText"),
    ("Se bilden ![alt](media/x.png) här", "Se bilden  här"),
    ("[![logo](media/logo.png)](https://example.com)\nText", "Text"),
    ("I <https://compliance.microsoft.com> går du",
     "I [https://compliance.microsoft.com](https://compliance.microsoft.com) går du"),
    ("Rad ett<br/>rad två<BR>tre", "Rad ett\nrad två\ntre"),
    ("> [!NOTE]\n> Viktigt att veta.", "Viktigt att veta."),
    ("> [!VIDEO https://www.microsoft.com/videoplayer/embed/RE1?autoplay=false]",
     "[https://www.microsoft.com/videoplayer/embed/RE1?autoplay=false]"
     "(https://www.microsoft.com/videoplayer/embed/RE1?autoplay=false)"),
    ("Kör `Get-Mailbox -Identity <user>` nu", "Kör Get-Mailbox -Identity <user> nu"),
    ("PowerShell\n\n```\n    Set-Mailbox\n```\n\nKlart", "PowerShell\n\n    Set-Mailbox\n\nKlart"),
    ("|**Nyckel**|**Typ**|\n|:-----|:-----|\n|EnableADAL|REG_DWORD|", "**Nyckel** · **Typ**\nEnableADAL · REG_DWORD"),
    ("Se [Defender](/microsoft-365/security/defender-endpoint/x).",
     "Se [Defender](https://learn.microsoft.com/sv-se/microsoft-365/security/defender-endpoint/x)."),
    ("Se [nästa steg](../next.md) och [här](#steg).", "Se nästa steg och här."),
    ("Se [Experts]( https://learn.microsoft.com/sv-se/x).", "Se [Experts](https://learn.microsoft.com/sv-se/x)."),
    ("Gå till **[[Inställningar] > [Skärm]](ms-settings:display)**.", "Gå till **[Inställningar] > [Skärm]**."),
    ("Dialogen:\n\n![[Skriv ut] dialog](media/print.png)\n\nKlart", "Dialogen:\n\nKlart"),
    ("Rad  \nmed hårt radbrott\n\n\n\nStycke", "Rad\nmed hårt radbrott\n\nStycke"),
    ("1. Logga in på [portalen](https://portal.azure.com/).\n2. Välj **Fakturering**.",
     "1. Logga in på [portalen](https://portal.azure.com/).\n2. Välj **Fakturering**."),
])
def test_card_markdown_keeps_what_textblocks_render_and_rewrites_the_rest(markdown: str, expected: str) -> None:
    assert cards.card_markdown(markdown, "sv-SE") == expected


def test_cut_breaks_at_a_line_or_word_and_cuts_unspaced_text_too() -> None:
    assert cards.cut("short", 10) == ("short", False)
    assert cards.cut("first line is here\nsecond line is long", 25) == ("first line is here …", True)
    assert cards.cut("one two three four five six", 16) == ("one two three …", True)
    text, was_cut = cards.cut("驗證存取權杖時發生錯誤" * 100, 50)
    assert was_cut and len(text) <= 52 and text.endswith(" …")


def test_links_are_distinct_and_limited() -> None:
    markdown = "[a](https://x.test/1) [b](https://x.test/1) [c](https://x.test/2) [d](https://x.test/3)"
    assert cards.links(markdown) == [("a", "https://x.test/1"), ("c", "https://x.test/2")]
    assert cards.links("**[[Fakturering] > [Licenser]](https://admin.microsoft.com/x)**") == [
        ("[Fakturering] > [Licenser]", "https://admin.microsoft.com/x")]


def test_query_in_button_data_is_bounded() -> None:
    card = cards.not_found_card(query="x" * 10_000, strings=strings_for("en"))
    assert len(card["actions"][0]["data"]["query"]) == cards.MAX_QUERY_IN_DATA


# -- size -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("paragraph", ["very long explanation " * 40, "驗證存取權杖時發生錯誤，請重新整理頁面。" * 40,
                                       "액세스 토큰 유효성 검사 오류가 발생했습니다. " * 40])
def test_a_huge_article_in_any_script_fits_the_size_budget(paragraph: str) -> None:
    body = "\n\n".join(f"{i}. {paragraph}" for i in range(300))
    languages = [(f"xx-{i:02d}", f"Språk {i} 語言") for i in range(40)]
    strings = strings_for("zh-TW")
    card = cards.answer_card(article_id="huge", title="標題 " * 200, body=body, locale="zh-TW",
                             note=cards.answer_note(strings, "中文", None), query="驗證存取權杖" * 100_000,
                             strings=strings, languages=languages)
    assert cards.wire_size(card) <= cards.MAX_CARD_BYTES
    assert card["body"][-1]["text"] == strings.text("truncated")
    assert len(card["body"][2]["text"]) >= cards.MIN_BODY_CHARS
    assert len(card["body"][0]["text"]) <= cards.MAX_TITLE_CHARS


def test_a_short_article_is_shown_whole() -> None:
    card = answer_sv()
    assert cards.wire_size(card) < cards.MAX_CARD_BYTES
    assert strings_for("sv-SE").text("truncated") not in json.dumps(card, ensure_ascii=False)


def test_markdown_answer_for_channels_without_cards() -> None:
    strings = strings_for("sv-SE")
    markdown = cards.answer_markdown(title=SV_TITLE, body=SV_BODY, locale="sv-SE", note="Svar på svenska",
                                     strings=strings)
    assert markdown.startswith(f"**{SV_TITLE}**\n\n_Svar på svenska_\n\nDet här felet")
    assert LINK in markdown
    long = cards.answer_markdown(title="T", body="ord " * 5000, locale="sv-SE", note="n", strings=strings)
    assert long.endswith(f"_{strings.text('truncated')}_") and len(long) < cards.MAX_BODY_CHARS + 200


def _answer_in(locale: str) -> dict[str, Any]:
    strings = strings_for(locale)
    return cards.answer_card(article_id=SEED, title="title", body="body", locale=locale,
                             note=cards.answer_note(strings, "x", None), query="q", strings=strings, languages=[])


@pytest.mark.parametrize("locale", ["ar-SA", "he-IL", "ar", "iw"])
def test_an_answer_in_a_right_to_left_language_is_laid_out_right_to_left(locale: str) -> None:
    assert _answer_in(locale)["rtl"] is True


@pytest.mark.parametrize("locale", ["sv-SE", "ja-JP", "en", "ru-RU", "th-TH", "not a locale"])
def test_left_to_right_answers_do_not_carry_rtl(locale: str) -> None:
    assert "rtl" not in _answer_in(locale)


def test_an_english_article_for_an_arabic_user_is_laid_out_left_to_right() -> None:
    """The answer card follows the article's language; the buttons are Arabic, the text is English."""
    strings = strings_for("ar-SA")
    card = cards.answer_card(article_id=SEED, title="t", body="b", locale="en", note="n", query="q",
                             strings=strings, languages=[])
    assert "rtl" not in card
    assert [a["title"] for a in card["actions"]] == [strings.text("helped"), strings.text("not_helped"),
                                                     strings.text("talk_to_person")]


@pytest.mark.parametrize("locale", ["ar-SA", "he-IL"])
def test_the_other_cards_in_a_right_to_left_language_are_laid_out_right_to_left(locale: str) -> None:
    strings = strings_for(locale)
    made = [
        cards.suggest_card([cards.Choice("a", "A")], query="q", strings=strings),
        cards.not_found_card(query="q", strings=strings),
        cards.welcome_card(strings=strings),
        cards.escalate_card(query="q", article_id=None, strings=strings),
    ]
    assert [card.get("rtl") for card in made] == [True, True, True, True]
    assert made[1]["body"][0]["text"] == strings.text("not_found")


@pytest.mark.parametrize("locale", ["en-US", "ja-JP", "ko-KR", "el-GR", "hi-IN"])
def test_the_other_left_to_right_cards_do_not_carry_rtl(locale: str) -> None:
    strings = strings_for(locale)
    assert "rtl" not in cards.suggest_card([cards.Choice("a", "A")], query="q", strings=strings)
    assert "rtl" not in cards.not_found_card(query="q", strings=strings)
    assert "rtl" not in cards.welcome_card(strings=strings)
