"""Per-member rate limits: token buckets driven by a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.task import Clock

from hubsd.rooms.ratelimit import OVER_LIMIT_GAP, MemberLimiter, TokenBucket


def limiter(
    clock: Clock,
    msgs: float = 10,
    nbytes: float = 1000,
    burst: float = 1,
    kick_after: float = 5,
) -> MemberLimiter:
    return MemberLimiter(msgs, nbytes, burst, kick_after, clock.seconds)


def send_at_rate(
    clock: Clock, lim: MemberLimiter, per_s: float, seconds: float, size: int = 10
) -> list[bool]:
    """Send C{per_s} messages a second for C{seconds}; the answers in order."""
    answers = []
    for _ in range(round(per_s * seconds)):
        answers.append(lim.allow(size))
        clock.advance(1 / per_s)
    return answers


# TokenBucket


def test_bucket_starts_full_and_empties() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock.seconds)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_bucket_refills_at_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock.seconds)
    for _ in range(3):
        bucket.take()
    clock.advance(0.4)
    assert not bucket.take()  # 0.8 tokens
    clock.advance(0.1)
    assert bucket.take()  # 1.0
    assert not bucket.take()


def test_bucket_never_holds_more_than_its_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=100, burst=2, clock=clock.seconds)
    clock.advance(3600)
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_bucket_request_larger_than_the_bucket_passes_only_when_full_and_leaves_debt() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=10, clock=clock.seconds)
    assert bucket.take(25)
    assert bucket.tokens == -15
    clock.advance(2.0)  # back to +5: not full
    assert not bucket.take(25)
    clock.advance(0.5)
    assert bucket.take(25)


def test_bucket_clock_stepping_back_gives_no_tokens() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=1, burst=1, clock=lambda: now[0])
    assert bucket.take()
    now[0] = 50.0
    assert not bucket.take()
    now[0] = 50.5
    assert not bucket.take()  # refilled from 50, not from 100
    now[0] = 51.0
    assert bucket.take()


@pytest.mark.parametrize(
    ("rate", "burst"), [(0, 1), (1, 0), (-1, 1), (1, -5), (float("nan"), 1), (1, float("nan"))]
)
def test_bucket_refuses_rates_and_bursts_that_are_not_positive(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, Clock().seconds)


# MemberLimiter


def test_under_the_limit_everything_passes() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, nbytes=1000)
    assert all(send_at_rate(clock, lim, per_s=9, seconds=30, size=100))
    assert lim.dropped == 0
    assert lim.allowed == 270


def test_burst_beyond_the_bucket_is_dropped_and_counted() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, burst=2)  # 20 messages of burst
    answers = [lim.allow(10) for _ in range(25)]
    assert answers == [True] * 20 + [False] * 5
    assert lim.dropped == 5
    assert lim.dropped_bytes == 50
    assert lim.allowed == 20


def test_limiter_refills_over_time() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, burst=1)
    for _ in range(10):
        assert lim.allow(1)
    assert not lim.allow(1)
    clock.advance(0.35)  # 3.5 messages' worth
    assert [lim.allow(1) for _ in range(4)] == [True, True, True, False]


def test_a_long_silence_earns_no_more_than_one_burst() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, nbytes=10**9, burst=2)
    clock.advance(3600)
    answers = [lim.allow(1) for _ in range(21)]
    assert answers == [True] * 20 + [False]


def test_limiter_clock_stepping_back_gives_no_tokens() -> None:
    now = [100.0]
    lim = MemberLimiter(1, 10**9, 1, 0, lambda: now[0])
    assert lim.allow(1)
    now[0] = 50.0
    assert not lim.allow(1)
    now[0] = 50.5
    assert not lim.allow(1)
    now[0] = 51.0
    assert lim.allow(1)


def test_bytes_are_limited_independently_of_messages() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=1000, nbytes=1000, burst=1)
    # few messages, too many bytes
    assert [lim.allow(400) for _ in range(3)] == [True, True, False]
    assert lim.dropped_bytes == 400


def test_messages_are_limited_independently_of_bytes() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=5, nbytes=1_000_000, burst=1)
    assert [lim.allow(1) for _ in range(6)] == [True] * 5 + [False]


def test_a_dropped_message_takes_from_neither_bucket() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=2, nbytes=100, burst=1)
    assert lim.allow(60)
    assert not lim.allow(60)  # 40 bytes left: dropped, no message token spent
    assert lim.allow(40)  # so the second message token is still there
    assert not lim.allow(0)  # and now both message tokens are gone


def test_a_message_larger_than_the_byte_bucket_passes_when_the_bucket_is_full() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, nbytes=100, burst=1)
    assert lim.allow(250)
    assert not lim.allow(1)  # in debt for 1.5 s
    clock.advance(1.5)
    assert not lim.allow(1)
    clock.advance(0.02)
    assert lim.allow(1)


def test_kick_only_after_being_far_over_the_limit_for_kick_after() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, nbytes=10**9, burst=1, kick_after=5)
    send_at_rate(clock, lim, per_s=50, seconds=4)
    assert lim.dropped > 0
    assert not lim.should_kick()
    send_at_rate(clock, lim, per_s=50, seconds=1.5)
    assert lim.should_kick()


def test_no_kick_when_the_limit_is_only_slightly_exceeded() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, nbytes=10**9, burst=1, kick_after=5)
    send_at_rate(clock, lim, per_s=15, seconds=30)
    assert lim.dropped > 0
    assert not lim.should_kick()


def test_kick_after_zero_never_kicks() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, burst=1, kick_after=0)
    send_at_rate(clock, lim, per_s=1000, seconds=60)
    assert lim.dropped > 50_000
    assert not lim.should_kick()


def test_pausing_ends_the_spell_over_the_limit() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, nbytes=10**9, burst=1, kick_after=5)
    send_at_rate(clock, lim, per_s=100, seconds=4)
    clock.advance(OVER_LIMIT_GAP + 0.5)
    assert not lim.should_kick()  # stopped: no longer over the limit
    send_at_rate(clock, lim, per_s=100, seconds=4)
    assert not lim.should_kick()  # a new spell, 4 s long: not yet
    send_at_rate(clock, lim, per_s=100, seconds=1.5)
    assert lim.should_kick()


def test_stopping_after_a_long_flood_is_not_kicked() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=10, nbytes=10**9, burst=1, kick_after=5)
    send_at_rate(clock, lim, per_s=100, seconds=10)
    assert lim.should_kick()
    clock.advance(OVER_LIMIT_GAP + 0.1)
    assert not lim.should_kick()


def test_far_over_the_byte_rate_is_kicked_too() -> None:
    clock = Clock()
    lim = limiter(clock, msgs=1000, nbytes=1000, burst=1, kick_after=2)
    send_at_rate(clock, lim, per_s=10, seconds=3, size=1000)  # 10x the byte rate
    assert lim.should_kick()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"msgs_per_s": 0},
        {"bytes_per_s": -1},
        {"burst_seconds": 0},
        {"kick_after_s": -1},
        {"kick_after_s": float("nan")},
    ],
)
def test_limiter_refuses_impossible_settings(kwargs: dict[str, float]) -> None:
    args: dict[str, float] = {
        "msgs_per_s": 10,
        "bytes_per_s": 100,
        "burst_seconds": 1,
        "kick_after_s": 1,
    }
    args.update(kwargs)
    with pytest.raises(ValueError):
        MemberLimiter(clock=Clock().seconds, **args)


@given(
    rate=st.integers(1, 200),
    burst=st.sampled_from([0.5, 1.0, 2.0, 5.0]),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=300),
)
def test_never_more_than_burst_plus_rate_times_time_passes(
    rate: int, burst: float, gaps: list[float]
) -> None:
    clock = Clock()
    lim = MemberLimiter(rate, 10**12, burst, 0, clock.seconds)
    passed = 0
    for gap in gaps:
        clock.advance(gap)
        passed += lim.allow(1)
    assert passed <= max(1.0, rate * burst) + rate * clock.seconds() + 1e-6
    assert passed + lim.dropped == len(gaps)
