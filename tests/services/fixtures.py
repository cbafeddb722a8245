"""Session fixtures for the services in ``services``: one Redis and one Azurite per test run.

When a service cannot be installed or started the tests that need it fail under CI (``CI=true``: the
machine is meant to have everything) and are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from services import RunningService, ServiceUnavailable, azurite_blob, redis_server


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _start(starter: Callable[[Path], AbstractContextManager[RunningService]], folder: Path,
           ) -> Iterator[RunningService]:
    try:
        context = starter(folder)
        service = context.__enter__()
    except ServiceUnavailable as e:
        if _under_ci():
            pytest.fail(f"test service unavailable under CI: {e}", pytrace=False)
        pytest.skip(f"test service unavailable (set CI=true to make this a failure): {e}")
    try:
        yield service
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A redis-server on 127.0.0.1 for the whole run; tests use their own key prefixes or databases."""
    yield from _start(redis_server, tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="session")
def azurite_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """Azurite's Blob service on 127.0.0.1 for the whole run; tests use their own containers."""
    yield from _start(azurite_blob, tmp_path_factory.mktemp("azurite"))
