"""The n-gram index and its ranking: what is indexed, features per script, garbage in, and a
differential test of the indexed search against a naive scan over real corpus articles."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from knowledge.corpus import load_knowledge_base
from knowledge.engine import BUNDLED_ARTICLES
from knowledge.matcher import (
    GARBLED_CONFIDENCE,
    WORD_PREFIX,
    MatchIndex,
    _garbled,
    features,
    skip_bigrams,
    words,
)
from knowledge.model import ENGLISH, Article, EnglishSource, pack
from knowledge.normalize import DENSE_RANGES, SCRIPT_BOUNDARY, normalize
from tests.fuzz_budget import fuzz_settings

DENSE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in DENSE_RANGES) + "]")

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"
SEED_ID = "error-validating-access-token-during-onboarding"


def article(
    article_id: str,
    locale: str,
    heading: str,
    *,
    errors: Sequence[str] = (),
    title: str | None = None,
    english: EnglishSource | None = None,
) -> Article:
    return Article(
        id=article_id, locale=locale, path=f"{locale}/{article_id}.md", kb_root="/kb", title=title or heading,
        heading=heading, anchor=None, error_strings=tuple(errors), packed_body=pack("Text."), english=english,
    )


@pytest.fixture(scope="module")
def seed_index() -> MatchIndex:
    return MatchIndex.build(load_knowledge_base([BUNDLED_ARTICLES]).articles)


# --- features -----------------------------------------------------------------------------------------


def test_features_are_padded_trigrams_in_spaced_scripts() -> None:
    assert features("fel ab") == [" fe", "fel", "el ", " ab", "ab "]
    assert features("ошибка")[:2] == [" ош", "оши"]


def test_features_are_bigrams_in_unspaced_scripts() -> None:
    assert features("驗證存取") == ["驗證", "證存", "存取"]
    assert features("토큰 오류가") == ["토큰", "오류", "류가"]
    assert features("เกิดข้อ")[:2] == ["เก", "กิ"]
    assert features("驗") == ["驗"]


def test_an_unspaced_script_and_a_spaced_one_written_together_are_separate_words() -> None:
    # Chinese UI text often runs a product name into the sentence: "附加文件Outlook".
    assert features("附加文件outlook") == features("附加文件 outlook")
    assert "件o" not in features("附加文件outlook") and " ou" in features("附加文件outlook")
    assert words("键盘快捷方式outlook") == ["键盘", "盘快", "快捷", "捷方", "方式", "outlo"]


def reference_features(norm: str) -> tuple[list[str], list[str]]:
    """``features`` and ``words`` by their definition, token by token (the module takes shortcuts)."""
    grams: list[str] = []
    word_list: list[str] = []
    for token in SCRIPT_BOUNDARY.sub(" ", norm).split():
        if DENSE.match(token[0]):
            pairs = [token] if len(token) == 1 else [token[i: i + 2] for i in range(len(token) - 1)]
            grams += pairs
            word_list += pairs
        else:
            padded = f" {token} "
            grams += [padded[i: i + 3] for i in range(len(padded) - 2)]
            word_list.append(token[:WORD_PREFIX])
    return grams, word_list


@fuzz_settings()
@given(st.text(alphabet=st.sampled_from([*"ab é-\n\t", "ö", "驗", "證", "토", "큰", "เ", "ก", "ш", "Ω"]), max_size=40))
def test_features_and_words_keep_their_definition_in_every_script(text: str) -> None:
    for norm in (text, normalize(text)):
        assert (features(norm), words(norm)) == reference_features(norm)


def test_features_of_nothing() -> None:
    assert features("") == []
    assert features(" ") == []


# --- what is indexed ------------------------------------------------------------------------------------


def test_every_title_heading_and_error_string_is_indexed_normalized(seed_index: MatchIndex) -> None:
    kb = load_knowledge_base([BUNDLED_ARTICLES])
    entries = set(zip(seed_index.texts, seed_index.entry_locale, strict=True))
    for a in kb.articles:
        for raw in (a.title, a.heading, *a.error_strings):
            assert (normalize(raw), a.locale) in entries
        assert a.english is not None
        for raw in (a.english.heading, *a.english.error_strings):
            assert (normalize(raw), ENGLISH) in entries
    assert set(seed_index.entry_article) == {SEED_ID}
    assert len(set(zip(seed_index.texts, seed_index.entry_locale, strict=True))) == len(seed_index)  # no repeats


def test_english_source_is_indexed_once_for_all_translations(seed_index: MatchIndex) -> None:
    english = [t for t, loc in zip(seed_index.texts, seed_index.entry_locale, strict=True) if loc == ENGLISH]
    assert sorted(english) == sorted({
        "there was an error validating access token",
        "there was an error validating access token error during desktop analytics onboarding",
    })


def test_an_untranslated_text_counts_as_english() -> None:
    en = EnglishSource(heading='"Access denied" error', error_strings=("Access denied",), packed_body=pack("Text."))
    index = MatchIndex.build([article("a", "sv-SE", 'Felet "Access denied"', errors=["Access denied"], english=en)])
    (best,) = index.match("Access denied")
    assert best.locale == ENGLISH


def test_one_letter_texts_are_not_indexed() -> None:
    index = MatchIndex.build([article("a", "zh-TW", "錯", title="錯誤訊息")])
    assert index.texts == ["錯誤訊息"]


# --- matching --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "!!!", "\u200b", "3f2a9c1e-1b2c-4d5e-8f90-123456789abc", "<at>Bot</at>"])
def test_nothing_to_match_gives_no_matches(seed_index: MatchIndex, text: str) -> None:
    assert seed_index.match(text) == []


def test_a_non_string_or_no_limit_gives_no_matches(seed_index: MatchIndex) -> None:
    assert seed_index.match(None) == []  # type: ignore[arg-type]
    assert seed_index.match(b"There was an error") == []  # type: ignore[arg-type]
    assert seed_index.match("There was an error validating access token", limit=0) == []


def test_an_empty_index_matches_nothing() -> None:
    index = MatchIndex.build([])
    assert len(index) == 0
    assert index.match("There was an error validating access token") == []


def test_matches_are_distinct_articles_within_the_limit() -> None:
    articles = [article(f"a{i}", "sv-SE", f"Fel {i}: åtkomst nekad för användare {i}") for i in range(8)]
    index = MatchIndex.build(articles)
    found = index.match("åtkomst nekad för användare", limit=5)
    assert len(found) == 5
    assert len({m.article_id for m in found}) == 5
    assert all(0 <= m.score <= 100 for m in found)


def test_a_match_says_where_its_text_came_from(seed_index: MatchIndex) -> None:
    (best,) = seed_index.match("驗證存取權杖時發生錯誤")
    assert (best.article_id, best.locale, best.path, best.score) == (
        SEED_ID, "zh-TW", f"zh-TW/{SEED_ID}.md", 100.0)
    assert best.text == "驗證存取權杖時發生錯誤"


def test_the_same_text_in_two_locales_goes_to_the_preferred_one() -> None:
    shared = "Outlook kan inte ansluta till servern"
    index = MatchIndex.build([article("a", "sv-SE", shared), article("a", "nb-NO", shared)])
    assert index.match(shared, prefer_locale="nb-NO")[0].locale == "nb-NO"
    assert index.match(shared, prefer_locale="sv-FI")[0].locale == "sv-SE"


def test_the_words_of_a_file_name_count_as_the_article_s_words() -> None:
    # A renamed product: the heading says "Defender", the file name still says "atp", and so
    # does an older translation of the original title; the association evidence sees it.
    others = ["Cancelar uma assinatura", "Redefinir a senha", "Adicionar um domínio", "Excluir um usuário",
              "Criar um grupo", "Alterar o idioma", "Recuperar emails excluídos", "Instalar o Teams"]
    index = MatchIndex.build([
        article("learn-about-atp", "pt-BR", "Saiba mais sobre o Defender"),
        article("learn-about-apps", "pt-BR", "Saiba mais sobre o Dynamics"),
        *(article(f"other-{i}", "pt-BR", heading) for i, heading in enumerate(others)),
    ])
    atp, apps = index._related("saiba mais sobre a atp", np.asarray([0, 1]))
    assert atp > apps > 0


def test_a_word_with_a_typo_still_carries_association_evidence() -> None:
    others = ["Cancelar uma assinatura", "Redefinir a senha", "Adicionar um domínio", "Excluir um usuário",
              "Criar um grupo", "Alterar o idioma", "Recuperar emails excluídos", "Instalar o Teams"]
    index = MatchIndex.build([
        article("permissions", "fi-FI", "Käyttöoikeudet puuttuvat"),
        article("password", "fi-FI", "Salasanan vaihtaminen"),
        *(article(f"other-{i}", "pt-BR", heading) for i, heading in enumerate(others)),
    ])
    # "kyättö" is "käyttö" with two letters swapped; "käyttöoikeudet" is cut to the word "käytt".
    permissions, password = index._related(normalize("Kyättöoikeudet"), np.asarray([0, 1]))
    assert permissions > 0 and password == 0
    assert index._related(normalize("Qwerty"), np.asarray([0, 1])).tolist() == [0.0, 0.0]


def test_a_cut_off_paste_fits_every_text_it_starts() -> None:
    index = MatchIndex.build([
        article("phone", "en-US", "Reset the MFA phone number for a user"),
        article("app", "en-US", "Reset the MFA authenticator app for a user"),
        article("whole", "en-US", "Reset the MFA"),
    ])
    found = {m.article_id: m for m in index.match("Reset the MFA", limit=3)}
    assert found["whole"].score == found["whole"].fit == 100.0
    assert found["phone"].fit == found["app"].fit == 100.0
    assert found["app"].score < found["phone"].score < 100.0  # discounted for the part they lack


@pytest.mark.parametrize(("paste", "text", "garbled"), [
    ("刪刪除用使者", "刪除使用者", True),  # a doubled character and a swap
    ("新增使者新者", "新增使用者", True),  # one character dropped, one repeated from the text
    ("么么是是域", "什么是域", True),  # 什 replaced by its neighbour, 是 doubled
    ("删除用户", "删除用户", True),  # itself
    ("刪除群組", "刪除使用者", False),  # an other heading sharing words: 群組 is not in the text
    ("設定使用者", "刪除使用者", False),  # two edits, but 設定 ("set up") is not in the text: an other heading
    ("者使用除刪", "刪除使用者", False),  # the same characters in another order: too many edits
    ("除使者", "刪除使用者", False),  # two edits in three characters
    ("刪除用", "刪除用", False),  # too short to judge
    ("Deleting usres", "deleting users", True),  # the measure holds for every script
    ("檔將案複製到 Onerr", "將檔案複製到 OneDrive", True),  # cut off after 11 of 14 characters, a swap, a slip
    ("將檔案複製", "將檔案複製到 OneDrive", False),  # cut off too short: the start of many texts
    ("將檔案複製到 Onefoo", "將檔案複製到 OneDrive", False),  # cut off, but f is not in the text
])
def test_a_paste_of_a_text_s_own_characters_a_few_edits_away_is_that_text_garbled(
    paste: str, text: str, garbled: bool
) -> None:
    assert _garbled(normalize(paste), normalize(text)) is garbled


def test_a_garbled_short_han_heading_is_matched_confidently_and_an_other_heading_is_not() -> None:
    index = MatchIndex.build([
        article("delete-users", "zh-TW", "刪除使用者"),
        article("add-users", "zh-TW", "新增使用者"),
        article("groups", "zh-TW", "建立群組"),
    ])
    garbled = index.match("刪刪除用使者", limit=3)
    assert garbled[0].article_id == "delete-users" and garbled[0].score == GARBLED_CONFIDENCE
    assert all(m.score < GARBLED_CONFIDENCE for m in garbled[1:])
    other = index.match("刪除群組", limit=3)  # "delete groups": shares 刪除 and 群組, but is neither
    assert other and all(m.score < 80 for m in other)


def test_a_typo_in_a_text_of_common_words_still_finds_it() -> None:
    # Every n-gram of "microsoft outlook" is in most entries, so candidates are drawn by the rarer
    # ones; a typo ("micosoft") brings rare n-grams of its own ("ico", "cos") that only an unrelated
    # text shares. The common n-grams must still bring the text in.
    fillers = [f"microsoft outlook {chr(97 + i // 26)}{chr(97 + i % 26)}xq" for i in range(150)]
    articles = [article(f"filler-{i}", "tr-TR", text) for i, text in enumerate(fillers)]
    articles += [article("cannot-start-outlook", "tr-TR", "Outlook: Microsoft Outlook"),
                 article("cosmic-icons", "tr-TR", "Kozmik ikonlar: cosmic icons")]
    index = MatchIndex.build(articles)
    found = index.match("ERROR: Outlook: Micosoft Outlook")
    assert found and found[0].article_id == "cannot-start-outlook"
    assert found[0].score > 95


def test_skip_bigrams_pair_characters_one_apart_in_unspaced_scripts_only() -> None:
    assert skip_bigrams(normalize("群原組群則 policy")) == ["群組", "原群", "組則"]
    assert skip_bigrams(normalize("group policy")) == []


def test_a_garbled_paste_sharing_no_bigram_with_its_text_is_still_found() -> None:
    index = MatchIndex.build([article("group-policy", "zh-TW", "群組原則"), article("users", "zh-TW", "刪除使用者")])
    assert not index._candidates(normalize("群原組群則"))  # every bigram of the text is broken
    found = index.match("群原組群則", limit=3)
    assert [m.article_id for m in found] == ["group-policy"] and found[0].score == GARBLED_CONFIDENCE


@pytest.mark.parametrize(("prefer", "locale"), [(None, "nb-NO"), ("da-DK", "da-DK"), ("sv-SE", "nb-NO")])
def test_the_preferred_language_stands_for_an_article_when_its_text_matches_nearly_as_well(
    prefer: str | None, locale: str
) -> None:
    # An older Danish translation can be closer to the Norwegian heading than to the Danish one.
    index = MatchIndex.build([
        article("share", "nb-NO", "Deling av kalender i Outlook"),
        article("share", "da-DK", "Deling af kalenderen i Outlook"),
        article("other", "da-DK", "Nulstil adgangskoden"),
    ])
    best = index.match("Deling av kalendere i Outlook", prefer_locale=prefer)[0]
    assert (best.article_id, best.locale, best.path) == ("share", locale, f"{locale}/share.md")


def test_a_long_paste_is_searched_line_by_line() -> None:
    index = MatchIndex.build([
        article("token", "sv-SE", "Ett fel uppstod vid validering av åtkomsttoken"),
        article("printer", "sv-SE", "Skrivaren svarar inte"),
    ])
    log = "\n".join(f"{i:04d} INFO arbetaren startade om tjänsten efter omstart" for i in range(6))
    (best, *_) = index.match(f"{log}\nEtt fel uppstod vid validering av åtkomsttoken\n{log}")
    assert (best.article_id, best.score) == ("token", 100.0)


@pytest.mark.parametrize(
    ("exact", "reordered"),
    [("手動登入 Microsoft Edge", "Microsoft Edge 手動登入"), ("Sign in to Edge manually", "manually Sign in to Edge")],
)
def test_an_exact_heading_beats_the_same_words_in_another_order(exact: str, reordered: str) -> None:
    # "a-..." sorts before "b-...": the reordered heading's article would win a tie broken by id.
    index = MatchIndex.build([article("a-reordered", "zh-TW", reordered), article("b-exact", "zh-TW", exact)])
    best = index.match(exact, limit=2)
    assert best[0].article_id == "b-exact"
    assert best[0].score == 100.0


# --- differential: the index against a naive scan of real articles ---------------------------------------

SAMPLE_PER_SNAPSHOT = 150
SAMPLED = [("sv-SE", "sxs"), ("zh-TW", "plain")]


@pytest.fixture(scope="module")
def corpus_sample(tmp_path_factory: pytest.TempPathFactory) -> list[Article]:
    """~300 real articles: an even spread of each sampled corpus tarball, written as a KB folder."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    root = tmp_path_factory.mktemp("corpus-sample")
    for locale, snapshot in SAMPLED:
        with tarfile.open(CORPUS / locale / f"{snapshot}.tar.gz", "r:gz") as archive:
            members = sorted(
                (m for m in archive if m.isfile() and m.name.endswith(".md") and "/includes/" not in m.name),
                key=lambda m: m.name,
            )
            step = max(1, len(members) // SAMPLE_PER_SNAPSHOT)
            for member in members[::step][:SAMPLE_PER_SNAPSHOT]:
                handle = archive.extractfile(member)
                assert handle is not None
                target = root / locale / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(handle.read())
    kb = load_knowledge_base([root])
    assert kb.problems == ()
    assert len(kb.articles) == SAMPLE_PER_SNAPSHOT * len(SAMPLED)
    return list(kb.articles)


def test_indexed_top_match_equals_a_naive_scan_for_every_heading(corpus_sample: list[Article]) -> None:
    index = MatchIndex.build(corpus_sample)
    assert any(loc == ENGLISH for loc in index.entry_locale)  # the sxs half brings English source text
    disagreements = []
    for a in corpus_sample:
        headings = [a.heading] + ([a.english.heading] if a.english else [])
        for heading in headings:
            found = index.match(heading, limit=1)
            query = normalize(heading)
            naive = process.extractOne(query, index.texts, scorer=fuzz.ratio, processor=None)
            assert naive is not None
            best_score = naive[1]
            best_articles = {
                index.entry_article[i] for i, text in enumerate(index.texts) if fuzz.ratio(query, text) == best_score
            }
            if not found or found[0].article_id not in best_articles:
                disagreements.append((heading, found[0].article_id if found else None, sorted(best_articles)))
    assert disagreements == []
