"""Hot reload of the knowledge base on real folders and real engine loads: changes load, regressions don't."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import pytest

from bot.ops.kb_reload import KnowledgeReloader, ReloadOutcome, kb_fingerprint
from knowledge.alternates import ALTERNATES_FILE
from knowledge.engine import KnowledgeEngine

BUNDLED = Path(__file__).resolve().parents[3] / "knowledge" / "articles"
SEED_ID = "error-validating-access-token-during-onboarding"
SWEDISH = f"sv-SE/{SEED_ID}.md"
SWEDISH_ERROR = "Ett fel uppstod vid validering av åtkomsttoken"


def heading(engine: KnowledgeEngine, text: str = SWEDISH_ERROR) -> str:
    answer = engine.ask(text)
    assert answer.article is not None
    return answer.article.heading


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))   # a new mtime even on a coarse clock


def retitle(kb: Path, suffix: str) -> None:
    """Append ``suffix`` to the Swedish article's heading."""
    edit(kb / SWEDISH, "registrering av Skrivbordsanalys</span>", f"registrering av Skrivbordsanalys {suffix}</span>")


class Harness:
    def __init__(self, kb: Path) -> None:
        self.kb = kb
        self.engine = KnowledgeEngine.load([kb])
        self.outcomes: list[ReloadOutcome] = []
        self.reloader = KnowledgeReloader([kb], current=self.engine, swap=self.install,
                                          load=lambda: KnowledgeEngine.load([kb]), interval=0.05,
                                          on_outcome=self.outcomes.append)

    def install(self, engine: KnowledgeEngine) -> None:
        self.engine = engine


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    shutil.copytree(BUNDLED, tmp_path / "kb")
    return Harness(tmp_path / "kb")


async def test_nothing_changed_nothing_loaded(harness: Harness) -> None:
    assert await harness.reloader.check() is None
    assert harness.outcomes == []


async def test_an_edited_article_is_swapped_in(harness: Harness) -> None:
    before = harness.engine
    retitle(harness.kb, "v2")
    outcome = await harness.reloader.check()
    assert outcome is not None and outcome.outcome == "loaded" and outcome.articles == 1
    assert harness.engine is not before
    assert heading(harness.engine).endswith("Skrivbordsanalys v2")
    assert not heading(before).endswith("v2"), "the old engine is untouched (requests in flight keep it)"
    assert await harness.reloader.check() is None, "loaded once"


async def test_a_new_bad_file_is_reported_and_the_good_change_loads(harness: Harness) -> None:
    (harness.kb / "sv-SE" / "broken.md").write_bytes(b"---\ntitle: x\n---\n# \xff\xfe broken\n")
    retitle(harness.kb, "v3")
    outcome = await harness.reloader.check()
    assert outcome is not None and outcome.outcome == "loaded"
    assert len(outcome.problems) == 1 and "broken.md" in outcome.problems[0]
    assert heading(harness.engine).endswith("v3")


