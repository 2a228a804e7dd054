"""Sign-in throttling as a pure function of the failures' times: when the next attempt may be tried."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from assistant.accounts.throttling import ThrottlePolicy, seconds_to_wait, throttled_until

NOW = datetime(2030, 1, 7, 9, 0, tzinfo=timezone.utc)
POLICY = ThrottlePolicy(attempts=3, window=timedelta(minutes=10))


def minutes_ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def test_fewer_failures_than_the_limit_do_not_throttle():
    assert throttled_until(minutes_ago(1, 2), NOW, POLICY) is None


def test_reaching_the_limit_waits_until_the_oldest_counted_failure_leaves_the_window():
    assert throttled_until(minutes_ago(1, 2, 3), NOW, POLICY) == NOW + timedelta(minutes=7)


def test_with_more_failures_the_wait_ends_when_fewer_than_the_limit_remain():
    """Five failures within the window: the third newest decides, not the oldest."""
    assert throttled_until(minutes_ago(9, 8, 5, 2, 1), NOW, POLICY) == NOW + timedelta(minutes=5)


def test_failures_older_than_the_window_do_not_count():
    assert throttled_until(minutes_ago(1, 2, 10, 11, 60), NOW, POLICY) is None


@given(st.lists(st.integers(min_value=0, max_value=3 * 600), max_size=12))
def test_a_wait_is_never_in_the_past_nor_longer_than_the_window(seconds_ago):
    failures = [NOW - timedelta(seconds=s) for s in seconds_ago]
    until = throttled_until(failures, NOW, POLICY)
    counted = [t for t in failures if t > NOW - POLICY.window]

    assert (until is None) == (len(counted) < POLICY.attempts)
    if until is not None:
        assert NOW < until <= NOW + POLICY.window
        assert throttled_until(failures, until, POLICY) is None  # at that time, the attempt is let through


def test_the_wait_is_said_in_whole_seconds_rounded_up():
    assert seconds_to_wait(NOW + timedelta(seconds=89.2), NOW) == 90
    assert seconds_to_wait(NOW + timedelta(seconds=90), NOW) == 90
    assert seconds_to_wait(NOW + timedelta(milliseconds=1), NOW) == 1
