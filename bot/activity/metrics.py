"""Community metrics over any period, read from the daily roll-ups (no Discord here).

Periods are whole UTC days ending today (or at `end`); each figure comes with the previous period of
the same length. Breakdowns covering fewer than `MIN_GROUP` members are hidden (`hidden` counts how
many), so server-wide views never single anyone out; per-member lists (contributors, at-risk) are
for managers only and the adapter shows them ephemerally.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.activity.rollups import DAY, HOUR
from bot.core import members as facts
from bot.core.clock import Clock, to_ts
from bot.core.db import Database
from bot.core.settings import Settings, SettingSpec

# Declared on the Settings service by bot/services.py (FEATURE_SETTINGS).
SETTINGS: tuple[SettingSpec, ...] = (
    # A regular has gone quiet after this many days without a message.
    SettingSpec("at_risk_quiet_days", "int", 14, minimum=3, maximum=90),
    # ... having been active on at least this many days in the eight weeks before.
    SettingSpec("at_risk_min_days", "int", 8, minimum=2, maximum=56),
)

MIN_GROUP = 5
AT_RISK_WINDOW_DAYS = 56


def week_of(day: int) -> int:
    """Return the Monday-based week number of a UTC day number (day 0 was a Thursday)."""
    return (day + 3) // 7


def week_start(week: int) -> date:
    """Return the Monday that starts a week number."""
    return day_date(week * 7 - 3)


def day_date(day: int) -> date:
    """Return the calendar date of a UTC day number."""
    return date(1970, 1, 1) + timedelta(days=day)


@dataclass(frozen=True)
class Change:
    """A figure this period and the previous period of the same length."""

    current: float
    previous: float

    @property
    def delta(self) -> float:
        """Return current minus previous."""
        return self.current - self.previous

    @property
    def ratio(self) -> float | None:
        """Return the relative change (0.25 = +25 %), None when the previous period had nothing."""
        return None if not self.previous else self.delta / self.previous


@dataclass(frozen=True)
class Span:
    """Whole UTC days first..last (inclusive)."""

    first: int
    last: int

    @property
    def days(self) -> int:
        """Return the number of days."""
        return self.last - self.first + 1

    @property
    def start_ts(self) -> int:
        """Return the first second."""
        return self.first * DAY

    @property
    def end_ts(self) -> int:
        """Return the second after the last day."""
        return (self.last + 1) * DAY

    def previous(self) -> Span:
        """Return the span of the same length just before."""
        return Span(self.first - self.days, self.first - 1)


@dataclass(frozen=True)
class MemberStats:
    """Growth and engagement of the member base."""

    joined: Change
    left: Change
    net: Change
    dau: Change
    wau: Change
    mau: Change
    stickiness: Change
    active: Change
    messages: Change
    total_members: int


@dataclass(frozen=True)
class ChannelStats:
    """One channel's period."""

    channel_id: int
    messages: Change
    active_members: int
    negative_share: float
    positive_share: float


@dataclass(frozen=True)
class ChannelBreakdown:
    """Channels with at least MIN_GROUP active members; the rest are only counted."""

    channels: tuple[ChannelStats, ...]
    hidden: int


@dataclass(frozen=True)
class FunnelStep:
    """Newcomers who joined in one week and how far they got."""

    week_start: date
    joined: int
    spoke: int
    got_reply: int
    median_reply_seconds: float | None
    eligible_week2: int
    returned_week2: int


@dataclass(frozen=True)
class Funnel:
    """The activation funnel, per join week and in total (hidden: weeks with fewer than MIN_GROUP joiners)."""

    weeks: tuple[FunnelStep, ...]
    total: FunnelStep
    hidden: int


@dataclass(frozen=True)
class Cohort:
    """Members first seen in one week; share active k weeks later (None: not yet known)."""

    week_start: date
    size: int
    shares: tuple[float | None, ...]


@dataclass(frozen=True)
class Retention:
    """Retention cohorts, most recent last."""

    basis: str
    cohorts: tuple[Cohort, ...]
    hidden: int


