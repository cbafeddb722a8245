"""The state store: botbuilder's Storage contract on a real SQLite file, e-tags, restarts, outages."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import MemoryStorage, StoreItem, TurnContext, UserState
from botbuilder.core.adapters import TestAdapter

from bot.stores import close_storage, create_storage
from bot.stores.base import EtagConflictError, StorageError
from bot.stores.sqlite import SqliteStorage, sqlite_path
from bot.stores.sqlite_database import SqliteDatabase
from tests.bot.state_bots import language_bot


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "state.db")
    yield store
    store.close()


@dataclass
class Profile:
    name: str
    languages: list[str]


# -- choosing a store -------------------------------------------------------------------------------


def test_sqlite_urls_name_relative_and_absolute_files() -> None:
    assert sqlite_path("sqlite:///var/insight-desk.db") == Path("var/insight-desk.db")
    assert sqlite_path("sqlite:////srv/bot/state.db") == Path("/srv/bot/state.db")
    assert sqlite_path("sqlite:///var/my%20state.db") == Path("var/my state.db")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:var/x.db", "sqlite://var/x.db"])
def test_sqlite_urls_without_a_file_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///path"):
        create_storage(url)


def test_create_storage_by_scheme(tmp_path: Path) -> None:
    store = create_storage(f"sqlite:///{tmp_path}/a/b/state.db")
    assert isinstance(store, SqliteStorage)
    assert store.path == tmp_path / "a" / "b" / "state.db"
    assert not (tmp_path / "a").exists(), "nothing is opened before the first use"
    assert isinstance(create_storage("memory://"), MemoryStorage)


def test_relative_sqlite_url_is_relative_to_the_working_directory(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = create_storage("sqlite:///var/insight-desk.db")
    assert isinstance(store, SqliteStorage)
    asyncio.run(store.write({"k": {"v": 1}}))
    store.close()
    assert (tmp_path / "var" / "insight-desk.db").is_file(), "the parent folder is created"


def test_redis_and_blob_urls_make_their_stores_without_connecting() -> None:
    from bot.stores.blob import AzureBlobStorage
    from bot.stores.redis import RedisStorage

    store = create_storage("redis://:secret@127.0.0.1:1/3")
    assert isinstance(store, RedisStorage) and store.location == "redis://127.0.0.1:1/3"
    account = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    blob = create_storage("azureblob://insight-state", blob_connection_string=account)
    assert isinstance(blob, AzureBlobStorage) and blob.container_name == "insight-state"
    with pytest.raises(ValueError, match="AZURE_STORAGE_CONNECTION_STRING"):
        create_storage("azureblob://insight-state")
    with pytest.raises(ValueError, match="lowercase"):
        create_storage("azureblob://Insight_State", blob_connection_string=account)
    with pytest.raises(ValueError, match="not a storage account connection string"):
        create_storage("azureblob://insight-state", blob_connection_string="UseDevelopmentStorage=true")


@pytest.mark.parametrize("url", ["", "postgres://db/x", "memory://elsewhere", "/var/x.db"])
def test_unknown_store_urls_are_refused_with_the_choices(url: str) -> None:
    with pytest.raises(ValueError, match=r"unknown STATE_STORE .*sqlite:///.*memory://"):
        create_storage(url)


# -- the Storage contract ------------------------------------------------------------------------
# What every store must do runs against SQLite too in tests/bot/stores/test_contract.py (two clients on one
# file: stale and create-only e-tags, all-or-nothing calls, concurrent writers); here what is SQLite's own.


async def test_round_trip_of_dicts_objects_and_crazy_keys(storage: SqliteStorage) -> None:
    crazy = '!@#$%^&*()_+??><":QASD~` 中文 \'; DROP TABLE bot_state; --'
    await storage.write({
        "plain": {"count": 1, "nested": {"list": [1, "two", None]}, "text": "åtkomsttoken 驗證"},
        "item": StoreItem(count=2, e_tag="*"),
        "profile": {"me": Profile("Ana", ["sv-SE", "ko-KR"])},
        crazy: {"id": 1},
    })
    found = await storage.read(["plain", "item", "profile", crazy, "unknown"])
    assert set(found) == {"plain", "item", "profile", crazy}
    assert {k: v for k, v in found["plain"].items() if k != "e_tag"} == {
        "count": 1, "nested": {"list": [1, "two", None]}, "text": "åtkomsttoken 驗證"}
    assert isinstance(found["item"], StoreItem) and found["item"].count == 2
    assert found["profile"]["me"] == Profile("Ana", ["sv-SE", "ko-KR"])
    assert found[crazy]["id"] == 1


async def test_reading_nothing_and_unknown_keys(storage: SqliteStorage) -> None:
    assert await storage.read([]) == {}
    assert await storage.read(None) == {}
    assert await storage.read(["unknown"]) == {}


async def test_writing_none_is_an_error_and_writing_nothing_is_not(storage: SqliteStorage) -> None:
    with pytest.raises(ValueError, match="Changes are required when writing"):
        await storage.write(None)
    await storage.write({})
    assert not storage.path.exists(), "an empty write does not even open the file"


async def test_many_keys_in_one_call(storage: SqliteStorage) -> None:
    await storage.write({f"key-{i}": {"i": i} for i in range(1200)})
    found = await storage.read(f"key-{i}" for i in range(1200))
    assert len(found) == 1200
    assert all(found[f"key-{i}"]["i"] == i for i in range(1200))


# -- e-tags --------------------------------------------------------------------------------------


async def test_star_and_none_overwrite_and_empty_is_refused(storage: SqliteStorage) -> None:
    await storage.write({"k": {"v": 1}})
    await storage.write({"k": {"v": 2, "e_tag": "*"}})
    await storage.write({"k": {"v": 3, "e_tag": None}})
    await storage.write({"k": StoreItem(v=4, e_tag="*")})
    assert (await storage.read(["k"]))["k"].v == 4
    with pytest.raises(ValueError, match="e_tag is empty"):
        await storage.write({"k": {"v": 5, "e_tag": ""}})


async def test_an_item_read_then_deleted_cannot_be_written_back(storage: SqliteStorage) -> None:
    await storage.write({"k": {"v": 1}})
    stale = (await storage.read(["k"]))["k"]
    await storage.delete(["k"])
    with pytest.raises(EtagConflictError, match="deleted"):
        await storage.write({"k": stale})


async def test_a_write_hands_back_the_new_e_tag_so_a_second_save_works(storage: SqliteStorage) -> None:
    await storage.write({"k": {"v": 1}})
    state = (await storage.read(["k"]))["k"]
    item = StoreItem(v=1, e_tag="*")
    for value in (2, 3):
        state["v"] = value
        item.v = value
        await storage.write({"k": state, "obj": item})
    found = await storage.read(["k", "obj"])
    assert found["k"]["v"] == 3 and found["k"]["e_tag"] == state["e_tag"]
    assert found["obj"].v == 3 and found["obj"].e_tag == item.e_tag


# -- the file ------------------------------------------------------------------------------------


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = SqliteStorage(tmp_path / "state.db")
    await first.write({"k": {"language": "sv-SE"}})
    first.close()
    second = SqliteStorage(tmp_path / "state.db")
    try:
        assert (await second.read(["k"]))["k"]["language"] == "sv-SE"
    finally:
        second.close()


async def test_the_file_is_in_wal_mode_with_normal_sync_and_a_busy_timeout(storage: SqliteStorage) -> None:
    await storage.write({"k": {"v": 1}})
    with sqlite3.connect(storage.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def pragmas(connection: sqlite3.Connection) -> tuple[int, int]:
        return (connection.execute("PRAGMA synchronous").fetchone()[0],
                connection.execute("PRAGMA busy_timeout").fetchone()[0])

    synchronous, busy_timeout = await storage.database.run("pragmas", pragmas)
    assert synchronous == 1, "NORMAL"
    assert busy_timeout == 5000


async def test_sqlite_work_runs_off_the_event_loop_on_one_thread(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "x.db")
    try:
        threads = await asyncio.gather(*(database.run("where", lambda c: threading.get_ident()) for _ in range(20)))
        assert len(set(threads)) == 1
        assert threads[0] != threading.get_ident()
    finally:
        database.close()


async def test_calls_made_together_run_in_order_and_each_gets_its_own_outcome(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "x.db")
    ran: list[int] = []

    def work(n: int) -> Callable[[sqlite3.Connection], int]:
        def run(connection: sqlite3.Connection) -> int:
            ran.append(n)
            if n % 7 == 3:
                connection.execute("SELECT * FROM no_such_table")
            return n * 10
        return run

    try:
        outcomes = await asyncio.gather(*(database.run(f"call {n}", work(n)) for n in range(50)),
                                        return_exceptions=True)
        assert ran == list(range(50)), "one at a time, in the order they were made"
        for n, outcome in enumerate(outcomes):
            if n % 7 == 3:
                assert isinstance(outcome, StorageError) and f"call {n} failed" in str(outcome)
            else:
                assert outcome == n * 10
        assert database.run_sync("from a thread without a loop", lambda c: 42) == 42
        assert await database.run("after a failure", lambda c: c.execute("SELECT 1").fetchone()[0]) == 1
    finally:
        database.close()


async def test_a_call_given_up_before_it_started_does_not_run(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "x.db")
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocking(connection: sqlite3.Connection) -> None:
        started.set()
        release.wait(5)

    try:
        first = asyncio.ensure_future(database.run("first", blocking))
        await asyncio.to_thread(started.wait, 5)
        doomed = asyncio.ensure_future(database.run("doomed", lambda c: ran.append("doomed")))
        later = asyncio.ensure_future(database.run("later", lambda c: ran.append("later")))
        await asyncio.sleep(0)
        doomed.cancel()
        release.set()
        await first
        await later
        assert ran == ["later"]
    finally:
        release.set()
        database.close()


async def test_two_stores_opening_a_new_file_together_both_write(tmp_path: Path) -> None:
    """A new file opened by two connections at once: switching it to WAL waits for the other, not fails."""
    for attempt in range(80):
        first, second = SqliteStorage(tmp_path / f"{attempt}.db"), SqliteStorage(tmp_path / f"{attempt}.db")
        try:
            await asyncio.gather(*((first, second)[i % 2].write({f"k{i}": {"i": i}}) for i in range(6)))
            assert len(await first.read([f"k{i}" for i in range(6)])) == 6
        finally:
            first.close()
            second.close()


async def test_close_is_idempotent_and_the_storage_reopens_on_use(storage: SqliteStorage) -> None:
    await storage.write({"k": {"v": 1}})
    storage.close()
    storage.close()
    close_storage(storage)
    close_storage(MemoryStorage())
    assert (await storage.read(["k"]))["k"]["v"] == 1


# -- through botbuilder's state ------------------------------------------------------------------


async def test_user_state_survives_a_restart_through_test_adapter(tmp_path: Path) -> None:
    first = SqliteStorage(tmp_path / "state.db")
    flow = await TestAdapter(language_bot(first)).send("/language sv-SE")
    flow = await flow.assert_reply("ok")
    flow = await flow.send("which?")
    await flow.assert_reply("sv-SE")
    first.close()

    second = SqliteStorage(tmp_path / "state.db")
    try:
        flow = await TestAdapter(language_bot(second)).send("which?")
        await flow.assert_reply("sv-SE")
        stored = await second.read(["Channels.test/users/User1"])
        assert stored["Channels.test/users/User1"]["language"] == "sv-SE"
    finally:
        second.close()


async def test_a_turn_that_saves_twice_does_not_conflict_with_itself(storage: SqliteStorage) -> None:
    user_state = UserState(storage)
    counter = user_state.create_property("count")

    async def logic(turn_context: TurnContext) -> None:
        for _ in range(3):
            await counter.set(turn_context, int(await counter.get(turn_context) or 0) + 1)
            await user_state.save_changes(turn_context)
        await turn_context.send_activity(str(await counter.get(turn_context)))

    adapter = TestAdapter(logic)
    flow = await adapter.send("one")
    flow = await flow.assert_reply("3")
    flow = await flow.send("two")
    await flow.assert_reply("6")


# -- outages -------------------------------------------------------------------------------------


async def test_a_folder_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "occupied").write_text("a file where the folder should be")
    store = SqliteStorage(tmp_path / "occupied" / "state.db")
    with pytest.raises(StorageError) as error:
        await store.write({"k": {"v": 1}})
    message = str(error.value)
    assert str(tmp_path / "occupied" / "state.db") in message and "write failed" in message
    assert error.value.operation == "write"
    with pytest.raises(StorageError, match="read failed"):
        await store.read(["k"])
    store.close()


async def test_a_corrupt_file_is_a_storage_error_and_the_store_recovers(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, just garbage " * 200)
    store = SqliteStorage(path)
    try:
        with pytest.raises(StorageError, match="not a database"):
            await store.read(["k"])
        path.unlink()
        await store.write({"k": {"v": 1}})
        assert (await store.read(["k"]))["k"]["v"] == 1
    finally:
        store.close()


async def test_a_deleted_folder_is_recreated_after_a_restart(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "var" / "state.db")
    await store.write({"k": {"v": 1}})
    store.close()
    for file in (tmp_path / "var").iterdir():
        file.unlink()
    (tmp_path / "var").rmdir()
    try:
        assert await store.read(["k"]) == {}
        await store.write({"k": {"v": 2}})
        assert (await store.read(["k"]))["k"]["v"] == 2
    finally:
        store.close()


async def test_a_file_deleted_while_open_refuses_every_call_until_a_file_is_back(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStorage(path)
    try:
        await store.write({"k": {"v": 1}})
        assert await store.problem() is None
        path.unlink()
        with pytest.raises(StorageError, match="deleted while open") as error:
            await store.write({"k": {"v": 2}})  # not to the unlinked file, gone at the next start
        assert error.value.operation == "write" and error.value.path == path
        with pytest.raises(StorageError, match="deleted while open"):
            await store.read(["k"])
        assert "deleted while open" in (await store.problem() or "")
        assert not path.exists()  # nor a new empty file in its place, as if nothing had been lost
        # A file put back at the path (restored, or made by another process) is opened and used.
        other = SqliteStorage(path)
        await other.write({"restored": {"v": 3}})
        other.close()
        assert (await store.read(["restored"]))["restored"]["v"] == 3
        assert await store.read(["k"]) == {}  # nothing of the deleted file comes back through its old -wal
        await store.write({"k": {"v": 4}})
        assert await store.problem() is None
    finally:
        store.close()


async def test_a_file_replaced_while_open_is_opened_anew(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, backup = tmp_path / "state.db", tmp_path / "backup.db"
    store = SqliteStorage(path)
    try:
        await store.write({"k": {"v": 1}})
        restored = SqliteStorage(backup)
        await restored.write({"k": {"v": 0}, "restored": {"v": 1}})
        restored.close()
        os.replace(backup, path)  # an operator restores a backup while the bot runs
        assert (await store.read(["k", "restored"])).keys() == {"k", "restored"}
        assert (await store.read(["k"]))["k"]["v"] == 0
        assert "was replaced while open" in caplog.text
    finally:
        store.close()


async def test_state_that_is_not_json_is_refused_before_anything_is_written(storage: SqliteStorage) -> None:
    with pytest.raises(StorageError, match="'bad' cannot be stored as JSON"):
        await storage.write({"good": {"v": 1}, "bad": {"v": float("nan")}})
    assert await storage.read(["good", "bad"]) == {}


async def test_an_outage_reaches_a_state_accessor_as_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "occupied").write_text("")
    store = SqliteStorage(tmp_path / "occupied" / "state.db")
    user_state = UserState(store)
    language = user_state.create_property("language")
    seen: list[type[BaseException]] = []

    async def logic(turn_context: TurnContext) -> None:
        try:
            await language.get(turn_context)
        except StorageError as e:
            seen.append(type(e))
        await turn_context.send_activity("still answered")

    flow = await TestAdapter(logic).send("hello")
    await flow.assert_reply("still answered")
    assert seen == [StorageError]
    store.close()


async def test_memory_storage_url_gives_botbuilders_memory_storage() -> None:
    store = create_storage("memory://")
    await store.write({"k": {"v": 1}})
    found: dict[str, Any] = await store.read(["k"])
    assert found["k"]["v"] == 1
