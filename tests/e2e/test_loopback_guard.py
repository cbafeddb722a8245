"""The guard the auth tests rely on really refuses, and records, a call beyond loopback."""

from __future__ import annotations

import socket

import pytest
import requests

from tests.e2e.loopback_guard import loopback_only


def test_a_public_host_is_refused_and_recorded_loopback_is_not() -> None:
    with loopback_only() as refused:
        with pytest.raises(requests.ConnectionError):
            requests.get("https://login.botframework.com/v1/.well-known/openidconfiguration", timeout=2)
        with pytest.raises(OSError), socket.socket() as s:
            s.connect(("93.184.216.34", 443))
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            with socket.create_connection(server.getsockname(), timeout=2):
                pass
    assert refused == ["lookup login.botframework.com", "connect 93.184.216.34:443"]
