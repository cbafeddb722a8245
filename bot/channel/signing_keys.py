"""The channel's signing keys, fetched off the event loop and within a time limit.

botbuilder validates a channel token against keys it fetches from the OpenID metadata URL once a
day (and again, at most hourly, for an unknown key id) with a blocking ``requests.get`` and no
timeout, from the bot's event loop: while the key endpoint is slow every conversation waits, and if
it accepts the connection but never answers, the whole bot hangs for good.

:func:`fetch_signing_keys_off_the_loop` puts a :class:`TimedSigningKeys` in botbuilder's per-URL
metadata cache (``JwtTokenExtractor.metadataCache``, the place botbuilder itself looks the metadata
up) for each metadata URL the bot may use. It fetches the same two documents through botbuilder's
own schedule, but in a worker thread and with ``timeout_s`` per request; any failure (unreachable,
timed out, an HTTP error, a body that is not the expected JSON) raises
:class:`~bot.channel.connector.SigningKeysUnavailable`, which the app answers with 503. A failed fetch
leaves the previous keys in place and the next request tries again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import requests
from botframework.connector.auth import AuthenticationConstants, GovernmentConstants
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata

from bot.channel.connector import SigningKeysUnavailable

__all__ = ["KEY_FETCH_TIMEOUT_S", "TimedSigningKeys", "fetch_signing_keys_off_the_loop", "metadata_urls"]

KEY_FETCH_TIMEOUT_S = 10.0
"""Seconds each of the two requests (metadata, keys) may take."""


def _get_json(url: str, timeout_s: float) -> Any:
    response = requests.get(url, timeout=timeout_s)
    response.raise_for_status()
    return response.json()


class TimedSigningKeys(_OpenIdMetadata):  # type: ignore[misc]  # botbuilder ships no types
    """botbuilder's metadata entry for one URL, refreshed in a worker thread within ``timeout_s``."""

    def __init__(self, url: str, timeout_s: float = KEY_FETCH_TIMEOUT_S) -> None:
        super().__init__(url)
        self.timeout_s = timeout_s

    async def _refresh(self) -> None:
        try:
            metadata = await asyncio.to_thread(_get_json, self.url, self.timeout_s)
            keys = await asyncio.to_thread(_get_json, str(metadata["jwks_uri"]), self.timeout_s)
            found = keys["keys"]
            if not isinstance(found, list) or not all(isinstance(k, dict) and "kid" in k for k in found):
                raise ValueError("the key set has no list of keys with ids")
        except (requests.RequestException, LookupError, TypeError, ValueError) as error:
            raise SigningKeysUnavailable(f"the signing keys at {self.url} could not be fetched"
                                         f" ({type(error).__name__}: {error})") from error
        self.keys = found
        self.last_updated = datetime.now()


def metadata_urls(configuration: object) -> list[str]:
    """Every OpenID metadata URL botbuilder may read with ``configuration``: the configured ones and the
    public and government clouds' defaults."""
    configured = [getattr(configuration, key, None) for key in
                  ("TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL", "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL")]
    defaults = [AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
                AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
                GovernmentConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
                GovernmentConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL]
    return list(dict.fromkeys(url for url in [*configured, *defaults] if isinstance(url, str) and url))


def fetch_signing_keys_off_the_loop(urls: Iterable[str], timeout_s: float | None = None) -> None:
    """Have botbuilder fetch the keys of each URL through :class:`TimedSigningKeys` (idempotent);
    ``timeout_s`` defaults to ``KEY_FETCH_TIMEOUT_S``."""
    timeout_s = KEY_FETCH_TIMEOUT_S if timeout_s is None else timeout_s
    for url in urls:
        current = JwtTokenExtractor.metadataCache.get(url)
        if isinstance(current, TimedSigningKeys):
            current.timeout_s = timeout_s
        else:
            JwtTokenExtractor.metadataCache[url] = TimedSigningKeys(url, timeout_s)
