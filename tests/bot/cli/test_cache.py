"""`ask`, `kb stats` and `chat` load the knowledge base from the cache `serve` uses; `--no-cache` bypasses it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.engine import KnowledgeEngine
from tests.bot.cli.cli_runs import BUNDLED, run_bot

SWEDISH_PASTE = "Ett fel uppstod vid validering av åtkomsttoken"
COMMANDS = {
    "ask": lambda kb: ["ask", SWEDISH_PASTE, "--kb", str(kb)],
    "kb stats": lambda kb: ["kb", "stats", str(kb)],
}


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("kb-*.pickle")) if cache.is_dir() else []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_writes_and_then_reads_the_cache_serve_uses(command: str, tmp_path: Path) -> None:
    kb = shutil.copytree(BUNDLED, tmp_path / "kb")
    cache = tmp_path / "cache"
    env = {"KB_CACHE_DIR": str(cache)}
    argv = COMMANDS[command](kb)

    bypassed = run_bot(*argv, "--no-cache", cwd=tmp_path, env=env)
    assert bypassed.returncode == 0, bypassed.stderr
    assert cache_files(cache) == []

    cold = run_bot(*argv, cwd=tmp_path, env=env)
    assert cold.returncode == 0, cold.stderr
    (written,) = cache_files(cache)
    stamp = written.stat().st_mtime_ns

    warm = run_bot(*argv, cwd=tmp_path, env=env)
    assert warm.returncode == 0, warm.stderr
    assert cache_files(cache) == [written] and written.stat().st_mtime_ns == stamp  # read, not built again
    if command == "ask":
        assert warm.stdout == cold.stdout == bypassed.stdout
    else:
        assert "loaded and indexed in" in cold.stdout and "loaded from the cache in" in warm.stdout

    # The very file the server's load (KnowledgeEngine.load with KB_CACHE_DIR) reads: fresh, so not rewritten.
    KnowledgeEngine.load([kb], cache_dir=cache)
    assert cache_files(cache) == [written] and written.stat().st_mtime_ns == stamp


def test_chat_uses_the_cache_and_no_cache_bypasses_it(tmp_path: Path) -> None:
    kb = shutil.copytree(BUNDLED, tmp_path / "kb")
    cache = tmp_path / "cache"
    env = {"KB_CACHE_DIR": str(cache), "KB_PATH": str(kb), "STATE_STORE": "memory://"}
    bypassed = run_bot("chat", "--no-cache", cwd=tmp_path, env=env, stdin=SWEDISH_PASTE.encode() + b"\n")
    assert bypassed.returncode == 0, bypassed.stderr
    assert "Skrivbordsanalys" in bypassed.stdout
    assert cache_files(cache) == []
    cached = run_bot("chat", cwd=tmp_path, env=env, stdin=SWEDISH_PASTE.encode() + b"\n")
    assert cached.returncode == 0, cached.stderr
    assert cached.stdout == bypassed.stdout
    assert len(cache_files(cache)) == 1
