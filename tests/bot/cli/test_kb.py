"""``python -m bot kb check`` and ``kb stats``: bad files and entries reported, counted apart; warnings."""

from __future__ import annotations

from pathlib import Path

from tests.bot.cli.cli_runs import REPO, SEED, run_bot
from tests.bot.cli.cli_runs import run_main as run


def swedish_kb(root: Path) -> Path:
    """A knowledge base of the bundled Swedish article, as ``root/sv-SE/good.md``."""
    good = (REPO / "knowledge" / "articles" / "sv-SE" / f"{SEED}.md").read_text(encoding="utf-8")
    (root / "sv-SE").mkdir(parents=True)
    (root / "sv-SE" / "good.md").write_text(good, encoding="utf-8")
    return root


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


def test_kb_stats_counts_bad_files_and_bad_alternate_text_entries_apart(tmp_path: Path) -> None:
    kb = swedish_kb(tmp_path / "kb")
    (kb / "sv-SE" / "broken.md").write_text("---\ntitle: [unclosed\n---\n# Rubrik\n\nText.\n", encoding="utf-8")
    (kb / "alternate-texts.yaml").write_text("sv-SE:\n  good: Token kunde inte verifieras\n  no-such-article: Något\n"
                                             "xx-QQ:\n  good: b\n", encoding="utf-8")
    done = run_bot("kb", "stats", str(kb), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(1 files, 1 alternate texts)" in done.stdout
    assert "1 bad files, 2 bad alternate-text entries (see `python -m bot kb check`)" in done.stdout
    checked = run_bot("kb", "check", str(kb), cwd=tmp_path)
    assert checked.returncode == 1
    assert "1 files and 1 alternate texts loaded, 3 bad (1 files, 2 alternate-text entries)" in checked.stdout


def test_kb_check_warns_about_a_second_h1_heading_and_still_loads_the_file(tmp_path: Path) -> None:
    kb = swedish_kb(tmp_path / "kb")
    (kb / "sv-SE" / "two.md").write_text(
        "---\ntitle: Två\n---\n# Första rubriken\n\nText.\n\n```sh\n# a comment, not a heading\n```\n\n"
        "# Andra rubriken\n\nMer text.\n", encoding="utf-8")
    done = run_bot("kb", "check", str(kb), cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{kb / 'sv-SE' / 'two.md'}:12: warning: a second '# ' H1 heading"), lines
    assert lines[-1] == "2 files loaded, 0 bad, 1 warnings"
    assert len(lines) == 2  # the comment in the code block and the one-heading file are not warned about
