"""State faults told truthfully, through a real ``python -m bot serve`` process on a real SQLite file: a store
read-only from the start, its file deleted while the bot runs, its files made immutable while the bot runs.

Tests run as root, who ignores file modes: the store is made read-only with ``chattr +i`` (immutable), which
binds root too. Where ``chattr`` is missing or the filesystem has no such attribute, the tests are skipped.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.stores.sqlite import SqliteFeedbackStore, SqliteStorage
from bot.strings import strings_for
from tests.e2e.conftest import teams_message
from tests.e2e.server_process import ServerProcess, start_server
from tests.e2e.threaded_connector import ThreadedConnector, threaded_connector

SEED = "error-validating-access-token-during-onboarding"
ENGLISH, SWEDISH = strings_for("en-US"), strings_for("sv-SE")


def files_of(state: Path) -> list[Path]:
    """The database and the files SQLite keeps beside it, those that exist."""
    return [p for p in (state, state.with_name(state.name + "-wal"), state.with_name(state.name + "-shm"))
            if p.exists()]


def chattr(flag: str, paths: list[Path]) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[Path]]:
    """The files a test made immutable (add to the list); made mutable again at the end, so they can go."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    try:
        if shutil.which("chattr") is None:
            pytest.skip("chattr is not installed")
        chattr("+i", [probe])
    except subprocess.CalledProcessError as e:
        pytest.skip(f"this filesystem or user cannot make files immutable: {e.stderr.decode(errors='replace')}")
    chattr("-i", [probe])
    made: list[Path] = []
    yield made
    existing = [p for p in made if p.exists()]
    if existing:
        chattr("-i", existing)


def seeded_store(state: Path) -> None:
    """A state file with the bot's tables, closed cleanly (no -wal or -shm beside it)."""
    storage = SqliteStorage(state)
    SqliteFeedbackStore(storage.database)
    storage.database.run_sync("create the tables", lambda connection: None)
    storage.close()


def say(server: ServerProcess, stub: ThreadedConnector, activity: dict[str, Any]) -> str:
    """Post one activity; the text of the one reply it got."""
    before = len(stub.replies())
    response = requests.post(f"{server.url}/api/messages", json=activity, timeout=30)
    assert response.status_code in (200, 201), response.text
    replies = stub.replies()[before:]
    assert len(replies) == 1, replies
    return str(replies[0].get("text"))


def helped(stub: ThreadedConnector, query: str) -> dict[str, Any]:
    return teams_message(stub.url, value={"insightDesk": "helped", "article": SEED, "query": query})


def health(server: ServerProcess) -> tuple[int, dict[str, Any]]:
    response = requests.get(f"{server.url}/healthz", timeout=30)
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_a_store_read_only_from_the_start_is_never_acknowledged_and_health_says_why(
    tmp_path: Path, immutable: list[Path]
) -> None:
    state, log = tmp_path / "state.db", tmp_path / "server.log"
    seeded_store(state)
    immutable.append(state)
    chattr("+i", [state])
    with threaded_connector() as stub:
        server = start_server(state, log)
        try:
            feedback = helped(stub, "read-only feedback")
            assert say(server, stub, feedback) == ENGLISH.text("not_saved")
            language = teams_message(stub.url, "/language sv")
            assert say(server, stub, language) == ENGLISH.text("not_saved")
            status, body = health(server)
            assert server.alive()
        finally:
            server.stop()
    assert status == 503 and body["status"] == "degraded" and "immutable" in body["reason"]
    assert body["articles"] > 0 and body["locales"]  # the existing fields are kept
    text = server.output()
    assert f"could not store feedback helped (activity {feedback['id']})" in text
    assert f"(activity {language['id']})" in text and "immutable" in text


def test_a_store_file_deleted_mid_run_turns_health_503_and_nothing_more_is_acknowledged(tmp_path: Path) -> None:
    state, log = tmp_path / "state.db", tmp_path / "server.log"
    with threaded_connector() as stub:
        server = start_server(state, log)
        try:
            language_set = SWEDISH.text("language_set", language="svenska")
            assert say(server, stub, teams_message(stub.url, "/language sv")) == language_set
            assert say(server, stub, helped(stub, "kept before the delete")) == SWEDISH.text("thanks")
            assert health(server)[0] == 200
            state.unlink()
            status, body = health(server)
            feedback = helped(stub, "after the delete")
            told = say(server, stub, feedback)
            language = teams_message(stub.url, "/language fi")
            told_language = say(server, stub, language)
            assert server.alive()
        finally:
            server.stop()
    assert status == 503 and body["status"] == "degraded" and "deleted" in body["reason"], body
    # The user's Swedish can no longer be read either: they are told in their client's language.
    assert told == ENGLISH.text("not_saved") and told_language == ENGLISH.text("not_saved")
    text = server.output()
    assert f"(activity {feedback['id']})" in text and f"(activity {language['id']})" in text
    assert "deleted while open" in text


def test_store_files_made_immutable_mid_run_do_not_kill_the_server(tmp_path: Path, immutable: list[Path]) -> None:
    state, log = tmp_path / "state.db", tmp_path / "server.log"
    with threaded_connector() as stub:
        server = start_server(state, log)
        try:
            assert say(server, stub, helped(stub, "before chattr")) == ENGLISH.text("thanks")
            files = files_of(state)
            assert len(files) == 3  # WAL mode: the -shm file is mapped into the server's memory
            immutable.extend(files)
            chattr("+i", files)
            feedback = helped(stub, "while immutable")
            told = say(server, stub, feedback)
            status, body = health(server)
            alive_while_immutable = server.alive()
            chattr("-i", files)
            # Made writable again: the store is used again, with a new connection.
            assert say(server, stub, helped(stub, "after chattr -i")) == ENGLISH.text("thanks")
            assert health(server)[0] == 200
            chattr("+i", files_of(state))
            immutable.extend(files_of(state))
        finally:
            server.stop()  # closing the store with its files immutable must not crash either
    assert told == ENGLISH.text("not_saved")
    assert alive_while_immutable
    assert status == 503 and body["status"] == "degraded" and "immutable" in body["reason"], body
    assert server.process.returncode != -signal.SIGBUS
    text = server.output()
    assert "Bus error" not in text
    assert f"could not store feedback helped (activity {feedback['id']})" in text and "immutable" in text
