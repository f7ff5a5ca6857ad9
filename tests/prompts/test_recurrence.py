"""Schedules run at the right local time across DST changes and on the right local weekday."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import InvalidValue
from bot.prompts.recurrence import Recurrence, every_n_days_from, parse_time

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_daily_paris_keeps_local_hour_across_spring_and_autumn_changes() -> None:
    daily = Recurrence("daily", time(9, 0))
    # Paris moves to summer time on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 UTC after.
    runs = daily.next_runs(utc(2026, 3, 27, 12), PARIS, 3)
    assert runs == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]
    assert {run.astimezone(PARIS).time() for run in runs} == {time(9, 0)}
    # Back to winter time on Sunday 25 October 2026.
    runs = daily.next_runs(utc(2026, 10, 23, 12), PARIS, 3)
    assert runs == [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]


def test_daily_new_york_keeps_local_hour_across_its_own_changes() -> None:
    daily = Recurrence("daily", time(18, 30))
    # New York springs forward on 8 March 2026 (three weeks before Paris).
    runs = daily.next_runs(utc(2026, 3, 7, 0), NEW_YORK, 2)
    assert runs == [utc(2026, 3, 7, 23, 30), utc(2026, 3, 8, 22, 30)]
    # ...and falls back on 1 November 2026.
    runs = daily.next_runs(utc(2026, 10, 31, 0), NEW_YORK, 2)
    assert runs == [utc(2026, 10, 31, 22, 30), utc(2026, 11, 1, 23, 30)]


def test_a_wall_time_skipped_by_spring_forward_runs_just_after_the_gap() -> None:
    run = Recurrence("daily", time(2, 30)).next_run(utc(2026, 3, 8, 5), NEW_YORK)
    assert run.astimezone(NEW_YORK).date() == date(2026, 3, 8)
    assert run == utc(2026, 3, 8, 7, 30)  # 03:30 EDT, the first valid instant after 02:30


def test_evening_weekday_in_a_utc_minus_server_is_the_local_weekday() -> None:
    # Tuesday and Thursday 20:00 in Los Angeles (UTC-8 in winter) is Wednesday/Friday 04:00 UTC.
    schedule = Recurrence("weekdays", time(20, 0), weekdays=(1, 3))
    runs = schedule.next_runs(utc(2026, 1, 5, 12), LOS_ANGELES, 4)  # Monday 5 January, 04:00 local
    assert [run.astimezone(LOS_ANGELES).strftime("%a %H:%M") for run in runs] == [
        "Tue 20:00",
        "Thu 20:00",
        "Tue 20:00",
        "Thu 20:00",
    ]
    assert [run.strftime("%a") for run in runs] == ["Wed", "Fri", "Wed", "Fri"]
    assert runs[0] == utc(2026, 1, 7, 4)


def test_weekly_runs_once_a_week_on_its_local_day() -> None:
    weekly = Recurrence("weekly", time(19, 0), weekdays=(4,))
    runs = weekly.next_runs(utc(2026, 3, 2, 9), NEW_YORK, 3)
    assert [run.astimezone(NEW_YORK).date() for run in runs] == [
        date(2026, 3, 6),
        date(2026, 3, 13),
        date(2026, 3, 20),
    ]
    # The week of the change keeps 19:00 local: 00:00 UTC, then 23:00 UTC.
    assert [run.hour for run in runs] == [0, 23, 23]


def test_every_n_days_counts_local_days_from_its_first_run() -> None:
    schedule = every_n_days_from(utc(2026, 3, 27, 12), PARIS, time(9, 0), 3)
    assert schedule.anchor == date(2026, 3, 28)
    runs = schedule.next_runs(utc(2026, 3, 27, 12), PARIS, 3)
    assert [run.astimezone(PARIS).date() for run in runs] == [
        date(2026, 3, 28),
        date(2026, 3, 31),
        date(2026, 4, 3),
    ]
    assert {run.astimezone(PARIS).time() for run in runs} == {time(9, 0)}


def test_stored_form_round_trips() -> None:
    for recurrence in (
        Recurrence("daily", time(9, 0)),
        Recurrence("weekdays", time(20, 15), weekdays=(0, 2, 4)),
        Recurrence("weekly", time(7, 5), weekdays=(6,)),
        Recurrence("every_n_days", time(12, 0), every_days=5, anchor=date(2026, 3, 1)),
    ):
        assert Recurrence.decode(recurrence.encode()) == recurrence


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: Recurrence("hourly", time(9)), "prompts.error.recurrence_kind"),
        (lambda: Recurrence("weekdays", time(9)), "prompts.error.recurrence_weekdays"),
        (lambda: Recurrence("weekdays", time(9), weekdays=(7,)), "prompts.error.recurrence_weekdays"),
        (lambda: Recurrence("weekly", time(9), weekdays=(1, 2)), "prompts.error.recurrence_weekly"),
        (lambda: Recurrence("daily", time(9), weekdays=(1,)), "prompts.error.recurrence_weekdays"),
        (
            lambda: Recurrence("every_n_days", time(9), every_days=0, anchor=date(2026, 1, 1)),
            "prompts.error.recurrence_every",
        ),
        (lambda: parse_time("25:00"), "prompts.error.time"),
        (lambda: parse_time("nine"), "prompts.error.time"),
    ],
)
def test_invalid_recurrences_are_refused_with_a_message_key(make, key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValue) as caught:
        make()
    assert caught.value.key == key
