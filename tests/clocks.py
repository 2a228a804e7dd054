"""A clock the test moves on, for what goes by time (sessions, throttled sign-ins, the audit trail's retention):
nothing sleeps, nothing is timed.

    def test_something(clock): clock.advance(minutes=5)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest


class TestClock:
    """The time as the test says: moves only when told."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 7, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta = timedelta(0), **parts: float) -> None:
        self.now += delta + timedelta(**parts)


@pytest.fixture
def clock() -> TestClock:
    return TestClock()
