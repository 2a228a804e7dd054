"""The time accounts go by: aware UTC datetimes from a function the service is handed, so a test moves time on by
giving another function instead of sleeping."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
