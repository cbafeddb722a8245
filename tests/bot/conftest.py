"""Fixtures of the tests in ``tests/bot``: ``engine``, the bundled knowledge base; ``backend``, every state store
the bot ships (memory, SQLite, Redis on a real redis-server, Azure Blob on a real Azurite), each able to make
several clients of one store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import Storage

from bot.stores import aclose_storage
from bot.stores.blob import create_blob_storage
from bot.stores.memory import MemoryStateStorage
from bot.stores.redis import RedisStorage
from bot.stores.sqlite import SqliteStorage
from knowledge.engine import KnowledgeEngine
from services import RunningService


@pytest.fixture(scope="session")
def engine() -> KnowledgeEngine:
    """The bundled knowledge base, loaded once."""
    return KnowledgeEngine.load()


BACKENDS = ("memory", "sqlite", "redis", "blob")
MakeStorage = Callable[[], Storage]


@dataclass
class Backend:
    name: str
    make: MakeStorage
    """Another client of the same store (another bot instance, as far as the store can tell)."""


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    name: str = request.param
    made: list[Storage] = []
    shared: dict[str, Any] = {}
    unique = uuid.uuid4().hex[:12]

    def make() -> Storage:
        store: Storage
        if name == "memory":
            store = MemoryStateStorage(shared)
        elif name == "sqlite":
            store = SqliteStorage(tmp_path / "state.db")
        elif name == "redis":
            redis: RunningService = request.getfixturevalue("redis_service")
            store = RedisStorage(redis.url, prefix=f"contract-{unique}:")
        else:
            azurite: RunningService = request.getfixturevalue("azurite_service")
            store = create_blob_storage(f"azureblob://contract-{unique}", azurite.connection_string)
        made.append(store)
        return store

    yield Backend(name, make)
    for store in made:
        await aclose_storage(store)
