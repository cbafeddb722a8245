"""``python -m bot ask``: one answer, a batch, the JSON contract, and a clear line for what cannot be answered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.cli.cli_runs import BUNDLED, REPO, SEED, run_bot
from tests.bot.cli.cli_runs import run_main as run

LINK_PATH = "azure/active-directory/conditional-access/plan-conditional-access"
SWEDISH_PASTE = "Ett fel uppstod vid validering av åtkomsttoken"
ENGLISH_PASTE = "There was an error validating access token"


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



@pytest.mark.parametrize("what", ["binary file", "folder"])
def test_a_batch_that_is_not_a_text_file_is_one_error_line_naming_it(what: str, tmp_path: Path) -> None:
    target = tmp_path / "queries"
    if what == "folder":
        target.mkdir()
    else:
        target.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    done = run_bot("ask", "--batch", str(target), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: --batch {target}: ") and done.stderr.count("\n") == 1, done.stderr


def test_a_batch_with_bad_lines_answers_the_good_ones_reports_each_bad_one_and_exits_1(tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join([json.dumps({"id": "a", "text": SWEDISH_PASTE}, ensure_ascii=False), "not json",
                                  json.dumps({"id": 3})]) + "\n", encoding="utf-8")
    done = run_bot("ask", "--batch", str(queries), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(a["id"], a["article"]) for a in answers] == [("a", SEED), (None, None), (None, None)]
    assert "error" not in answers[0]
    assert answers[1]["error"].startswith("line 2: not JSON") and answers[2]["error"].startswith("line 3: ")
    assert f"{queries}: line 2: not JSON" in done.stderr and f"{queries}: line 3: " in done.stderr
    assert "2 of 3 query lines" in done.stderr and "Traceback" not in done.stderr


def test_a_batch_on_standard_input_reports_a_line_that_is_not_utf8_and_answers_the_rest(tmp_path: Path) -> None:
    stdin = (json.dumps({"id": "a", "text": SWEDISH_PASTE}).encode() + b"\n\xff\xfe{}\n"
             + json.dumps({"id": "c", "text": "completely unrelated question about printers"}).encode() + b"\n")
    done = run_bot("ask", "--batch", "-", cwd=tmp_path, stdin=stdin)
    assert done.returncode == 1, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["a", None, "c"]
    assert answers[0]["article"] == SEED and answers[2]["tier"] == "none"
    assert answers[1]["error"].startswith("line 2: not UTF-8 text")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("option", ["--locale", "--client-locale"])
def test_an_unknown_locale_is_an_error_that_lists_the_locales(option: str, tmp_path: Path) -> None:
    done = run_bot("ask", ENGLISH_PASTE, option, "xx-YY", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: {option} xx-YY: ") and done.stderr.count("\n") == 1, done.stderr
    for locale in ("ko-KR", "sv-SE", "zh-TW"):
        assert locale in done.stderr
    # A real language the knowledge base lacks is no error: the answer says it fell back.
    done = run_bot("ask", ENGLISH_PASTE, option, "de-DE", cwd=tmp_path)
    assert done.returncode == 0 and SEED in done.stdout, done.stderr


def test_the_json_names_the_file_whose_text_is_shown(tmp_path: Path) -> None:
    def ask(*argv: str) -> dict[str, str]:
        done = run_bot("ask", *argv, "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        record: dict[str, str] = json.loads(done.stdout)
        return record

    english = ask(ENGLISH_PASTE)  # the bundled KB has no English file: the text is a span file's English source
    assert (english["locale"], english["shown_text"]) == ("en", "english_source")
    assert english["heading"] in (BUNDLED / english["shown_path"]).read_text(encoding="utf-8")
    swedish = ask(SWEDISH_PASTE)
    assert (swedish["locale"], swedish["shown_text"]) == ("sv-SE", "localized")
    assert swedish["shown_path"] == swedish["path"] == f"sv-SE/{SEED}.md"
    korean = ask(SWEDISH_PASTE, "--locale", "ko-KR")  # matched in the Swedish file, shown from the Korean one
    assert (korean["path"], korean["shown_path"], korean["shown_text"]) == (
        f"sv-SE/{SEED}.md", f"ko-KR/{SEED}.md", "localized")
    batch = run_bot("ask", "--batch", "-", cwd=tmp_path,
                    stdin=json.dumps({"id": "k", "text": SWEDISH_PASTE, "locale": "en-US"}).encode() + b"\n")
    assert json.loads(batch.stdout)["shown_path"] == f"sv-SE/{SEED}.md"


def test_ask_answers_the_wordings_agents_added_as_the_server_does(tmp_path: Path) -> None:
    """The command line loads what `serve` loads: KB_PATH (here the bundled articles), then KB_LEARNED_PATH."""
    from bot.feedback.learned_kb import LearnedEntry, write_learned_file

    wording = "Access token validation failed"
    before = json.loads(run_bot("ask", wording, "--json", cwd=tmp_path).stdout)
    assert before["tier"] == "suggest"  # the bundled articles alone do not answer this wording outright
    learned = tmp_path / "learned"
    write_learned_file(learned, [LearnedEntry("en-US", SEED, wording, "Anna", "2026-12-04T10:00:00+00:00")])
    done = run_bot("ask", wording, "--json", cwd=tmp_path, env={"KB_LEARNED_PATH": str(learned)})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["tier"], answer["article"]) == ("answer", SEED)
