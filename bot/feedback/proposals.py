"""The learning loop in Teams: a wording users found an article with is proposed to the agents, who add it.

    loop = LearningLoop(storage, escalation, learned, engine=lambda: desk.engine)
    await loop.note(turn_context, event)            # every feedback event the plugin records
    await loop.on_card_action(turn_context, data)   # Add / Dismiss on a proposal card

The rule is ``kb learn``'s (``bot.learning.learned_alternates``): a wording qualifies when at least
``MIN_USERS`` different users found one article with it (picked it from "did you mean" or said it helped),
more users did so than said it did not help (not disputed), and the knowledge base does not already answer
it outright with that article. Counted per tenant: the agents of the users' tenant decide.

Each (tenant, article, wording) has one document ``insight-desk/learning/proposal/<id>``: who found the
article with it and who said it did not help, the wording as last pasted, and its state: ``collecting``, then
``posting`` (claimed by one instance with the store's e-tag, for ``CLAIM_S``: the card is posted once, not once
per instance), ``proposed`` (the cards it was posted as), then ``added`` or ``dismissed`` (by whom). A decided
proposal never comes back. A post that reached no channel (none of the tenant's agents' channels takes the
article, or the channel failed) goes back to ``collecting`` and is tried again at the next user's feedback.

Add and Dismiss are agents' buttons, under Take's rule: pressed in a registered agents' channel of a team in
``AGENT_TEAMS``, naming that channel's team and tenant (``Escalation.queue_of``), on a proposal posted to
that channel. Anywhere else nothing changes and the attempt is logged. Add stores the text
(``learned_kb``), reloads this instance at once (the others follow within ``learned_kb.POLL_S``) and
updates every card of the proposal to "Added by NAME".
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import BotAdapter, Storage, TurnContext
from botbuilder.schema import Activity

from bot.cards import ACTION_KEY
from bot.channel.channel_text import client_locale
from bot.channel.markdown_escape import escape_markdown
from bot.escalation import Escalation, Queue
from bot.escalation.origin import tenant_of
from bot.escalation.proactive import card_activity
from bot.feedback.events import FeedbackEvent, FeedbackKind, query_key
from bot.feedback.learned_kb import LearnedEntry, LearnedKnowledge
from bot.feedback.learning import MIN_USERS, LearnedText, learned_alternates
from bot.feedback.proposal_cards import ADD, DISMISS, proposal_card
from bot.stores.base import CREATE_ONLY_E_TAG, EtagConflictError, StorageError, honours_create_only
from bot.stores.keyed_locks import KeyedLocks
from bot.strings import N_, strings_for
from knowledge.alternates import MAX_ALTERNATE_CHARS
from knowledge.engine import KnowledgeEngine
from knowledge.model import Tier
from knowledge.normalize import clean_paste

__all__ = ["PROPOSAL_PREFIX", "LearningLoop", "proposal_id"]

log = logging.getLogger(__name__)

PROPOSAL_PREFIX = "insight-desk/learning/proposal/"
COLLECTING, POSTING, PROPOSED, ADDED, DISMISSED = "collecting", "posting", "proposed", "added", "dismissed"
DECIDED = (ADDED, DISMISSED)
CLAIM_S = 60.0
"""How long a claim to post a proposal holds: an instance killed mid-post leaves it to the next feedback after."""
MAX_ATTEMPTS = 20
"""Writes of one proposal tried against other instances' writes before giving up."""
MAX_USERS_KEPT = 200
"""Users kept per proposal and side (found / disputed): enough to count, bounded whatever happens."""
_ID = re.compile(r"^[0-9a-f]{32}$")
KINDS = (FeedbackKind.CHOSEN, FeedbackKind.HELPED, FeedbackKind.NOT_HELPED)


def proposal_id(tenant: str, article: str, key: str) -> str:
    """The id of the proposal of wording ``key`` (``bot.feedback.query_key``) for ``article`` in ``tenant``."""
    return hashlib.sha256(f"{tenant}\n{article}\n{key}".encode()).hexdigest()[:32]


