"""Where an activity comes from and who sent it, as escalation reads them (Teams channel, team, tenant,
sender), and how one person's words are shown to another."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botbuilder.schema import Activity

from bot.channel.markdown_escape import escape_markdown
from bot.channel.tenants import activity_tenants
from bot.escalation.tickets import Person


def channel_id_of(activity: Activity) -> str | None:
    """The Teams channel an activity was posted in (``None`` outside channels)."""
    conversation = activity.conversation
    if conversation is None or conversation.conversation_type != "channel":
        return None
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = channel_data.get("channel")
    channel = channel if isinstance(channel, dict) else {}
    return str(channel.get("id") or (conversation.id or "").split(";", 1)[0]) or None


def team_of(activity: Activity) -> tuple[str, str]:
    """The Teams team a channel activity came from: its id (``channelData.team.id``) and AAD group id."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = channel_data.get("team")
    team = team if isinstance(team, dict) else {}
    return str(team.get("id") or ""), str(team.get("aadGroupId") or "")


def tenant_of(activity: Activity) -> str:
    """The tenant an activity names (``""`` for none); two different ones give a value no queue has."""
    return "|".join(sorted(activity_tenants(activity)))


def conversation_id_of(activity: Activity) -> str:
    """The activity's conversation id (``""`` without one)."""
    return activity.conversation.id if activity.conversation else ""


def person_of(activity: Activity) -> Person:
    """The sender as the channel names them."""
    who = activity.from_property
    return Person(str(who.id if who and who.id else "unknown"), str(who.name if who and who.name else ""))


def ticket_number(data: Mapping[str, Any]) -> int | None:
    """The ticket number a card's data (or a command's word) names: ``12``, ``#12``; ``None`` for anything else."""
    try:
        return int(str(data.get("ticket", "")).strip().lstrip("#"))
    except ValueError:
        return None


def shown(text: str) -> str:
    """One person's words for another's Teams message: markdown and HTML cannot take effect."""
    return escape_markdown(text, html=True)
