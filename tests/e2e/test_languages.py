"""Languages beyond the knowledge base's: the bot's own words come from the user's catalog entry, and
cards in right-to-left languages are laid out right to left, through POST /api/messages."""

from __future__ import annotations

from typing import Any

from bot.strings import CATALOG
from tests.e2e.conftest import ConnectorStub, StartBot, teams_message
from tests.e2e.tickets_flow import USER_CONVERSATION, card_of, confirm_ticket, register, said, submits, to_conversation

AR = CATALOG["ar-SA"]
JA = CATALOG["ja-JP"]
UNKNOWN = "Printer tray 2 is jammed with paper again"
KNOWN = "There was an error validating access token"


def only_card(connector: ConnectorStub) -> dict[str, Any]:
    assert len(connector.received) == 1, connector.received
    card = card_of(connector.received[0])
    assert card is not None
    return card


def titles(card: dict[str, Any]) -> list[str]:
    return [a["title"] for a in card.get("actions", []) if a["type"] == "Action.Submit"]


async def test_an_arabic_client_gets_an_arabic_right_to_left_not_found_card(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, UNKNOWN, locale="ar-SA"))
    card = only_card(connector)
    assert card["rtl"] is True
    assert card["body"][0]["text"] == AR["not_found"]
    assert titles(card) == [AR["talk_to_person"]]


async def test_an_arabic_paste_the_kb_cannot_answer_is_answered_in_arabic_right_to_left(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "تعذر على الطابعة الاتصال بالخادم", client_locale="ar-EG"))
    card = only_card(connector)
    assert card["rtl"] is True
    assert card["body"][0]["text"] == AR["not_found"]


async def test_an_arabic_client_gets_arabic_buttons_on_an_english_article(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    """The article has no Arabic version: its text is English (left to right), the bot's words Arabic."""
    bot = await start_bot()
    await bot.post(teams_message(connector.url, KNOWN, locale="ar-SA"))
    card = only_card(connector)
    assert "rtl" not in card
    assert titles(card)[:3] == [AR["helped"], AR["not_helped"], AR["talk_to_person"]]
    assert card["body"][1]["text"] == "هذه المقالة غير متوفرة باللغة العربية، لذا نعرضها لك باللغة الإنجليزية."


async def test_a_japanese_client_gets_japanese_buttons_and_note(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, KNOWN, locale="ja-JP"))
    card = only_card(connector)
    assert "rtl" not in card
    assert titles(card)[:3] == ["役に立った", "役に立たなかった", "担当者と話す"]
    assert card["body"][1]["text"] == "この記事は日本語では提供されていないため、英語で表示しています。"
    language_picker = next(a for a in card["actions"] if a["type"] == "Action.ShowCard")
    assert language_picker["title"] == "ほかの言語"


async def test_an_arabic_request_for_a_person_in_words_opens_an_arabic_right_to_left_ticket(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await register(bot, connector)
    await bot.post(teams_message(connector.url, "اريد التحدث مع موظف من فضلك", locale="ar-SA"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None and confirm["rtl"] is True
    assert confirm["body"][0]["text"] == AR["confirm_escalation"]
    await confirm_ticket(bot, connector, submits(confirm)["escalate_confirm"], locale="ar-SA")
    notice = card_of(to_conversation(connector, USER_CONVERSATION)[-1])
    assert notice is not None and notice["rtl"] is True
    assert said(to_conversation(connector, USER_CONVERSATION)[-1]) == AR["ticket_created"].format(number="1")


async def test_a_thai_request_for_a_person_with_a_polite_ending_is_a_request(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await register(bot, connector)
    await bot.post(teams_message(connector.url, "ขอคุยกับเจ้าหน้าที่ครับ", locale="th-TH"))
    confirm = card_of(connector.received[-1])
    assert confirm is not None and "rtl" not in confirm
    assert confirm["body"][0]["text"] == CATALOG["th-TH"]["confirm_escalation"]
    assert titles(confirm) == [CATALOG["th-TH"]["send_to_support"], CATALOG["th-TH"]["cancel"]]
