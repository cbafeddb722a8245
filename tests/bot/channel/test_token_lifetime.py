"""The lifetime rules on a validated channel token's claims (``bot.channel.token_lifetime``).

PyJWT already refuses a future ``nbf``/``iat`` beyond the leeway botbuilder gives it; these pin that our
own check does so too, whatever PyJWT version botbuilder runs with.
"""

from __future__ import annotations

from typing import Any

import pytest
from botframework.connector.auth import AuthenticationConstants, ClaimsIdentity

from bot.channel.token_lifetime import CLOCK_SKEW_S, check_identity_lifetime, check_token_lifetime

NOW = 1_800_000_000.0


@pytest.mark.parametrize("claims", [
    {},
    {"nbf": NOW - 60, "iat": NOW - 60},
    {"exp": "later"},
    {"exp": True},
    {"exp": NOW - CLOCK_SKEW_S - 1},
    {"exp": NOW + 3600, "nbf": NOW + CLOCK_SKEW_S + 1},
    {"exp": NOW + 3600, "iat": NOW + 600},
    {"exp": NOW + 3600, "iat": "soon"},
])
def test_claims_outside_the_tokens_lifetime_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(PermissionError):
        check_token_lifetime(claims, now=NOW)


@pytest.mark.parametrize("claims", [
    {"exp": NOW + 3600},
    {"exp": NOW - 60, "nbf": NOW - 3600},  # expired a minute ago: within the clock skew
    {"exp": NOW + 3600, "nbf": NOW + 120, "iat": NOW + 120},
    {"exp": NOW + 3600, "nbf": NOW + CLOCK_SKEW_S, "iat": NOW + CLOCK_SKEW_S},
])
def test_claims_within_the_lifetime_and_skew_pass(claims: dict[str, Any]) -> None:
    check_token_lifetime(claims, now=NOW)


def test_an_anonymous_identity_has_no_token_to_check_but_a_token_identity_does() -> None:
    check_identity_lifetime(ClaimsIdentity({}, True, AuthenticationConstants.ANONYMOUS_AUTH_TYPE))
    check_identity_lifetime(None)
    with pytest.raises(PermissionError, match="no expiry"):
        check_identity_lifetime(ClaimsIdentity({"iss": "https://api.botframework.com"}, True))
