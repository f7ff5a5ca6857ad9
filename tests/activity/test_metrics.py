"""Each metric on small hand-built communities, checked against numbers worked out by hand."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.activity.importer import import_files
from bot.activity.metrics import MetricsService
from bot.activity.pipeline import ActivityPipeline, MessageEvent
from bot.core.clock import FrozenClock
from bot.core.db import Database, discover_migrations
from bot.core.settings import Settings
from tests.activity.conftest import GUILD, message

OTHER = 2001


async def test_member_growth_and_engagement_against_the_previous_period(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    now = clock.now()
    # Previous 7 days: 2 joins; this week: 4 joins, 1 leave, and a bot join that must not count.
    for user, days_ago in ((1, 10), (2, 9), (3, 5), (4, 4), (5, 3), (6, 2)):
        await pipeline.handle_join(GUILD, user, now - timedelta(days=days_ago))
    await pipeline.handle_join(GUILD, 99, now - timedelta(days=1), is_bot=True)
    await pipeline.handle_leave(GUILD, 2, now - timedelta(days=1))
    # Activity: user 1 every day of this week, user 3 on two days, user 4 today only.
    for day in range(7):
        await pipeline.handle_message(message(1, now - timedelta(days=day)))
    await pipeline.handle_message(message(3, now - timedelta(days=1)))
    await pipeline.handle_message(message(3, now - timedelta(days=2)))
    await pipeline.handle_message(message(4, now))
    await pipeline.handle_message(message(5, now - timedelta(days=20)))  # only in the month
    await pipeline.flush()
    stats = await metrics.member_stats(GUILD, 7)
    assert (stats.joined.current, stats.joined.previous) == (4, 2)
    assert (stats.left.current, stats.net.current) == (1, 3)
    assert stats.dau.current == pytest.approx((7 + 2 + 1) / 7)
    assert stats.wau.current == 3
    assert stats.mau.current == 4
    assert stats.stickiness.current == pytest.approx(((7 + 2 + 1 + 1) / 30) / 4)
    assert stats.messages.current == 10
    assert stats.total_members == 5  # six joined, one left, the bot does not count


async def test_channels_with_fewer_than_five_members_are_hidden(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    now = clock.now()
    for user in range(1, 7):
        await pipeline.handle_message(message(user, now, "great work everyone, thanks"))
    for user in (1, 2):
        await pipeline.handle_message(message(user, now, "hmm", channel_id=OTHER))
    await pipeline.handle_message(message(1, now - timedelta(days=8)))  # previous week
    await pipeline.flush()
    breakdown = await metrics.channels(GUILD, 7)
    assert breakdown.hidden == 1
    (general,) = breakdown.channels
    assert (general.messages.current, general.messages.previous, general.active_members) == (6, 1, 6)
    assert general.positive_share == 1.0


async def test_activation_funnel_follows_newcomers_week_by_week(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    joined = clock.now() - timedelta(days=20)  # Thursday three weeks back
    first_ids = {}
    for user in range(1, 7):
        await pipeline.handle_join(GUILD, user, joined + timedelta(hours=user))
    for user in (1, 2, 3, 4):  # four speak
        event = message(user, joined + timedelta(hours=user, minutes=30))
        first_ids[user] = event.message_id
        await pipeline.handle_message(event)
    await pipeline.flush()
    # 1 gets a reply after 10 minutes, 2 after 50; 3 only answers themself.
    for user, minutes in ((1, 10), (2, 50)):
        await pipeline.handle_message(
            message(
                9,
                joined + timedelta(hours=user, minutes=30 + minutes),
                reply_to_message_id=first_ids[user],
                reply_to_author_id=user,
            )
        )
    await pipeline.handle_message(
        message(3, joined + timedelta(hours=4), reply_to_message_id=first_ids[3], reply_to_author_id=3)
    )
    # 1 and 4 come back in their second week; 2 only in the third.
    await pipeline.handle_message(message(1, joined + timedelta(days=8)))
    await pipeline.handle_message(message(4, joined + timedelta(days=10)))
    await pipeline.handle_message(message(2, joined + timedelta(days=15)))
    await pipeline.flush()
    funnel = await metrics.funnel(GUILD, 28)
    (week,) = funnel.weeks
    assert week.week_start == date(2026, 2, 9)
    assert (week.joined, week.spoke, week.got_reply, week.eligible_week2, week.returned_week2) == (
        6,
        4,
        2,
        6,
        2,
    )
    assert week.median_reply_seconds == 30 * 60
    assert funnel.total.joined == 6 and funnel.hidden == 0


async def test_funnel_hides_weeks_with_fewer_than_five_newcomers(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    for user in (1, 2):
        await pipeline.handle_join(GUILD, user, clock.now() - timedelta(days=3))
    await pipeline.flush()
    funnel = await metrics.funnel(GUILD, 28)
    assert funnel.weeks == () and funnel.hidden == 1
    assert funnel.total.joined == 2


async def test_retention_cohorts_share_still_active_each_week(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    cohort_day = clock.now() - timedelta(days=14)  # Monday two weeks ago
    for user in range(1, 6):
        await pipeline.handle_join(GUILD, user, cohort_day)
        await pipeline.handle_message(message(user, cohort_day + timedelta(hours=1)))
    for user in (1, 2, 3):
        await pipeline.handle_message(message(user, cohort_day + timedelta(days=8)))
    await pipeline.handle_message(message(1, clock.now()))
    await pipeline.flush()
    retention = await metrics.retention(GUILD, weeks=4)
    (cohort,) = retention.cohorts
    assert cohort.week_start == date(2026, 2, 16) and cohort.size == 5
    assert cohort.shares == (1.0, 0.6, 0.2, None)


async def test_responsiveness_counts_replies_from_others_only(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    now = clock.now()
    await pipeline.handle_join(GUILD, 7, now - timedelta(days=2))
    q1 = message(1, now - timedelta(hours=5), "anyone know how to fix this?")
    q2 = message(2, now - timedelta(hours=5), "is the event still on?")
    newbie = message(7, now - timedelta(hours=4), "hi all, new here")
    for event in (q1, q2, newbie):
        await pipeline.handle_message(event)
    await pipeline.flush()
    await pipeline.handle_message(
        message(3, now - timedelta(hours=4), "yes", reply_to_message_id=q1.message_id, reply_to_author_id=1)
    )
    await pipeline.handle_message(
        message(2, now - timedelta(hours=4), "bump", reply_to_message_id=q2.message_id, reply_to_author_id=2)
    )
    await pipeline.handle_message(
        message(
            3,
            now - timedelta(hours=2),
            "welcome!",
            reply_to_message_id=newbie.message_id,
            reply_to_author_id=7,
        )
    )
    await pipeline.flush()
    result = await metrics.responsiveness(GUILD, 7)
    assert (result.questions, result.questions_answered) == (2, 1)
    assert (result.newcomer_messages, result.newcomer_answered) == (1, 1)
    assert result.median_reply_seconds == 3600
    assert result.newcomer_median_seconds == 2 * 3600


async def test_spamming_does_not_beat_steady_activity_and_reach_counts_distinct_people(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    now = clock.now()
    for i in range(50):  # 50 messages in five minutes: one block
        await pipeline.handle_message(message(1, now + timedelta(seconds=i * 6)))
    for day in range(5):  # five messages on five days: five blocks
        await pipeline.handle_message(message(2, now - timedelta(days=day)))
    quiet = message(3, now - timedelta(days=1), "wrote a guide to the new setup")
    await pipeline.handle_message(quiet)
    await pipeline.flush()
    for fan in (4, 5, 6):
        await pipeline.handle_message(
            message(fan, now, "thanks!", reply_to_message_id=quiet.message_id, reply_to_author_id=3)
        )
    for fan in (4, 7):
        await pipeline.handle_reaction(GUILD, quiet.channel_id, quiet.message_id, fan, 3, "🎉", added=True)
    await pipeline.handle_reaction(
        GUILD, quiet.channel_id, quiet.message_id, 3, 3, "🎉", added=True
    )  # self: no reach
    await pipeline.flush()
    result = await metrics.contributors(GUILD, 7, limit=3)
    assert [(c.user_id, c.blocks) for c in result.active][:2] == [(2, 5), (1, 1)]
    top = result.influencers[0]
    assert (top.user_id, top.reach, top.repliers, top.reactors, top.replies, top.reactions) == (
        3,
        4,
        3,
        2,
        3,
        2,
    )


async def test_at_risk_lists_regulars_who_went_quiet(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock, settings: Settings
) -> None:
    now = clock.now()
    for user in (1, 2, 3, 4):
        await pipeline.handle_join(GUILD, user, now - timedelta(days=100))
    for day in range(20, 40):  # 1: twenty active days, silent for 20 days
        await pipeline.handle_message(message(1, now - timedelta(days=day)))
    for day in range(30):  # 2: still active
        await pipeline.handle_message(message(2, now - timedelta(days=day)))
    for day in (20, 25):  # 3: occasional, not a regular
        await pipeline.handle_message(message(3, now - timedelta(days=day)))
    for day in range(20, 40):  # 4: a regular who left the server
        await pipeline.handle_message(message(4, now - timedelta(days=day)))
    await pipeline.handle_leave(GUILD, 4, now - timedelta(days=15))
    await pipeline.flush()
    at_risk = await metrics.at_risk(GUILD)
    assert [(r.user_id, r.active_days) for r in at_risk] == [(1, 20)]
    assert at_risk[0].last_active == (now - timedelta(days=20)).date()
    await settings.set(GUILD, "at_risk_quiet_days", 30)
    assert await metrics.at_risk(GUILD) == ()


async def test_heatmap_is_in_the_server_timezone(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock, settings: Settings
) -> None:
    await settings.set(GUILD, "timezone", "America/Montreal")
    now = clock.now()  # Monday 09:00 UTC = Monday 04:00 in Montreal (EST)
    for user in range(1, 6):
        await pipeline.handle_message(message(user, now))
    await pipeline.flush()
    heatmap = await metrics.heatmap(GUILD, 7)
    assert heatmap.timezone == "America/Montreal"
    assert heatmap.grid[0][4] == 5 and heatmap.peak == (0, 4)
    assert sum(map(sum, heatmap.grid)) == 5


async def test_heatmap_is_hidden_for_fewer_than_five_members(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    await pipeline.handle_message(message(1, clock.now()))
    await pipeline.flush()
    heatmap = await metrics.heatmap(GUILD, 7)
    assert heatmap.hidden and heatmap.peak is None


async def test_sentiment_trend_per_day(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    now = clock.now()
    texts = [
        "I love this community",
        "this is terrible and awful",
        "the bus leaves at noon",
        "thanks, great job",
        "the meeting is at 5",
    ]
    for user, text in enumerate(texts, start=1):
        await pipeline.handle_message(message(user, now, text))
        await pipeline.handle_message(message(user, now - timedelta(days=1), "I hate this, awful"))
    await pipeline.flush()
    trend = await metrics.sentiment(GUILD, 7)
    yesterday, today = trend.days
    assert (yesterday.messages, yesterday.negative_share) == (5, 1.0)
    assert (today.messages, today.negative_share, today.positive_share) == (5, 0.2, 0.4)
    assert trend.channels[0].negative_share == pytest.approx(0.6)


async def test_csv_export_has_daily_aggregates_and_blanks_small_days(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    now = clock.now()
    for user in range(1, 6):
        await pipeline.handle_join(GUILD, user, now - timedelta(days=3))
        await pipeline.handle_message(message(user, now))
    await pipeline.handle_message(message(1, now - timedelta(days=1)))
    await pipeline.flush()
    rows = list(csv.DictReader(io.StringIO(await metrics.export_csv(GUILD, 30))))
    by_date = {r["date"]: r for r in rows}
    assert by_date["2026-03-02"]["messages"] == "5" and by_date["2026-03-02"]["active_members"] == "5"
    assert by_date["2026-03-01"]["messages"] == ""
    assert by_date["2026-02-27"]["joined"] == "5"


async def test_weekly_digest_gathers_its_parts(
    pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    for user in range(1, 4):
        await pipeline.handle_message(message(user, clock.now()))
    await pipeline.flush()
    digest = await metrics.digest(GUILD)
    assert digest.overview.days == 7
    assert digest.overview.members.messages.current == 3
    assert len(digest.contributors.active) == 3


# ---------------------------------------------------------------------- reach roll-up (migration 0006)

# Reach as it was counted before the roll-up: distinct people in the daily rows of the span.
_RAW_REACH = (
    "SELECT target_id, COUNT(DISTINCT source_id), COUNT(DISTINCT CASE WHEN replies > 0 THEN source_id END),"
    " COUNT(DISTINCT CASE WHEN reactions > 0 THEN source_id END), SUM(replies), SUM(reactions)"
    " FROM activity_daily_reach WHERE guild_id = ? AND day BETWEEN ? AND ?"
    " GROUP BY target_id ORDER BY 2 DESC, target_id LIMIT ?"
)
# The roll-up as migration 0006 backfills it, from the daily rows alone.
_PAIRS_FROM_DAILY = (
    "SELECT guild_id, target_id, source_id, MAX(day), MAX(CASE WHEN replies > 0 THEN day END),"
    " MAX(CASE WHEN reactions > 0 THEN day END) FROM activity_daily_reach GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)
_WEEKLY_FROM_DAILY = (
    "SELECT guild_id, week, target_id, SUM(rp), SUM(rc), SUM(p), SUM(r), SUM(c) FROM ("
    " SELECT guild_id, (day + 3) / 7 AS week, target_id, replies AS rp, reactions AS rc, 0 AS p, 0 AS r, 0 AS c"
    " FROM activity_daily_reach"
    " UNION ALL SELECT guild_id, (MAX(day) + 3) / 7, target_id, 0, 0, 1, 0, 0 FROM activity_daily_reach"
    "  GROUP BY guild_id, target_id, source_id"
    " UNION ALL SELECT guild_id, (MAX(day) + 3) / 7, target_id, 0, 0, 0, 1, 0 FROM activity_daily_reach"
    "  WHERE replies > 0 GROUP BY guild_id, target_id, source_id"
    " UNION ALL SELECT guild_id, (MAX(day) + 3) / 7, target_id, 0, 0, 0, 0, 1 FROM activity_daily_reach"
    "  WHERE reactions > 0 GROUP BY guild_id, target_id, source_id)"
    " GROUP BY 1, 2, 3 HAVING SUM(rp) != 0 OR SUM(rc) != 0 OR SUM(p) != 0 OR SUM(r) != 0 OR SUM(c) != 0"
    " ORDER BY 1, 2, 3"
)
# Spans ending today (Monday 2 March 2026): 1, 8, 15 and 365 days start on a Monday (whole weeks of the
# roll-up only), the others mid-week (a partial first week read from the daily rows); up to over a year.
_SPANS = (1, 2, 6, 7, 8, 14, 15, 28, 30, 31, 90, 364, 365, 400)


async def _rows(db: Database, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await db.fetchall(sql, params)]


async def _assert_rollup_is_exact(db: Database) -> None:
    """The trigger-kept roll-up holds exactly what a backfill from the daily rows would."""
    assert await _rows(
        db,
        "SELECT guild_id, target_id, source_id, last_day, last_reply_day, last_reaction_day"
        " FROM activity_reach_pairs ORDER BY 1, 2, 3",
    ) == await _rows(db, _PAIRS_FROM_DAILY)
    assert await _rows(
        db,
        "SELECT guild_id, week, target_id, replies, reactions, pairs, repliers, reactors"
        " FROM activity_weekly_reach ORDER BY 1, 2, 3",
    ) == await _rows(db, _WEEKLY_FROM_DAILY)


async def _assert_reach_matches_daily_rows(
    db: Database, metrics: MetricsService, end: datetime | None = None
) -> None:
    for days in _SPANS:
        span = metrics.span(days, end)
        raw = await _rows(db, _RAW_REACH, (GUILD, span.first, span.last, 1000))
        result = await metrics.contributors(GUILD, days, limit=1000, end=end)
        got = [
            (i.user_id, i.reach, i.repliers, i.reactors, i.replies, i.reactions) for i in result.influencers
        ]
        assert got == raw, f"{days} days ending {end or 'today'}"
        top = await metrics.contributors(GUILD, days, limit=5, end=end)
        assert [i.user_id for i in top.influencers] == [r[0] for r in raw[:5]]


async def _busy_year(pipeline: ActivityPipeline, clock: FrozenClock, seed: int = 7) -> list[MessageEvent]:
    """Write 400 days of replies and reactions among 25 members (some on later days than the message)."""
    rng = random.Random(seed)
    now = clock.now()
    members = list(range(1, 26))
    weights = [1 / m for m in members]
    written: list[MessageEvent] = []
    for i in range(2_500):
        at = now - timedelta(days=400) + timedelta(seconds=i * 400 * 86_400 // 2_500)
        author = rng.choices(members, weights)[0]
        replied = rng.choice(written[-40:]) if written and rng.random() < 0.4 else None
        event = message(
            author,
            at,
            reply_to_message_id=replied.message_id if replied else None,
            reply_to_author_id=replied.author_id if replied else None,
        )
        await pipeline.handle_message(event)
        written.append(event)
        if rng.random() < 0.25:
            reacted = rng.choice(written[-60:])
            when = min(at + timedelta(hours=rng.choice((0, 1, 30, 200))), now)
            await pipeline.handle_reaction(
                GUILD,
                reacted.channel_id,
                reacted.message_id,
                rng.choice(members),
                reacted.author_id,
                rng.choice("ab"),
                added=True,
                at=when,
            )
    await pipeline.flush()
    return written


def test_the_spans_cover_week_aligned_and_unaligned_starts(metrics: MetricsService) -> None:
    starts = {(metrics.span(days).first + 3) % 7 == 0 for days in _SPANS}
    assert starts == {True, False}  # some spans start on a Monday (a whole first week), some do not


async def test_reach_from_the_weekly_rollup_equals_distinct_people_in_the_daily_rows(
    db: Database, pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    await _busy_year(pipeline, clock)
    assert await db.fetchval("SELECT COUNT(*) FROM activity_daily_reach WHERE reactions > 0 AND replies > 0")
    await _assert_rollup_is_exact(db)
    await _assert_reach_matches_daily_rows(db, metrics)
    # Spans ending in the past (rows after them) count people in the daily rows: same figures.
    for days_ago in (3, 45):
        await _assert_reach_matches_daily_rows(db, metrics, end=clock.now() - timedelta(days=days_ago))


async def test_reach_rollup_stays_exact_after_deletes_unreactions_and_forget(
    db: Database, pipeline: ActivityPipeline, metrics: MetricsService, clock: FrozenClock
) -> None:
    written = await _busy_year(pipeline, clock, seed=11)
    rng = random.Random(5)
    await pipeline.handle_delete(GUILD, [m.message_id for m in rng.sample(written, 300)])
    reactions = await db.fetchall("SELECT message_id, user_id, emoji FROM activity_reactions")
    for row in rng.sample(reactions, len(reactions) // 3):
        await pipeline.handle_reaction(GUILD, 0, row[0], row[1], None, row[2], added=False)
    await pipeline.flush()
    await _assert_rollup_is_exact(db)
    await _assert_reach_matches_daily_rows(db, metrics)

    busiest = (await metrics.contributors(GUILD, 365, limit=1)).influencers[0].user_id
    for member in (busiest, 20):  # a member many replied to, and a quiet one
        await pipeline.forget(GUILD, member)
    await _assert_rollup_is_exact(db)
    await _assert_reach_matches_daily_rows(db, metrics)
    for table, column in (
        ("activity_reach_pairs", "target_id"),
        ("activity_reach_pairs", "source_id"),
        ("activity_weekly_reach", "target_id"),
    ):
        left = await db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE {column} IN (?, 20)", (busiest,))
        assert left == 0, f"{table}.{column}"


async def test_importing_twice_leaves_the_reach_rollup_unchanged(
    db: Database, metrics: MetricsService, clock: FrozenClock, tmp_path: Path
) -> None:
    start = clock.now() - timedelta(days=100)
    messages = []
    for i in range(300):
        author = 1 + (i * 7) % 9
        item: dict[str, Any] = {
            "id": str(5_000 + i),
            "type": "Default",
            "timestamp": (start + timedelta(hours=8 * i)).isoformat(),
            "content": "hello",
            "author": {"id": str(author), "name": f"u{author}", "isBot": False},
            "reactions": [
                {
                    "emoji": {"id": None, "name": "👍"},
                    "count": 2,
                    "users": [{"id": str(1 + i % 5)}, {"id": "8"}],
                }
            ]
            if i % 3 == 0
            else [],
        }
        if i % 2 and i > 10:
            item["type"] = "Reply"
            item["reference"] = {"messageId": str(5_000 + i - 1 - i % 9)}
        messages.append(item)
    export = tmp_path / "general.json"
    export.write_text(
        json.dumps(
            {
                "guild": {"id": str(GUILD)},
                "channel": {"id": "222", "type": "GuildTextChat"},
                "messages": messages,
            }
        )
    )
    await import_files(db, clock, [export])
    tables = ("activity_daily_reach", "activity_reach_pairs", "activity_weekly_reach")
    before = {t: await _rows(db, f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4") for t in tables}
    assert before["activity_weekly_reach"]
    await import_files(db, clock, [export])
    assert {t: await _rows(db, f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4") for t in tables} == before
    await _assert_rollup_is_exact(db)
    await _assert_reach_matches_daily_rows(db, metrics)


async def test_migration_backfills_the_reach_rollup_from_existing_rows(
    tmp_path: Path, clock: FrozenClock
) -> None:
    database = await Database.open(tmp_path / "before_0006.db")
    try:
        # Today's writer also needs the member-facts columns (bot/core/members.py), which don't touch reach.
        await database.migrate(
            [m for m in discover_migrations() if m.version < 6 or m.name == "member_facts"]
        )
        settings = Settings(database, clock)
        pipeline = ActivityPipeline(database, clock, settings, batch_size=10_000)
        await pipeline.warm()
        written = await _busy_year(pipeline, clock, seed=3)
        await database.migrate()
        await _assert_rollup_is_exact(database)
        await _assert_reach_matches_daily_rows(database, MetricsService(database, clock, settings))
        # From then on the triggers keep it: a delete and a new reply later still agree.
        await pipeline.handle_delete(GUILD, [written[-1].message_id, written[-500].message_id])
        replied = written[-2]
        await pipeline.handle_message(
            message(
                30, clock.now(), reply_to_message_id=replied.message_id, reply_to_author_id=replied.author_id
            )
        )
        await pipeline.flush()
        await _assert_rollup_is_exact(database)
    finally:
        await database.close()


async def test_a_moved_daily_reach_row_is_refused(db: Database) -> None:
    await db.execute(
        "INSERT INTO activity_daily_reach (guild_id, day, target_id, source_id, replies) VALUES (?, 20000, 1, 2, 1)",
        (GUILD,),
    )
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute("UPDATE activity_daily_reach SET day = 20001 WHERE guild_id = ?", (GUILD,))
