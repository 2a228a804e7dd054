"""The per-key rate limit's token bucket, on a clock the test moves: a burst of the limit, then one more call each
share of the minute, each key counted apart."""

from __future__ import annotations

from ui.api.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_may_make_its_limit_in_a_burst_then_waits():
    limiter = RateLimiter(3, Clock())

    assert [limiter.take("a") for _ in range(4)] == [0, 0, 0, 20]  # 3 a minute: the next in 20 s


def test_the_bucket_refills_with_time_up_to_the_limit():
    clock = Clock()
    limiter = RateLimiter(6, clock)
    for _ in range(6):
        limiter.take("a")

    clock.now += 9  # not yet the 10 s one call takes to come back
    assert limiter.take("a") == 1
    clock.now += 1
    assert limiter.take("a") == 0
    clock.now += 3600  # an hour idle: a full bucket, not more
    assert [limiter.take("a") for _ in range(7)] == [0] * 6 + [10]


def test_each_key_has_its_own_bucket():
    limiter = RateLimiter(1, Clock())

    assert (limiter.take("a"), limiter.take("a"), limiter.take("b")) == (0, 60, 0)
