"""Load test: many concurrent conversations against the real bot process, escalations to agents included,
accounting for every reply, every ticket and every relayed line.

    python -m bench.loadtest [--conversations 200] [--messages 50] [--kb DIR] [--deadline 900]

Starts ``python -m bot serve`` on a free 127.0.0.1 port (SQLite state in a temporary folder, the
rate limit off, tickets to a Teams agents' channel) and a connector stub in this process
(``bench.load_stub``). An admin first registers an agents' channel (``register agents``, mentioning
the bot). Then every conversation is a closed loop of ``--messages`` user messages (the next goes out
once the previous one's effect reached the stub) with texts and client locales from the eval set
(``dev-sxs.jsonl``: many locales; answer, suggest and not-found paths). By conversation number:

- ``n % 8 == 0`` (*handled*): a few pastes (1 to ``messages / 2 - 2``, by ``n``; ``--burst``: all the
  same, ``messages / 10``), then the "Talk to a person" button of the last card,
  then the confirm card's own "Send" with a description (``n % 16 == 0``: the same user sends it from
  their personal chat and from a group chat at the same instant: one ticket, one "already open").
  The user then writes lines that are relayed to the ticket's thread while an agent, concurrently,
  presses the ticket card's "Take it" in the thread (``n % 16 == 8``: two agents at once), writes
  lines that are relayed to the user, and once the user's lines are through presses "Resolve"; the
  user goes on pasting and is answered from the knowledge base again.
- ``n % 8 == 4`` (*waiting*): the same escalation; nobody takes it; everything the user writes after
  it is relayed to the thread; the ticket is still waiting at the end.
- ``n % 4 == 2`` (*cancelled*): the button, then the confirm card's "Cancel": no ticket.
- the others paste only.

After the bot stopped (SIGTERM by PID), the SQLite file is read (read-only) and the run fails (exit 1)
unless: every message was sent; every paste and button got exactly one reply and every relayed line
got none; tickets in the store == confirmed escalations, one per user, each with its card posted once
in the agents' channel; every relayed line arrived exactly once and in order on the other side and is
in the ticket's stored transcript once, in order; every take gave one owner (and one refusal when
raced); each handled ticket is resolved by its owner with its card updated twice in place, each
waiting ticket is open; requests for a person and not-found answers are in the feedback store once
each; no post went anywhere else; the bot logged no error. Prints throughput, p50/p99 latency and
what was counted. Loopback only; bounded by ``--deadline``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

from bench.load_stub import Post, RecordingStub
from bench.loopback import REPLY_TIMEOUT_S as CHANNEL_LIMIT_S
from bench.loopback import Query, free_port, load_queries, percentile, wait_until_listening

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bot.channel.markdown_escape import escape_markdown  # noqa: E402  # relayed lines arrive escaped
from bot.strings import CATALOG, strings_for  # noqa: E402  # the catalog tells the reply kinds apart

SUGGEST_TITLES = {entry["did_you_mean"] for entry in CATALOG.values()}
NOT_FOUND_TEXTS = {entry[key] for entry in CATALOG.values() for key in ("not_found", "not_found_again")}
EVAL_KB = Path("/tmp/insight-kb/sxs")
BOT = {"id": "28:bench-bot", "name": "Insight Desk"}
TENANT = "bench-tenant"
AGENT_TEAM = "19:bench-team@thread.tacv2"
"""The agents' team, listed in the bot's ``AGENT_TEAMS``."""
CHANNEL = "19:bench-agents@thread.tacv2"
AGENTS = tuple(f"Agent {n}" for n in range(1, 9))
AGENT_LINES = 3
"""Lines each agent writes to the user of a ticket they took."""
LOST_AFTER_S = 60.0
"""A reply (or relayed line) that has not arrived this long after its message is lost. Slower than
``CHANNEL_LIMIT_S`` (15 s, what Teams waits for a bot's answer) but arrived is counted as *slow*."""
WAIT_S = 60.0
"""How long one side waits for the other (an agent for the user's lines, the user for "Resolve")."""
ESCALATION_PREFIX = "insight-desk/escalation/"
EN = strings_for("en-US")


class Role(StrEnum):
    """What a conversation does (see the module docstring)."""

    HANDLED = "handled"
    WAITING = "waiting"
    CANCELLED = "cancelled"
    PLAIN = "plain"


def role_of(number: int) -> Role:
    if number % 8 == 0:
        return Role.HANDLED
    if number % 8 == 4:
        return Role.WAITING
    if number % 4 == 2:
        return Role.CANCELLED
    return Role.PLAIN


def user_conversation(number: int) -> str:
    return f"a:bench-conversation-{number}"


def user_name(number: int) -> str:
    return f"User {number}"


def group_conversation(number: int) -> str:
    """The group chat the user of conversation ``number`` is also in."""
    return f"19:bench-group-{number}@thread.v2"


def user_message(service_url: str, number: int, activity_id: str, *, text: str = "", locale: str | None = None,
                 value: dict[str, Any] | None = None, conversation: str | None = None) -> dict[str, Any]:
    """A Teams-shaped message of user ``number`` in their personal chat with the bot, or in ``conversation``
    when that is their group chat (a card's ``Action.Submit`` data with ``value``)."""
    group = conversation is not None and conversation != user_conversation(number)
    if group and text:  # in a group chat Teams sends the bot only what mentions it
        text = f"<at>{BOT['name']}</at> {text}"
    activity: dict[str, Any] = {
        "type": "message", "id": activity_id, "timestamp": "2026-11-26T00:00:00.000Z", "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:bench-user-{number}", "name": user_name(number),
                 "aadObjectId": f"00000000-0000-0000-0000-{number:012d}"},
        "conversation": {"id": user_conversation(number), "conversationType": "personal", "tenantId": TENANT},
        "recipient": BOT, "text": text, "textFormat": "plain", "channelData": {"tenant": {"id": TENANT}},
    }
    entities: list[dict[str, Any]] = []
    if locale:
        activity["locale"] = locale
        entities.append({"type": "clientInfo", "locale": locale, "platform": "Web"})
    if group:
        activity["conversation"] = {"id": conversation, "conversationType": "groupChat", "isGroup": True,
                                    "tenantId": TENANT}
        if text:
            entities.append({"type": "mention", "text": f"<at>{BOT['name']}</at>", "mentioned": BOT})
    if entities:
        activity["entities"] = entities
    if value is not None:
        activity["value"] = value
    return activity


