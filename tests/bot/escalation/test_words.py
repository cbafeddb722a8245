"""Requests for a person in words: whole phrases in short messages, in every catalog language."""

from __future__ import annotations

import pytest

from bot.escalation.words import escalation_phrases, is_status_command, status_phrases
from bot.strings import CATALOG

REQUESTS = escalation_phrases()


@pytest.mark.parametrize("text", [
    "talk to a human", "Talk to a person!", "Can I please talk to a human?", "mänsklig handläggare",
    "상담원 연결", "상담원 연결해 주세요", "轉接真人客服", "請轉接真人客服", "转人工",
    "hablar con una persona, por favor",
    "ＴＡＬＫ ＴＯ Ａ ＨＵＭＡＮ",  # full-width
])
def test_requests_in_several_languages(text: str) -> None:
    assert REQUESTS.found_in(text)


@pytest.mark.parametrize("text", [
    "Error: cannot talk to a human resources server at 10.0.0.7, the certificate expired 2026-11-01",
    "AADSTS50076: talk to a person administrator to grant consent for the application in the tenant",
    "Ett fel uppstod vid validering av åtkomsttoken",
    "驗證存取權杖時發生錯誤，請聯絡真人客服系統管理員並提供相互關聯識別碼 5d0c1c9e-2b7e-4a39",
    "human", "person", "", "x" * 500,
])
def test_errors_and_single_words_are_not_requests(text: str) -> None:
    assert not REQUESTS.found_in(text)


@pytest.mark.parametrize("locale", sorted(CATALOG))
def test_every_catalog_phrase_and_button_is_a_request(locale: str) -> None:
    entry = CATALOG[locale]
    for phrase in [*entry["escalation_words"], entry["talk_to_person"]]:
        assert REQUESTS.found_in(phrase), (locale, phrase)


def test_status_is_a_command_alone_not_inside_a_sentence() -> None:
    phrases = status_phrases()
    assert is_status_command(phrases, "status")
    assert is_status_command(phrases, "/Status")
    assert is_status_command(phrases, "상태")
    assert is_status_command(phrases, "durum")
    assert not is_status_command(phrases, "Status code 500 from the gateway")