def _now() -> datetime:
    return datetime.now(UTC)


def _when(text: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return _now()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _events(doc: Mapping[str, Any]) -> list[FeedbackEvent]:
    """The proposal's feedback as ``bot.feedback.learning`` reads it: one event per user and side."""
    text, article, locale = str(doc.get("text") or ""), str(doc.get("article") or ""), doc.get("locale")
    said = locale if isinstance(locale, str) else None
    found = [FeedbackEvent(FeedbackKind.CHOSEN, text, article, said, user_id=user, timestamp=_when(at))
             for user, at in dict(doc.get("found") or {}).items()]
    disputed = [FeedbackEvent(FeedbackKind.NOT_HELPED, text, article, said, user_id=user, timestamp=_when(at))
                for user, at in dict(doc.get("disputed") or {}).items()]
    return found + disputed


def _takes_article(queue: Queue, article: str) -> bool:
    return not queue.articles or any(fnmatch.fnmatchcase(article, pattern) for pattern in queue.articles)


def _agent_name(activity: Activity) -> str:
    who = activity.from_property
    return str((who.name or who.id) if who else "") or "?"


class LearningLoop:
    """Proposals over one botbuilder ``Storage``; cards go to ``escalation``'s agents' channels (see the module)."""

    def __init__(self, storage: Storage, escalation: Escalation, learned: LearnedKnowledge, *,
                 engine: Callable[[], KnowledgeEngine], mask: Callable[[str], str] | None = None,
                 min_users: int = MIN_USERS) -> None:
        """``engine()`` is the knowledge base answering now; ``mask`` (``bot.feedback.redact.redact`` with
        ``REDACT_TRANSCRIPTS``) is applied to the wording before it is stored or shown."""
        self.storage = storage
        self.escalation = escalation
        self.learned = learned
        self.engine = engine
        self.mask: Callable[[str], str] = mask or (lambda text: text)
        self.min_users = min_users
        self.apply: Callable[[], Awaitable[object]] | None = None
        """Brings this instance's knowledge base to the stored texts at once (``LearnedSync.check``)."""
        self._locks = KeyedLocks()
        self._new: dict[str, Any] = {"e_tag": CREATE_ONLY_E_TAG} if honours_create_only(storage) else {}

    # -- counting and proposing -------------------------------------------------------------------

    async def note(self, turn_context: TurnContext, event: FeedbackEvent) -> None:
        """Count one feedback event towards its wording's proposal; post the proposal when it qualifies now.
        A store or channel failure is logged: the user's turn goes on."""
        if event.kind not in KINDS or not event.article:
            return
        query = self.mask(event.query)
        text = " ".join(clean_paste(query).split())
        if not text or len(text) > MAX_ALTERNATE_CHARS:
            return
        answer = self.engine().ask(text)
        if answer.tier is Tier.ANSWER and answer.article is not None and answer.article.id == event.article:
            return  # answered outright already: nothing to learn, nothing stored
        activity = turn_context.activity
        tenant = tenant_of(activity)
        key = PROPOSAL_PREFIX + proposal_id(tenant, event.article, query_key(query))
        who = event.user_id or event.conversation_id or ""
        try:
            claimed = await self._count(key, event, tenant=tenant, text=text, who=who)
            if claimed is not None:
                await self._post(turn_context.adapter, key, *claimed)
        except StorageError as e:
            log.error("could not count feedback towards a learned wording (activity %s): %s", activity.id, e)

    async def _count(self, key: str, event: FeedbackEvent, *, tenant: str, text: str,
                     who: str) -> tuple[dict[str, Any], LearnedText] | None:
        """Add ``who`` to the proposal; the proposal and what to post when this write claimed it for posting."""

        def change(doc: dict[str, Any]) -> tuple[dict[str, Any], LearnedText] | None:
            if doc.get("state") in DECIDED:
                return None
            side = "disputed" if event.kind is FeedbackKind.NOT_HELPED else "found"
            users = {k: v for k, v in dict(doc.get(side) or {}).items() if isinstance(k, str)}
            if who in users or len(users) < MAX_USERS_KEPT:
                users[who] = event.timestamp.isoformat()
            doc[side] = users
            if side == "found":
                doc.update(text=text, locale=event.locale, last_seen=event.timestamp.isoformat())
            state = doc.get("state")
            if state == PROPOSED or (state == POSTING and float(doc.get("claimed_until") or 0) > time.time()):
                return None
            found = learned_alternates(self.engine(), _events(doc), min_users=self.min_users) if doc.get("text") \
                else []
            if not found:
                return None
            doc.update(state=POSTING, claimed_until=time.time() + CLAIM_S, learn_locale=found[0].locale)
            return doc, found[0]

        start: dict[str, Any] = {"tenant": tenant, "article": event.article, "state": COLLECTING, "found": {},
                                 "disputed": {}}
        claimed: tuple[dict[str, Any], LearnedText] | None = await self._change(key, change, start)
        return claimed

    async def _change(self, key: str, change: Callable[[dict[str, Any]], Any],
                      start: dict[str, Any] | None = None) -> Any:
        """Apply ``change`` to the stored proposal (``start`` when there is none; without ``start`` a missing
        proposal is ``None``) and write it with its e-tag, again from what is stored after a conflict."""
        async with self._locks.hold(key):
            for attempt in range(MAX_ATTEMPTS):
                found = await self.storage.read([key])
                stored = found.get(key)
                if isinstance(stored, dict):
                    doc = dict(stored)
                elif start is not None:
                    doc = {**start, **self._new}
                else:
                    return None
                before = dict(doc)
                result = change(doc)
                if doc == before:
                    return result
                try:
                    await self.storage.write({key: doc})
                except EtagConflictError:
                    await asyncio.sleep(0.01 * (attempt + 1))
                    continue
                return result
        raise StorageError(f"change {key}: gave up after {MAX_ATTEMPTS} concurrent changes", operation="write")

    async def _post(self, adapter: BotAdapter, key: str, doc: dict[str, Any], found: LearnedText) -> None:
        """Post the claimed proposal to the agents' channels of its tenant that take its article; record where."""
        tenant, article = str(doc.get("tenant") or ""), str(doc.get("article"))
        queues = [q for q in await self.escalation.active_queues()
                  if (not tenant or q.tenant == tenant) and _takes_article(q, article)]
        posted: list[dict[str, str]] = []
        for queue in queues:
            card = self._card(key, doc, queue, users=found.users, last_seen=found.last_seen)
            sent = await self.escalation.proactive.send(adapter, queue.reference, card_activity(card))
            if sent is not None:
                posted.append({"channel": queue.channel_id, "activity": sent})
        if not posted:
            log.warning("learned wording for article %s (tenant %s) qualifies but reached no agents' channel (%d "
                        "take it); it is tried again at the next feedback", article, tenant or "none", len(queues))

        def settle(current: dict[str, Any]) -> None:
            if current.get("state") != POSTING:
                return
            if posted:
                current.update(state=PROPOSED, cards=posted, claimed_until=0.0)
            else:
                current.update(state=COLLECTING, claimed_until=0.0)

        await self._change(key, settle)
        if posted:
            log.info("learned wording proposed for article %s (tenant %s, %d users) in %s", article, tenant or "none",
                     found.users, ", ".join(p["channel"] for p in posted))

    def _card(self, key: str, doc: Mapping[str, Any], queue: Queue, *, users: int, last_seen: datetime,
              decision: str | None = None) -> dict[str, Any]:
        strings = strings_for(queue.agent_locale)
        article = str(doc.get("article"))
        shown = self.engine().present(article, locale=strings.locale)
        title = (shown.article.heading or shown.article.title) if shown and shown.article else article
        return proposal_card(proposal=key.removeprefix(PROPOSAL_PREFIX), wording=str(doc.get("text") or ""),
                             title=title, users=users, last_seen=last_seen, strings=strings, decision=decision)

    # -- the agents' buttons ----------------------------------------------------------------------

    async def on_card_action(self, turn_context: TurnContext, data: Mapping[str, Any]) -> bool:
        """Add or Dismiss pressed on a proposal card; ``False`` for any other card's data."""
        action = str(data.get(ACTION_KEY))
        if action not in (ADD, DISMISS):
            return False
        activity = turn_context.activity
        proposal = str(data.get("proposal") or "")
        queue = await self.escalation.queue_of(activity)
        if queue is None:
            await self.escalation.channels.refuse(turn_context, action, f"proposal {proposal[:40]}",
                                                   strings_for(client_locale(activity)))
            return True
        if not _ID.match(proposal):
            log.warning("refused %s of a malformed proposal id in channel %s", action, queue.channel_id)
            return True
        key = PROPOSAL_PREFIX + proposal
        agent = _agent_name(activity)

        def decide(doc: dict[str, Any]) -> tuple[dict[str, Any], bool] | None:
            if queue.channel_id not in {c.get("channel") for c in doc.get("cards") or [] if isinstance(c, dict)}:
                return None
            newly = doc.get("state") not in DECIDED
            if newly:
                doc.update(state=ADDED if action == ADD else DISMISSED, decided_by=agent, decided_at=_now().isoformat())
            return dict(doc), newly

        try:
            outcome = await self._change(key, decide)
            if outcome is None:
                log.warning("refused %s of proposal %s from channel %s (team %s, tenant %s): not posted there",
                            action, proposal, queue.channel_id, queue.team, queue.tenant or "none")
                return True
            decided, newly = outcome
            if newly:
                if decided["state"] == ADDED:
                    await self._add(key, decided)
                log.info("proposal %s (article %s) %s by %s in channel %s", proposal, decided.get("article"),
                         decided["state"], agent, queue.channel_id)
        except StorageError as e:
            log.error("could not record %s of proposal %s (activity %s): %s", action, proposal, activity.id, e)
            await turn_context.send_activity(strings_for(client_locale(activity) or queue.agent_locale)
                                             .text("apology"))
            return True
        await self._update_cards(turn_context.adapter, key, decided)
        if newly and decided["state"] == ADDED and self.apply is not None:
            try:  # this instance at once; the others within their next look at the store
                await self.apply()
            except (StorageError, OSError) as e:  # the store has the text: the next look writes the file again
                log.error("could not bring %s to the learned texts yet: %s", self.learned.folder, e)
        return True

    async def _add(self, key: str, doc: dict[str, Any]) -> None:
        """Store the proposal's wording as a learned text; when it cannot be stored the proposal is open again (and
        the ``StorageError`` raised)."""
        entry = LearnedEntry(str(doc.get("learn_locale") or "en"), str(doc["article"]), str(doc["text"]),
                             str(doc.get("decided_by") or ""), str(doc.get("decided_at") or _now().isoformat()))
        try:
            await self.learned.add(entry)
        except StorageError:
            await self._change(key, lambda current: current.update(state=PROPOSED, decided_by=None))
            raise

    async def _update_cards(self, adapter: BotAdapter, key: str, doc: Mapping[str, Any]) -> None:
        """Show the decision on every card of the proposal, in each channel's language."""
        state = doc.get("state")
        if state not in DECIDED:
            return
        for posted in doc.get("cards") or []:
            queue = await self.escalation.queues.find(str(posted.get("channel")))
            if queue is None:
                continue
            strings = strings_for(queue.agent_locale)
            decision = strings.text(N_("learn_added") if state == ADDED else N_("learn_dismissed"),
                                    agent=escape_markdown(str(doc.get("decided_by") or "?")))
            card = self._card(key, doc, queue, users=len(doc.get("found") or {}), last_seen=_when(doc.get("last_seen")),
                              decision=decision)
            thread = f"{queue.channel_id};messageid={posted['activity']}"
            reference = dict(queue.reference)
            reference["conversation"] = {**dict(reference.get("conversation") or {}), "id": thread}
            await self.escalation.proactive.send(adapter, reference, card_activity(card),
                                                 update=str(posted["activity"]))
