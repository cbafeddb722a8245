"""Alternate texts learned from feedback: which texts are proposed, the YAML they come out as, and
``kb learn`` reading a real SQLite state file."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.feedback.events import FeedbackEvent, FeedbackKind
from bot.feedback.learning import LearnedText, format_alternates, learned_alternates
from bot.stores.sqlite import SqliteFeedbackStore
from knowledge.alternates import ALTERNATES_FILE, read_alternates
from knowledge.engine import BUNDLED_ARTICLES, KnowledgeEngine
from knowledge.model import Tier

SEED = "error-validating-access-token-during-onboarding"
PORTAL = "Det gick inte att verifiera åtkomsttoken"
"""What a portal might say for the seed's error; the Swedish article words it differently."""
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def said(kind: FeedbackKind, user: str, query: str = PORTAL, article: str | None = SEED, minutes: int = 0,
         locale: str | None = "sv-SE") -> FeedbackEvent:
    return FeedbackEvent(kind, query, article, locale, user_id=user, conversation_id=f"c-{user}",
                         timestamp=START + timedelta(minutes=minutes))


@pytest.fixture(scope="module")
def engine() -> KnowledgeEngine:
    return KnowledgeEngine.load([BUNDLED_ARTICLES])


def test_the_portal_wording_is_not_answered_outright_before_learning(engine: KnowledgeEngine) -> None:
    assert engine.ask(PORTAL).tier is not Tier.ANSWER


def test_a_text_two_users_found_helpful_is_proposed_cleaned(engine: KnowledgeEngine) -> None:
    events = [
        said(FeedbackKind.HELPED, "u1", f"<at>Insight Desk</at> Fel: {PORTAL}\nCorrelation ID: "
                                        "0b3c4e1a-22f1-4d5e-9a7b-1c2d3e4f5a6b"),
        said(FeedbackKind.HELPED, "u2", f"{PORTAL.upper()}", minutes=5),
        said(FeedbackKind.HELPED, "u2", PORTAL, minutes=9),   # the same user twice counts once
    ]
    assert learned_alternates(engine, events) == [LearnedText(SEED, "sv-SE", PORTAL, 2, START + timedelta(minutes=9))]


def test_picking_the_article_from_did_you_mean_counts_like_saying_it_helped(engine: KnowledgeEngine) -> None:
    events = [said(FeedbackKind.CHOSEN, "u1"), said(FeedbackKind.HELPED, "u2", minutes=3)]
    assert [(t.text, t.users) for t in learned_alternates(engine, events)] == [(PORTAL, 2)]
    picked_only = [said(FeedbackKind.CHOSEN, "u1"), said(FeedbackKind.CHOSEN, "u2"),
                   said(FeedbackKind.NOT_HELPED, "u2")]  # u2 picked it, then said it did not help
    assert [(t.text, t.users) for t in learned_alternates(engine, picked_only)] == [(PORTAL, 2)]
    assert learned_alternates(engine, [*picked_only, said(FeedbackKind.NOT_HELPED, "u3")]) == []


@pytest.mark.parametrize("events", [
    pytest.param([said(FeedbackKind.HELPED, "u1"), said(FeedbackKind.HELPED, "u1", minutes=1)], id="one-user"),
    pytest.param([said(FeedbackKind.HELPED, "u1"), said(FeedbackKind.HELPED, "u2"),
                  said(FeedbackKind.NOT_HELPED, "u3"), said(FeedbackKind.NOT_HELPED, "u4")], id="disputed"),
    pytest.param([said(FeedbackKind.HELPED, u, article="gone-article") for u in ("u1", "u2")], id="no-such-article"),
    pytest.param([said(FeedbackKind.HELPED, u, query="Ett fel uppstod vid validering av åtkomsttoken")
                  for u in ("u1", "u2")], id="already-answered"),
    pytest.param([said(FeedbackKind.UNANSWERED, u, article=None) for u in ("u1", "u2")]
                 + [said(FeedbackKind.ESCALATED, u) for u in ("u1", "u2")], id="not-helped-kinds"),
])
def test_what_is_not_proposed(engine: KnowledgeEngine, events: list[FeedbackEvent]) -> None:
    assert learned_alternates(engine, events) == []


def test_the_proposal_is_an_alternate_texts_file_that_makes_the_text_answered(
    engine: KnowledgeEngine, tmp_path: Path
) -> None:
    events = [said(FeedbackKind.HELPED, u, minutes=i) for i, u in enumerate(("u1", "u2", "u3"))]
    events += [said(FeedbackKind.HELPED, u, query="Access token: 'validation failed'", locale="ko-KR")
               for u in ("u1", "u2")]
    texts = learned_alternates(engine, events)
    assert [(t.locale, t.text, t.users) for t in texts] == [
        ("en", "Access token: 'validation failed'", 2), ("sv-SE", PORTAL, 3),
    ]
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / ALTERNATES_FILE).write_text(format_alternates(texts), encoding="utf-8")
    found, problems = read_alternates(folder)
    assert problems == []
    assert [(a.locale, a.article_id, a.text) for a in found] == [
        ("en", SEED, "Access token: 'validation failed'"), ("sv-SE", SEED, PORTAL),  # YAML quoting holds
    ]
    learned = KnowledgeEngine.load([BUNDLED_ARTICLES, folder])
    answer = learned.ask(f"<at>Insight Desk</at> {PORTAL}", client_locale="en-US")
    assert answer.tier is Tier.ANSWER and answer.article is not None and answer.article.id == SEED
    assert answer.reply_locale == "sv-SE"


def test_kb_learn_reads_a_sqlite_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.db"
    store = SqliteFeedbackStore(path)

    async def record() -> None:
        for i, user in enumerate(("u1", "u2")):
            await store.record(said(FeedbackKind.HELPED, user, minutes=i))
        await store.record(said(FeedbackKind.UNANSWERED, "u3", article=None))

    asyncio.run(record())
    store.close()
    monkeypatch.delenv("KB_PATH", raising=False)
    out, err = io.StringIO(), io.StringIO()
    code = main(["kb", "learn", "--store", f"sqlite:///{path}", "--kb", str(BUNDLED_ARTICLES)], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "1 texts proposed from 3 feedback events" in err.getvalue()
    (tmp_path / ALTERNATES_FILE).write_text(out.getvalue(), encoding="utf-8")
    found, problems = read_alternates(tmp_path)
    assert problems == [] and [(a.locale, a.text) for a in found] == [("sv-SE", PORTAL)]


def test_kb_learn_without_a_state_file_is_a_clear_error(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["kb", "learn", "--store", f"sqlite:///{tmp_path / 'none.db'}", "--kb", str(BUNDLED_ARTICLES)],
                out=out, err=err)
    assert code == 2 and "nothing recorded yet" in err.getvalue()


@pytest.mark.parametrize("command", [["kb", "learn", "--kb", str(BUNDLED_ARTICLES)], ["report"]])
@pytest.mark.parametrize(("store", "says"), [
    ("memory://", "keeps no feedback between runs"),
    ("redis://127.0.0.1:9/0", "failed"),  # nothing listens on loopback port 9: the store is down
])
def test_a_store_without_feedback_or_down_is_a_clear_error(command: list[str], store: str, says: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main([*command, "--store", store], out=out, err=err) == 2
    assert err.getvalue().startswith("error: ") and says in err.getvalue()
    assert "Traceback" not in err.getvalue() and out.getvalue() == ""
