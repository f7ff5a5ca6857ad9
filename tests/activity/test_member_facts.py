"""The member facts `members` owns, as the pipeline writes them, and the one funnel definition."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.activity.pipeline import ActivityPipeline
from bot.core import members
from bot.core.clock import FrozenClock, to_ts
from bot.core.db import Database, discover_migrations
from tests.activity.conftest import GUILD, message


async def facts(db: Database, user_id: int) -> tuple[int | None, ...]:
    row = await db.fetchone(
        "SELECT first_joined_at, joined_at, first_message_at, first_reply_at FROM members"
        " WHERE guild_id = ? AND user_id = ?",
        (GUILD, user_id),
    )
    assert row is not None
    return tuple(row)


def test_an_answer_is_a_reply_or_a_mention_by_someone_else() -> None:
    assert members.answered_by(2, 1, ()) == {1}
    assert members.answered_by(2, None, (1, 3)) == {1, 3}
    assert members.answered_by(1, 1, (1,)) == set()  # answering oneself is not an answer


async def test_a_member_who_leaves_and_returns_keeps_their_first_join(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    first = clock.now() - timedelta(days=20)
    await pipeline.handle_join(GUILD, 1, first)
    await pipeline.handle_leave(GUILD, 1, first + timedelta(days=1))
    await pipeline.handle_join(GUILD, 1, clock.now())
    await pipeline.flush()
    assert (await facts(db, 1))[:2] == (to_ts(first), to_ts(clock.now()))
    assert [n.user_id for n in await members.newcomers(db, GUILD, to_ts(first), to_ts(first) + 1)] == [1]
    assert await members.newcomers(db, GUILD, to_ts(clock.now()) - 86400, to_ts(clock.now()) + 1) == []


async def test_first_reply_is_a_members_reply_or_mention_within_two_weeks_of_the_first_message(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    start = clock.now() - timedelta(days=30)
    for user in (1, 2, 3):
        await pipeline.handle_join(GUILD, user, start)
    hello = message(1, start + timedelta(hours=1))
    await pipeline.handle_message(hello)
    await pipeline.handle_message(message(2, start + timedelta(hours=1)))
    await pipeline.handle_message(message(3, start + timedelta(hours=1)))
    # A bot's reply and a mention, and their own reply, answer nobody.
    await pipeline.handle_message(
        message(9, start + timedelta(hours=2), reply_to_message_id=hello.message_id, is_bot=True)
    )
    await pipeline.handle_message(message(9, start + timedelta(hours=2), mention_ids=(1,), is_bot=True))
    await pipeline.handle_message(
        message(1, start + timedelta(hours=2), reply_to_message_id=hello.message_id, mention_ids=(1,))
    )
    await pipeline.flush()
    assert (await facts(db, 1))[3] is None
    # A member's reply whose author Discord did not resolve, in the same batch as a mention of 2.
    await pipeline.handle_message(
        message(3, start + timedelta(hours=3), reply_to_message_id=hello.message_id)
    )
    await pipeline.handle_message(message(3, start + timedelta(hours=4), mention_ids=(2,)))
    # 3 is mentioned only after the window: no reply for them.
    await pipeline.handle_message(message(1, start + timedelta(days=15), mention_ids=(3,)))
    await pipeline.flush()
    assert (await facts(db, 1))[3] == to_ts(start + timedelta(hours=3))
    assert (await facts(db, 2))[3] == to_ts(start + timedelta(hours=4))
    assert (await facts(db, 3))[3] is None
    counts = members.count(await members.newcomers(db, GUILD, to_ts(start), to_ts(clock.now())), 0)
    assert (counts.joined, counts.spoke, counts.got_reply) == (3, 3, 2)


async def test_members_who_spoke_before_their_first_join_are_not_newcomers(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    # Here before Hearth saw them join (they spoke first): a later join does not make them new.
    await pipeline.handle_message(message(1, clock.now() - timedelta(days=3)))
    await pipeline.handle_join(GUILD, 1, clock.now() - timedelta(days=2))
    await pipeline.handle_join(GUILD, 2, clock.now() - timedelta(days=2))
    await pipeline.flush()
    found = await members.newcomers(db, GUILD, to_ts(clock.now()) - 7 * 86400, to_ts(clock.now()))
    assert [n.user_id for n in found] == [2]


async def test_the_migration_moves_onboardings_copies_into_members(
    tmp_path: Path, clock: FrozenClock
) -> None:
    database = await Database.open(tmp_path / "before_member_facts.db")
    try:
        ours = next(m for m in discover_migrations() if m.name == "member_facts")
        await database.migrate([m for m in discover_migrations() if m.version < ours.version])
        now = to_ts(clock.now())
        day = 86400
        # 1 joined 20 days ago and again yesterday (members has the latest join, the events both);
        # 2 is only known to onboarding; 3 was answered by a reply from 1.
        await database.execute(
            "INSERT INTO member_events (guild_id, user_id, kind, at) VALUES (?, 1, 'join', ?), (?, 1, 'join', ?)",
            (GUILD, now - 20 * day, GUILD, now - day),
        )
        await database.execute(
            "INSERT INTO members (guild_id, user_id, joined_at, first_message_at) VALUES (?, 1, ?, ?), (?, 3, ?, ?)",
            (GUILD, now - day, now - 19 * day, GUILD, now - 5 * day, now - 5 * day),
        )
        await database.execute(
            "INSERT INTO onboarding_members (guild_id, user_id, joined_at, first_message_at, first_reply_at,"
            " week2_active_at) VALUES (?, 2, ?, ?, ?, ?)",
            (GUILD, now - 3 * day, now - 2 * day, now - 2 * day + 60, None),
        )
        await database.execute(
            "INSERT INTO activity_messages (guild_id, message_id, channel_id, author_id, created_at, length,"
            " compound, lang, reply_to_message_id, reply_to_author_id) VALUES (?, 10, 5, 3, ?, 5, 0, 'en', NULL, NULL),"
            " (?, 11, 5, 1, ?, 5, 0, 'en', 10, 3)",
            (GUILD, now - 5 * day, GUILD, now - 5 * day + 600),
        )
        await database.migrate()
        rows = {
            r["user_id"]: tuple(r)[1:]
            for r in await database.fetchall(
                "SELECT user_id, first_joined_at, first_message_at, first_reply_at FROM members ORDER BY user_id"
            )
        }
        assert rows == {
            1: (now - 20 * day, now - 19 * day, None),
            2: (now - 3 * day, now - 2 * day, None),  # onboarding's same-channel answers are not carried over
            3: (now - 5 * day, now - 5 * day, now - 5 * day + 600),
        }
        columns = {r[1] for r in await database.fetchall("PRAGMA table_info(onboarding_members)")}
        assert not columns & {"first_message_at", "first_reply_at", "week2_active_at"}
    finally:
        await database.close()
