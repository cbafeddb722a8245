"""``python -m bot chat``: a terminal conversation through the same handler, with an in-process adapter."""

from __future__ import annotations

import io

from bot.cli.chat import chat
from bot.settings import Settings


async def converse(*lines: str, locale: str | None = None) -> list[str]:
    """The replies printed for ``lines``, one string per prompt (the welcome first)."""
    out = io.StringIO()
    await chat(Settings(state_store="memory://", kb_cache_dir=None), io.StringIO("\n".join(lines) + "\n"), out,
               locale=locale)
    return [part.strip() for part in out.getvalue().split("> ")]


async def test_welcome_answer_language_switch_and_not_found() -> None:
    welcome, answer, switched, korean, unknown, end = await converse(
        "Ett fel uppstod vid validering av åtkomsttoken", "/language ko",
        "There was an error validating access token", "the printer is out of paper")
    assert welcome.startswith("**Hi, I'm Insight Desk**")
    assert answer.startswith('**Felet "Ett fel uppstod vid validering av åtkomsttoken"')
    assert "https://learn.microsoft.com/sv-se/azure/active-directory/conditional-access/" in answer
    assert "/language ko-KR (한국어)" in answer
    assert switched == "지금부터 한국어(으)로 답변하겠습니다."
    assert korean.startswith("**Desktop Analytics") and "액세스 토큰" in korean
    assert unknown.startswith("해당 메시지에 대한 문서를 찾지 못했습니다.")
    assert end == ""


async def test_the_welcome_follows_the_given_locale() -> None:
    welcome, *_ = await converse("", locale="zh-TW")
    assert welcome.startswith("**您好，我是 Insight Desk**")
