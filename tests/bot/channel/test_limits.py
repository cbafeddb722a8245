"""The token bucket behind the per-conversation rate limit, on a clock the test moves."""

from __future__ import annotations

from bot.channel.limits import ConversationRateLimit, TokenBucket


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(capacity=3, rate=0.5, tokens=3, updated=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(1.0)  # half a token so far
    assert bucket.take(2.0)
    assert not bucket.take(2.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # never above capacity


def test_buckets_are_kept_per_conversation_and_bounded() -> None:
    now = [0.0]
    limit = ConversationRateLimit(per_minute=60, burst=2, clock=lambda: now[0], max_conversations=3)
    first = limit._bucket("a", now[0])
    for key in ("b", "c", "d"):
        limit._bucket(key, now[0])
    assert len(limit) == 3
    assert limit._bucket("a", now[0]) is not first  # "a" was least recently used and went first