def channel_message(service_url: str, activity_id: str, agent: str, *, thread: str | None = None, text: str = "",
                    value: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message in the agents' channel by ``agent``: text mentions the bot (Teams sends the bot only
    those), a card's button sends its data; in a ticket's thread when ``thread`` is given."""
    entities: list[dict[str, Any]] = [{"type": "clientInfo", "locale": "en-US", "platform": "Web"}]
    if text:
        text = f"<at>{BOT['name']}</at> {text}"
        entities.append({"type": "mention", "text": f"<at>{BOT['name']}</at>", "mentioned": BOT})
    activity: dict[str, Any] = {
        "type": "message", "id": activity_id, "timestamp": "2026-11-26T00:00:00.000Z", "serviceUrl": service_url,
        "channelId": "msteams", "locale": "en-US",
        "from": {"id": f"29:bench-{agent.lower().replace(' ', '-')}", "name": agent},
        "conversation": {"id": thread or f"{CHANNEL};messageid=bench-register", "conversationType": "channel",
                         "isGroup": True, "tenantId": TENANT},
        "recipient": BOT, "text": text, "textFormat": "plain", "entities": entities,
        "channelData": {"tenant": {"id": TENANT}, "team": {"id": AGENT_TEAM},
                        "channel": {"id": CHANNEL, "name": "Support"}},
    }
    if thread:
        activity["replyToId"] = thread.split("=", 1)[1]
    if value is not None:
        activity["value"] = value
    return activity


@dataclass
class Sent:
    """One user message and what it must cause."""

    activity_id: str
    kind: str
    """``paste``, ``button``, ``confirm``, ``cancel`` (one reply each) or ``relay`` (one line in the thread)."""


@dataclass
class Escalated:
    """What one escalating conversation expects, filled in as it runs."""

    number: int
    role: Role
    locale: str = "en-US"
    conversation: str = ""
    """Where the ticket was made (the personal chat, or the group chat when that confirm won)."""
    ticket: int | None = None
    card: Post | None = None
    relayed: list[str] = field(default_factory=list)
    """Lines the user's messages must appear as in the thread, in order."""
    relay_texts: list[str] = field(default_factory=list)
    agent_texts: list[str] = field(default_factory=list)
    to_user: list[str] = field(default_factory=list)
    """What the user's conversation must receive proactively, in order."""
    owner: str | None = None
    raced: bool = False
    take_replies: list[str] = field(default_factory=list)
    relay_done: asyncio.Event = field(default_factory=asyncio.Event)
    resolved: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def thread(self) -> str | None:
        return f"{CHANNEL};messageid={self.card.id}" if self.card else None


@dataclass
class Tally:
    sent: list[Sent] = field(default_factory=list)
    lost: int = 0
    failed_posts: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """From the message's POST to its reply (or relayed line), by kind of message."""
    turns_ms: list[float] = field(default_factory=list)
    """How long the bot took to answer each POST (user and agent messages): the channel waits at most 15 s."""
    agent_posts: int = 0
    problems: list[str] = field(default_factory=list)
    buttons_from_cards: int = 0
    escalated: dict[int, Escalated] = field(default_factory=dict)
    cancelled: int = 0
    double_confirms: int = 0


