"""Timezones and local-time arithmetic; times are stored in UTC and localised only here."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.errors import InvalidValue


def zone(name: str) -> ZoneInfo:
    """Return the IANA zone called `name`, or raise a UserError naming it."""
    cleaned = name.strip()
    if not cleaned or ".." in cleaned or cleaned.startswith("/"):
        raise InvalidValue("errors.unknown_timezone", timezone=name[:64])
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidValue("errors.unknown_timezone", timezone=name[:64]) from None


def timezone_names() -> list[str]:
    """List the IANA zone names this machine knows, sorted."""
    return sorted(n for n in available_timezones() if "/" in n or n == "UTC")


def next_local(after: datetime, tz: ZoneInfo, at: time, weekday: int | None = None) -> datetime:
    """Return the first UTC instant after `after` whose local wall time is `at` (on `weekday`).

    Daylight saving is honoured: 09:00 stays 09:00 local across the change; a wall time that does
    not exist that day (skipped by a spring-forward) runs at the first valid instant after it.
    """
    local_after = after.astimezone(tz)
    day = local_after.date()
    for _ in range(15):
        if weekday is None or day.weekday() == weekday:
            candidate = _resolve(datetime.combine(day, at), tz)
            if candidate > after:
                return candidate.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("no local time found within two weeks")


def _resolve(naive: datetime, tz: ZoneInfo) -> datetime:
    aware = naive.replace(tzinfo=tz)
    # A round trip through UTC moves a non-existent wall time past the gap.
    round_trip = aware.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != naive:
        return round_trip
    return aware
