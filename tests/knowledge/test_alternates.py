"""Alternate texts: the file's format and its problems, loading beside articles, the cache, and matching
a product's own wording of an error that the docs translate differently."""

from __future__ import annotations

import tarfile
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from knowledge.alternates import ALTERNATES_FILE, MAX_ALTERNATE_CHARS, AlternateText, read_alternates
from knowledge.corpus import load_knowledge_base
from knowledge.engine import BUNDLED_ARTICLES, KnowledgeEngine
from knowledge.locales import is_english
from knowledge.model import Tier
from tests.fuzz_budget import fuzz_settings

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
SEED_ID = "error-validating-access-token-during-onboarding"


def write_alternates(folder: Path, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ALTERNATES_FILE
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- the file ---------------------------------------------------------------------------------------------


def test_a_folder_without_the_file_has_no_alternates(tmp_path: Path) -> None:
    assert read_alternates(tmp_path) == ([], [])


def test_texts_are_read_per_locale_and_article_with_their_lines(tmp_path: Path) -> None:
    path = write_alternates(tmp_path, (
        "# what our portal says\n"
        "sv_se:\n"
        f"  {SEED_ID}:\n"
        "    - Åtkomsttoken kunde inte verifieras\n"
        "    - '  Fel vid validering av token  '\n"
        "en-us:\n"
        f"  {SEED_ID}: Access token could not be validated\n"
    ))
    found, problems = read_alternates(tmp_path)
    assert problems == []
    assert found == [
        AlternateText(SEED_ID, "sv-SE", "Åtkomsttoken kunde inte verifieras", str(path), 4),
        AlternateText(SEED_ID, "sv-SE", "Fel vid validering av token", str(path), 5),
        AlternateText(SEED_ID, "en-US", "Access token could not be validated", str(path), 7),
    ]


def test_every_bad_entry_is_a_problem_with_its_line_and_the_good_ones_still_load(tmp_path: Path) -> None:
    write_alternates(tmp_path, (
        "xx-QQ:\n"                       # 1: not a locale
        "  a: text\n"
        "sv-SE:\n"
        "  good: Ett fel\n"              # 4: loads
        "  empty: ''\n"                  # 5
        "  nothing: ~\n"                 # 6
        "  nested: {x: y}\n"             # 7: not a text or a list of texts
        f"  long: {'x' * (MAX_ALTERNATE_CHARS + 1)}\n"  # 8
        "ko-KR: just a string\n"         # 9: not a mapping of articles
    ))
    found, problems = read_alternates(tmp_path)
    assert [(a.article_id, a.text) for a in found] == [("good", "Ett fel")]
    assert [(p.line, p.reason) for p in problems] == [
        (1, "alternate texts: unknown locale 'xx-QQ'"),
        (5, "alternate texts: empty: empty text"),
        (6, "alternate texts: nothing: empty text"),
        (7, "alternate texts: sv-SE: expected article id: texts"),
        (8, f"alternate texts: long: text over {MAX_ALTERNATE_CHARS} characters"),
        (9, "alternate texts: ko-KR: expected article id: texts"),
    ]


@pytest.mark.parametrize(("content", "line", "reason"), [
    ("sv-SE:\n  a: [unclosed\n", 3, "broken YAML"),
    ("- a list\n- of texts\n", 1, "expected locale: article id: texts"),
    (b"sv-SE:\n  a: \xff\xfe\n", 1, "not UTF-8 text"),
])
def test_a_file_that_cannot_be_read_is_one_problem(tmp_path: Path, content: str | bytes, line: int,
                                                   reason: str) -> None:
    path = write_alternates(tmp_path, content)
    found, problems = read_alternates(tmp_path)
    assert found == []
    assert len(problems) == 1
    assert (problems[0].path, problems[0].line) == (str(path), line)
    assert reason in problems[0].reason


def test_an_empty_file_is_no_alternates(tmp_path: Path) -> None:
    write_alternates(tmp_path, "# nothing yet\n")
    assert read_alternates(tmp_path) == ([], [])


YAML_PIECES = ["sv-SE:", "xx:", "\n", "\n  ", "\n    - ", "art-1:", " Fel vid åtkomst", " 令牌", " ~", " ''", " [",
               " {a: b}", " &x", " *x", " |", " #", "\t", ":", "-", "'", '"', "\\", "!!binary", "%", "@", "`"]
TEXTS = st.text(max_size=30) | st.sampled_from(["Fel vid åtkomst", "  令牌驗證 ", "x" * (MAX_ALTERNATE_CHARS + 1)])
STRUCTURED = st.dictionaries(
    st.sampled_from(["sv-SE", "zh_tw", "en", "xx-QQ", "", "123"]),
    st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.integers(), TEXTS, st.lists(TEXTS, max_size=3)),
                    max_size=3) | TEXTS,
    max_size=3,
).map(lambda d: yaml.safe_dump(d, allow_unicode=True))
BROKEN = st.tuples(STRUCTURED, st.integers(min_value=0), st.sampled_from(YAML_PIECES)).map(
    lambda t: t[0][: t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1):])