@dataclass(frozen=True)
class Responsiveness:
    """How often questions and newcomers' messages got a reply from someone else, and how fast."""

    questions: int
    questions_answered: int
    newcomer_messages: int
    newcomer_answered: int
    median_reply_seconds: float | None  # questions' first reply
    newcomer_median_seconds: float | None = None

    @property
    def question_share(self) -> float | None:
        """Return the share of questions answered."""
        return self.questions_answered / self.questions if self.questions else None

    @property
    def newcomer_share(self) -> float | None:
        """Return the share of newcomers' messages answered."""
        return self.newcomer_answered / self.newcomer_messages if self.newcomer_messages else None


@dataclass(frozen=True)
class Contributor:
    """A member's activity in 10-minute blocks (so a burst weighs little)."""

    user_id: int
    blocks: int
    messages: int


@dataclass(frozen=True)
class Influencer:
    """A member whose messages draw replies and reactions from many distinct others."""

    user_id: int
    reach: int
    repliers: int
    reactors: int
    replies: int
    reactions: int


@dataclass(frozen=True)
class Contributors:
    """Most active members and widest reach."""

    active: tuple[Contributor, ...]
    influencers: tuple[Influencer, ...]


@dataclass(frozen=True)
class AtRisk:
    """A regular who went quiet."""

    user_id: int
    active_days: int
    last_active: date


@dataclass(frozen=True)
class Heatmap:
    """Messages by weekday (0 = Monday) and local hour."""

    timezone: str
    grid: tuple[tuple[int, ...], ...]
    hidden: bool

    @property
    def peak(self) -> tuple[int, int] | None:
        """Return (weekday, hour) of the busiest cell."""
        best = max(
            ((v, d, h) for d, row in enumerate(self.grid) for h, v in enumerate(row)), default=(0, 0, 0)
        )
        return None if best[0] == 0 else (best[1], best[2])


@dataclass(frozen=True)
class SentimentDay:
    """One day's share of negative and positive messages."""

    day: date
    messages: int
    negative_share: float
    positive_share: float


@dataclass(frozen=True)
class SentimentTrend:
    """Sentiment per day and per channel."""

    days: tuple[SentimentDay, ...]
    channels: tuple[ChannelStats, ...]
    hidden: int


@dataclass(frozen=True)
class Overview:
    """The headline figures of a period."""

    days: int
    members: MemberStats
    responsiveness: Responsiveness
    negative_share: Change


@dataclass(frozen=True)
class Digest:
    """The data behind a weekly digest."""

    overview: Overview
    contributors: Contributors
    at_risk: tuple[AtRisk, ...]
    funnel: Funnel


