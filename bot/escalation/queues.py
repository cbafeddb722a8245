"""Agents' channels: where tickets go. ``register agents`` in a Teams channel makes it a queue.

    register agents                       every ticket
    register agents sv ko                 tickets from users writing Swedish or Korean
    register agents articles:desktop-*    tickets about articles whose id matches the pattern

Queues are kept in order of registration (registering a channel again replaces its entry in place);
a ticket goes to the first queue of its tenant that matches its locale and article. A queue records the
team and tenant it was registered from: only channels of teams listed in ``AGENT_TEAMS`` may register,
and a queue whose team is no longer listed receives nothing (``bot.escalation.agent_channels`` decides).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botbuilder.core import Storage

from bot.escalation.store_keys import PREFIX
from bot.escalation.stored_reference import reference_from_document
from bot.escalation.tickets import Ticket
from knowledge.locales import canonical_locale, negotiate

QUEUES_KEY = PREFIX + "queues"
ARTICLES_PREFIX = "articles:"
_REGISTER = re.compile(r"^\s*/?register\s+agents\b(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class Queue:
    """One agents' channel: its id, name, the reference to post new threads to, what it takes (built by keyword:
    nine fields)."""

    channel_id: str
    name: str
    reference: Mapping[str, Any]
    """A serialized ``ConversationReference`` whose conversation is the channel itself (new threads)."""
    locales: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    """``fnmatch`` patterns over article ids."""
    agent_locale: str = "en-US"
    team: str = ""
    """The Teams team id (``channelData.team.id``) the channel belongs to; ``""`` for an old registration."""
    team_group: str = ""
    """The team's AAD group id, when the channel named it."""
    tenant: str = ""
    """The tenant the registration came from; ``""`` when the activity named none."""

    def takes(self, locale: str, article: str | None) -> bool:
        if self.locales and not negotiate([locale], list(self.locales)) and not any(
                loc.split("-")[0] == locale.split("-")[0] for loc in self.locales):
            return False
        return not self.articles or (article is not None and any(
            fnmatch.fnmatchcase(article, pattern) for pattern in self.articles))

    def describe(self) -> str:
        parts = [", ".join(self.locales) or "all languages"]
        if self.articles:
            parts.append("articles " + ", ".join(self.articles))
        return "; ".join(parts)


def route(queues: Sequence[Queue], *, locale: str, article: str | None, tenant: str) -> Queue | None:
    """The queue a new ticket goes to: the first of the ticket's tenant (any, when the user's activity named
    none) that takes its locale and article."""
    return next((q for q in queues if (not tenant or q.tenant == tenant) and q.takes(locale, article)), None)


def holds(queue: Queue, ticket: Ticket) -> bool:
    """Whether ``queue``'s agents may see and act on ``ticket``: the queue it was posted to; while it was posted
    to none, every queue that would take it now (same tenant, locale, article)."""
    if ticket.queue:
        return ticket.queue == queue.channel_id
    return route([queue], locale=ticket.locale, article=ticket.article, tenant=ticket.tenant) is not None


@dataclass(frozen=True)
class Registration:
    """What ``register agents`` asked for; ``problem`` names a word it did not understand."""

    locales: tuple[str, ...]
    articles: tuple[str, ...]
    problem: str | None = None


def parse_register(text: str) -> Registration | None:
    """The ``register agents`` command in ``text`` (the bot's mention removed), else ``None``."""
    match = _REGISTER.match(text)
    if not match:
        return None
    locales: list[str] = []
    articles: list[str] = []
    for word in match.group(1).replace(",", " ").split():
        if word.lower().startswith(ARTICLES_PREFIX):
            articles.extend(p for p in word[len(ARTICLES_PREFIX):].split(",") if p)
            continue
        code = canonical_locale(word)
        if not code:
            return Registration((), (), problem=word[:40])
        locales.append(code)
    return Registration(tuple(dict.fromkeys(locales)), tuple(dict.fromkeys(articles)))


def _to_document(queue: Queue) -> dict[str, Any]:
    return {"channel_id": queue.channel_id, "name": queue.name, "reference": reference_from_document(queue.reference),
            "locales": list(queue.locales), "articles": list(queue.articles), "agent_locale": queue.agent_locale,
            "team": queue.team, "team_group": queue.team_group, "tenant": queue.tenant}


def _from_document(doc: Mapping[str, Any]) -> Queue:
    return Queue(channel_id=str(doc["channel_id"]), name=str(doc.get("name") or ""),
                 reference=reference_from_document(doc["reference"]), locales=tuple(doc.get("locales") or ()),
                 articles=tuple(doc.get("articles") or ()), agent_locale=str(doc.get("agent_locale") or "en-US"),
                 team=str(doc.get("team") or ""), team_group=str(doc.get("team_group") or ""),
                 tenant=str(doc.get("tenant") or ""))


class QueueRegistry:
    """The queues, as one document in the state store (registering is rare; reading is every ticket)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def all(self) -> list[Queue]:
        found = await self.storage.read([QUEUES_KEY])
        doc = found.get(QUEUES_KEY)
        items: Sequence[Any] = doc.get("queues", []) if isinstance(doc, dict) else []
        return [_from_document(item) for item in items if isinstance(item, dict)]

    async def register(self, queue: Queue) -> None:
        """Add the queue, or replace the entry of the same channel where it stands."""
        found = await self.storage.read([QUEUES_KEY])
        doc = dict(found.get(QUEUES_KEY) or {})
        items = [item for item in doc.get("queues", []) if isinstance(item, dict)]
        for i, item in enumerate(items):
            if item.get("channel_id") == queue.channel_id:
                items[i] = _to_document(queue)
                break
        else:
            items.append(_to_document(queue))
        doc["queues"] = items
        await self.storage.write({QUEUES_KEY: doc})

    async def find(self, channel_id: str) -> Queue | None:
        return next((q for q in await self.all() if q.channel_id == channel_id), None)
