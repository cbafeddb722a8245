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


@pytest.mark.parametrize(("locale", "asking", "not_asking"), [
    ("ja-JP", "すみません、担当者と話したいです",
     "担当者と話したいユーザーのセッションがタイムアウトしました (エラー 0x80070005)"),
    ("ja-JP", "オペレーターにつないでください", "有人対応の窓口の営業時間を教えてください"),
    ("th-TH", "ขอคุยกับเจ้าหน้าที่ครับ", "ไม่สามารถติดต่อเจ้าหน้าที่ได้เนื่องจากเซิร์ฟเวอร์ไม่ตอบสนอง"),
    ("th-TH", "อยากคุยกับเจ้าหน้าที่ค่ะ", "กรุณาติดต่อเจ้าหน้าที่ดูแลระบบของคุณ"),
    ("ar-SA", "اريد التحدث مع موظف من فضلك",
     "خطأ: تعذر على الخادم التحدث مع موظف الدعم عبر المنفذ 443 بسبب انتهاء صلاحية الشهادة"),
    ("he-IL", "אני רוצה לדבר עם נציג", "שגיאה: השירות לא הצליח לדבר עם נציג האימות בשרת הראשי, נסו שוב מאוחר יותר"),
    ("ru-RU", "Хочу поговорить с человеком",
     "Ошибка: не удалось поговорить с человеком-сервером 10.0.0.1, сертификат истек"),
    ("el-GR", "Θέλω να μιλήσω με έναν άνθρωπο",
     "Σφάλμα: ο διακομιστής δεν μπόρεσε να επικοινωνήσει με πραγματικό άτομο ελέγχου ταυτότητας μέσω της θύρας 443"),
    ("uk-UA", "Можна поговорити з людиною?",
     "Помилка: служба не змогла поговорити з людиною-агентом на сервері 10.0.0.1"),
    ("de-DE", "Ich möchte mit einem Menschen sprechen",
     "Fehler: Der Dienst konnte nicht mit einem Menschen sprechen, da das Zertifikat am Server abgelaufen ist"),
    ("fr-FR", "Je voudrais parler à un conseiller",
     "Erreur : impossible de contacter le support technique du serveur 10.0.0.1 car le certificat a expiré"),
    ("hi-IN", "मुझे किसी व्यक्ति से बात करनी है",
     "त्रुटि: सर्वर किसी व्यक्ति से बात नहीं कर सका क्योंकि प्रमाणपत्र की अवधि समाप्त हो गई है"),
])
def test_new_locales_typed_requests_match_and_longer_errors_do_not(locale: str, asking: str,
                                                                   not_asking: str) -> None:
    assert locale in CATALOG
    assert REQUESTS.found_in(asking), asking
    assert not REQUESTS.found_in(not_asking), not_asking


@pytest.mark.parametrize("text", ["สถานะ", "ステータス", "/статус", "الحالة", "סטטוס", "κατάσταση", "statut", "स्थिति"])
def test_status_in_the_new_languages(text: str) -> None:
    assert is_status_command(status_phrases(), text)
