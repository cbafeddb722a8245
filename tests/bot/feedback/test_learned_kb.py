"""The learned knowledge-base folder: the file written from the store's texts, the folders the bot loads, the
store's document, and ``kb learn`` not proposing again what agents already added."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.feedback.events import FeedbackEvent, FeedbackKind
from bot.feedback.learned_kb import LearnedEntry, LearnedKnowledge, LearnedSync, write_learned_file
from bot.settings import Settings, knowledge_folders
from bot.stores.sqlite import SqliteFeedbackStore, SqliteStorage
from knowledge.alternates import ALTERNATES_FILE, read_alternates
from knowledge.corpus import load_knowledge_base
from knowledge.engine import BUNDLED_ARTICLES, KnowledgeEngine
from knowledge.model import Tier

SEED = "error-validating-access-token-during-onboarding"
WORDING = "Access token validation failed"


def entry(text: str = WORDING, by: str = "Anna", locale: str = "en") -> LearnedEntry:
    return LearnedEntry(locale, SEED, text, by, "2026-12-04T10:00:00+00:00")


def test_the_file_keeps_what_it_held_and_adds_each_text_once(tmp_path: Path) -> None:
    folder = tmp_path / "learned"
    folder.mkdir()
    (folder / ALTERNATES_FILE).write_text(f"sv-SE:\n  {SEED}:\n    - Det gick inte att verifiera åtkomsttoken\n",
                                          encoding="utf-8")
    added = [entry(), entry(by="Bo"), entry("Token check failed", by="Bo\n- x: line")]
    assert write_learned_file(folder, added) is True
    assert write_learned_file(folder, added) is False, "nothing new: the file is left alone"
    found, problems = read_alternates(folder)
    assert problems == []
    assert [(a.locale, a.article_id, a.text) for a in found] == [
        ("sv-SE", SEED, "Det gick inte att verifiera åtkomsttoken"), ("en", SEED, WORDING),
        ("en", SEED, "Token check failed")]
    written = (folder / ALTERNATES_FILE).read_text(encoding="utf-8")
    assert '# added by "Anna" 2026-12-04\n' in written and '# added by "Bo - x: line" 2026-12-04\n' in written
    kb = load_knowledge_base([BUNDLED_ARTICLES, folder])
    assert not kb.problems and len(kb.alternates) == 3
    engine = KnowledgeEngine(kb)
    answer = engine.ask(WORDING)
    assert answer.tier is Tier.ANSWER and answer.article is not None and answer.article.id == SEED


def test_the_learned_folder_is_loaded_after_kb_path_once_it_exists(tmp_path: Path) -> None:
    learned = tmp_path / "learned"
    settings = Settings(kb_paths=(str(tmp_path / "kb"),), kb_learned_path=str(learned))
    assert knowledge_folders(settings) == [str(tmp_path / "kb")]
    assert knowledge_folders(settings, existing_only=False) == [str(tmp_path / "kb"), str(learned)]
    learned.mkdir()
    assert knowledge_folders(settings) == [str(tmp_path / "kb"), str(learned)]
    assert knowledge_folders(Settings(kb_learned_path=str(learned))) == [str(BUNDLED_ARTICLES), str(learned)]
    assert knowledge_folders(Settings(kb_paths=(str(learned),), kb_learned_path=str(learned))) == [str(learned)]
    assert knowledge_folders(Settings(kb_learned_path="")) == [str(BUNDLED_ARTICLES)]
    assert Settings.from_env({}, dotenv=None).kb_learned_path == "var/learned"
    assert Settings.from_env({"KB_LEARNED_PATH": " /srv/learned "}, dotenv=None).kb_learned_path == "/srv/learned"


async def test_two_instances_adding_at_once_keep_both_texts_and_each_file_follows(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "state.db")
    other = SqliteStorage(tmp_path / "state.db")  # a second connection: the other instance
    mine, theirs = LearnedKnowledge(storage, tmp_path / "a"), LearnedKnowledge(other, tmp_path / "b")
    versions = await asyncio.gather(mine.add(entry("first wording")), theirs.add(entry("second wording")))
    assert sorted(versions) == [1, 2]
    assert await mine.add(entry("first wording")) == 2, "a text stored already changes nothing"
    reloads: list[str] = []

    async def reload(why: str) -> None:
        reloads.append(why)

    for learned in (mine, theirs):
        sync = LearnedSync(learned, reload=reload)
        assert await sync.check() is True
        assert await sync.check() is False, "the same version: no second reload"
        texts = sorted(a.text for a in read_alternates(learned.folder)[0])
        assert texts == ["first wording", "second wording"]
    assert reloads == ["learned texts version 2"] * 2
    storage.database.close()
    other.database.close()


def test_kb_learn_does_not_propose_what_agents_already_added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.db"
    store = SqliteFeedbackStore(path)

    async def record() -> None:
        for user in ("u1", "u2"):
            await store.record(FeedbackEvent(FeedbackKind.CHOSEN, WORDING, SEED, "en-US", user_id=user,
                                             timestamp=datetime(2026, 12, 4, 10, tzinfo=UTC)))

    asyncio.run(record())
    store.close()
    learned = tmp_path / "learned"
    monkeypatch.delenv("KB_PATH", raising=False)
    monkeypatch.setenv("KB_LEARNED_PATH", str(learned))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout

    def proposed() -> str:
        out, err = io.StringIO(), io.StringIO()
        assert main(["kb", "learn", "--store", f"sqlite:///{path}"], out=out, err=err) == 0, err.getvalue()
        return err.getvalue()

    assert "1 texts proposed from 2 feedback events" in proposed()
    write_learned_file(learned, [entry()])
    assert "0 texts proposed from 2 feedback events" in proposed()
