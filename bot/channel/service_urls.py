"""Which hosts the bot may talk to when nothing authenticates the activity naming them.

With authentication on, the channel's token carries a ``serviceurl`` claim that must equal the
activity's ``serviceUrl``: the channel vouches for where replies go. Without authentication anyone
who reaches ``/api/messages`` names the ``serviceUrl``, and the bot would POST its reply there:
a cloud metadata endpoint, a private address, a service on the bot's own host. So without
authentication a ``serviceUrl`` must be on loopback (the Bot Framework Emulator on the same
machine) or match an entry of ``ALLOWED_SERVICE_URLS``.

Everything is decided on the parsed URL, never on substrings: scheme, host and port (the
scheme's default when absent) must equal an entry's, and an entry with a path is a prefix on
whole path segments. A host counts as loopback only as an IP literal ``ipaddress`` reads as
loopback (``127.0.0.0/8``, ``::1``, ``::ffff:127.x``) or the name ``localhost``. Whatever is
ambiguous is refused outright, even when listed: credentials in the URL (``user:pw@``), numeric
hosts ``ipaddress`` does not read as an address (``0x7f.1``, ``127.1``, ``2130706433``: resolvers
disagree on them), hosts with a trailing dot, non-ASCII hosts, backslashes in the authority and
dot segments in the path.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

__all__ = ["AllowedServiceUrl", "is_loopback_host", "parse_allowed_service_urls", "service_url_refusal"]

DEFAULT_PORTS = {"http": 80, "https": 443}
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
"""A last host label a URL parser reads as (part of) an IPv4 address: the host is then an address, not a name."""


@dataclass(frozen=True)
class AllowedServiceUrl:
    """One ``ALLOWED_SERVICE_URLS`` entry: an origin and an optional path prefix."""

    scheme: str
    host: str
    port: int
    path: str = ""

    def admits(self, scheme: str, host: str, port: int, path: str) -> bool:
        """Whether a URL with these parts (scheme and host in lower case) is this entry's."""
        if (scheme, host, port) != (self.scheme, self.host, self.port):
            return False
        return not self.path or path == self.path or path.startswith(self.path + "/")


def _host_problem(url: SplitResult) -> str | None:
    """Why ``url``'s authority is ambiguous or carries credentials, or ``None``."""
    if url.scheme.lower() not in DEFAULT_PORTS:
        return "it is not an http(s) URL"
    if "@" in url.netloc or url.username is not None or url.password is not None:
        return "it carries credentials (user:password@)"
    if "\\" in url.netloc:
        return "its host contains a backslash"
    host = url.hostname or ""
    if not host:
        return "it names no host"
    if not host.isascii():
        return "its host is not plain ASCII"
    if host.endswith("."):
        return "its host ends with a dot"
    if _ip(host) is None and _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        return "its host is a number that is not a plain IP address"
    try:
        url.port  # noqa: B018  # urllib checks the port only when asked
    except ValueError:
        return "its port is not a number from 0 to 65535"
    return None


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (an IP literal, brackets optional, or a name) stays on this machine."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        return True
    address = _ip(name)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _port(url: SplitResult) -> int:
    return url.port if url.port is not None else DEFAULT_PORTS[url.scheme.lower()]


def parse_allowed_service_urls(text: str) -> tuple[AllowedServiceUrl, ...]:
    """``ALLOWED_SERVICE_URLS`` (comma-separated URLs): each an http(s) origin with an optional path prefix.

    Raises ``ValueError`` naming the first entry that cannot work (credentials, a query, an ambiguous host).
    """
    entries = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        url = urlsplit(raw)
        problem = _host_problem(url) or ("it has a query or fragment" if url.query or url.fragment else None)
        if problem:
            raise ValueError(f"ALLOWED_SERVICE_URLS entry {raw!r} cannot be used: {problem}")
        entries.append(AllowedServiceUrl(url.scheme.lower(), (url.hostname or "").lower(), _port(url),
                                         url.path.rstrip("/")))
    return tuple(entries)


def service_url_refusal(service_url: str, allowed: tuple[AllowedServiceUrl, ...]) -> str | None:
    """Why an unauthenticated activity may not name ``service_url``, or ``None`` when it may."""
    url = urlsplit(service_url.strip())
    problem = _host_problem(url)
    if problem:
        return problem
    if any(segment in (".", "..") for segment in url.path.split("/")) or "%2e" in url.path.lower():
        return "its path has dot segments"
    host, port = (url.hostname or "").lower(), _port(url)
    scheme, path = url.scheme.lower(), url.path or "/"
    if is_loopback_host(host) or any(entry.admits(scheme, host, port, path) for entry in allowed):
        return None
    return "it is neither on loopback nor listed in ALLOWED_SERVICE_URLS"
