"""Injectable clocks: the system one in production, a frozen one in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current aware UTC time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta's keyword arguments and return the new time."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to a given aware time."""
        self._now = when.astimezone(UTC)


def to_ts(when: datetime) -> int:
    """Convert an aware datetime to unix seconds."""
    return int(when.timestamp())


def from_ts(ts: float) -> datetime:
    """Convert unix seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)