class Driver:
    """Runs the conversations and the agents against one bot."""

    def __init__(self, bot_url: str, stub: RecordingStub, service_url: str, queries: Sequence[Query],
                 session: ClientSession, deadline: float) -> None:
        self.bot_url, self.stub, self.service_url = bot_url, stub, service_url
        self.queries, self.session, self.deadline = queries, session, deadline
        self.tally = Tally()
        self.burst = False
        self._picks = itertools.count()

    def query(self) -> Query:
        return self.queries[next(self._picks) % len(self.queries)]

    def late(self) -> bool:
        return time.monotonic() > self.deadline

    async def post(self, activity: dict[str, Any]) -> bool:
        started = time.perf_counter()
        try:
            async with self.session.post(self.bot_url, json=activity) as response:
                await response.read()
                self.tally.turns_ms.append((time.perf_counter() - started) * 1000)
                self.tally.statuses[response.status] += 1
                if response.status < 300:
                    return True
        except (ClientError, TimeoutError):
            pass
        self.tally.failed_posts += 1
        return False

    async def send(self, activity: dict[str, Any], kind: str, *, wait_key: str | None = None,
                   wait_n: int = 1) -> bool:
        """Post one user message and wait for its effect (its reply, else ``wait_key`` reaching ``wait_n``)."""
        self.tally.sent.append(Sent(activity["id"], kind))
        started = time.perf_counter()
        if not await self.post(activity):
            return False
        key = wait_key or f"r:{activity['id']}"
        if not await self.stub.until(key, wait_n, LOST_AFTER_S):
            self.tally.lost += 1
            return False
        table = self.stub.replies if key.startswith("r:") else self.stub.proactive
        arrived = table[key[2:]][wait_n - 1].arrived
        self.tally.latencies_ms[kind].append((arrived - started) * 1000)
        return True

    async def register(self) -> bool:
        activity = channel_message(self.service_url, "bench-register", "Admin", text="register agents")
        if not await self.post(activity) or not await self.stub.until("r:bench-register", 1, LOST_AFTER_S):
            return False
        said = self.stub.replies["bench-register"][0].said
        wanted = EN.text("agent_registered", scope=EN.text("agent_all_languages"))
        if said != wanted:
            self.tally.problems.append(f"register agents answered {said!r}")
            return False
        return True

    # -- users -------------------------------------------------------------------------------------

    async def conversation(self, number: int, messages: int) -> None:
        role = role_of(number)
        ids = (f"load-{number}-{seq}" for seq in itertools.count(1))
        budget = messages
        last: Post | None = None

        async def paste(count: int) -> None:
            nonlocal budget, last
            for _ in range(count):
                if self.late() or budget <= 0:
                    return
                query = self.query()
                activity_id = next(ids)
                budget -= 1
                if await self.send(user_message(self.service_url, number, activity_id, text=query.text,
                                                locale=query.locale), "paste"):
                    last = self.stub.replies[activity_id][0]

        # how many pastes before the button: spread over the conversations, as people do; ``--burst``: all
        # at the same point, so every escalating conversation confirms within the same second or two
        first = max(1, messages // 10) if self.burst else 1 + (number // 4) % max(1, messages // 2 - 2)
        if role is Role.PLAIN:
            await paste(messages)
            return
        await paste(first)
        if self.late():
            return
        confirm = await self.press_escalate(number, next(ids), last)
        budget -= 1
        if confirm is None:
            return
        if role is Role.CANCELLED:
            cancel = confirm.submits().get("escalate_cancel")
            if cancel is None:
                self.tally.problems.append(f"conversation {number}: the confirm card has no Cancel")
                return
            activity_id = next(ids)
            budget -= 1
            if await self.send(user_message(self.service_url, number, activity_id, value=cancel), "cancel"):
                self.tally.cancelled += 1
                said = self.stub.replies[activity_id][0].said
                wanted = strings_for(cancel.get("locale")).text("escalation_cancelled")
                if said != wanted:
                    self.tally.problems.append(f"conversation {number}: Cancel answered {said!r}")
            await paste(budget)
            return
        flow = Escalated(number, role, conversation=user_conversation(number))
        self.tally.escalated[number] = flow
        double = number % 16 == 0
        budget -= 2 if double else 1
        if not await self.confirm(flow, confirm, [next(ids) for _ in range(2 if double else 1)]):
            return
        agent = asyncio.create_task(self.agent(flow)) if role is Role.HANDLED else None
        relays = max(1, messages // 5) if role is Role.HANDLED else budget
        for _ in range(min(relays, budget)):
            if self.late():
                break
            budget -= 1
            await self.relay(flow, next(ids))
        flow.relay_done.set()
        if agent is not None:
            try:
                await asyncio.wait_for(flow.resolved.wait(), WAIT_S)
            except TimeoutError:
                self.tally.problems.append(f"conversation {number}: ticket #{flow.ticket} was never resolved")
                return
            finally:
                await agent
            await paste(budget)

    async def press_escalate(self, number: int, activity_id: str, last: Post | None) -> Post | None:
        """Press "Talk to a person" on the last card (as Teams sends its data); the confirm card."""
        data = last.submits().get("escalate") if last else None
        if data is not None:
            self.tally.buttons_from_cards += 1
        else:
            query = self.query()
            data = {"insightDesk": "escalate", "query": query.text[:200], "locale": query.locale or "en-US"}
        if not await self.send(user_message(self.service_url, number, activity_id, value=data), "button"):
            return None
        reply = self.stub.replies[activity_id][0]
        if "escalate_confirm" not in reply.submits():
            self.tally.problems.append(f"conversation {number}: 'Talk to a person' answered {reply.said[:80]!r}")
            return None
        return reply

    async def confirm(self, flow: Escalated, confirm: Post, activity_ids: list[str]) -> bool:
        """Press the confirm card's "Send" with a description (with two ids: at once from the group chat too)."""
        data = {**confirm.submits()["escalate_confirm"], "description": f"Load test user {flow.number} needs help"}
        flow.locale = str(data.get("locale") or "en-US")
        chats = [user_conversation(flow.number), group_conversation(flow.number)]
        activities = [user_message(self.service_url, flow.number, a, value=data, conversation=chat)
                      for a, chat in zip(activity_ids, chats, strict=False)]
        if len(activities) > 1:
            self.tally.double_confirms += 1
        done = await asyncio.gather(*(self.send(a, "confirm") for a in activities))
        if not all(done):
            return False
        replies = [self.stub.replies[a][0] for a in activity_ids]
        numbers = {r.submits()["end"].get("ticket") for r in replies if "end" in r.submits()}
        strings = strings_for(flow.locale)
        if len(numbers) != 1 or sum("end" in r.submits() for r in replies) != 1:
            self.tally.problems.append(f"conversation {flow.number}: {len(replies)} confirms created tickets "
                                       f"{sorted(map(str, numbers))}: " + " | ".join(r.said[:60] for r in replies))
            return False
        flow.ticket = int(str(numbers.pop()))
        flow.conversation = next(r.conversation for r in replies if "end" in r.submits())
        wanted = {strings.text("ticket_created", number=str(flow.ticket))}
        if len(replies) > 1:
            wanted.add(strings.text("ticket_already_open", number=str(flow.ticket)))
        if {r.said for r in replies} != wanted:
            self.tally.problems.append(f"conversation {flow.number}: confirm answered "
                                       + " | ".join(r.said[:80] for r in replies))
        # the ticket card was posted inside the confirming turn, so it is here now
        cards = [p for p in self.stub.proactive.get(CHANNEL, [])
                 if p.submits().get("take", {}).get("ticket") == str(flow.ticket)]
        if len(cards) != 1:
            self.tally.problems.append(f"ticket #{flow.ticket}: {len(cards)} cards in the agents' channel")
            return False
        flow.card = cards[0]
        return True

    async def relay(self, flow: Escalated, activity_id: str) -> None:
        text = f"[{flow.number}.{len(flow.relay_texts) + 1}] {self.query().text.splitlines()[0].strip()}"[:300]
        flow.relay_texts.append(text)
        flow.relayed.append(f"**{escape_markdown(user_name(flow.number), html=True)}:** "
                            f"{escape_markdown(text, html=True)}")  # people's words reach agents escaped
        await self.send(user_message(self.service_url, flow.number, activity_id, text=text, locale=flow.locale,
                                     conversation=flow.conversation), "relay", wait_key=f"p:{flow.thread}",
                        wait_n=len(flow.relayed))

    # -- agents ------------------------------------------------------------------------------------

    async def agent_post(self, activity: dict[str, Any]) -> bool:
        self.tally.agent_posts += 1
        return await self.post(activity)

    async def agent(self, flow: Escalated) -> None:
        """Take the ticket from its card (two agents at once for ``n % 16 == 8``), talk, then resolve."""
        assert flow.card is not None and flow.thread is not None and flow.ticket is not None
        n, thread, card_id = str(flow.ticket), flow.thread, flow.card.id
        first = (flow.number // 8) % len(AGENTS)
        names = [AGENTS[first], AGENTS[(first + 1) % len(AGENTS)]] if flow.number % 16 == 8 else [AGENTS[first]]
        flow.raced = len(names) > 1
        take = flow.card.submits()["take"]
        takes = [channel_message(self.service_url, f"agent-{flow.number}-take-{i}", name, thread=thread, value=take)
                 for i, name in enumerate(names)]
        await asyncio.gather(*(self.agent_post(a) for a in takes))
        for activity in takes:
            if await self.stub.until(f"r:{activity['id']}", 1, LOST_AFTER_S):
                flow.take_replies.append(self.stub.replies[activity["id"]][0].said)
        owners = [name for name in names if EN.text("agent_took", agent=name, number=n) in flow.take_replies]
        if len(owners) != 1:
            self.tally.problems.append(f"ticket #{n}: takes by {names} answered {flow.take_replies}")
            return
        owner = flow.owner = owners[0]
        refused = [EN.text("agent_taken", number=n, agent=owner)] * (len(names) - 1)
        if sorted(flow.take_replies) != sorted([EN.text("agent_took", agent=owner, number=n), *refused]):
            self.tally.problems.append(f"ticket #{n}: takes answered {flow.take_replies}")
        strings = strings_for(flow.locale)
        flow.to_user.append(strings.text("agent_joined", agent=owner))
        if not await self.stub.until(f"p:{flow.conversation}", 1, LOST_AFTER_S):
            self.tally.problems.append(f"ticket #{n}: the user was not told that {owner} joined")
        for k in range(1, AGENT_LINES + 1):
            text = f"Agent line {k} for request #{n}"
            flow.agent_texts.append(text)
            flow.to_user.append(strings.text("agent_says", agent=escape_markdown(owner, html=True),
                                             text=escape_markdown(text, html=True)))
            await self.agent_post(channel_message(self.service_url, f"agent-{flow.number}-line-{k}", owner,
                                                  thread=thread, text=text))
            if not await self.stub.until(f"p:{flow.conversation}", len(flow.to_user), LOST_AFTER_S):
                self.tally.lost += 1
        try:
            await asyncio.wait_for(flow.relay_done.wait(), WAIT_S)
        except TimeoutError:
            self.tally.problems.append(f"ticket #{n}: the user's lines did not finish")
            return
        updated = self.stub.updates.get(f"{thread}/{card_id}") or []
        shown = Post(thread, None, {"attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                      "content": _card_of(updated[-1])}]}, card_id, 0.0) \
            if updated else flow.card
        resolve = shown.submits().get("resolve")
        if resolve is None:
            self.tally.problems.append(f"ticket #{n}: its card has no Resolve")
            return
        activity_id = f"agent-{flow.number}-resolve"
        await self.agent_post(channel_message(self.service_url, activity_id, owner, thread=thread, value=resolve))
        flow.to_user.append(strings.text("ticket_resolved", agent=owner, number=n))
        if await self.stub.until(f"r:{activity_id}", 1, LOST_AFTER_S):
            said = self.stub.replies[activity_id][0].said
            if said != EN.text("agent_resolved", agent=owner, number=n):
                self.tally.problems.append(f"ticket #{n}: Resolve answered {said!r}")
        if not await self.stub.until(f"p:{flow.conversation}", len(flow.to_user), LOST_AFTER_S):
            self.tally.problems.append(f"ticket #{n}: the user was not told it is resolved")
        flow.resolved.set()


def _card_of(activity: dict[str, Any]) -> dict[str, Any]:
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            content: dict[str, Any] = attachment.get("content") or {}
            return content
    return {}


# -- the accounting -----------------------------------------------------------------------------------


def stored_documents(state: Path, prefix: str) -> dict[str, dict[str, Any]]:
    """The state file's documents under ``prefix`` (read-only)."""
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT key, document FROM bot_state WHERE key LIKE ?", (prefix + "%",)).fetchall()
    return {key: json.loads(document) for key, document in rows}


def count_feedback(state: Path, kind: str) -> int:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        row = db.execute("SELECT COUNT(*) FROM feedback WHERE kind = ?", (kind,)).fetchone()
    return int(row[0])


def check_replies(stub: RecordingStub, tally: Tally) -> list[str]:
    """Every paste, button and confirm answered once, every relayed line not answered; nothing stray."""
    problems = []
    answered = {s.activity_id for s in tally.sent if s.kind != "relay"}
    wrong = [(s.activity_id, len(stub.replies.get(s.activity_id, ()))) for s in tally.sent
             if len(stub.replies.get(s.activity_id, ())) != (0 if s.kind == "relay" else 1)]
    if wrong:
        problems.append(f"{len(wrong)} user messages did not get exactly their replies, first {wrong[:3]}")
    agent_ids = {f"agent-{f.number}-{what}" for f in tally.escalated.values()
                 for what in ("take-0", "take-1", "resolve", *(f"line-{k}" for k in range(1, AGENT_LINES + 1)))}
    stray = [key for key in stub.replies if key not in answered and key not in agent_ids and key != "bench-register"]
    if stray:
        problems.append(f"replies to {len(stray)} activities nobody sent, first {stray[:3]}")
    lines = [key for f in tally.escalated.values() for key in stub.replies if key.startswith(f"agent-{f.number}-line-")]
    if lines:
        problems.append(f"{len(lines)} agent lines were answered in the thread instead of relayed: {lines[:3]}")
    return problems


def check_relay(stub: RecordingStub, tally: Tally) -> list[str]:
    """Ticket cards once each; relayed lines once and in order on both sides; card updates; nowhere else."""
    problems = []
    flows = tally.escalated.values()
    threads = {f.thread for f in flows if f.thread}
    known = {f.conversation for f in flows} | threads | {CHANNEL}
    for conversation, posts in stub.proactive.items():
        if conversation not in known:
            problems.append(f"{len(posts)} posts to {conversation!r}, which expects none")
    cards = stub.proactive.get(CHANNEL, [])
    numbers = [p.submits().get("take", {}).get("ticket") for p in cards]
    if len(numbers) != len(set(numbers)) or set(numbers) != {str(f.ticket) for f in flows if f.ticket}:
        problems.append(f"ticket cards in the agents' channel for {sorted(map(str, numbers))}, tickets "
                        f"{sorted(f.ticket or 0 for f in flows)}")
    for f in flows:
        if f.thread is None:
            continue
        arrived = [p.said for p in stub.proactive.get(f.thread, [])]
        if arrived != f.relayed:
            problems.append(f"ticket #{f.ticket}: thread got {len(arrived)} lines for {len(f.relayed)} relayed "
                            f"(in order: {arrived == f.relayed[:len(arrived)]})")
        to_user = [p.said for p in stub.proactive.get(f.conversation, [])]
        if to_user != f.to_user:
            problems.append(f"ticket #{f.ticket}: user got {to_user[:5]} for {f.to_user[:5]}")
        updates = stub.updates.get(f"{f.thread}/{f.card.id if f.card else ''}", [])
        wanted_updates = 2 if f.role is Role.HANDLED else 0
        if len(updates) != wanted_updates:
            problems.append(f"ticket #{f.ticket}: card updated {len(updates)} times, {wanted_updates} expected")
        elif updates:
            title = _card_of(updates[-1]).get("body", [{}])[0].get("text")
            if title != EN.text("agent_ticket_title", number=str(f.ticket), state=EN.text("agent_state_resolved")):
                problems.append(f"ticket #{f.ticket}: its card ends as {title!r}")
    if len(stub.updates) != sum(1 for f in flows if f.role is Role.HANDLED):
        problems.append(f"{len(stub.updates)} cards updated, {sum(f.role is Role.HANDLED for f in flows)} expected")
    return problems


def check_store(state: Path, tally: Tally) -> tuple[list[str], Counter[str]]:
    """Tickets in the SQLite file == confirmed escalations, one per user, transcripts complete."""
    problems = []
    docs = stored_documents(state, ESCALATION_PREFIX)
    tickets = {int(d["number"]): d for k, d in docs.items() if k.startswith(ESCALATION_PREFIX + "ticket/")}
    states = Counter(str(d["state"]) for d in tickets.values())
    flows = {f.ticket: f for f in tally.escalated.values() if f.ticket is not None}
    if len(tickets) != len(tally.escalated) or set(tickets) != set(flows):
        problems.append(f"{len(tickets)} tickets stored for {len(tally.escalated)} confirmed escalations "
                        f"(stored {sorted(tickets)[:10]}, confirmed {sorted(flows)[:10]})")
    users = Counter(str(d["user"]["id"]) for d in tickets.values())
    doubled = [u for u, c in users.items() if c > 1]
    if doubled:
        problems.append(f"{len(doubled)} users have more than one ticket, first {doubled[:3]}")
    for number, doc in tickets.items():
        f = flows.get(number)
        if f is None:
            continue
        if doc["conversation"]["conversation"]["id"] != f.conversation:
            problems.append(f"ticket #{number} belongs to {doc['conversation']['conversation']['id']!r}")
        wanted_state = "resolved" if f.role is Role.HANDLED else "waiting"
        owner = (doc.get("assignee") or {}).get("name")
        if doc["state"] != wanted_state or owner != f.owner:
            problems.append(f"ticket #{number}: {doc['state']} by {owner}, expected {wanted_state} by {f.owner}")
        said = [ln["text"] for ln in doc["transcript"] if ln["role"] == "user" and ln["text"] in f.relay_texts]
        if said != f.relay_texts:
            problems.append(f"ticket #{number}: transcript keeps {len(said)} of the user's {len(f.relay_texts)} lines"
                            f" (in order: {said == f.relay_texts[:len(said)]})")
        agent = [ln["text"] for ln in doc["transcript"] if ln["role"] == "agent"]
        if agent != f.agent_texts:
            problems.append(f"ticket #{number}: transcript keeps agent lines {agent}, sent {f.agent_texts}")
    open_doc = docs.get(ESCALATION_PREFIX + "open") or {}
    still_open = sorted(n for n, f in flows.items() if f.role is Role.WAITING)
    if sorted(open_doc.get("tickets", [])) != still_open:
        problems.append(f"open tickets index {sorted(open_doc.get('tickets', []))[:10]}, expected {still_open[:10]}")
    counter = (docs.get(ESCALATION_PREFIX + "counter") or {}).get("next")
    if tickets and counter != max(tickets) + 1:
        problems.append(f"ticket counter at {counter} after {max(tickets)} tickets")
    return problems, states


# -- the run ------------------------------------------------------------------------------------------


def start_bot(state: Path, log: Path, kb: Sequence[str], port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "MICROSOFT"))}
    env.update(HOST="127.0.0.1", PORT=str(port), STATE_STORE=f"sqlite:///{state}", RATE_LIMIT_PER_MINUTE="0",
               LOG_LEVEL="WARNING", PYTHONPATH=str(REPO), KB_CACHE_DIR=str(REPO / "var" / "kb-cache"),
               ESCALATION_HANDOFF="teams", AGENT_TEAMS=AGENT_TEAM)
    env.pop("ALLOWED_TENANTS", None)
    if kb:
        env["KB_PATH"] = os.pathsep.join(kb)
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM by PID (graceful: the store is closed), SIGKILL if it lingers."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def drive(args: argparse.Namespace, queries: Sequence[Query], port: int,
                deadline: float) -> tuple[RecordingStub, Tally, float]:
    stub = RecordingStub()
    runner, service_url = await stub.start()
    try:
        connector = TCPConnector(limit=args.conversations + 16)
        async with ClientSession(connector=connector, timeout=ClientTimeout(total=LOST_AFTER_S)) as session:
            driver = Driver(f"http://127.0.0.1:{port}/api/messages", stub, service_url, queries, session, deadline)
            driver.burst = args.burst
            if not await driver.register():
                driver.tally.problems.append("the agents' channel could not be registered")
                return stub, driver.tally, 0.0
            started = time.perf_counter()
            runs = asyncio.gather(*(driver.conversation(n, args.messages) for n in range(args.conversations)))
            try:
                await asyncio.wait_for(runs, max(1.0, deadline - time.monotonic() + WAIT_S))
            except TimeoutError:
                driver.tally.problems.append("the run did not finish before its deadline")
            seconds = time.perf_counter() - started
            await asyncio.sleep(0.5)  # late duplicates, if any, would arrive now
            return stub, driver.tally, seconds
    finally:
        await runner.cleanup()


async def scenario(args: argparse.Namespace, queries: Sequence[Query], state: Path,
                   log: Path) -> tuple[RecordingStub, Tally, float]:
    """Start the bot, drive the conversations and agents, stop the bot: what the stub saw, what was sent."""
    deadline = time.monotonic() + args.deadline
    port = free_port()
    process = start_bot(state, log, args.kb, port)
    try:
        await wait_until_listening(port, min(args.startup, args.deadline), lambda: process.poll() is None)
        return await drive(args, queries, port, deadline)
    finally:
        stop(process)


async def run(args: argparse.Namespace, queries: Sequence[Query], state: Path, log: Path) -> int:
    stub, tally, seconds = await scenario(args, queries, state, log)
    return report(args, stub, tally, seconds, state, log)


def report(args: argparse.Namespace, stub: RecordingStub, tally: Tally, seconds: float, state: Path,
           log: Path) -> int:
    expected = args.conversations * args.messages
    sent = len(tally.sent)
    problems = list(tally.problems)
    kinds = Counter(s.kind for s in tally.sent)
    paths: Counter[str] = Counter()
    for s in tally.sent:
        if s.kind == "paste" and stub.replies.get(s.activity_id):
            paths[_path(stub.replies[s.activity_id][0])] += 1
    lat = [ms for kind in tally.latencies_ms.values() for ms in kind]
    slow = sum(ms > CHANNEL_LIMIT_S * 1000 for ms in tally.turns_ms)
    print(f"load: {args.conversations} conversations x {args.messages} messages = {expected} planned, {sent} sent"
          f" in {seconds:.1f} s ({sent / seconds if seconds else 0:.1f} user messages/s; plus {tally.agent_posts}"
          f" agent posts)")
    print(f"latency: p50 {percentile(lat, 0.5):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms,"
          f" max {max(lat) if lat else float('nan'):.1f} ms (to the reply, or to the relayed line in the thread); "
          + ", ".join(f"{k} p50 {percentile(v, 0.5):.0f} p99 {percentile(v, 0.99):.0f} ms"
                      for k, v in sorted(tally.latencies_ms.items())))
    print(f"turns: {len(tally.turns_ms)} POSTs answered, p50 {percentile(tally.turns_ms, 0.5):.1f} ms,"
          f" p99 {percentile(tally.turns_ms, 0.99):.1f} ms, {slow} slower than the channel's {CHANNEL_LIMIT_S:.0f} s")
    confirms = tally.latencies_ms.get("confirm", [])
    print(f"confirms: {len(confirms)} answered (the ticket created, or 'already open'), p50"
          f" {percentile(confirms, 0.5):.0f} ms, p99 {percentile(confirms, 0.99):.0f} ms, max"
          f" {max(confirms, default=float('nan')):.0f} ms, {sum(ms > CHANNEL_LIMIT_S * 1000 for ms in confirms)}"
          f" slower than the channel's {CHANNEL_LIMIT_S:.0f} s")
    print(f"messages: {', '.join(f'{k} {n}' for k, n in kinds.most_common())}; {tally.lost} lost,"
          f" {tally.failed_posts} failed posts; HTTP statuses {dict(sorted(tally.statuses.items()))};"
          f" {len(stub.posts)} posts and {sum(map(len, stub.updates.values()))} card updates at the stub")
    print("paste replies: " + ", ".join(f"{k} {n}" for k, n in paths.most_common()))
    if sent != expected:
        problems.append(f"only {sent} of {expected} messages were sent before the deadline")
    if slow:
        problems.append(f"{slow} turns took longer than the {CHANNEL_LIMIT_S:.0f} s a channel waits for the bot")
    if tally.lost or tally.failed_posts:
        problems.append(f"{tally.lost} replies lost, {tally.failed_posts} posts failed")
    problems += check_replies(stub, tally)
    problems += check_relay(stub, tally)
    states: Counter[str] = Counter()
    if state.exists():
        store_problems, states = check_store(state, tally)
        problems += store_problems
        escalated, unanswered = count_feedback(state, "escalated"), count_feedback(state, "unanswered")
    else:
        problems.append("no state file")
        escalated = unanswered = 0
    flows = list(tally.escalated.values())
    handled = [f for f in flows if f.role is Role.HANDLED]
    print(f"escalation: {kinds['button']} 'Talk to a person' ({tally.buttons_from_cards} from the last card),"
          f" {tally.cancelled} cancelled, {len(flows)} confirmed ({tally.double_confirms} from two chats at once);"
          f" tickets stored: {sum(states.values())} ({', '.join(f'{k} {n}' for k, n in sorted(states.items()))});"
          f" ticket cards in the agents' channel: {len(stub.proactive.get(CHANNEL, []))}")
    print(f"agents: {len(handled)} tickets taken ({sum(f.raced for f in handled)} by two agents at once, one owner"
          f" each) and resolved; relayed {sum(len(f.relayed) for f in flows)} user lines to threads and"
          f" {sum(len(f.agent_texts) for f in flows)} agent lines to users;"
          f" feedback: {escalated} requests for a person, {unanswered} unanswered")
    if escalated != kinds["button"]:
        problems.append(f"{escalated} requests for a person recorded for {kinds['button']} presses")
    if unanswered != paths["not found"]:
        problems.append(f"{paths['not found']} 'not found' replies but {unanswered} recorded as unanswered")
    errors = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
              if " ERROR " in line or "Traceback" in line]
    if errors:
        problems.append(f"{len(errors)} errors in the bot's log, first: {errors[0][:200]}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print("PASS: every message answered or relayed exactly once and in order, every confirmed escalation is"
              " exactly one stored ticket with one card in the agents' channel, no errors")
    return 1 if problems else 0


def _path(post: Post) -> str:
    card = post.card
    first = (card.get("body") or [{}])[0].get("text") if card else None
    if first in SUGGEST_TITLES:
        return "suggestions"
    if first in NOT_FOUND_TEXTS:
        return "not found"
    return "answer" if card is not None else "other: " + post.said[:60]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--texts", type=Path, help="eval JSON Lines to draw texts from (default: dev-sxs)")
    parser.add_argument("--kb", action="append", default=None,
                        help=f"KB folder (repeatable; default: {EVAL_KB} when present, else the bundled articles)")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50, help="user messages per conversation (at least 8)")
    parser.add_argument("--burst", action="store_true", help="every escalating conversation presses the button"
                        " after the same number of pastes (a burst of confirmations), instead of spread out")
    parser.add_argument("--startup", type=float, default=300.0, help="seconds the bot may take to load")
    parser.add_argument("--deadline", type=float, default=900.0, help="hard limit for the whole run, seconds")
    args = parser.parse_args(argv)
    if args.messages < 8:
        parser.error("--messages must be at least 8 (pastes, button, confirm, relayed lines, pastes)")
    if args.kb is None:
        args.kb = [str(EVAL_KB)] if EVAL_KB.is_dir() else []
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    queries = load_queries(str(args.texts or args.shared / "eval" / "dev-sxs.jsonl"))
    print(f"texts: {len(queries)}, {len({q.locale for q in queries})} locales; KB: {', '.join(args.kb) or 'bundled'}",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="insight-load-") as tmp:
        return asyncio.run(run(args, queries, Path(tmp) / "state.db", Path(tmp) / "bot.log"))


if __name__ == "__main__":
    sys.exit(main())
