"""Property-based: the engine answers any text, in any script, with any client locale, without raising."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.engine import KnowledgeEngine
from knowledge.model import Tier
from knowledge.normalize import clean_paste, normalize
from tests.activity_strategies import ANY_TEXT, PASTES
from tests.fuzz_budget import fuzz_settings


@pytest.fixture(scope="module")
def engine() -> KnowledgeEngine:
    return KnowledgeEngine.load()


LOCALES = st.none() | st.sampled_from(["sv-SE", "ko-KR", "zh-TW", "en-US", "xx", "", "zh-Hant-TW"]) | ANY_TEXT
NOISY = st.builds(lambda a, b, c: a + b + c, ANY_TEXT, PASTES, ANY_TEXT)


@fuzz_settings()
@given(text=ANY_TEXT | NOISY, locale=LOCALES, client=LOCALES)
def test_ask_never_raises_and_keeps_its_contract(engine: KnowledgeEngine, text: str, locale: str | None,
                                                 client: str | None) -> None:
    answer = engine.ask(text, locale=locale, client_locale=client)
    assert answer.tier in (Tier.ANSWER, Tier.SUGGEST, Tier.NONE)
    assert (answer.article is None) == (answer.tier is Tier.NONE)  # the documented contract
    assert 0 <= answer.score <= 100 and all(0 <= m.score <= 100 for m in answer.matches)
    assert isinstance(answer.reply_locale, str) and answer.reply_locale


@fuzz_settings()
@given(ANY_TEXT | NOISY)
def test_normalize_and_clean_paste_never_raise(text: str) -> None:
    assert isinstance(normalize(clean_paste(text)), str)
