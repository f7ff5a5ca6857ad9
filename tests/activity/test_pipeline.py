"""The ingestion pipeline on a real database: batching, roll-ups, edits, deletes, privacy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.activity.pipeline import ActivityPipeline
from bot.activity.rollups import DAY
from bot.core.clock import FrozenClock, to_ts
from bot.core.db import Database
from bot.core.settings import Settings
from tests.activity.conftest import GUILD, message


async def _count(db: Database, table: str) -> int:
    return int(await db.fetchval(f"SELECT COUNT(*) FROM {table}"))


async def _member_day(db: Database, user: int) -> tuple[int, int] | None:
    row = await db.fetchone(
        "SELECT messages, blocks FROM activity_daily_member WHERE guild_id = ? AND user_id = ?", (GUILD, user)
    )
    return None if row is None else (row[0], row[1])


async def test_messages_wait_in_the_buffer_until_flushed(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    for i in range(3):
        await pipeline.handle_message(message(1, clock.now() + timedelta(seconds=i)))
    assert await _count(db, "activity_messages") == 0
    assert pipeline.pending == 3
    assert await pipeline.flush() == 3
    assert await _count(db, "activity_messages") == 3
    assert pipeline.pending == 0


async def test_a_full_batch_is_written_without_waiting_for_the_timer(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    pipe = ActivityPipeline(db, clock, settings, batch_size=4)
    await pipe.warm()
    for i in range(5):
        await pipe.handle_message(message(1, clock.now() + timedelta(seconds=i)))
    await pipe.drain()
    assert await _count(db, "activity_messages") == 5


async def test_sentiment_and_language_are_computed_once_and_carried_in_the_signal(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    calls: list[tuple[str, str]] = []

    def scorer(text: str, lang: str) -> float:
        calls.append((text, lang))
        return -0.7

    pipe = ActivityPipeline(db, clock, settings, scorer=scorer)
    await pipe.warm()
    signal = await pipe.handle_message(message(1, clock.now(), "je suis très fâché, c'est nul"))
    assert signal is not None
    assert calls == [("je suis très fâché, c'est nul", "fr")]
    assert (signal.lang, signal.compound) == ("fr", -0.7)
    await pipe.flush()
    row = await db.fetchone("SELECT lang, compound, length FROM activity_messages")
    assert tuple(row) == ("fr", -0.7, len("je suis très fâché, c'est nul"))
    assert await db.fetchval("SELECT negative FROM activity_daily_channel") == 1


async def test_first_message_is_flagged_once_and_remembered_across_restarts(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    first = await pipeline.handle_message(message(1, clock.now()))
    second = await pipeline.handle_message(message(1, clock.now()))
    assert first and first.is_first_message
    assert second and not second.is_first_message
    await pipeline.flush()
    restarted = ActivityPipeline(db, clock, settings)
    await restarted.warm()
    again = await restarted.handle_message(message(1, clock.now()))
    assert again and not again.is_first_message
    assert await db.fetchval("SELECT first_message_at FROM members WHERE user_id = 1") == to_ts(clock.now())


async def test_bots_and_opted_out_members_are_not_counted(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    assert await pipeline.handle_message(message(1, clock.now(), is_bot=True)) is None
    await pipeline.privacy.opt_out(GUILD, 2)
    signal = await pipeline.handle_message(message(2, clock.now()))
    assert signal is not None and not signal.recorded  # handed on (moderation), not stored
    await pipeline.handle_reaction(GUILD, 1, 5, 2, 1, "👍", added=True)
    await pipeline.flush()
    assert await _count(db, "activity_messages") == 0
    assert await _count(db, "activity_reactions") == 0


async def test_activity_is_counted_in_ten_minute_blocks(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    start = clock.now().replace(minute=0)
    for minute in (0, 1, 2, 3, 9):  # five messages, one block
        await pipeline.handle_message(message(1, start + timedelta(minutes=minute)))
    await pipeline.flush()
    await pipeline.handle_message(message(1, start + timedelta(minutes=5)))  # same block, later batch
    await pipeline.handle_message(message(1, start + timedelta(minutes=15)))  # a second block
    await pipeline.flush()
    assert await _member_day(db, 1) == (7, 2)


async def test_an_edit_is_not_a_new_message_but_updates_sentiment(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    event = message(1, clock.now(), "I love this, thank you so much")
    await pipeline.handle_message(event)
    await pipeline.flush()
    assert await db.fetchval("SELECT positive FROM activity_daily_channel") == 1
    await pipeline.handle_edit(GUILD, event.message_id, "this is awful and I hate it", clock.now())
    await pipeline.flush()
    assert await _member_day(db, 1) == (1, 1)
    row = await db.fetchone("SELECT messages, negative, positive FROM activity_daily_channel")
    assert tuple(row) == (1, 1, 0)
    assert await db.fetchval("SELECT edited_at FROM activity_messages") == to_ts(clock.now())


async def test_a_deleted_message_leaves_the_counts(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    kept = message(1, clock.now())
    gone = message(
        2, clock.now(), "what a terrible idea", reply_to_message_id=kept.message_id, reply_to_author_id=1
    )
    await pipeline.handle_message(kept)
    await pipeline.handle_message(gone)
    await pipeline.handle_reaction(GUILD, kept.channel_id, gone.message_id, 3, 2, "😡", added=True)
    await pipeline.flush()
    assert await _member_day(db, 2) == (1, 1)
    await pipeline.handle_delete(GUILD, [gone.message_id])
    await pipeline.flush()
    assert await _member_day(db, 2) is None
    assert await _member_day(db, 1) == (1, 1)
    assert tuple(await db.fetchone("SELECT messages, negative FROM activity_daily_channel")) == (1, 0)
    assert await db.fetchval("SELECT SUM(messages) FROM activity_hourly") == 1
    assert await _count(db, "activity_daily_reach") == 0
    assert await _count(db, "activity_reactions") == 0


async def test_a_message_deleted_before_the_flush_is_never_counted(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    event = message(1, clock.now())
    await pipeline.handle_message(event)
    await pipeline.handle_delete(GUILD, [event.message_id])
    await pipeline.flush()
    assert await _count(db, "activity_messages") == 0
    assert await _count(db, "activity_daily_member") == 0
    assert await db.fetchval("SELECT SUM(messages) FROM activity_daily_channel") == 0


async def test_writing_the_same_messages_twice_changes_nothing(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    events = [message(u, clock.now() + timedelta(minutes=u)) for u in (1, 2, 3)]
    for event in events:
        await pipeline.handle_message(event)
    await pipeline.flush()
    before = [tuple(r) for r in await db.fetchall("SELECT * FROM activity_daily_member ORDER BY user_id")]
    for event in events:
        await pipeline.handle_message(event)
    await pipeline.flush()
    after = [tuple(r) for r in await db.fetchall("SELECT * FROM activity_daily_member ORDER BY user_id")]
    assert before == after
    assert await db.fetchval("SELECT SUM(messages) FROM activity_daily_channel") == 3


async def test_replies_and_reactions_build_reach_and_first_reply_time(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    question = message(1, clock.now(), "how do I set this up? ")
    await pipeline.handle_message(question)
    await pipeline.flush()
    await pipeline.handle_message(
        message(
            1,
            clock.now() + timedelta(minutes=1),
            "me again",
            reply_to_message_id=question.message_id,
            reply_to_author_id=1,
        )
    )
    await pipeline.handle_message(
        message(
            2,
            clock.now() + timedelta(minutes=3),
            "try the wiki",
            reply_to_message_id=question.message_id,
            reply_to_author_id=1,
        )
    )
    await pipeline.handle_message(
        message(
            3,
            clock.now() + timedelta(minutes=2),
            "see pins",
            reply_to_message_id=question.message_id,
            reply_to_author_id=1,
        )
    )
    await pipeline.handle_reaction(GUILD, question.channel_id, question.message_id, 4, None, "👍", added=True)
    await pipeline.handle_reaction(GUILD, question.channel_id, question.message_id, 4, None, "❤️", added=True)
    await pipeline.flush()
    row = await db.fetchone(
        "SELECT is_question, first_reply_at FROM activity_messages WHERE message_id = ?",
        (question.message_id,),
    )
    assert tuple(row) == (1, to_ts(clock.now() + timedelta(minutes=2)))
    reach = {
        r[0]: (r[1], r[2])
        for r in await db.fetchall(
            "SELECT source_id, replies, reactions FROM activity_daily_reach WHERE target_id = 1"
        )
    }
    assert reach == {2: (1, 0), 3: (1, 0), 4: (0, 2)}
    await pipeline.handle_reaction(
        GUILD, question.channel_id, question.message_id, 4, None, "👍", added=False
    )
    await pipeline.handle_reaction(GUILD, question.channel_id, question.message_id, 4, None, "❤️", added=False)
    await pipeline.flush()
    assert await db.fetchval("SELECT COUNT(*) FROM activity_daily_reach WHERE source_id = 4") == 0


async def test_text_is_not_kept_unless_the_server_opts_in_and_then_only_until_expiry(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    await pipeline.handle_message(message(1, clock.now(), "secret words"))
    await pipeline.flush()
    assert await _count(db, "activity_text") == 0
    await settings.set(GUILD, "keep_text_days", 2)
    await pipeline.handle_message(message(1, clock.now(), "kept for context"))
    await pipeline.flush()
    row = await db.fetchone("SELECT text, expires_at FROM activity_text")
    assert tuple(row) == ("kept for context", to_ts(clock.now()) + 2 * DAY)
    clock.advance(days=1)
    assert await pipeline.purge_expired_text() == 0
    clock.advance(days=1, seconds=1)
    assert await pipeline.purge_expired_text() == 1
    assert await _count(db, "activity_text") == 0
    await settings.set(GUILD, "keep_text_days", 0)  # opting out again applies to the next message
    await pipeline.handle_message(message(1, clock.now(), "not kept any more"))
    await pipeline.flush()
    assert await _count(db, "activity_text") == 0


async def test_joins_and_leaves_are_recorded_and_a_return_clears_the_leave(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    await pipeline.handle_join(GUILD, 1, clock.now())
    await pipeline.handle_leave(GUILD, 1, clock.now() + timedelta(days=1))
    await pipeline.flush()
    assert await db.fetchval("SELECT left_at FROM members WHERE user_id = 1") is not None
    await pipeline.handle_join(GUILD, 1, clock.now() + timedelta(days=2))
    await pipeline.flush()
    assert await db.fetchval("SELECT left_at FROM members WHERE user_id = 1") is None
    assert await _count(db, "member_events") == 3


async def test_forget_deletes_everything_about_the_member_and_export_lists_it(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    await settings.set(GUILD, "keep_text_days", 5)
    await pipeline.handle_join(GUILD, 1, clock.now())
    mine = message(1, clock.now(), "hello all")
    await pipeline.handle_message(mine)
    await pipeline.handle_message(
        message(2, clock.now(), "welcome!", reply_to_message_id=mine.message_id, reply_to_author_id=1)
    )
    await pipeline.handle_reaction(GUILD, mine.channel_id, mine.message_id, 2, 1, "👋", added=True)
    await pipeline.flush()
    exported = await pipeline.export(GUILD, 1)
    assert [m["message_id"] for m in exported["messages"]] == [mine.message_id]
    assert exported["kept_text"][0]["text"] == "hello all"
    assert exported["member"]["joined_at"] == to_ts(clock.now())
    deleted = await pipeline.forget(GUILD, 1)
    assert deleted > 0
    for table, column in (
        ("activity_messages", "author_id"),
        ("activity_text", "author_id"),
        ("members", "user_id"),
        ("member_events", "user_id"),
        ("activity_daily_member", "user_id"),
        ("activity_daily_reach", "target_id"),
        ("activity_messages", "reply_to_author_id"),
        ("activity_reactions", "message_author_id"),
    ):
        assert await db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE {column} = 1") == 0, table
    assert await _count(db, "activity_messages") == 1  # member 2's reply stays
    again = await pipeline.handle_message(message(1, clock.now()))
    assert again and again.is_first_message


async def test_a_reply_without_its_authors_id_is_completed_from_the_stored_message(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    original = message(1, clock.now(), "anyone around?")
    await pipeline.handle_message(original)
    await pipeline.flush()
    await pipeline.handle_message(
        message(2, clock.now() + timedelta(minutes=1), "yes", reply_to_message_id=original.message_id)
    )
    await pipeline.flush()
    assert await db.fetchval("SELECT reply_to_author_id FROM activity_messages WHERE author_id = 2") == 1
    assert (
        await db.fetchval("SELECT replies FROM activity_daily_reach WHERE target_id = 1 AND source_id = 2")
        == 1
    )


def _lock_writes(monkeypatch: pytest.MonkeyPatch, failures: int) -> dict[str, int]:
    """Make the next `failures` batch writes meet a locked database; set ["left"] to 0 to unlock."""
    import sqlite3

    from bot.activity import rollups

    real = rollups.write_messages
    state = {"left": failures}

    async def write(conn: Any, rows: Any) -> int:
        if state["left"] > 0:
            state["left"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return await real(conn, rows)

    monkeypatch.setattr(rollups, "write_messages", write)
    return state


async def test_a_batch_that_meets_a_locked_database_is_kept_for_the_next_flush(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lock_writes(monkeypatch, failures=1)
    await pipeline.handle_message(message(1, clock.now()))
    assert await pipeline.flush() == 0
    assert pipeline.pending == 1 and pipeline.lost == 0
    await pipeline.handle_message(message(2, clock.now()))
    assert await pipeline.flush() == 2
    assert await _count(db, "activity_messages") == 2


async def test_a_long_lock_keeps_at_most_the_backlog_cap_and_counts_the_rest(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = _lock_writes(monkeypatch, failures=10**9)
    pipeline.max_backlog = 3
    for author in range(1, 6):
        await pipeline.handle_message(message(author, clock.now() + timedelta(seconds=author)))
    assert await pipeline.flush() == 0
    assert pipeline.pending == 3 and pipeline.lost == 2
    lock["left"] = 0
    await pipeline.drain()
    stored = await db.fetchall("SELECT author_id FROM activity_messages ORDER BY author_id")
    assert [r[0] for r in stored] == [3, 4, 5]  # the newest kept, the oldest two dropped and counted


async def _replies_rollup(db: Database) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in await db.fetchall(
            "SELECT day, is_question, is_newcomer, answered, delay, messages FROM activity_daily_replies"
            " WHERE messages != 0 ORDER BY 1, 2, 3, 4, 5"
        )
    ]


async def _replies_from_messages(db: Database) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in await db.fetchall(
            "SELECT created_at / 86400, is_question, is_newcomer, first_reply_at IS NOT NULL,"
            " COALESCE(first_reply_at - created_at, 0), COUNT(*) FROM activity_messages"
            " WHERE is_question = 1 OR is_newcomer = 1 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        )
    ]


async def test_the_daily_reply_rollup_follows_replies_deletes_and_forget(
    pipeline: ActivityPipeline, db: Database, clock: FrozenClock
) -> None:
    first = message(1, clock.now(), "how do I set this up? ")
    second = message(1, clock.now() + timedelta(minutes=1), "and where are the docs? ")
    await pipeline.handle_message(first)
    await pipeline.handle_message(second)
    await pipeline.flush()
    assert [r[1:] for r in await _replies_rollup(db)] == [(1, 0, 0, 0, 2)]
    early = message(
        2, clock.now() + timedelta(minutes=3), "try the wiki", reply_to_message_id=first.message_id
    )
    await pipeline.handle_message(early)
    await pipeline.handle_message(
        message(3, clock.now() + timedelta(minutes=5), "pins", reply_to_message_id=second.message_id)
    )
    await pipeline.flush()
    assert await _replies_rollup(db) == await _replies_from_messages(db)
    assert [r[1:] for r in await _replies_rollup(db)] == [(1, 0, 1, 180, 1), (1, 0, 1, 240, 1)]
    await pipeline.handle_delete(GUILD, [second.message_id])
    await pipeline.flush()
    assert await _replies_rollup(db) == await _replies_from_messages(db)
    assert [r[1:] for r in await _replies_rollup(db)] == [(1, 0, 1, 180, 1)]
    await pipeline.forget(GUILD, 1)
    assert await _replies_rollup(db) == [] == await _replies_from_messages(db)
