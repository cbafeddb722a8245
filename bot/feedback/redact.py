"""Masks what identifies people or systems in text users paste, before it is stored.

    redact("Request 3f2a…-… from alice@contoso.com at 10.0.0.12 failed")
    -> "Request <id> from <email> at <ip> failed"

GUIDs (with or without braces or dashes), email addresses, IPv4 addresses (with an optional port)
and IPv6 addresses become ``<id>``, ``<email>`` and ``<ip>``. When ``REDACT_TRANSCRIPTS`` is on it is
applied to feedback queries (``RedactingFeedbackStore``) and to everything escalation stores or shows
agents (``bot.escalation.Escalation(mask=redact)``: tickets' questions, descriptions, transcripts).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from bot.feedback.events import FeedbackEvent, FeedbackStore, ReportRow

__all__ = ["RedactingFeedbackStore", "redact"]

_GUID = re.compile(r"(?<![0-9A-Za-z])\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}\}?(?![0-9A-Za-z])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
                   r"(?::\d{1,5})?(?![\d.])")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])\[?[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*[0-9A-Fa-f]\]?(?![\w:])")


def _ipv6(match: re.Match[str]) -> str:
    text = match.group(0).strip("[]")
    if text.count(":") < 2:
        return match.group(0)
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return match.group(0)
    return "<ip>"


def redact(text: str) -> str:
    """``text`` with GUIDs, email addresses and IP addresses masked."""
    text = _EMAIL.sub("<email>", text)
    text = _GUID.sub("<id>", text)
    text = _IPV4.sub("<ip>", text)
    return _IPV6_CANDIDATE.sub(_ipv6, text)


@dataclass
class RedactingFeedbackStore:
    """A feedback store that keeps each query with ``redact`` applied."""

    inner: FeedbackStore

    async def record(self, event: FeedbackEvent) -> None:
        await self.inner.record(FeedbackEvent(event.kind, redact(event.query), event.article, event.locale,
                                              user_id=event.user_id, conversation_id=event.conversation_id,
                                              timestamp=event.timestamp))

    async def report(self, limit: int = 20) -> list[ReportRow]:
        return await self.inner.report(limit)
