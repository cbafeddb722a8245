"""When the connector's sender sends a reply again, and how long it waits first."""

from __future__ import annotations

import pytest
from msrest.universal_http import ClientRequest
from multidict import CIMultiDict

from bot.channel.connector_pool import MAX_RETRY_AFTER_S, _LoadedResponse, _not_taken, _retry_after


@pytest.mark.parametrize(("header", "expected"), [
    (None, 0.5), ("", 0.5), ("2", 2.0), ("0.25", 0.25), ("-3", 0.0), ("86400", MAX_RETRY_AFTER_S),
    ("Wed, 21 Oct 2026 07:28:00 GMT", 0.5), ("soon", 0.5),
])
def test_retry_after_is_honoured_within_bounds(header: str | None, expected: float) -> None:
    assert _retry_after(header, 0.5) == expected


@pytest.mark.parametrize(("status", "headers", "resent"), [
    (429, {}, True), (429, {"Retry-After": "1"}, True), (503, {"Retry-After": "1"}, True), (503, {}, False),
    (500, {"Retry-After": "1"}, False), (502, {}, False), (504, {}, False), (200, {}, False), (400, {}, False),
])
def test_only_an_answer_that_says_the_reply_was_not_taken_sends_it_again(
    status: int, headers: dict[str, str], resent: bool
) -> None:
    response = _LoadedResponse(ClientRequest("POST", "http://127.0.0.1/"), status, None,
                               CIMultiDict(headers), b"")
    assert _not_taken(response) is resent
