"""One Storage contract, run against every state store: memory, SQLite, Redis (a real redis-server) and
Azure Blob (botbuilder-azure's BlobStorage against a real Azurite).

The ``backend`` fixture (``tests/bot/conftest.py``) gives each test one store per backend. Each test states
what the bot relies on. Where botbuilder's own ``MemoryStorage`` (or Blob, which has no
multi-blob transactions) falls short, the test is marked ``xfail(strict=True)`` for that store, with the
reason: the gap is documented and the mark fails the run if the store ever starts to pass.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sqlite3
from typing import Any
from urllib.parse import quote

import pytest
from botbuilder.core import Storage, StoreItem
from botbuilder.core.adapters import TestAdapter

from bot.stores import aclose_storage
from bot.stores.base import CREATE_ONLY_E_TAG, EtagConflictError, StorageError, honours_create_only
from bot.stores.blob import AzureBlobStorage, create_blob_storage
from bot.stores.redis import RedisStorage
from bot.stores.sqlite import SqliteStorage
from services import AZURITE_KEY, RunningService, free_port
from tests.bot.conftest import Backend
from tests.bot.state_bots import language_bot


@pytest.fixture
def store(backend: Backend) -> Storage:
    return backend.make()


def gap(request: pytest.FixtureRequest, backend: Backend, reasons: dict[str, str]) -> None:
    """Mark this test an expected failure (strict) for the stores named in ``reasons``."""
    if backend.name in reasons:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{backend.name}: {reasons[backend.name]}"))


MEMORY_NO_FIRST_E_TAG = "botbuilder's MemoryStorage gives no e-tag to an item first written without one"
MEMORY_NO_HAND_BACK = "botbuilder's MemoryStorage does not hand the new e-tag back to the written item"


def without_e_tag(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "e_tag"}


# -- read, write, delete ---------------------------------------------------------------------------


async def test_dicts_and_store_items_round_trip(store: Storage) -> None:
    await store.write({
        "plain": {"count": 1, "nested": {"list": [1, "two", None]}, "text": "åtkomsttoken 驗證"},
        "item": StoreItem(count=2, e_tag="*"),
    })
    found = await store.read(["plain", "item"])
    assert without_e_tag(found["plain"]) == {"count": 1, "nested": {"list": [1, "two", None]},
                                             "text": "åtkomsttoken 驗證"}
    assert isinstance(found["item"], StoreItem) and found["item"].count == 2


async def test_missing_keys_are_absent_and_reading_nothing_is_nothing(store: Storage) -> None:
    assert await store.read(["never-written"]) == {}
    assert await store.read([]) == {}
    await store.write({"there": {"v": 1}})
    assert set(await store.read(["there", "never-written"])) == {"there"}


async def test_an_overwrite_replaces_the_whole_item(store: Storage) -> None:
    await store.write({"k": {"a": 1, "b": 2}})
    await store.write({"k": {"a": 3}})
    assert without_e_tag((await store.read(["k"]))["k"]) == {"a": 3}


async def test_delete_removes_and_ignores_unknown_keys(store: Storage) -> None:
    await store.write({"a": {"v": 1}, "b": {"v": 2}})
    await store.delete(["a", "never-written"])
    await store.delete([])
    assert set(await store.read(["a", "b"])) == {"b"}


ODD_KEYS = [
    "msteams/users/29:1a2b-3c4d",                                   # what UserState writes
    "msteams/conversations/19:general@thread.tacv2;messageid=1700000000000",
    "a/b/../c",
    "trailing/",
    "//double//slashes",
    "spaces and ? # % & + = query-ish",
    "中文/한국어/العربية/עברית/ไทย",
    "emoji 🤖 and combining é",
    "x" * 400,
]


async def test_odd_keys_are_kept_apart_and_round_trip(store: Storage) -> None:
    await store.write({key: {"key": key} for key in ODD_KEYS})
    found = await store.read(ODD_KEYS)
    assert {key: item["key"] for key, item in found.items()} == {key: key for key in ODD_KEYS}
    await store.delete(ODD_KEYS[:3])
    assert set(await store.read(ODD_KEYS)) == set(ODD_KEYS[3:])


async def test_a_large_value_round_trips(store: Storage) -> None:
    text = "验证访问令牌时出错 " * 50_000        # 500,000 characters, 1.5 MB of UTF-8
    await store.write({"big": {"text": text, "numbers": list(range(20_000))}})
    found = (await store.read(["big"]))["big"]
    assert found["text"] == text and found["numbers"] == list(range(20_000))


async def test_many_keys_in_one_call(backend: Backend, store: Storage) -> None:
    count = 100 if backend.name == "blob" else 600         # blob: one HTTP request per key
    await store.write({f"key-{i}": {"i": i} for i in range(count)})
    found = await store.read([f"key-{i}" for i in range(count)])
    assert sorted(item["i"] for item in found.values()) == list(range(count))


async def test_a_read_item_is_a_copy(request: pytest.FixtureRequest, backend: Backend, store: Storage) -> None:
    gap(request, backend, {"memory": "botbuilder's MemoryStorage returns the stored object itself"})
    await store.write({"k": {"v": 1}})
    (await store.read(["k"]))["k"]["v"] = 2
    assert (await store.read(["k"]))["k"]["v"] == 1


# -- e-tags --------------------------------------------------------------------------------------


async def test_every_write_gives_a_new_e_tag(request: pytest.FixtureRequest, backend: Backend,
                                             store: Storage) -> None:
    gap(request, backend, {"memory": MEMORY_NO_FIRST_E_TAG})
    await store.write({"k": {"v": 1}})
    first = (await store.read(["k"]))["k"]["e_tag"]
    await store.write({"k": {"v": 2}})
    second = (await store.read(["k"]))["k"]["e_tag"]
    assert first and second and first != second


async def test_a_stale_e_tag_is_refused_and_changes_nothing(request: pytest.FixtureRequest, backend: Backend,
                                                           store: Storage) -> None:
    gap(request, backend, {"memory": MEMORY_NO_FIRST_E_TAG})
    await store.write({"k": {"v": 1}})
    mine = (await store.read(["k"]))["k"]
    theirs = (await store.read(["k"]))["k"]
    theirs["v"] = 2
    await store.write({"k": theirs})
    mine["v"] = 3
    with pytest.raises(KeyError):
        await store.write({"k": mine})
    assert (await store.read(["k"]))["k"]["v"] == 2


async def test_our_conflicts_are_storage_errors(request: pytest.FixtureRequest, backend: Backend,
                                                store: Storage) -> None:
    gap(request, backend, {"memory": "botbuilder's MemoryStorage raises a bare KeyError"})
    await store.write({"k": {"v": 1}})
    with pytest.raises(StorageError, match="'k'"):
        await store.write({"k": {"v": 2, "e_tag": "not-the-stored-one"}})


async def test_an_item_read_then_deleted_cannot_be_written_back(request: pytest.FixtureRequest, backend: Backend,
                                                              store: Storage) -> None:
    gap(request, backend, {"memory": "botbuilder's MemoryStorage writes a stale item back over a deleted key"})
    await store.write({"k": {"v": 1, "e_tag": "*"}})
    stale = (await store.read(["k"]))["k"]
    await store.delete(["k"])
    with pytest.raises(KeyError):
        await store.write({"k": stale})
    assert await store.read(["k"]) == {}


async def test_star_and_none_overwrite_and_empty_is_refused(store: Storage) -> None:
    await store.write({"k": {"v": 1, "e_tag": "*"}})
    await store.write({"k": {"v": 2, "e_tag": "*"}})
    await store.write({"k": {"v": 3, "e_tag": None}})
    assert (await store.read(["k"]))["k"]["v"] == 3
    with pytest.raises(Exception, match=r"e_?tag"):
        await store.write({"k": {"v": 5, "e_tag": ""}})
    assert (await store.read(["k"]))["k"]["v"] == 3


async def test_a_write_hands_back_the_new_e_tag(request: pytest.FixtureRequest, backend: Backend,
                                                store: Storage) -> None:
    gap(request, backend, {"memory": MEMORY_NO_HAND_BACK})
    await store.write({"k": {"v": 1}})
    state = (await store.read(["k"]))["k"]
    for value in (2, 3):                     # a BotState saving twice in one turn
        state["v"] = value
        await store.write({"k": state})
    found = (await store.read(["k"]))["k"]
    assert found["v"] == 3 and found["e_tag"] == state["e_tag"]


async def test_a_conflict_writes_nothing_of_the_call(request: pytest.FixtureRequest, backend: Backend,
                                                    store: Storage) -> None:
    gap(request, backend, {"memory": MEMORY_NO_FIRST_E_TAG,
                           "blob": "each blob is its own upload: Blob Storage has no multi-blob transaction"})
    await store.write({"k": {"v": 1}})
    await store.write({"k": (await store.read(["k"]))["k"]})
    with pytest.raises(KeyError):
        await store.write({"new": {"v": 1}, "k": {"v": 9, "e_tag": "not-the-stored-one"}})
    assert set(await store.read(["new", "k"])) == {"k"}


async def test_a_create_only_item_is_written_only_where_nothing_is(backend: Backend) -> None:
    first, second = backend.make(), backend.make()
    assert honours_create_only(first)
    created = {"v": 1, "e_tag": CREATE_ONLY_E_TAG}
    await first.write({"k": created})
    with pytest.raises(EtagConflictError, match="exists already"):
        await second.write({"k": {"v": 2, "e_tag": CREATE_ONLY_E_TAG}})
    with pytest.raises(EtagConflictError):  # all or nothing: the other item of the refused call is not there
        await second.write({"other": {"v": 2}, "k": {"v": 2, "e_tag": CREATE_ONLY_E_TAG}}
                           if backend.name != "blob" else {"k": {"v": 2, "e_tag": CREATE_ONLY_E_TAG}})
    found = (await second.read(["k", "other"]))
    assert set(found) == {"k"} and found["k"]["v"] == 1
    assert created["e_tag"] not in ("", CREATE_ONLY_E_TAG) and found["k"]["e_tag"] == created["e_tag"]
    item = dict(found["k"], v=3)               # once created it is an ordinary item under its e-tag
    await second.write({"k": item})
    assert (await first.read(["k"]))["k"]["v"] == 3


async def test_of_many_clients_creating_one_key_at_once_exactly_one_wins(backend: Backend) -> None:
    clients = [backend.make(), backend.make()]
    outcomes = await asyncio.gather(*(clients[i % 2].write({"first": {"by": i, "e_tag": CREATE_ONLY_E_TAG}})
                                      for i in range(10)), return_exceptions=True)
    winners = [i for i, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1 and all(isinstance(o, EtagConflictError) for o in outcomes if o is not None), outcomes
    assert (await clients[1].read(["first"]))["first"]["by"] == winners[0]


# -- several writers -------------------------------------------------------------------------------


async def test_concurrent_writers_on_two_clients_lose_no_update(request: pytest.FixtureRequest,
                                                               backend: Backend) -> None:
    gap(request, backend, {"memory": MEMORY_NO_FIRST_E_TAG})
    clients = [backend.make(), backend.make()]
    await clients[0].write({"counter": {"n": 0}})
    tasks = 30 if backend.name != "blob" else 12
    conflicts = 0

    async def increment(store: Storage) -> None:
        nonlocal conflicts
        for _ in range(200):
            item = (await store.read(["counter"]))["counter"]
            item["n"] += 1
            await asyncio.sleep(0)
            try:
                await store.write({"counter": item})
                return
            except KeyError:
                conflicts += 1
        raise AssertionError("no write succeeded in 200 tries")

    await asyncio.gather(*(increment(clients[i % 2]) for i in range(tasks)))
    assert (await clients[1].read(["counter"]))["counter"]["n"] == tasks
    assert conflicts > 0, "the writers did race"


async def test_concurrent_writes_of_different_keys_all_land(backend: Backend) -> None:
    clients = [backend.make(), backend.make()]
    await asyncio.gather(*(clients[i % 2].write({f"user-{i}": {"i": i}}) for i in range(60)))
    found = await clients[0].read([f"user-{i}" for i in range(60)])
    assert sorted(item["i"] for item in found.values()) == list(range(60))


async def test_user_state_set_through_one_client_is_read_through_the_other(backend: Backend) -> None:
    first, second = backend.make(), backend.make()

    await (await TestAdapter(language_bot(first, save_twice=True)).send("/language sv-SE")).assert_reply("ok")
    await (await TestAdapter(language_bot(second)).send("which?")).assert_reply("sv-SE!")


def test_the_blob_store_is_botbuilders_own() -> None:
    from botbuilder.azure import BlobStorage

    assert issubclass(AzureBlobStorage, BlobStorage)


# -- a store that cannot keep state ------------------------------------------------------------------


def out_of_reach(request: pytest.FixtureRequest, backend: Backend, store: Storage) -> Storage:
    """A client of this kind of store that cannot keep state: SQLite's file deleted under ``store`` (written
    before), Redis where nothing listens, Blob with a key the account refuses (at once: no retried outage)."""
    if backend.name == "sqlite":
        assert isinstance(store, SqliteStorage)
        store.path.unlink()
        return store
    if backend.name == "redis":
        return RedisStorage(f"redis://127.0.0.1:{free_port()}/0")
    if backend.name == "blob":
        azurite: RunningService = request.getfixturevalue("azurite_service")
        wrong_key = base64.b64encode(b"not the account key").decode()
        return create_blob_storage("azureblob://contract-refused", azurite.connection_string.replace(
            f"AccountKey={AZURITE_KEY}", f"AccountKey={wrong_key}"))
    pytest.skip("memory:// keeps state in the process: nothing outside it can take it away")


async def test_a_store_that_cannot_keep_state_refuses_writes(
        request: pytest.FixtureRequest, backend: Backend, store: Storage) -> None:
    await store.write({"k": {"v": 1}})
    broken = out_of_reach(request, backend, store)
    try:
        with pytest.raises(StorageError, match="state store"):  # never a write acknowledged that nothing keeps
            await broken.write({"k": {"v": 2}})
    finally:
        if broken is not store:
            await aclose_storage(broken)


# -- documents that do not read back ----------------------------------------------------------------

DAMAGED = {
    "not JSON": b"{not json",
    "not UTF-8": b"\xff\xfe\x00garbage",
    "a jsonpickle tag": b'{"user": {"properties": {"py/b64": 1}}}',
}
"""What a damaged file, a torn write or an older version's item may hold in place of a document."""


