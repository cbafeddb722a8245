"""Per-conversation rate limit: a token bucket for each conversation, enforced as botbuilder middleware.

    adapter.use(ConversationRateLimit(per_minute=30, burst=10, locale_of=desk.user_locale))

Each conversation may send ``burst`` messages at once and ``per_minute`` on average after that. The
first message over the limit is answered with ``slow_down`` in the user's language; further ones are
dropped silently until the bucket refills, so a flood gets one reply, not one per message. Channel
messages that do not mention the bot (it only reads those) have a bucket of their own and no reply: busy
chatter in a thread never crowds out a message addressed to the bot there. Other
conversations are unaffected. Only ``message`` activities count (card buttons sent as messages
included); invokes and conversation updates pass.

The buckets live in this process's memory: with several bot processes each enforces its own limit
(a user served by two processes gets up to twice the rate). At most ``max_conversations`` buckets are
kept; the least recently used go first, which only forgets a bucket that has long been refilling.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from botbuilder.core import Middleware, TurnContext
from botbuilder.schema import ActivityTypes

from bot.channel.channel_text import addressed_to_bot
from bot.strings import strings_for

__all__ = ["ConversationRateLimit", "TokenBucket"]

log = logging.getLogger(__name__)
MAX_CONVERSATIONS = 100_000

LocaleOf = Callable[[TurnContext], Awaitable[str | None]]


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; one token per message."""

    capacity: float
    rate: float
    tokens: float
    updated: float
    warned: bool = False

    def take(self, now: float) -> bool:
        """Spend one token if there is one (after refilling for the time since the last call)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.warned = False
            return True
        return False


class ConversationRateLimit(Middleware):  # type: ignore[misc]  # botbuilder ships no types
    """Limits each conversation's messages; ``per_minute`` of 0 turns the limit off."""

    def __init__(self, *, per_minute: float, burst: int, locale_of: LocaleOf | None = None,
                 clock: Callable[[], float] = time.monotonic, max_conversations: int = MAX_CONVERSATIONS) -> None:
        self.per_minute = per_minute
        self.burst = max(1, burst)
        self.locale_of = locale_of
        self.clock = clock
        self.max_conversations = max_conversations
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self.limited = 0
        """Messages refused since start."""

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.burst, self.per_minute / 60.0, float(self.burst), now)
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_conversations:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        activity = context.activity
        if self.per_minute <= 0 or activity.type != ActivityTypes.message or not activity.conversation:
            await logic()
            return
        addressed = addressed_to_bot(activity)  # channel chatter the bot only reads has a bucket of its own
        bucket = self._bucket(("" if addressed else "read-only:") + str(activity.conversation.id), self.clock())
        if bucket.take(self.clock()):
            await logic()
            return
        self.limited += 1
        if bucket.warned or not addressed:
            return
        bucket.warned = True
        log.warning("conversation over its rate limit (%g per minute, burst %d); activity %s dropped",
                    self.per_minute, self.burst, activity.id)
        locale = await self.locale_of(context) if self.locale_of else None
        await context.send_activity(strings_for(locale).text("slow_down"))
