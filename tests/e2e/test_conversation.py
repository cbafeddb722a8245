"""Conversations through POST /api/messages, replies captured at the connector stub."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.feedback.events import hash_user_id
from tests.e2e.conftest import BOT_ID, BOT_NAME, ConnectorStub, StartBot, teams_message, write_mfa_kb

SEED = "error-validating-access-token-during-onboarding"
LINK = "azure/active-directory/conditional-access/plan-conditional-access"
REPO = Path(__file__).resolve().parents[2]


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def only_card(connector: ConnectorStub) -> dict[str, Any]:
    cards = connector.cards()
    assert len(connector.received) == 1, connector.received
    assert len(cards) == 1
    return cards[0]


def submit_actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in card.get("actions", []) if a["type"] == "Action.Submit"]


async def test_health_reports_articles_and_locales(start_bot: StartBot) -> None:
    bot = await start_bot()
    async with bot.session.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body == {"status": "ok", "articles": 1, "locales": ["ko-KR", "sv-SE", "zh-TW"], "alternate_texts": 0,
                    "bad_files": 0, "bad_alternate_texts": 0}


async def test_chinese_paste_in_personal_chat_answers_in_chinese(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    status = await bot.post(teams_message(connector.url, "錯誤：「驗證存取權杖時發生錯誤」", locale="zh-TW"))
    assert status in (200, 201)
    card = only_card(connector)
    assert card["version"] == "1.5"
    assert card["body"][0]["text"] == "在桌面分析上架時發生「驗證存取權杖時發生錯誤」錯誤"
    urls = [a["url"] for a in card["actions"] if a["type"] == "Action.OpenUrl"]
    assert urls == [f"https://learn.microsoft.com/zh-tw/{LINK}"]
    titles = [a["title"] for a in submit_actions(card)]
    assert titles == ["這有幫助", "這沒有幫助", "與專人對談"]
    assert "docs.microsoft.com" not in card_text(card)


async def test_swedish_paste_with_mention_and_english_client_answers_in_swedish(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken", mention=True,
                                 client_locale="en-US"))
    card = only_card(connector)
    assert card["body"][0]["text"].startswith("Felet \"Ett fel uppstod vid validering av åtkomsttoken\"")
    assert f"https://learn.microsoft.com/sv-se/{LINK}" in card_text(card)
    assert "Svar på svenska" in card["body"][1]["text"]


async def test_decomposed_hangul_paste_answers_in_korean(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    text = unicodedata.normalize("NFD", "액세스 토큰 유효성 검사 오류")
    await bot.post(teams_message(connector.url, text, locale="en-US"))
    card = only_card(connector)
    assert "액세스 토큰 유효성 검사 오류가 발생했습니다" in card["body"][0]["text"]
    assert f"https://learn.microsoft.com/ko-kr/{LINK}" in card_text(card)


async def test_english_paste_answers_in_the_client_locale(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "There was an error validating access token",
                                 client_locale="ko-KR"))
    card = only_card(connector)
    assert "액세스 토큰" in card["body"][0]["text"]
    assert f"https://learn.microsoft.com/ko-kr/{LINK}" in card_text(card)


async def test_english_paste_with_a_locale_the_article_lacks_falls_back_to_english_and_says_so(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "There was an error validating access token", locale="vi-VN"))
    card = only_card(connector)
    heading = "\"There was an error validating access token\" error during Desktop Analytics onboarding"
    assert card["body"][0]["text"] == heading
    assert "isn't available in Vietnamese" in card["body"][1]["text"]
    assert f"https://learn.microsoft.com/en-us/{LINK}" in card_text(card)


async def test_channel_html_paste_is_answered_in_the_thread(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    html = (f"<div><at>{BOT_NAME}</at> &quot;Ett fel uppstod vid validering av åtkomsttoken&quot;<br>"
            "Correlation ID: 5d0c1c9e-2b7e-4a39-9d39-8c3e8c1b7a11</div>")
    activity = teams_message(connector.url, "Ett fel uppstod vid", channel=True, mention=True, html=html)
    await bot.post(activity)
    card = only_card(connector)
    assert "Skrivbordsanalys" in card["body"][0]["text"]
    reply = connector.received[0]
    assert reply["conversation"]["id"] == "19:general@thread.tacv2;messageid=1700000000000"
    assert reply["replyToId"] == activity["id"]
    assert connector.paths[0].endswith(f"/activities/{activity['id']}")


async def test_suggest_then_choose_answers_the_chosen_article(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    bot = await start_bot(kb=(str(write_mfa_kb(tmp_path)),))
    await bot.post(teams_message(connector.url, "Reset the MFA", locale="en-US"))
    card = only_card(connector)
    assert card["body"][0]["text"] == "Did you mean one of these?"
    choices = [a for a in submit_actions(card) if a["data"]["insightDesk"] == "choose"]
    assert {c["data"]["article"] for c in choices} == {"reset-mfa-phone", "reset-mfa-app"}
    chosen = next(c for c in choices if c["data"]["article"] == "reset-mfa-app")
    connector.received.clear()
    await bot.post(teams_message(connector.url, locale="en-US", value=chosen["data"]))
    answer = only_card(connector)
    assert answer["body"][0]["text"] == "Reset the MFA authenticator app for a user"
    assert "Steps for reset-mfa-app." in card_text(answer)


async def test_unknown_error_says_so_offers_a_person_and_is_reported(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "Printer tray 2 is jammed with paper again", locale="sv-SE"))
    card = only_card(connector)
    assert card["body"][0]["text"].startswith("Jag hittade ingen artikel")
    assert [a["data"]["insightDesk"] for a in submit_actions(card)] == ["escalate"]
    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute("SELECT kind, query FROM feedback").fetchall()
    assert rows == [("unanswered", "Printer tray 2 is jammed with paper again")]


async def test_feedback_buttons_are_stored(start_bot: StartBot, connector: ConnectorStub, tmp_path: Path) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken"))
    actions = {a["data"]["insightDesk"]: a["data"] for a in submit_actions(only_card(connector))}
    connector.received.clear()
    await bot.post(teams_message(connector.url, value=actions["helped"]))
    assert connector.received[-1]["text"] == "Tack för att du berättade!"
    await bot.post(teams_message(connector.url, value=actions["not_helped"]))
    offer = connector.cards()[-1]
    assert [a["data"]["insightDesk"] for a in submit_actions(offer)] == ["escalate"]
    await bot.post(teams_message(connector.url, value=submit_actions(offer)[0]["data"]))
    assert "supportteamet" in connector.cards()[-1]["body"][0]["text"]  # the confirmation before a ticket
    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute("SELECT kind, article, locale, user_id FROM feedback ORDER BY id").fetchall()
    user = hash_user_id("29:user-1")
    assert rows == [("helped", SEED, "sv-SE", user), ("not_helped", SEED, "sv-SE", user),
                    ("escalated", SEED, "sv-SE", user)]


async def test_welcome_card_on_install_in_the_users_locale(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    update = teams_message(connector.url, locale="ko-KR")
    update.update(type="conversationUpdate", text=None, membersAdded=[{"id": BOT_ID, "name": BOT_NAME}])
    await bot.post(update)
    card = only_card(connector)
    assert card["body"][0]["text"] == "안녕하세요, Insight Desk입니다"


async def test_language_choice_survives_a_restart(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    first = await start_bot()
    await first.post(teams_message(connector.url, "/language ko", locale="en-US"))
    assert connector.received[-1]["text"] == "지금부터 한국어(으)로 답변하겠습니다."
    await first.stop()
    connector.received.clear()
    second = await start_bot()
    await second.post(teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken", locale="en-US"))
    card = only_card(connector)
    assert "액세스 토큰" in card["body"][0]["text"]
    other_user = teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken", user="29:user-2")
    connector.received.clear()
    await second.post(other_user)
    assert "Skrivbordsanalys" in only_card(connector)["body"][0]["text"]


async def test_language_picker_switches_and_remembers(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken"))
    card = only_card(connector)
    picker = next(a for a in card["actions"] if a["type"] == "Action.ShowCard")["card"]
    choice_set = picker["body"][0]
    options = {c["title"]: c["value"] for c in choice_set["choices"]}
    assert options == {"English": "en", "한국어": "ko-KR", "中文 (台灣)": "zh-TW"}
    (show,) = picker["actions"]
    connector.received.clear()
    # The client sends the button's data with the picker's input merged in under the input's id.
    await bot.post(teams_message(connector.url, value={**show["data"], choice_set["id"]: options["한국어"]}))
    assert "액세스 토큰" in only_card(connector)["body"][0]["text"]
    connector.received.clear()
    await bot.post(teams_message(connector.url, "驗證存取權杖時發生錯誤"))
    assert "액세스 토큰" in only_card(connector)["body"][0]["text"]


async def test_malformed_bodies_get_400_and_the_next_request_is_answered(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    assert await bot.post(None, raw=b"{not json") == 400
    assert await bot.post(["a", "list"]) == 400
    assert await bot.post({"text": "no type"}) == 400
    assert await bot.post(None, raw="\udcff".encode("utf-8", "surrogatepass")) == 400
    assert await bot.post({"type": "message"}, content_type="text/plain") == 415
    assert connector.received == []
    assert await bot.post(teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken")) in (200, 201)
    assert "Skrivbordsanalys" in only_card(connector)["body"][0]["text"]


async def test_a_one_megabyte_paste_is_answered(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    noise = "\n".join(f"2026-11-22T10:00:{i % 60:02d}Z INFO worker {i} heartbeat ok" for i in range(25_000))
    text = ("Ett fel uppstod vid validering av åtkomsttoken\n" + noise)[:1_000_000]
    assert len(text) >= 999_000
    assert await bot.post(teams_message(connector.url, text)) in (200, 201)
    assert "Skrivbordsanalys" in only_card(connector)["body"][0]["text"]


async def test_reply_stays_well_under_the_teams_size_limit(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    kb = tmp_path / "big" / "en-US"
    kb.mkdir(parents=True)
    body = "\n\n".join(f"Paragraph {i}: " + "very long explanation " * 40 for i in range(200))
    (kb / "huge.md").write_text(f"---\ntitle: Huge article\nms.contentlocale: en-US\n---\n"
                                f"# Mailbox quota exceeded for shared mailbox\n\n{body}\n", encoding="utf-8")
    bot = await start_bot(kb=(str(tmp_path / "big"),))
    await bot.post(teams_message(connector.url, "Mailbox quota exceeded for shared mailbox", locale="en-US"))
    assert len(connector.received) == 1
    assert len(json.dumps(connector.received[0]).encode()) < 20_000
    assert "The article continues online." in card_text(connector.cards()[0])


class ExplodingEngine:
    """An engine whose matching fails, to exercise the turn-error hook."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.kb, self.locales = real.kb, real.locales

    def ask(self, text: str, **_: Any) -> Any:
        if "boom" in text:
            raise RuntimeError("index corrupted")
        return self.real.ask(text, **_)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def test_a_failing_turn_gets_an_apology_and_the_server_keeps_serving(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    from knowledge.engine import KnowledgeEngine

    bot = await start_bot(engine=ExplodingEngine(KnowledgeEngine.load()))
    await bot.post(teams_message(connector.url, "boom", locale="sv-SE"))
    assert connector.received[-1]["text"] == "Tyvärr gick något fel hos mig. Försök igen om en stund."
    assert "index corrupted" not in json.dumps(connector.received)
    connector.received.clear()
    await bot.post(teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken"))
    assert "Skrivbordsanalys" in only_card(connector)["body"][0]["text"]


async def test_other_channels_get_the_markdown_rendering(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    activity = teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken")
    activity["channelId"] = "sms"
    await bot.post(activity)
    reply = connector.received[0]
    assert not reply.get("attachments")
    assert reply["text"].startswith("**Felet")
    assert f"https://learn.microsoft.com/sv-se/{LINK}" in reply["text"]


async def test_concurrent_conversations_each_get_their_own_answer(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    import asyncio

    bot = await start_bot()
    texts = {"29:a": "驗證存取權杖時發生錯誤", "29:b": "Ett fel uppstod vid validering av åtkomsttoken",
             "29:c": "액세스 토큰 유효성 검사 오류"}
    await asyncio.gather(*(bot.post(teams_message(connector.url, t, user=u)) for u, t in texts.items()))
    by_conversation = {r["conversation"]["id"]: r for r in connector.received}
    assert "驗證存取權杖" in card_text(by_conversation["a:personal-29:a"])
    assert "Skrivbordsanalys" in card_text(by_conversation["a:personal-29:b"])
    assert "액세스 토큰" in card_text(by_conversation["a:personal-29:c"])


async def test_unreachable_connector_does_not_take_the_server_down(
    start_bot: StartBot, connector: ConnectorStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.channel.connector_pool.CONNECT_BACKOFF_S", 0.0)  # retries without waiting
    bot = await start_bot()
    dead = teams_message("http://127.0.0.1:9", "Ett fel uppstod vid validering av åtkomsttoken")
    status = await bot.post(dead)
    assert status in (200, 201, 500)
    async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
    await bot.post(teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken"))
    assert "Skrivbordsanalys" in only_card(connector)["body"][0]["text"]


async def test_group_chat_mention_is_answered_in_that_chat(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    activity = teams_message(connector.url, "액세스 토큰 유효성 검사 오류", mention=True)
    activity["conversation"] = {"id": "19:meeting-chat@thread.v2", "conversationType": "groupChat",
                                "isGroup": True, "tenantId": "t-1"}
    await bot.post(activity)
    card = only_card(connector)
    assert "액세스 토큰" in card["body"][0]["text"]
    assert connector.received[0]["conversation"]["id"] == "19:meeting-chat@thread.v2"


async def test_an_activity_with_fields_of_the_wrong_shape_is_a_400(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    broken = teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken")
    broken["timestamp"] = "not a time"
    assert await bot.post(broken) == 400
    assert connector.received == []


def conversation_update(service_url: str, members: list[dict[str, str]], *, conversation: str = "a:install-1",
                        locale: str = "sv-SE") -> dict[str, Any]:
    update = teams_message(service_url, locale=locale)
    update.update(type="conversationUpdate", text=None, membersAdded=members)
    update["conversation"]["id"] = conversation
    return update


async def test_welcome_once_per_conversation_on_install_and_for_each_person_who_joins(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    me = {"id": BOT_ID, "name": BOT_NAME}
    await bot.post(conversation_update(connector.url, [me]))
    await bot.post(conversation_update(connector.url, [me]))  # Teams repeats installs on re-add
    assert [c["body"][0]["text"] for c in connector.cards()] == ["Hej, jag är Insight Desk"]
    await bot.post(conversation_update(connector.url, [{"id": "29:new-person", "name": "Kim"}]))
    await bot.post(conversation_update(connector.url, [me], conversation="a:install-2", locale="zh-TW"))
    await bot.post(conversation_update(connector.url, [], conversation="a:install-3"))
    assert [c["body"][0]["text"] for c in connector.cards()] == [
        "Hej, jag är Insight Desk", "Hej, jag är Insight Desk", "您好，我是 Insight Desk"]


async def test_teams_html_copy_with_a_mention_span_is_answered(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    html = ('<div><div><span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Insight Desk</span>'
            '&nbsp;<p>&quot;Ett fel uppstod vid validering av &#229;tkomsttoken&quot;</p></div></div>')
    await bot.post(teams_message(connector.url, "Ett fel", mention=True, channel=True, html=html))
    assert "Skrivbordsanalys" in only_card(connector)["body"][0]["text"]


async def test_language_by_name_and_bare_words_that_are_not_a_language_go_to_the_engine(
    start_bot: StartBot, connector: ConnectorStub
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "/language 한국어", locale="en-US"))
    assert connector.received[-1]["text"] == "지금부터 한국어(으)로 답변하겠습니다."
    await bot.post(teams_message(connector.url, "/language klingon", locale="en-US"))
    assert connector.received[-1]["text"].startswith("알 수 없는 언어입니다. 다음 중 하나를 사용해 보세요: ar, cs")
    assert "klingon" not in connector.received[-1]["text"]  # never echoed
    connector.received.clear()
    await bot.post(teams_message(connector.url, "language pack", locale="en-US"))
    (card,) = connector.cards()
    assert [a["data"]["insightDesk"] for a in submit_actions(card)] == ["escalate"]  # not a command: not found


async def test_action_execute_invoke_is_handled_like_a_submit(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "Ett fel uppstod vid validering av åtkomsttoken"))
    helped = submit_actions(only_card(connector))[0]["data"]
    connector.received.clear()
    invoke = teams_message(connector.url)
    invoke.update(type="invoke", name="adaptiveCard/action", text=None,
                  value={"action": {"type": "Action.Execute", "verb": "helped", "data": helped}, "trigger": "manual"})
    async with bot.session.post(f"{bot.url}/api/messages", json=invoke) as response:
        assert response.status == 200
        body = await response.json()
    assert body["statusCode"] == 200
    assert connector.received[-1]["text"] == "Tack för att du berättade!"
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT kind, article FROM feedback").fetchall() == [("helped", SEED)]
    invoke["value"]["action"]["data"] = {"someOtherBot": "x"}
    invoke["id"] += "-other"  # another activity: the same id would be ignored as a redelivery
    async with bot.session.post(f"{bot.url}/api/messages", json=invoke) as response:
        assert response.status == 400
        assert (await response.json())["type"] == "application/vnd.microsoft.error"


async def test_a_huge_chinese_article_reply_stays_under_the_teams_limit(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    folder = tmp_path / "big" / "zh-TW"
    folder.mkdir(parents=True)
    sentence = "重新整理頁面通常會更新權杖，但如果套用了條件式存取原則，問題可能會持續存在。"
    body = "\n\n".join(f"{i}. {sentence * 20}" for i in range(100))
    (folder / "huge.md").write_text("---\ntitle: 共用信箱配額\nms.contentlocale: zh-TW\n---\n"
                                    f"# 共用信箱的信箱配額已超過上限\n\n{body}\n", encoding="utf-8")
    bot = await start_bot(kb=(str(tmp_path / "big"),))
    await bot.post(teams_message(connector.url, "共用信箱的信箱配額已超過上限", locale="zh-TW"))
    assert len(connector.received) == 1
    assert len(json.dumps(connector.received[0]).encode()) < 24_000
    assert "文章的其餘內容請參閱線上版本。" in card_text(connector.cards()[0])


async def test_the_apology_is_in_the_language_the_user_chose(start_bot: StartBot, connector: ConnectorStub) -> None:
    from knowledge.engine import KnowledgeEngine

    bot = await start_bot(engine=ExplodingEngine(KnowledgeEngine.load()))
    await bot.post(teams_message(connector.url, "/language ko", locale="sv-SE"))
    await bot.post(teams_message(connector.url, "boom", locale="sv-SE"))
    assert connector.received[-1]["text"] == "죄송합니다. 문제가 발생했습니다. 잠시 후 다시 시도해 주세요."


async def test_a_one_megabyte_chinese_paste_is_answered(start_bot: StartBot, connector: ConnectorStub) -> None:
    bot = await start_bot()
    noise = "".join(f"第{i}行：工作程序運作正常，沒有錯誤。\n" for i in range(60_000))
    text = ("驗證存取權杖時發生錯誤\n" + noise)[:1_000_000]
    assert len(json.dumps(text)) > 4_500_000  # escaped on the wire: six bytes a CJK character
    assert await bot.post(teams_message(connector.url, text, locale="zh-TW")) in (200, 201)
    assert "驗證存取權杖" in only_card(connector)["body"][0]["text"]


async def test_a_bare_mention_or_a_screenshot_gets_help_not_a_search(
    start_bot: StartBot, connector: ConnectorStub, tmp_path: Path
) -> None:
    bot = await start_bot()
    await bot.post(teams_message(connector.url, "", mention=True, channel=True, locale="sv-SE"))
    screenshot = teams_message(connector.url, "", locale="ko-KR")
    screenshot["attachments"] = [{"contentType": "image/png", "contentUrl": "https://example.test/shot.png"}]
    await bot.post(screenshot)
    welcomes = [c["body"][0]["text"] for c in connector.cards()]
    assert welcomes == ["Hej, jag är Insight Desk", "안녕하세요, Insight Desk입니다"]
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT count(*) FROM feedback").fetchone() == (0,)
