"""Noisy pastes in scripts the corpus does not carry: Japanese, Thai, Arabic, Hebrew, Russian and Greek.

One small knowledge base holds six common errors in all six languages, so every paste also competes
with the same article in five other scripts and with five other articles in its own. Each heading is
pasted the ways a user pastes (a Teams mention with a correlation id, HTML with entities and an
"Error:" prefix, a swap of two letters, two slips, a dropped run of letters, the script's own marks
or case changed, cut off at 75 % and 60 %), and an error the KB lacks must not be answered.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest

from knowledge.corpus import KnowledgeBase
from knowledge.engine import KnowledgeEngine
from knowledge.model import Article, Tier, pack

IDS = ("error-validating-access-token", "cannot-sign-in-to-outlook", "mailbox-full", "reset-password",
       "cannot-join-teams-meeting", "fix-onedrive-sync")
HEADINGS = {
    "ja-JP": (
        "アクセス トークンの検証中にエラーが発生しました",
        "Outlook にサインインできません",
        "メールボックスがいっぱいです",
        "パスワードをリセットする方法",
        "Teams 会議に参加できない",
        "OneDrive の同期に関する問題を解決する",
    ),
    "th-TH": (
        "เกิดข้อผิดพลาดในการตรวจสอบโทเค็นการเข้าถึง",
        "ไม่สามารถลงชื่อเข้าใช้ Outlook ได้",
        "กล่องจดหมายเต็ม",
        "วิธีรีเซ็ตรหัสผ่าน",
        "ไม่สามารถเข้าร่วมการประชุม Teams ได้",
        "แก้ไขปัญหาการซิงค์ OneDrive",
    ),
    "ar-SA": (
        "حدث خطأ أثناء التحقق من صحة رمز الوصول",
        "لا يمكن تسجيل الدخول إلى Outlook",
        "علبة البريد ممتلئة",
        "كيفية إعادة تعيين كلمة المرور",
        "تعذر الانضمام إلى اجتماع Teams",
        "حل مشاكل المزامنة في OneDrive",
    ),
    "he-IL": (
        "אירעה שגיאה באימות אסימון הגישה",
        "לא ניתן להיכנס ל-Outlook",
        "תיבת הדואר מלאה",
        "כיצד לאפס את הסיסמה",
        "לא ניתן להצטרף לפגישת Teams",
        "פתרון בעיות סנכרון ב-OneDrive",
    ),
    "ru-RU": (
        "Произошла ошибка при проверке маркера доступа",
        "Не удается войти в Outlook",
        "Почтовый ящик переполнен",
        "Как сбросить пароль",
        "Не удается присоединиться к собранию Teams",
        "Устранение проблем с синхронизацией OneDrive",
    ),
    "el-GR": (
        "Παρουσιάστηκε σφάλμα κατά την επικύρωση του διακριτικού πρόσβασης",
        "Δεν είναι δυνατή η είσοδος στο Outlook",
        "Το γραμματοκιβώτιο είναι πλήρες",
        "Πώς να επαναφέρετε τον κωδικό πρόσβασης",
        "Δεν είναι δυνατή η συμμετοχή σε σύσκεψη του Teams",
        "Επίλυση προβλημάτων συγχρονισμού του OneDrive",
    ),
}
NOT_IN_KB = {
    "ja-JP": "プリンターがオフラインです",
    "th-TH": "เครื่องพิมพ์ออฟไลน์อยู่",
    "ar-SA": "الطابعة غير متصلة بالشبكة",
    "he-IL": "המדפסת אינה מחוברת לרשת",
    "ru-RU": "Принтер не подключен к сети",
    "el-GR": "Ο εκτυπωτής δεν είναι συνδεδεμένος",
}


def swap(text: str, at: float = 0.5) -> str:
    """Two neighbouring letters swapped, from ``at`` of the way along."""
    i = int(len(text) * at)
    while i + 1 < len(text) and not (text[i].isalpha() and text[i + 1].isalpha()):
        i += 1
    return text if i + 1 >= len(text) else text[:i] + text[i + 1] + text[i] + text[i + 2:]


def cut(text: str, share: float) -> str:
    return text[: round(len(text) * share)]


def own_marks(text: str, locale: str) -> str:
    """The text as another keyboard or system writes it: Arabic harakat, Hebrew points, Greek capitals
    without accents, Russian capitals, Japanese full-width Latin, Thai decomposed."""
    if locale == "ar-SA":
        return "".join(c + ("\u064e" if "\u0621" <= c <= "\u064a" else "") for c in text)
    if locale == "he-IL":
        return "".join(c + ("\u05b7" if "\u05d0" <= c <= "\u05ea" else "") for c in text)
    if locale == "el-GR":
        return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").upper()
    if locale == "ru-RU":
        return text.upper()
    if locale == "ja-JP":
        return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)
    return unicodedata.normalize("NFD", text)


ANSWERED: dict[str, Callable[[str, str], str]] = {
    "mention and ids": lambda h, _: f"<at>Insight Desk</at> {h}\nCorrelation ID: 1f0c9a52-7a4e-4c3b-9f0e-2b1d6d8e4a11",
    "html, entities, prefix": lambda h, _: f"<p>Error: &quot;{h}&quot;</p>",
    "letters swapped": lambda h, _: swap(h),
    "two slips": lambda h, _: swap(swap(h, 0.2), 0.7),
    "letters dropped": lambda h, _: h[:3] + h[4:-4] + h[-3:],
    "marks and case": own_marks,
}
CUT_OFF: dict[str, Callable[[str, str], str]] = {
    "cut at 75 %": lambda h, _: cut(h, 0.75),
    "cut at 60 %": lambda h, _: cut(h, 0.6),
    "cut at 75 %, a swap": lambda h, _: cut(swap(h), 0.75),
}


@pytest.fixture(scope="module")
def engine() -> KnowledgeEngine:
    articles = [
        Article(id=article_id, locale=locale, path=f"{locale}/{article_id}.md", kb_root="/kb", title=heading,
                heading=heading, anchor=None, error_strings=(), packed_body=pack("Text."))
        for locale, headings in HEADINGS.items() for article_id, heading in zip(IDS, headings, strict=True)
    ]
    return KnowledgeEngine(KnowledgeBase(articles))


CASES = [(locale, article_id, heading) for locale, headings in HEADINGS.items()
         for article_id, heading in zip(IDS, headings, strict=True)]


@pytest.mark.parametrize("noise", list(ANSWERED))
@pytest.mark.parametrize(("locale", "article_id", "heading"), CASES)
def test_a_noisy_paste_is_answered_with_its_article_in_its_language(
    engine: KnowledgeEngine, locale: str, article_id: str, heading: str, noise: str
) -> None:
    paste = ANSWERED[noise](heading, locale)
    answer = engine.ask(paste, client_locale="en-US")
    assert answer.tier is Tier.ANSWER, (paste, answer.matches)
    assert answer.article is not None and answer.article.id == article_id
    assert answer.reply_locale == locale


@pytest.mark.parametrize("noise", list(CUT_OFF))
@pytest.mark.parametrize(("locale", "article_id", "heading"), CASES)
def test_a_cut_off_paste_finds_its_article_first(
    engine: KnowledgeEngine, locale: str, article_id: str, heading: str, noise: str
) -> None:
    paste = CUT_OFF[noise](heading, locale)
    answer = engine.ask(paste, client_locale="en-US")
    assert answer.tier is not Tier.NONE, paste
    assert answer.matches[0].article_id == article_id, (paste, answer.matches)


@pytest.mark.parametrize("locale", list(NOT_IN_KB))
def test_an_error_the_kb_lacks_is_not_answered(engine: KnowledgeEngine, locale: str) -> None:
    for paste in (NOT_IN_KB[locale], f"<at>Insight Desk</at> Error: {NOT_IN_KB[locale]}"):
        assert engine.ask(paste).tier is not Tier.ANSWER, paste
