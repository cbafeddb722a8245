"""The lifetime rules a channel token must meet beyond what botbuilder checks.

botbuilder's ``JwtTokenExtractor`` has PyJWT check a token's signature and its ``exp`` when the token
carries one, but PyJWT accepts a token with no ``exp`` at all: a correctly signed token that never
expires. :func:`check_token_lifetime` runs on the claims of a token botbuilder has already validated
(``ClaimsIdentity.claims``, the verified payload) and refuses, as ``PermissionError`` (HTTP 401):

- a token without a numeric ``exp``, or one that has expired (beyond the clock skew);
- a ``nbf`` (not before) or ``iat`` (issued at) later than now plus the clock skew.

The skew is botbuilder's own: 5 minutes, the ``clock_tolerance`` of its channel validation. An
anonymous identity (authentication off, no token sent) has no claims to check and passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from botframework.connector.auth import AuthenticationConstants, ClaimsIdentity

__all__ = ["CLOCK_SKEW_S", "check_identity_lifetime", "check_token_lifetime"]

CLOCK_SKEW_S = 5 * 60
"""How far the channel's clock may be ahead of (or behind) ours, as botbuilder allows."""


def _seconds(claims: Mapping[str, Any], name: str) -> float | None:
    """The claim ``name`` as seconds since the epoch; ``None`` when absent; ``PermissionError`` when not a number."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PermissionError(f"the token's {name} claim is not a number")
    return float(value)


def check_token_lifetime(claims: Mapping[str, Any], *, now: float | None = None,
                         skew_s: float = CLOCK_SKEW_S) -> None:
    """``PermissionError`` unless the (already verified) token ``claims`` carry an ``exp`` not yet past and no
    ``nbf``/``iat`` in the future, each beyond ``skew_s``."""
    moment = time.time() if now is None else now
    expires = _seconds(claims, "exp")
    if expires is None:
        raise PermissionError("the token has no expiry (exp claim)")
    if expires <= moment - skew_s:
        raise PermissionError("the token has expired")
    for name in ("nbf", "iat"):
        when = _seconds(claims, name)
        if when is not None and when > moment + skew_s:
            raise PermissionError(f"the token is not valid yet ({name} is in the future)")


def check_identity_lifetime(identity: ClaimsIdentity | None,
                            clock: Callable[[], float] = time.time) -> None:
    """:func:`check_token_lifetime` on the claims of an identity built from a token; an anonymous identity
    (no token: authentication is off) passes."""
    if identity is None or identity.authentication_type == AuthenticationConstants.ANONYMOUS_AUTH_TYPE:
        return
    check_token_lifetime(identity.claims or {}, now=clock())
