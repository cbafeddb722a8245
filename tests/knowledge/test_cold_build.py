"""The fast cold build against the straightforward one: the same articles, problems and index.

Parsing runs in chunks that keep an article's translations together (their English source is
cleaned and packed once), and the index's n-gram postings are computed with numpy; both are held
here against the plain per-file parse and the plain Python postings, on real corpus files.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import knowledge.corpus as corpus
from knowledge.corpus import ArticleFile, find_article_files, load_knowledge_base, parse_file
from knowledge.matcher import MatchIndex, features, words
from knowledge.model import Article, ArticleProblem
from knowledge.normalize import normalize
from knowledge.postings import feature_postings
from tests.fuzz_budget import fuzz_settings

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
LOCALES = ("sv-SE", "zh-TW", "ko-KR")
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")
BROKEN = {
    "sv-SE/AlchemyInsights/broken-yaml.md": b"---\ntitle: [unclosed\nms.contentlocale: sv-SE\n---\n# R\n\nText.\n",
    "zh-TW/AlchemyInsights/no-front-matter.md": b"# Rubrik\n\nText.\n",
    "ko-KR/AlchemyInsights/latin-1.md": b"---\ntitle: x\n---\n# R\xe4ksm\xf6rg\xe5s\n\nText.\n",
    "ko-KR/AlchemyInsights/no-heading.md": b"---\ntitle: x\n---\nOnly text.\n",
}


def sample_kb(root: Path, per_locale: int) -> Path:
    """The first ``per_locale`` article files of each locale's span snapshot, in the eval layout, plus broken files."""
    for locale in LOCALES:
        taken = 0
        with tarfile.open(CORPUS / locale / "sxs.tar.gz", "r:gz") as archive:
            for member in archive:
                if taken == per_locale:
                    break
                if member.isfile() and member.name.endswith(".md") and "/includes/" not in member.name:
                    handle = archive.extractfile(member)
                    assert handle is not None
                    dest = root / locale / member.name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(handle.read())
                    taken += 1
    for relative, data in BROKEN.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def corpus_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return sample_kb(tmp_path_factory.mktemp("kb"), 120)


def one_by_one(root: Path) -> list[Article | ArticleProblem]:
    """The straightforward parse: each file alone, in walk order."""
    return [parse_file(job) for job in find_article_files(root.resolve())]


@needs_corpus
def test_parsing_in_worker_chunks_gives_what_parsing_each_file_alone_gives(
    corpus_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = one_by_one(corpus_sample)
    monkeypatch.setattr(corpus, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(corpus, "CHUNK_FILES", 7)
    monkeypatch.setattr(corpus, "_workers", lambda: 2)
    kb = load_knowledge_base([corpus_sample])
    assert list(kb.articles) == [r for r in expected if isinstance(r, Article)]
    assert list(kb.problems) == [r for r in expected if isinstance(r, ArticleProblem)]
    assert len(kb.articles) == 3 * 120  # every real file, and each broken one reported the same way
    assert sorted(Path(p.path).name for p in kb.problems) == sorted(Path(name).name for name in BROKEN)


@needs_corpus
def test_the_translations_of_an_article_share_one_english_source(
    corpus_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(corpus, "CHUNK_FILES", 7)
    monkeypatch.setattr(corpus, "_workers", lambda: 2)
    kb = load_knowledge_base([corpus_sample])
    shared = 0
    for article_id in kb.article_ids:
        sources = [a.english for a in kb.translations(article_id).values() if a.english is not None]
        equal = [s for s in sources if s == sources[0]]
        shared += len(equal) > 1
        assert all(s is sources[0] for s in equal)
    assert shared >= 10


def test_chunks_keep_the_files_of_one_name_together_and_cover_every_file_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(corpus, "CHUNK_FILES", 4)
    jobs = [ArticleFile(f"/kb/{loc}/{name}", f"{loc}/{name}", "/kb", loc, name[:-3])
            for loc in ("sv-SE", "da-DK", "ko-KR") for name in ("a.md", "b.md", "c.md", "d.md", "e.md")]
    chunks = corpus._chunks(jobs)
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(jobs)))
    for chunk in chunks:
        names = {jobs[i].relative.split("/")[1] for i in chunk}
        assert all(jobs[i].relative.split("/")[1] not in names for other in chunks if other is not chunk
                   for i in other)
        assert len(chunk) >= 4 or chunk is chunks[-1]


def reference_postings(texts: list[str]) -> dict[str, list[int]]:
    """Each n-gram's entries, from ``features`` one text at a time (the straightforward build)."""
    found: dict[str, list[int]] = {}
    for entry, text in enumerate(texts):
        for gram in sorted(set(features(text))):
            found.setdefault(gram, []).append(entry)
    return found


def postings_of(texts: list[str]) -> dict[str, list[int]]:
    built = feature_postings(texts)
    by_id = {number: gram for gram, number in built.vocab.items()}
    found: dict[str, list[int]] = {}
    for feature, entry in zip(built.feature_of.tolist(), built.entry_of.tolist(), strict=True):
        found.setdefault(by_id[feature], []).append(entry)
    return found


SCRIPTS = st.sampled_from(
    ["abc de", "åäö", "ąę ł", "中文字", "日本語かな", "한국어 ", "ไทย", "кир ", "αβγ", "ا ب", " ", "1 2"])


@fuzz_settings(0.3)
@given(st.lists(st.lists(SCRIPTS, max_size=6).map("".join), max_size=8))
def test_numpy_postings_are_the_n_grams_of_features_in_every_script(pieces: list[str]) -> None:
    texts = [normalize(t) for t in pieces]
    assert postings_of(texts) == reference_postings(texts)


@needs_corpus
def test_the_index_equals_the_straightforward_build_on_real_articles(corpus_sample: Path) -> None:
    kb = load_knowledge_base([corpus_sample])
    index = MatchIndex.build(kb.articles)
    expected = reference_postings(index.texts)
    assert {g: index.postings[index.offsets[v]: index.offsets[v + 1]].tolist()
            for g, v in index.vocab.items()} == expected
    df = {g: len(entries) for g, entries in expected.items()}
    n = len(index.texts)
    assert all(np.float32(np.log((n + 1) / (df[g] + 0.5))) == index.idf[v] for g, v in index.vocab.items())
    weights = [sum(float(index.idf[index.vocab[g]]) for g in set(features(t))) for t in index.texts]
    assert np.array_equal(index.entry_weight, np.asarray(weights, dtype=np.float32))
    # Words: numbered in order of first use (texts, then file names), each article's words once.
    numbers = dict.fromkeys(index.entry_article)
    sequence = [w for t in index.texts for w in words(t)] + [w for a in numbers for w in words(normalize(a))]
    assert list(index.word_vocab) == list(dict.fromkeys(sequence))
    article_words: dict[int, set[int]] = {}
    for number, text in zip(index.entry_article_no.tolist(), index.texts, strict=True):
        article_words.setdefault(number, set()).update(index.word_vocab[w] for w in words(text))
    for number, article in enumerate(numbers):
        article_words[number].update(index.word_vocab[w] for w in words(normalize(article)))
        start, end = index.article_offsets[number], index.article_offsets[number + 1]
        assert index.article_words[start:end].tolist() == sorted(article_words[number])
    for word in range(len(index.word_vocab)):
        users = index.word_articles[index.word_offsets[word]: index.word_offsets[word + 1]].tolist()
        assert users == sorted(a for a, ws in article_words.items() if word in ws)
