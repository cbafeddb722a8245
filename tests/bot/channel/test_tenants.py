"""The tenant an activity names: only text counts, whatever JSON a client puts in its place."""

from __future__ import annotations

from typing import Any

import pytest
from botbuilder.schema import Activity

from bot.channel.tenants import TenantAllowList, activity_tenants


def activity(channel_tenant: Any, conversation_tenant: Any) -> Activity:
    return Activity().deserialize({
        "type": "message", "id": "a-1", "channelId": "msteams", "serviceUrl": "http://127.0.0.1:9/",
        "from": {"id": "29:u"}, "conversation": {"id": "a:c", "tenantId": conversation_tenant},
        "channelData": {"tenant": {"id": channel_tenant}},
    })


@pytest.mark.parametrize("odd", [{"id": "t-1"}, ["t-1"], 7, None, ""])
def test_a_tenant_id_that_is_not_text_is_no_tenant(odd: Any) -> None:
    assert activity_tenants(activity(odd, odd)) == set()
    assert activity_tenants(activity(odd, "t-1")) == {"t-1"}
    assert not TenantAllowList(frozenset({"t-1"})).permits(activity(odd, odd))


def test_two_tenants_named_are_both_seen() -> None:
    assert activity_tenants(activity("t-1", "t-2")) == {"t-1", "t-2"}
