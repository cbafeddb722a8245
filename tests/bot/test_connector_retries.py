"""How long the connector's sender waits before sending a reply again."""

from __future__ import annotations

import pytest

from bot.connector import MAX_RETRY_AFTER_S, _retry_after


@pytest.mark.parametrize(("header", "expected"), [
    (None, 0.5), ("", 0.5), ("2", 2.0), ("0.25", 0.25), ("-3", 0.0), ("86400", MAX_RETRY_AFTER_S),
    ("Wed, 21 Oct 2026 07:28:00 GMT", 0.5), ("soon", 0.5),
])
def test_retry_after_is_honoured_within_bounds(header: str | None, expected: float) -> None:
    assert _retry_after(header, 0.5) == expected
