"""What ``redact`` masks in pasted text, and what it leaves alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.feedback.redact import redact
from tests.fuzz_budget import fuzz_settings


@pytest.mark.parametrize(("text", "expected"), [
    ("id 3f2a1b2c-1111-4222-8333-444455556666.", "id <id>."),
    ("{3F2A1B2C-1111-4222-8333-444455556666}", "<id>"),
    ("trace 3f2a1b2c111142228333444455556666 end", "trace <id> end"),
    ("mail alice.b+x@contoso.co.uk now", "mail <email> now"),
    ("from 10.0.0.12:443 and 192.168.1.1", "from <ip> and <ip>"),
    ("v6 2001:db8::8a2e:370:7334 and [::1]", "v6 <ip> and <ip>"),
])
def test_ids_emails_and_addresses_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "AADSTS50076: Due to a configuration change made by your administrator",
    "Error 0x80070005 at 10:20:30 on 2026-11-22", "version 1.2.3.4.5", "999.1.1.1", "deadbeef", "std::vector::at",
    "Ett fel uppstod vid validering av åtkomsttoken", "驗證存取權杖時發生錯誤",
])
def test_error_text_codes_times_and_versions_stay(text: str) -> None:
    assert redact(text) == text


@fuzz_settings()
@given(st.text(max_size=300))
def test_redact_never_raises_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