async def test_a_good_file_turning_bad_keeps_the_last_good_index(harness: Harness,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    good = harness.engine
    (harness.kb / SWEDISH).write_bytes(b"---\ntitle: half saved\n---\n# \xff\xfe")
    outcome = await harness.reloader.check()
    assert outcome is not None and outcome.outcome == "kept"
    assert "loaded before are bad now" in outcome.reason and SWEDISH.split("/")[1] in outcome.reason
    assert harness.engine is good and heading(harness.engine).startswith("Felet")
    assert "NOT reloaded" in caplog.text
    assert await harness.reloader.check() is None, "the same bad state is not retried on every poll"
    shutil.copy(BUNDLED / SWEDISH, harness.kb / SWEDISH)
    retitle(harness.kb, "v4")
    fixed = await harness.reloader.check()
    assert fixed is not None and fixed.outcome == "loaded" and heading(harness.engine).endswith("v4")


ALTERNATE = "Token kunde inte verifieras vid registreringen"


def write_alternates(kb: Path, text: str) -> None:
    path = kb / ALTERNATES_FILE
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


async def test_alternate_texts_reload_and_a_half_saved_file_keeps_the_last_good_ones(harness: Harness) -> None:
    write_alternates(harness.kb, f"sv-SE:\n  {SEED_ID}: {ALTERNATE}\n")
    added = await harness.reloader.check()
    assert added is not None and added.outcome == "loaded", "a new alternate-texts file is a change"
    assert [a.text for a in harness.engine.kb.alternates] == [ALTERNATE]
    good = harness.engine

    write_alternates(harness.kb, f"sv-SE:\n  {SEED_ID}: [{ALTERNATE}\n")  # half saved: broken YAML
    broken = await harness.reloader.check()
    assert broken is not None and broken.outcome == "kept" and ALTERNATES_FILE in broken.reason
    assert harness.engine is good

    write_alternates(harness.kb, f"sv-SE:\n  {SEED_ID}: {ALTERNATE}\n  no-such-article: Något\n")
    one_bad = await harness.reloader.check()
    assert one_bad is not None and one_bad.outcome == "loaded", "one bad entry does not hold the others back"
    assert len(one_bad.problems) == 1 and "no-such-article" in one_bad.problems[0]
    assert [a.text for a in harness.engine.kb.alternates] == [ALTERNATE]


async def test_a_vanished_folder_keeps_the_index_and_its_return_loads(harness: Harness) -> None:
    good = harness.engine
    shutil.move(harness.kb, harness.kb.with_name("moved"))
    outcome = await harness.reloader.check()
    assert outcome is not None and outcome.outcome == "kept" and "not found" in outcome.reason
    assert harness.engine is good
    shutil.move(harness.kb.with_name("moved"), harness.kb)
    back = await harness.reloader.check()
    assert back is not None and back.outcome == "loaded"


async def test_an_emptied_folder_keeps_the_index(harness: Harness) -> None:
    good = harness.engine
    for locale in ("sv-SE", "zh-TW", "ko-KR"):
        shutil.rmtree(harness.kb / locale)
    outcome = await harness.reloader.check()
    assert outcome is not None and outcome.outcome == "kept" and "no articles" in outcome.reason
    assert harness.engine is good


async def test_a_git_checkout_is_read_without_its_git_folder(tmp_path: Path) -> None:
    kb = tmp_path / "docs"
    shutil.copytree(BUNDLED, kb)
    (kb / ".git" / "objects").mkdir(parents=True)
    (kb / ".git" / "README.md").write_text("# not an article\n")
    before = kb_fingerprint([kb])
    (kb / ".git" / "objects" / "changed.md").write_text("# still not an article\n")
    assert kb_fingerprint([kb]) == before, "changes under .git are not knowledge-base changes"
    engine = KnowledgeEngine.load([kb])
    assert len(engine.kb) == 1 and not engine.kb.problems
    assert all(".git" not in a.path for a in engine.kb.articles)


async def test_watch_polls_and_sighup_reloads(harness: Harness) -> None:
    task = asyncio.create_task(harness.reloader.watch())
    try:
        retitle(harness.kb, "v5")
        for _ in range(100):
            if harness.outcomes:
                break
            await asyncio.sleep(0.05)
        assert [o.outcome for o in harness.outcomes] == ["loaded"]
    finally:
        task.cancel()
    assert harness.reloader.listen_for_sighup()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(100):
            if len(harness.outcomes) == 2:
                break
            await asyncio.sleep(0.05)
        assert [o.outcome for o in harness.outcomes] == ["loaded", "loaded"]
        assert harness.outcomes[1].reason == "SIGHUP"
    finally:
        harness.reloader.stop_listening()


def test_an_article_named_in_capitals_is_watched(tmp_path: Path) -> None:
    kb = tmp_path / "kb" / "en-US"
    kb.mkdir(parents=True)
    (kb / "Onboarding.MD").write_text("# one\n", encoding="utf-8")
    before = kb_fingerprint([tmp_path / "kb"])
    (kb / "Onboarding.MD").write_text("# one, edited\n", encoding="utf-8")
    assert kb_fingerprint([tmp_path / "kb"]) != before
