"""Which Teams tenants the bot serves: ``ALLOWED_TENANTS``, enforced as botbuilder middleware.

    adapter.use(TenantAllowList(frozenset({"<tenant id>"})))

A Teams activity names its tenant in ``channelData.tenant.id`` (and, for most, in
``conversation.tenantId``). With a non-empty allow-list, a Teams activity from any other tenant, or
naming none, or naming two that differ, ends its turn unanswered and is logged; activities from
other channels (Emulator, Web Chat) carry no tenant and pass.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import Middleware, TurnContext
from botbuilder.schema import Activity

__all__ = ["TEAMS_CHANNEL", "TenantAllowList", "activity_tenants"]

log = logging.getLogger(__name__)
TEAMS_CHANNEL = "msteams"


def _get(data: Any, key: str) -> Any:
    if isinstance(data, dict):
        return data.get(key)
    value = getattr(data, key, None)
    if value is None:
        value = (getattr(data, "additional_properties", None) or {}).get(key)
    return value


def activity_tenants(activity: Activity) -> set[str]:
    """Every tenant id the activity names (``channelData.tenant.id``, ``conversation.tenantId``)."""
    conversation = activity.conversation
    found = [_get(_get(activity.channel_data, "tenant"), "id"), _get(conversation, "tenant_id"),
             _get(conversation, "tenantId")]
    return {t for t in found if isinstance(t, str) and t}  # a client may send any JSON there: text only


class TenantAllowList(Middleware):  # type: ignore[misc]  # botbuilder ships no types
    """Ends the turn of Teams activities whose tenant is not in ``allowed`` (empty: all are served)."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = frozenset(t.strip().lower() for t in allowed if t.strip())
        self.refused = 0
        """Activities turned away since start."""

    def permits(self, activity: Activity) -> bool:
        if not self.allowed or (activity.channel_id or "") != TEAMS_CHANNEL:
            return True
        tenants = {t.lower() for t in activity_tenants(activity)}
        return len(tenants) == 1 and tenants <= self.allowed

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        activity = context.activity
        if self.permits(activity):
            await logic()
            return
        self.refused += 1
        named = ", ".join(sorted(activity_tenants(activity))) or "none"
        log.warning("ignored a %s activity from tenant %s: not in ALLOWED_TENANTS (activity %s)",
                    activity.type, named[:120], activity.id)
