"""Sign-in throttling as a pure function: from the times of a name's recent failed sign-ins, until when the next
attempt is refused. Nothing sleeps: the service refuses at once and says how long to wait.

The window slides: with 5 attempts in 15 minutes, five failures lock the name until the oldest of them is 15
minutes old, and each failure after that locks it again. A person who mistypes waits minutes at most; someone
guessing gets about `attempts` tries per window, whatever the number of processes they spread them over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence


@dataclass(frozen=True)
class ThrottlePolicy:
    attempts: int  # failed sign-ins within the window that make the next one wait
    window: timedelta


def throttled_until(failures: Sequence[datetime], now: datetime, policy: ThrottlePolicy) -> datetime | None:
    """When the next sign-in for this name may be tried, or None for now. `failures`: the times of the name's failed
    sign-ins since its last successful one (a success starts the count again), in any order."""
    recent = sorted(t for t in failures if t > now - policy.window)
    if len(recent) < policy.attempts:
        return None
    return recent[-policy.attempts] + policy.window


def seconds_to_wait(until: datetime, now: datetime) -> int:
    """Whole seconds, rounded up: "try again in 0 s" would be refused again."""
    remaining = (until - now).total_seconds()
    return max(1, int(-(-remaining // 1)))
