"""When a prompt schedule runs: a recurrence evaluated in the server's local time, DST-correct.

Weekdays are local weekdays (a Tuesday 20:00 schedule in New York runs Tuesday evening there, which
is Wednesday in UTC). Wall times follow `bot.core.timeutil.next_local`: 09:00 stays 09:00 across a
daylight-saving change; a wall time skipped by a spring-forward runs at the first instant after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.core.errors import InvalidValue
from bot.core.timeutil import next_local

KINDS = ("daily", "weekdays", "every_n_days", "weekly")
MAX_EVERY_DAYS = 365


@dataclass(frozen=True)
class Recurrence:
    kind: str
    at: time
    weekdays: tuple[int, ...] = ()  # Monday = 0, for "weekdays" and "weekly" (exactly one)
    every_days: int = 1  # for "every_n_days"
    anchor: date | None = None  # local date of the first run, for "every_n_days"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidValue("prompts.error.recurrence_kind", kind=self.kind[:32])
        if self.kind in ("weekdays", "weekly"):
            if not self.weekdays or any(not 0 <= d <= 6 for d in self.weekdays):
                raise InvalidValue("prompts.error.recurrence_weekdays")
            if len(set(self.weekdays)) != len(self.weekdays):
                raise InvalidValue("prompts.error.recurrence_weekdays")
            if self.kind == "weekly" and len(self.weekdays) != 1:
                raise InvalidValue("prompts.error.recurrence_weekly")
        elif self.weekdays:
            raise InvalidValue("prompts.error.recurrence_weekdays")
        if self.kind == "every_n_days" and (
            not 1 <= self.every_days <= MAX_EVERY_DAYS or self.anchor is None
        ):
            raise InvalidValue("prompts.error.recurrence_every", maximum=MAX_EVERY_DAYS)

    def next_run(self, after: datetime, tz: ZoneInfo) -> datetime:
        """The first UTC instant strictly after `after` at which this recurrence runs."""
        if self.kind == "daily":
            return next_local(after, tz, self.at)
        if self.kind in ("weekdays", "weekly"):
            return min(next_local(after, tz, self.at, weekday=day) for day in self.weekdays)
        assert self.anchor is not None
        candidate = next_local(after, tz, self.at)
        for _ in range(MAX_EVERY_DAYS + 1):
            day = candidate.astimezone(tz).date()
            if day >= self.anchor and (day - self.anchor).days % self.every_days == 0:
                return candidate
            candidate = next_local(candidate, tz, self.at)
        raise AssertionError("no run found within a year")

    def next_runs(self, after: datetime, tz: ZoneInfo, count: int) -> list[datetime]:
        """The next `count` runs after `after`, in order."""
        runs: list[datetime] = []
        moment = after
        for _ in range(count):
            moment = self.next_run(moment, tz)
            runs.append(moment)
        return runs

    def encode(self) -> str:
        """A compact stored form: `kind;HH:MM;weekdays;every;anchor`."""
        days = ",".join(str(d) for d in self.weekdays)
        anchor = self.anchor.isoformat() if self.anchor else ""
        return f"{self.kind};{self.at.strftime('%H:%M')};{days};{self.every_days};{anchor}"

    @classmethod
    def decode(cls, stored: str) -> Recurrence:
        kind, at, days, every, anchor = stored.split(";")
        return cls(
            kind=kind,
            at=time.fromisoformat(at),
            weekdays=tuple(int(d) for d in days.split(",") if d),
            every_days=int(every),
            anchor=date.fromisoformat(anchor) if anchor else None,
        )


def parse_time(text: str) -> time:
    """`HH:MM` (24-hour) as a time, or InvalidValue."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidValue("prompts.error.time", value=text[:16]) from None


def every_n_days_from(after: datetime, tz: ZoneInfo, at: time, every_days: int) -> Recurrence:
    """An every-N-days recurrence whose first run is the next `at` local time after `after`."""
    first = next_local(after, tz, at).astimezone(tz).date()
    return Recurrence("every_n_days", at, every_days=every_days, anchor=first)
