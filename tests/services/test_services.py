"""The test services themselves: started on loopback, stopped by PID, and a missing service fails under CI."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from services import RunningService, ServiceUnavailable, redis_server
from tests.services.fixtures import _start


@contextmanager
def _unavailable(folder: Path) -> Iterator[RunningService]:
    raise ServiceUnavailable("redis-server: apt-get failed (exit 100)")
    yield  # pragma: no cover


def test_a_missing_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unavailable under CI: redis-server: apt-get failed"):
        next(_start(_unavailable, tmp_path))


def test_a_missing_service_is_skipped_with_the_reason_elsewhere(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"set CI=true to make this a failure.*apt-get failed"):
        next(_start(_unavailable, tmp_path))


def test_redis_listens_on_loopback_only_keeps_no_files_and_stops(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        with socket.create_connection(("127.0.0.1", redis.port), timeout=2) as s:
            s.sendall(b"CONFIG GET bind\r\nCONFIG GET save\r\nCONFIG GET appendonly\r\n")
            reply = b""
            while reply.count(b"\r\n") < 15:
                reply += s.recv(4096)
        assert b"127.0.0.1" in reply and b"appendonly\r\n$2\r\nno" in reply
        assert b"save\r\n$0\r\n" in reply, "no snapshots"
        pid = redis.pid
    alive = subprocess.run(["kill", "-0", str(pid)], capture_output=True, check=False).returncode == 0
    assert not alive, "stopped by its PID"
    assert not list(tmp_path.glob("*.rdb")) and not list(tmp_path.glob("appendonly*"))