def _counted_median(counts: dict[int, int]) -> float | None:
    """Return statistics.median of the values, each repeated its count times (None when empty)."""
    total = sum(counts.values())
    if not total:
        return None
    wanted = (total - 1) // 2, total // 2  # the middle positions (the same one when total is odd)
    found: list[int] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while len(found) < 2 and wanted[len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    if total % 2:
        return found[1]
    return (found[0] + found[1]) / 2


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


class MetricsService:
    """Read-only queries over the activity tables."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        settings.declare(*SETTINGS)

    def span(self, days: int, end: datetime | None = None) -> Span:
        """Return the `days` whole days ending on `end` (today by default)."""
        last = to_ts(end or self._clock.now()) // DAY
        return Span(last - days + 1, last)

    async def _val(self, sql: str, params: tuple[object, ...]) -> float:
        value = await self._db.fetchval(sql, params)
        return float(value or 0)

    # ------------------------------------------------------------------ members

    async def _joins(self, guild_id: int, span: Span, kind: str) -> float:
        return await self._val(
            "SELECT COUNT(*) FROM member_events e LEFT JOIN members m"
            " ON m.guild_id = e.guild_id AND m.user_id = e.user_id"
            " WHERE e.guild_id = ? AND e.kind = ? AND e.at >= ? AND e.at < ? AND COALESCE(m.is_bot, 0) = 0",
            (guild_id, kind, span.start_ts, span.end_ts),
        )

    async def _active(self, guild_id: int, span: Span) -> float:
        return await self._val(
            "SELECT COUNT(DISTINCT user_id) FROM activity_daily_member WHERE guild_id = ? AND day BETWEEN ? AND ?",
            (guild_id, span.first, span.last),
        )

    async def _dau(self, guild_id: int, span: Span) -> float:
        total = await self._val(
            "SELECT COUNT(*) FROM activity_daily_member WHERE guild_id = ? AND day BETWEEN ? AND ?",
            (guild_id, span.first, span.last),
        )
        return total / span.days

    async def _messages(self, guild_id: int, span: Span) -> float:
        return await self._val(
            "SELECT SUM(messages) FROM activity_daily_channel WHERE guild_id = ? AND day BETWEEN ? AND ?",
            (guild_id, span.first, span.last),
        )

    async def _engagement(self, guild_id: int, span: Span) -> tuple[float, float, float, float, float, float]:
        joined = await self._joins(guild_id, span, "join")
        left = await self._joins(guild_id, span, "leave")
        month = Span(span.last - 29, span.last)
        mau = await self._active(guild_id, month)
        wau = await self._active(guild_id, Span(span.last - 6, span.last))
        sticky = _share(await self._dau(guild_id, month), mau)
        return joined, left, wau, mau, sticky, await self._dau(guild_id, span)

    async def member_stats(self, guild_id: int, days: int = 30, end: datetime | None = None) -> MemberStats:
        """Return joins, leaves, growth, DAU/WAU/MAU and stickiness with the previous period."""
        span = self.span(days, end)
        prev = span.previous()
        cur_j, cur_l, cur_w, cur_m, cur_s, cur_d = await self._engagement(guild_id, span)
        pre_j, pre_l, pre_w, pre_m, pre_s, pre_d = await self._engagement(guild_id, prev)
        total = await self._val(
            "SELECT COUNT(*) FROM members WHERE guild_id = ? AND is_bot = 0"
            " AND (left_at IS NULL OR joined_at > left_at)",
            (guild_id,),
        )
        return MemberStats(
            joined=Change(cur_j, pre_j),
            left=Change(cur_l, pre_l),
            net=Change(cur_j - cur_l, pre_j - pre_l),
            dau=Change(cur_d, pre_d),
            wau=Change(cur_w, pre_w),
            mau=Change(cur_m, pre_m),
            stickiness=Change(cur_s, pre_s),
            active=Change(await self._active(guild_id, span), await self._active(guild_id, prev)),
            messages=Change(await self._messages(guild_id, span), await self._messages(guild_id, prev)),
            total_members=int(total),
        )

    # ------------------------------------------------------------------ channels

    async def channels(self, guild_id: int, days: int = 30, end: datetime | None = None) -> ChannelBreakdown:
        """Return messages, active members and sentiment per channel, busiest first."""
        span = self.span(days, end)
        prev = span.previous()
        rows = await self._db.fetchall(
            "SELECT channel_id, SUM(CASE WHEN day >= ? THEN messages ELSE 0 END) AS cur,"
            " SUM(CASE WHEN day < ? THEN messages ELSE 0 END) AS prev,"
            " SUM(CASE WHEN day >= ? THEN negative ELSE 0 END) AS neg,"
            " SUM(CASE WHEN day >= ? THEN positive ELSE 0 END) AS pos"
            " FROM activity_daily_channel WHERE guild_id = ? AND day BETWEEN ? AND ? GROUP BY channel_id",
            (span.first, span.first, span.first, span.first, guild_id, prev.first, span.last),
        )
        active = {
            r[0]: r[1]
            for r in await self._db.fetchall(
                "SELECT channel_id, COUNT(DISTINCT user_id) FROM activity_daily_member_channel"
                " WHERE guild_id = ? AND day BETWEEN ? AND ? GROUP BY channel_id",
                (guild_id, span.first, span.last),
            )
        }
        shown: list[ChannelStats] = []
        hidden = 0
        for row in rows:
            members = int(active.get(row["channel_id"], 0))
            if not row["cur"]:
                continue
            if members < MIN_GROUP:
                hidden += 1
                continue
            shown.append(
                ChannelStats(
                    channel_id=row["channel_id"],
                    messages=Change(row["cur"], row["prev"]),
                    active_members=members,
                    negative_share=_share(row["neg"], row["cur"]),
                    positive_share=_share(row["pos"], row["cur"]),
                )
            )
        shown.sort(key=lambda c: -c.messages.current)
        return ChannelBreakdown(tuple(shown), hidden)

    # ------------------------------------------------------------------ funnel

    async def funnel(self, guild_id: int, days: int = 56, end: datetime | None = None) -> Funnel:
        """Return the newcomer funnel for members whose first join is in the period, per join week.

        The definition (anchor, spoke, got a reply, back in week 2) is `bot.core.members`, shared
        with /onboarding stats.
        """
        span = self.span(days, end)
        today = to_ts(self._clock.now()) // DAY
        by_week: dict[int, list[facts.Newcomer]] = defaultdict(list)
        for newcomer in await facts.newcomers(self._db, guild_id, span.start_ts, span.end_ts):
            by_week[week_of(newcomer.first_joined_at // DAY)].append(newcomer)

        def step(week_start_day: date, group: list[facts.Newcomer]) -> FunnelStep:
            counts = facts.count(group, today)
            delays = counts.reply_delays
            return FunnelStep(
                week_start=week_start_day,
                joined=counts.joined,
                spoke=counts.spoke,
                got_reply=counts.got_reply,
                median_reply_seconds=statistics.median(delays) if delays else None,
                eligible_week2=counts.eligible_week2,
                returned_week2=counts.returned_week2,
            )

        weeks = []
        hidden = 0
        for week in sorted(by_week):
            if len(by_week[week]) < MIN_GROUP:
                hidden += 1
                continue
            weeks.append(step(week_start(week), by_week[week]))
        everyone = [m for group in by_week.values() for m in group]
        return Funnel(tuple(weeks), step(day_date(span.first), everyone), hidden)

    # ------------------------------------------------------------------ retention

    async def retention(
        self,
        guild_id: int,
        weeks: int = 8,
        basis: Literal["join", "first_activity"] = "join",
        end: datetime | None = None,
    ) -> Retention:
        """Group members by join (or first-message) week; share active in each following week."""
        current_week = week_of(to_ts(end or self._clock.now()) // DAY)
        first_week = current_week - weeks + 1
        first_day = first_week * 7 - 3
        column = "joined_at" if basis == "join" else "first_message_at"
        members = await self._db.fetchall(
            f"SELECT user_id, {column} AS at FROM members WHERE guild_id = ? AND is_bot = 0 AND {column} >= ?",
            (guild_id, first_day * DAY),
        )
        cohort_of = {
            r["user_id"]: week_of(r["at"] // DAY) for r in members if week_of(r["at"] // DAY) <= current_week
        }
        activity = await self._db.fetchall(
            "SELECT user_id, (day + 3) / 7 AS week FROM activity_daily_member WHERE guild_id = ? AND day >= ?"
            " GROUP BY user_id, week",
            (guild_id, first_day),
        )
        active: dict[int, set[int]] = defaultdict(set)
        for row in activity:
            if row["user_id"] in cohort_of:
                active[row["week"]].add(row["user_id"])
        groups: dict[int, set[int]] = defaultdict(set)
        for user, week in cohort_of.items():
            groups[week].add(user)
        cohorts = []
        hidden = 0
        for week in range(first_week, current_week + 1):
            users = groups.get(week, set())
            if not users:
                continue
            if len(users) < MIN_GROUP:
                hidden += 1
                continue
            shares = tuple(
                len(users & active[week + k]) / len(users) if week + k <= current_week else None
                for k in range(weeks)
            )
            cohorts.append(Cohort(week_start(week), len(users), shares))
        return Retention(basis, tuple(cohorts), hidden)

    # ------------------------------------------------------------------ responsiveness

    async def responsiveness(
        self, guild_id: int, days: int = 30, end: datetime | None = None
    ) -> Responsiveness:
        """Return how many questions and newcomers' messages got a reply from someone else."""
        span = self.span(days, end)
        # The daily roll-up counts messages per (question?, newcomer?, answered?, delay): the medians
        # come from the counts of each delay, so a year costs little more than a week.
        rows = await self._db.fetchall(
            "SELECT is_question, is_newcomer, answered, delay, SUM(messages) FROM activity_daily_replies"
            " WHERE guild_id = ? AND day BETWEEN ? AND ? GROUP BY 1, 2, 3, 4",
            (guild_id, span.first, span.last),
        )
        questions = answered = newcomer = newcomer_answered = 0
        delays: dict[int, int] = defaultdict(int)
        newcomer_delays: dict[int, int] = defaultdict(int)
        for is_q, is_new, replied, delay, count in rows:
            if not count:
                continue
            if is_q:
                questions += count
                if replied:
                    answered += count
                    delays[delay] += count
            if is_new:
                newcomer += count
                if replied:
                    newcomer_answered += count
                    newcomer_delays[delay] += count
        return Responsiveness(
            questions,
            answered,
            newcomer,
            newcomer_answered,
            _counted_median(delays),
            _counted_median(newcomer_delays),
        )

    # ------------------------------------------------------------------ people

    async def contributors(
        self, guild_id: int, days: int = 30, limit: int = 10, end: datetime | None = None
    ) -> Contributors:
        """Return the most active members (in 10-minute blocks) and those with the widest reach.

        Opted-out members are never ranked, not even on what was stored before they opted out.
        """
        span = self.span(days, end)
        active = await self._db.fetchall(
            "SELECT user_id, SUM(blocks) AS b, SUM(messages) AS m FROM activity_daily_member"
            " WHERE guild_id = ?1 AND day BETWEEN ?2 AND ?3"
            " AND user_id NOT IN (SELECT user_id FROM activity_optouts WHERE guild_id = ?1)"
            " GROUP BY user_id ORDER BY b DESC, m DESC, user_id LIMIT ?4",
            (guild_id, span.first, span.last, limit),
        )
        reach = await self._reach(guild_id, span, limit)
        return Contributors(
            tuple(Contributor(r["user_id"], int(r["b"]), int(r["m"])) for r in active),
            tuple(
                Influencer(
                    r[0],
                    int(r["reach"]),
                    int(r["repliers"]),
                    int(r["reactors"]),
                    int(r["replies"]),
                    int(r["reactions"]),
                )
                for r in reach
            ),
        )

    async def _reach(self, guild_id: int, span: Span, limit: int) -> list[sqlite3.Row]:
        """Return the members whose messages drew replies and reactions from the most distinct others.

        When nothing is stored after the span (a span ending today), a pair (member, other) has a row
        in the span exactly when its last day is in it: whole weeks come from activity_weekly_reach,
        which counts pairs by the week of their last day, and the span's first week (up to seven days)
        from the daily rows whose day is their pair's last day (migration 0006). A span in the past
        counts distinct people in the daily rows, as before the roll-up; both give the same figures.
        """
        later = await self._db.fetchval(
            "SELECT 1 FROM activity_daily_reach WHERE guild_id = ? AND day > ? LIMIT 1", (guild_id, span.last)
        )
        if later:
            return await self._db.fetchall(
                "SELECT target_id, COUNT(DISTINCT source_id) AS reach,"
                " COUNT(DISTINCT CASE WHEN replies > 0 THEN source_id END) AS repliers,"
                " COUNT(DISTINCT CASE WHEN reactions > 0 THEN source_id END) AS reactors,"
                " SUM(replies) AS replies, SUM(reactions) AS reactions"
                " FROM activity_daily_reach WHERE guild_id = ?1 AND day BETWEEN ?2 AND ?3"
                " AND target_id NOT IN (SELECT user_id FROM activity_optouts WHERE guild_id = ?1)"
                " GROUP BY target_id ORDER BY reach DESC, target_id LIMIT ?4",
                (guild_id, span.first, span.last, limit),
            )
        first_week = week_of(span.first)
        partial_last = min(span.last, (first_week + 1) * 7 - 4)  # the Sunday ending the first week
        return await self._db.fetchall(
            "SELECT target_id, SUM(pairs) AS reach, SUM(repliers) AS repliers, SUM(reactors) AS reactors,"
            " SUM(replies) AS replies, SUM(reactions) AS reactions FROM ("
            "   SELECT target_id, pairs, repliers, reactors, replies, reactions FROM activity_weekly_reach"
            "   WHERE guild_id = ?1 AND week > ?2"
            "   UNION ALL"
            "   SELECT d.target_id, p.last_day = d.day, p.last_reply_day IS d.day, p.last_reaction_day IS d.day,"
            "     d.replies, d.reactions"
            "   FROM activity_daily_reach d JOIN activity_reach_pairs p ON p.guild_id = d.guild_id"
            "     AND p.target_id = d.target_id AND p.source_id = d.source_id"
            "   WHERE d.guild_id = ?1 AND d.day BETWEEN ?3 AND ?4)"
            " WHERE target_id NOT IN (SELECT user_id FROM activity_optouts WHERE guild_id = ?1)"
            " GROUP BY target_id HAVING SUM(pairs) > 0 ORDER BY reach DESC, target_id LIMIT ?5",
            (guild_id, first_week, span.first, partial_last, limit),
        )

    async def at_risk(self, guild_id: int, end: datetime | None = None) -> tuple[AtRisk, ...]:
        """Return regulars (active on many days of the eight weeks before) who have gone quiet, for a check-in."""
        quiet = int(await self._settings.get(guild_id, "at_risk_quiet_days"))
        min_days = int(await self._settings.get(guild_id, "at_risk_min_days"))
        today = to_ts(end or self._clock.now()) // DAY
        quiet_from = today - quiet + 1
        window_from = quiet_from - AT_RISK_WINDOW_DAYS
        rows = await self._db.fetchall(
            "SELECT d.user_id, COUNT(*) AS days, MAX(d.day) AS last FROM activity_daily_member d"
            " JOIN members m ON m.guild_id = d.guild_id AND m.user_id = d.user_id"
            " WHERE d.guild_id = ?1 AND d.day >= ?2 AND d.day <= ?3"
            " AND (m.left_at IS NULL OR m.joined_at > m.left_at)"
            " AND d.user_id NOT IN (SELECT user_id FROM activity_optouts WHERE guild_id = ?1)"
            " GROUP BY d.user_id HAVING MAX(d.day) < ?4 AND COUNT(*) >= ?5 ORDER BY days DESC, d.user_id",
            (guild_id, window_from, today, quiet_from, min_days),
        )
        return tuple(AtRisk(r["user_id"], r["days"], day_date(r["last"])) for r in rows)

    # ------------------------------------------------------------------ time and mood

    async def heatmap(self, guild_id: int, days: int = 28, end: datetime | None = None) -> Heatmap:
        """Return messages by weekday and hour in the server's timezone."""
        span = self.span(days, end)
        tz: ZoneInfo = await self._settings.timezone(guild_id)
        rows = await self._db.fetchall(
            "SELECT hour, messages FROM activity_hourly WHERE guild_id = ? AND hour >= ? AND hour < ?",
            (guild_id, span.start_ts // HOUR, span.end_ts // HOUR),
        )
        grid = [[0] * 24 for _ in range(7)]
        for hour, messages in rows:
            local = datetime.fromtimestamp(hour * HOUR, UTC).astimezone(tz)
            grid[local.weekday()][local.hour] += messages
        hidden = await self._active(guild_id, span) < MIN_GROUP
        if hidden:
            grid = [[0] * 24 for _ in range(7)]
        return Heatmap(tz.key, tuple(tuple(r) for r in grid), hidden)

    async def sentiment(self, guild_id: int, days: int = 30, end: datetime | None = None) -> SentimentTrend:
        """Return the share of negative and positive messages per day and per channel."""
        span = self.span(days, end)
        rows = await self._db.fetchall(
            "SELECT day, SUM(messages), SUM(negative), SUM(positive) FROM activity_daily_channel"
            " WHERE guild_id = ? AND day BETWEEN ? AND ? GROUP BY day ORDER BY day",
            (guild_id, span.first, span.last),
        )
        hide = await self._active(guild_id, span) < MIN_GROUP
        per_day = (
            ()
            if hide
            else tuple(SentimentDay(day_date(d), m, _share(n, m), _share(p, m)) for d, m, n, p in rows if m)
        )
        channels = await self.channels(guild_id, days, end)
        return SentimentTrend(per_day, channels.channels, channels.hidden)

    async def _negative_share(self, guild_id: int, span: Span) -> float:
        row = await self._db.fetchone(
            "SELECT SUM(messages), SUM(negative) FROM activity_daily_channel WHERE guild_id = ? AND day BETWEEN ? AND ?",
            (guild_id, span.first, span.last),
        )
        return _share(row[1] or 0, row[0] or 0) if row else 0.0

    async def overview(self, guild_id: int, days: int = 7, end: datetime | None = None) -> Overview:
        """Return the headline figures of a period."""
        span = self.span(days, end)
        return Overview(
            days=days,
            members=await self.member_stats(guild_id, days, end),
            responsiveness=await self.responsiveness(guild_id, days, end),
            negative_share=Change(
                await self._negative_share(guild_id, span),
                await self._negative_share(guild_id, span.previous()),
            ),
        )

    async def digest(self, guild_id: int, end: datetime | None = None) -> Digest:
        """Return the data behind the weekly digest."""
        return Digest(
            overview=await self.overview(guild_id, 7, end),
            contributors=await self.contributors(guild_id, 7, 5, end),
            at_risk=await self.at_risk(guild_id, end),
            funnel=await self.funnel(guild_id, 28, end),
        )

    # ------------------------------------------------------------------ export

    async def export_csv(self, guild_id: int, days: int = 365, end: datetime | None = None) -> str:
        """Return the server's daily aggregate metrics as CSV (days with fewer than MIN_GROUP active left blank)."""
        span = self.span(days, end)
        channel_rows = await self._db.fetchall(
            "SELECT day, SUM(messages), SUM(negative), SUM(positive) FROM activity_daily_channel"
            " WHERE guild_id = ? AND day BETWEEN ? AND ? GROUP BY day",
            (guild_id, span.first, span.last),
        )
        active: dict[int, int] = {
            r[0]: r[1]
            for r in await self._db.fetchall(
                "SELECT day, COUNT(*) FROM activity_daily_member WHERE guild_id = ? AND day BETWEEN ? AND ?"
                " GROUP BY day",
                (guild_id, span.first, span.last),
            )
        }
        events = await self._db.fetchall(
            "SELECT e.at / 86400, e.kind, COUNT(*) FROM member_events e LEFT JOIN members m"
            " ON m.guild_id = e.guild_id AND m.user_id = e.user_id"
            " WHERE e.guild_id = ? AND e.at >= ? AND e.at < ? AND COALESCE(m.is_bot, 0) = 0 GROUP BY 1, 2",
            (guild_id, span.start_ts, span.end_ts),
        )
        moves: dict[int, dict[str, int]] = defaultdict(lambda: {"join": 0, "leave": 0})
        for day, kind, count in events:
            moves[day][kind] = count
        per_day = {r[0]: r for r in channel_rows}
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["date", "messages", "active_members", "negative", "positive", "joined", "left"])
        for day in sorted(set(per_day) | set(moves)):
            counts = per_day.get(day)
            members = int(active.get(day, 0))
            shown: list[object]
            if counts is None or members < MIN_GROUP:
                shown = ["", "", "", ""]
            else:
                shown = [counts[1], members, counts[2], counts[3]]
            writer.writerow([day_date(day).isoformat(), *shown, moves[day]["join"], moves[day]["leave"]])
        return out.getvalue()