"""Alternate-texts files: made by a YAML writer (good and bad entries), then with one piece spliced in."""


@fuzz_settings()
@given(content=st.one_of(STRUCTURED, BROKEN, st.binary(max_size=200)))
def test_any_file_content_is_read_or_reported_never_raised(content: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        write_alternates(Path(folder), content)
        found, problems = read_alternates(Path(folder))
    assert all(p.line >= 1 and p.reason.startswith("alternate texts: ") for p in problems)
    assert all(a.text and a.text == a.text.strip() and len(a.text) <= MAX_ALTERNATE_CHARS for a in found)


# --- loading beside articles -----------------------------------------------------------------------------------


def test_a_folder_of_alternates_may_name_articles_of_another_folder(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    write_alternates(ours, f"sv-SE:\n  {SEED_ID}: Token kunde inte verifieras\n  no-such-article: Något\n")
    kb = load_knowledge_base([BUNDLED_ARTICLES, ours])
    assert [(a.article_id, a.text) for a in kb.alternates] == [(SEED_ID, "Token kunde inte verifieras")]
    assert [(p.line, p.reason) for p in kb.problems] == [
        (3, "alternate texts: no article 'no-such-article' in the loaded folders"),
    ]


def test_an_alternate_that_is_another_articles_own_text_is_left_out(tmp_path: Path) -> None:
    for name, heading in (("printer-jam", "Skrivaren har papperstrassel"), ("printer-offline", "Skrivaren är offline")):
        (tmp_path / "sv-SE").mkdir(exist_ok=True)
        (tmp_path / "sv-SE" / f"{name}.md").write_text(f"---\ntitle: {heading}\n---\n# {heading}\n\nText.\n",
                                                      encoding="utf-8")
    write_alternates(tmp_path, "sv-SE:\n  printer-jam:\n    - SKRIVAREN ÄR OFFLINE!\n    - Papperet har fastnat\n")
    kb = load_knowledge_base([tmp_path])
    assert [a.text for a in kb.alternates] == ["Papperet har fastnat"]
    assert [(p.line, p.reason) for p in kb.problems] == [
        (3, "alternate texts: 'SKRIVAREN ÄR OFFLINE!' is the text of article 'printer-offline', which keeps it"),
    ]
    engine = KnowledgeEngine.load([tmp_path])
    assert engine.ask("Skrivaren är offline").article.id == "printer-offline"  # type: ignore[union-attr]
    assert engine.ask("Papperet har fastnat").article.id == "printer-jam"  # type: ignore[union-attr]


def test_the_cache_is_rebuilt_when_the_alternates_change(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    path = write_alternates(ours, f"sv-SE:\n  {SEED_ID}: Token kunde inte verifieras\n")
    cache = tmp_path / "cache"
    first = KnowledgeEngine.load([BUNDLED_ARTICLES, ours], cache_dir=cache)
    assert [a.text for a in first.kb.alternates] == ["Token kunde inte verifieras"]
    time.sleep(0.01)
    path.write_text(f"sv-SE:\n  {SEED_ID}: Token har gått ut eller kunde inte verifieras\n", encoding="utf-8")
    second = KnowledgeEngine.load([BUNDLED_ARTICLES, ours], cache_dir=cache)
    assert [a.text for a in second.kb.alternates] == ["Token har gått ut eller kunde inte verifieras"]


# --- matching --------------------------------------------------------------------------------------------------

# The Swedish docs call the article "Öka postlådans storlek"; an older translation of its original
# English heading ("Switch plans to increase mailbox size"), kept in the corpus history, reads:
OLD_SWEDISH = "Växla planer för att öka storleken på postlådan"
MAILBOX_ARTICLES = ("increase-mailbox-size", "increase-mailbox-size-for-smb-skus",
                    "increase-mailbox-size-for-enterprise-skus")


@pytest.fixture(scope="module")
def mailbox_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three real Swedish span files about mailbox size, as a KB folder."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    root = tmp_path_factory.mktemp("mailbox-kb")
    with tarfile.open(CORPUS / "sv-SE" / "sxs.tar.gz", "r:gz") as archive:
        for name in MAILBOX_ARTICLES:
            handle = archive.extractfile(f"AlchemyInsights/{name}.md")
            assert handle is not None
            target = root / "sv-SE" / f"{name}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(handle.read())
    return root


def test_a_product_wording_unlike_the_docs_is_answered_once_it_is_an_alternate(
    mailbox_kb: Path, tmp_path: Path
) -> None:
    noisy = f"<at>Insight Desk</at> Fel: {OLD_SWEDISH}\nCorrelation ID: 0b3c4e1a-22f1-4d5e-9a7b-1c2d3e4f5a6b"
    without = KnowledgeEngine.load([mailbox_kb]).ask(noisy, client_locale="en-US")
    assert not (without.tier is Tier.ANSWER and without.article is not None
                and without.article.id == "increase-mailbox-size")

    ours = tmp_path / "ours"
    write_alternates(ours, f"sv-SE:\n  increase-mailbox-size: {OLD_SWEDISH}\n"
                           "en-US:\n  increase-mailbox-size: Switch plans to increase mailbox size\n")
    engine = KnowledgeEngine.load([mailbox_kb, ours])
    answer = engine.ask(noisy, client_locale="en-US")
    assert answer.tier is Tier.ANSWER
    assert answer.article is not None and answer.article.id == "increase-mailbox-size"
    assert answer.reply_locale == "sv-SE"  # the pasted language wins over an English client
    assert answer.article.path == "sv-SE/increase-mailbox-size.md"

    typo = engine.ask("Växla planer för att öka storleken på postlådna", client_locale="sv-SE")
    assert (typo.tier, typo.article and typo.article.id) == (Tier.ANSWER, "increase-mailbox-size")

    english = engine.ask("Switch plans to increase mailbox size", client_locale="sv-SE")
    assert english.tier is Tier.ANSWER
    assert english.article is not None and english.article.id == "increase-mailbox-size"
    assert english.reply_locale == "sv-SE"  # English text: the reply goes by the client's locale


def test_an_alternate_in_a_locale_the_article_lacks_answers_in_english(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    write_alternates(ours, f"ja-JP:\n  {SEED_ID}: アクセス トークンの検証中にエラーが発生しました\n")
    engine = KnowledgeEngine.load([BUNDLED_ARTICLES, ours])
    answer = engine.ask("アクセス トークンの検証中にエラーが発生しました", client_locale="ja-JP")
    assert answer.tier is Tier.ANSWER
    assert answer.article is not None and answer.article.id == SEED_ID
    assert answer.fell_back and answer.wanted_locale == "ja-JP"
    assert is_english(answer.reply_locale)  # the seed's span files carry its English source
