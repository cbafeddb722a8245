"""Property-based: whatever JSON arrives, the activity checks and the channel clean-up never raise."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import DeserializationError
from botbuilder.schema import Activity
from hypothesis import given

from bot.channel.activity_check import activity_problem
from bot.channel.channel_text import client_locale, message_text
from bot.channel.tenants import TenantAllowList, activity_tenants
from tests.activity_strategies import JSON, activities
from tests.fuzz_budget import fuzz_settings


@fuzz_settings()
@given(JSON)
def test_the_activity_check_answers_every_json_value(body: Any) -> None:
    problem = activity_problem(body)
    assert problem is None or isinstance(problem, str)
    if problem is None:
        assert isinstance(body, dict) and isinstance(body["type"], str) and body["type"]


@fuzz_settings()
@given(activities("http://127.0.0.1:9"))
def test_deserialized_activities_give_text_locale_and_tenants_without_raising(body: dict[str, Any]) -> None:
    try:
        activity = Activity().deserialize(body)
    except DeserializationError:
        return  # the endpoint answers 400 for these
    text = message_text(activity)
    assert isinstance(text, str) and len(text) <= 1_000_000
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    text.encode("utf-8")
    locale = client_locale(activity)
    assert locale is None or isinstance(locale, str)
    assert all(isinstance(t, str) for t in activity_tenants(activity))
    TenantAllowList(frozenset({"t-1"})).permits(activity)
