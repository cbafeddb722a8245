"""A guard that refuses (and records) any connection or name lookup beyond loopback during a test.

Token validation, the bot's own login and the managed-identity endpoint all have public defaults in
botbuilder and MSAL; a test that forgot to override one would quietly reach the internet. With the
guard on, such a call fails with ``OSError`` and the attempt is recorded, so the test can assert none
happened even when the code under test swallowed the error.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def _is_loopback(host: object) -> bool:
    if host is None:
        return True  # a passive lookup (bind to any) names no remote host
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def loopback_only() -> Iterator[list[str]]:
    """While active, only loopback hosts can be looked up or connected to; yields the refused attempts."""
    refused: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            refused.append(f"lookup {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"loopback guard: no lookup of {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def checked(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            refused.append(f"connect {address[0]}:{address[1]}")
            raise OSError(f"loopback guard: no connection to {address[0]}")

    def connect(self: socket.socket, address: Any) -> None:
        checked(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        checked(address)
        return real_connect_ex(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield refused