async def damage(store: Storage, key: str, document: bytes) -> None:
    """Replace what ``store`` holds under ``key`` with ``document``, as a damaged disk would (its e-tag kept)."""
    if isinstance(store, SqliteStorage):
        def overwrite(connection: sqlite3.Connection) -> None:
            connection.execute("UPDATE bot_state SET document = ? WHERE key = ?", (document, key))
        await store.database.run("damage", overwrite)
    elif isinstance(store, RedisStorage):
        await store.client.hset(store.prefix + key, "doc", document)
    elif isinstance(store, AzureBlobStorage):
        await store.container.get_blob_client(quote(key, safe="")).upload_blob(document, overwrite=True)
    else:
        pytest.skip(f"{type(store).__name__} keeps objects, not documents: nothing of it can be damaged")


@pytest.mark.parametrize("document", list(DAMAGED))
async def test_a_damaged_item_reads_as_absent_is_logged_once_and_a_new_one_replaces_it(
    backend: Backend, document: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, other = backend.make(), backend.make()
    await store.write({"k": {"v": 1}, "fine": {"v": 2}})
    await damage(store, "k", DAMAGED[document])
    caplog.set_level(logging.ERROR)
    for _ in range(3):
        found = await store.read(["k", "fine"])
        assert set(found) == {"fine"} and found["fine"]["v"] == 2
    logged = [r.getMessage() for r in caplog.records if "'k'" in r.getMessage()]
    assert len(logged) == 1 and "treated as absent" in logged[0], logged
    # absent for writers too: created anew over it (by a client that read it), and only once
    await store.write({"k": {"v": 3, "e_tag": CREATE_ONLY_E_TAG}})
    assert (await other.read(["k"]))["k"]["v"] == 3
    with pytest.raises(EtagConflictError):
        await store.write({"k": {"v": 4, "e_tag": CREATE_ONLY_E_TAG}})


async def test_a_writer_that_replaced_a_damaged_item_first_wins(backend: Backend) -> None:
    store, other = backend.make(), backend.make()
    await store.write({"k": {"v": 1}})
    await damage(store, "k", DAMAGED["not JSON"])
    assert await store.read(["k"]) == {} and await other.read(["k"]) == {}
    await other.write({"k": {"v": "theirs", "e_tag": CREATE_ONLY_E_TAG}})
    with pytest.raises(EtagConflictError):
        await store.write({"k": {"v": "mine", "e_tag": CREATE_ONLY_E_TAG}})
    assert (await store.read(["k"]))["k"]["v"] == "theirs"


async def test_an_item_that_would_not_read_back_is_refused_before_anything_is_written(
    backend: Backend, store: Storage
) -> None:
    tagged = {"user": {"properties": {"py/b64": 1}}}
    if backend.name == "memory":  # objects are kept as they are: it reads back
        await store.write({"tagged": tagged})
        assert without_e_tag((await store.read(["tagged"]))["tagged"]) == tagged
        return
    with pytest.raises(StorageError, match="'tagged' cannot be stored: it would not read back"):
        await store.write({"good": {"v": 1}, "tagged": tagged})
    assert await store.read(["good", "tagged"]) == {}


async def test_text_with_a_lone_surrogate_is_stored_and_reads_back_as_it_came(store: Storage) -> None:
    """JSON may carry ``"\\udbb7"``: Python reads it as a lone surrogate, which no UTF-8 text can hold."""
    odd = json.loads('{"name": "Ann\\udbb7a", "text": "\\ud83d hello ✓", "nested": {"k\\udc00": ["\\udfff"]}}')
    await store.write({"odd": dict(odd)})
    assert without_e_tag((await store.read(["odd"]))["odd"]) == odd
