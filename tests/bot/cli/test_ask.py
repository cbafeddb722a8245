"""The command line through ``bot.__main__.main``, with the bundled knowledge base."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main

REPO = Path(__file__).resolve().parents[1]
SEED = "error-validating-access-token-during-onboarding"
LINK_PATH = "azure/active-directory/conditional-access/plan-conditional-access"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_ask_swedish_paste_answers_in_swedish_with_localized_link() -> None:
    code, out, _ = run("ask", "Ett fel uppstod vid validering av åtkomsttoken")
    assert code == 0
    assert "Skrivbordsanalys" in out
    assert f"https://learn.microsoft.com/sv-se/{LINK_PATH}" in out
    assert "docs.microsoft.com" not in out


def test_ask_english_with_explicit_korean_locale_answers_in_korean() -> None:
    code, out, _ = run("ask", "There was an error validating access token", "--locale", "ko-KR", "--json")
    assert code == 0
    record = json.loads(out)
    assert record["tier"] == "answer"
    assert record["article"] == SEED
    assert record["locale"] == "ko-KR"
    assert "액세스 토큰" in record["heading"]
    assert f"https://learn.microsoft.com/ko-kr/{LINK_PATH}" in record["body"]


def test_ask_json_for_unrelated_text_is_tier_none() -> None:
    code, out, _ = run("ask", "how do I bake sourdough bread at home", "--json")
    assert code == 0
    assert json.loads(out)["tier"] == "none"


def test_batch_follows_the_contract_in_order(tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "text": "驗證存取權杖時發生錯誤", "locale": "en-US"},
        {"id": "b", "text": "There was an error validating access token", "locale": "sv-SE"},
        {"id": "c", "text": "completely unrelated question about printers"},
    ]
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    code, out, _ = run("ask", "--batch", str(queries))
    assert code == 0
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["id"] for a in answers] == ["a", "b", "c"]
    for a in answers:
        assert set(a) >= {"id", "tier", "article", "path", "locale", "score", "suggestions"}
    assert (answers[0]["tier"], answers[0]["article"], answers[0]["locale"]) == ("answer", SEED, "zh-TW")
    assert answers[0]["path"] == f"zh-TW/{SEED}.md"
    assert (answers[1]["tier"], answers[1]["locale"]) == ("answer", "sv-SE")
    assert answers[2]["tier"] == "none"


def test_kb_check_reports_bad_files_and_exits_nonzero(tmp_path: Path) -> None:
    good = (REPO / "knowledge" / "articles" / "sv-SE" / f"{SEED}.md").read_text(encoding="utf-8")
    (tmp_path / "sv-SE").mkdir()
    (tmp_path / "sv-SE" / "good.md").write_text(good, encoding="utf-8")
    (tmp_path / "sv-SE" / "broken.md").write_text("---\ntitle: [unclosed\n---\n# Rubrik\n\nText.\n", encoding="utf-8")
    code, out, _ = run("kb", "check", str(tmp_path))
    assert code == 1
    assert "broken.md" in out
    assert "good.md" not in out
    assert "1 files loaded, 1 bad" in out


def test_kb_check_reports_bad_alternate_texts_with_their_lines(tmp_path: Path) -> None:
    (tmp_path / "alternate-texts.yaml").write_text(
        f"sv-SE:\n  {SEED}: Token kunde inte verifieras\n  no-such-article: Något\nxx-QQ:\n  a: b\n",
        encoding="utf-8")
    bundled = str(REPO / "knowledge" / "articles")
    code, out, _ = run("kb", "check", bundled, str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'alternate-texts.yaml'}:3: alternate texts: no article 'no-such-article'" in out
    assert f"{tmp_path / 'alternate-texts.yaml'}:4: alternate texts: unknown locale 'xx-QQ'" in out
    assert "3 files and 1 alternate texts loaded, 2 bad" in out
    code, out, _ = run("kb", "stats", bundled, str(tmp_path))
    assert code == 0 and "(3 files, 1 alternate texts)" in out


def test_kb_check_of_bundled_articles_is_clean() -> None:
    code, out, _ = run("kb", "check")
    assert code == 0, out
    assert "3 files loaded, 0 bad" in out


def test_kb_stats_prints_articles_by_locales(tmp_path: Path) -> None:
    code, out, _ = run("kb", "stats", str(REPO / "knowledge" / "articles"))
    assert code == 0
    assert "1 articles x 3 locales" in out
    for locale in ("ko-KR", "sv-SE", "zh-TW"):
        assert locale in out


def test_missing_kb_folder_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("ask", "anything", "--kb", str(tmp_path / "nope"))
    assert code == 2
    assert "nope" in err


@pytest.mark.timeout(60)
def test_module_entry_point_runs_in_a_fresh_interpreter() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "액세스 토큰 유효성 검사 오류", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["article"], record["locale"]) == (SEED, "ko-KR")
