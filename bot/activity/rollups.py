"""The writer: one batch of buffered activity into the tables and their daily roll-ups, in one transaction.

Messages go through a temporary staging table so that a batch is written with a handful of set-based
statements, and so that only rows not already stored are counted in the roll-ups: writing the same
message twice (an import run twice) changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

import aiosqlite

from bot.core.members import REPLY_WINDOW

DAY = 86_400
HOUR = 3_600
BLOCK = 600  # activity is counted in 10-minute blocks so that a burst of messages weighs little
NEGATIVE = -0.05  # VADER's usual cut-offs for a negative / positive compound
POSITIVE = 0.05

# Column order of a buffered message row.
MESSAGE_COLUMNS = (
    "guild_id",
    "message_id",
    "channel_id",
    "thread_id",
    "author_id",
    "created_at",
    "length",
    "mention_count",
    "attachment_count",
    "compound",
    "lang",
    "reply_to_message_id",
    "reply_to_author_id",
    "is_question",
    "is_newcomer",
)
_COLS = ", ".join(MESSAGE_COLUMNS)
_MARKS = ", ".join("?" for _ in MESSAGE_COLUMNS)

_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS activity_staging ("
    " guild_id INTEGER, message_id INTEGER, channel_id INTEGER, thread_id INTEGER, author_id INTEGER,"
    " created_at INTEGER, length INTEGER, mention_count INTEGER, attachment_count INTEGER, compound REAL,"
    " lang TEXT, reply_to_message_id INTEGER, reply_to_author_id INTEGER, is_question INTEGER,"
    " is_newcomer INTEGER, day INTEGER, block INTEGER,"
    " PRIMARY KEY (guild_id, message_id))",
)

_UPSERT_ADD = "ON CONFLICT DO UPDATE SET "


async def ensure_staging(conn: aiosqlite.Connection) -> None:
    """Create the connection's temporary staging table (once per connection)."""
    for sql in _STAGING:
        await conn.execute(sql)


async def write_messages(conn: aiosqlite.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Store new message rows and add them to every roll-up; return how many were new.

    The whole batch runs as one call in the connection's thread (one round trip, not one per
    statement): SQLite releases the GIL while it steps, so the write overlaps the event loop's work.
    """
    return int(await conn._execute(_write_messages, conn._conn, rows))


# Staging: rows go in as multi-row VALUES statements of a few fixed sizes (each compiled once and
# cached), so a batch is a handful of steps: every step in the connection's thread means taking the
# GIL back from a busy event loop, so a per-row `executemany` fell far behind. Binding is plain C;
# SQLite computes each row's day and 10-minute block.
_CHUNKS = (128, 32, 8, 1)
_ROW = "(" + ", ".join("?" for _ in MESSAGE_COLUMNS) + ")"
_STAGE = {
    size: f"INSERT OR IGNORE INTO activity_staging ({_COLS}, day, block) SELECT "
    + ", ".join(f"column{i + 1}" for i in range(len(MESSAGE_COLUMNS)))
    + f", column6 / {DAY}, column6 / {BLOCK} FROM (VALUES "
    + ", ".join(_ROW for _ in range(size))
    + ")"
    for size in _CHUNKS
}


def _stage(db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    start, total = 0, len(rows)
    for size in _CHUNKS:
        sql = _STAGE[size]
        while total - start >= size:
            db.execute(sql, list(chain.from_iterable(rows[start : start + size])))
            start += size


def probe_writer(db: sqlite3.Connection) -> None:
    """Run the writer's most demanding statement shapes on a scratch connection (`python -m bot check`).

    The largest staging statement binds 1,920 parameters (SQLite 3.32+) and roll-ups use
    UPDATE ... FROM (3.33+); raises sqlite3.OperationalError where this SQLite cannot.
    """
    for sql in _STAGING:
        db.execute(sql)
    _stage(db, [(1, i, 1, None, 1, 0, 0, 0, 0, 0.0, "en", None, None, 0, 0) for i in range(_CHUNKS[0])])
    db.execute("UPDATE activity_staging AS s SET length = r.n FROM (SELECT 1 AS n) AS r")


# After the staging insert (and removing rows already stored), every statement is set-based.
_BATCH_SQL: tuple[tuple[str, tuple[Any, ...]], ...] = (
    # Discord leaves the replied-to author out when that message is not cached: look it up here.
    (
        "UPDATE activity_staging AS s SET reply_to_author_id = (SELECT m.author_id FROM activity_messages m"
        "   WHERE m.guild_id = s.guild_id AND m.message_id = s.reply_to_message_id)"
        " WHERE s.reply_to_author_id IS NULL AND s.reply_to_message_id IS NOT NULL",
        (),
    ),
    # Nothing about an opted-out member as the target of a reply (the looked-up ids included): no
    # reach row, no reply link to them. The pipeline already dropped the messages they wrote.
    (
        "UPDATE activity_staging AS s SET reply_to_author_id = NULL WHERE s.reply_to_author_id IN"
        " (SELECT o.user_id FROM activity_optouts o WHERE o.guild_id = s.guild_id)",
        (),
    ),
    # A member's 10-minute block counts once: once per batch (grouped by block), and not at all if a
    # message of theirs in that block was stored before.
    (
        "INSERT INTO activity_daily_member (guild_id, day, user_id, messages, blocks)"
        " SELECT guild_id, day, author_id, SUM(n), SUM(fresh) FROM ("
        "   SELECT s.guild_id, s.day, s.author_id, COUNT(*) AS n, NOT EXISTS (SELECT 1 FROM activity_messages m"
        "     WHERE m.guild_id = s.guild_id AND m.author_id = s.author_id"
        "       AND m.created_at >= s.block * ? AND m.created_at < (s.block + 1) * ?) AS fresh"
        "   FROM activity_staging s GROUP BY s.guild_id, s.author_id, s.block)"
        " GROUP BY guild_id, day, author_id "
        + _UPSERT_ADD
        + "messages = messages + excluded.messages, blocks = blocks + excluded.blocks",
        (BLOCK, BLOCK),
    ),
    (
        "INSERT INTO activity_daily_member_channel (guild_id, day, channel_id, user_id, messages)"
        " SELECT guild_id, day, channel_id, author_id, COUNT(*) FROM activity_staging"
        " GROUP BY guild_id, day, channel_id, author_id "
        + _UPSERT_ADD
        + "messages = messages + excluded.messages",
        (),
    ),
    (
        "INSERT INTO activity_daily_channel (guild_id, day, channel_id, messages, negative, positive)"
        " SELECT guild_id, day, channel_id, COUNT(*), SUM(compound <= ?), SUM(compound >= ?)"
        " FROM activity_staging GROUP BY guild_id, day, channel_id "
        + _UPSERT_ADD
        + "messages = messages + excluded.messages, negative = negative + excluded.negative,"
        " positive = positive + excluded.positive",
        (NEGATIVE, POSITIVE),
    ),
    (
        "INSERT INTO activity_hourly (guild_id, hour, messages)"
        " SELECT guild_id, created_at / ?, COUNT(*) FROM activity_staging GROUP BY guild_id, created_at / ? "
        + _UPSERT_ADD
        + "messages = messages + excluded.messages",
        (HOUR, HOUR),
    ),
    (
        "INSERT INTO activity_daily_reach (guild_id, day, target_id, source_id, replies)"
        " SELECT guild_id, day, reply_to_author_id, author_id, COUNT(*) FROM activity_staging"
        " WHERE reply_to_author_id IS NOT NULL AND reply_to_author_id != author_id"
        " GROUP BY guild_id, day, reply_to_author_id, author_id "
        + _UPSERT_ADD
        + "replies = replies + excluded.replies",
        (),
    ),
    (
        "INSERT INTO members (guild_id, user_id, first_message_at)"
        " SELECT guild_id, author_id, MIN(created_at) FROM activity_staging GROUP BY guild_id, author_id "
        + _UPSERT_ADD
        + "first_message_at = MIN(COALESCE(first_message_at, excluded.first_message_at),"
        " excluded.first_message_at)",
        (),
    ),
    (f"INSERT INTO activity_messages ({_COLS}) SELECT {_COLS} FROM activity_staging", ()),
    # A member's first reply received (bot/core/members.py): a reply by someone else within the window
    # after their first message (written above, so a first message and its reply may share a batch).
    # Mentions arrive as "mention" ops (`member_mentioned`); replies whose author Discord did not
    # resolve were looked up in the first statement.
    (
        "UPDATE members AS m SET first_reply_at = MIN(COALESCE(m.first_reply_at, r.t), r.t)"
        " FROM (SELECT s.guild_id AS g, s.reply_to_author_id AS u, MIN(s.created_at) AS t"
        "       FROM activity_staging s JOIN members mm"
        "         ON mm.guild_id = s.guild_id AND mm.user_id = s.reply_to_author_id"
        "       WHERE s.reply_to_author_id != s.author_id AND mm.first_message_at IS NOT NULL"
        "         AND s.created_at >= mm.first_message_at AND s.created_at < mm.first_message_at + ?"
        "       GROUP BY 1, 2) AS r"
        " WHERE m.guild_id = r.g AND m.user_id = r.u AND m.is_bot = 0",
        (REPLY_WINDOW,),
    ),
    # Replies in this batch answer earlier messages (or each other): keep the earliest reply time.
    (
        "UPDATE activity_messages AS m SET first_reply_at = MIN(COALESCE(m.first_reply_at, r.t), r.t)"
        " FROM (SELECT s.guild_id AS g, s.reply_to_message_id AS mid, MIN(s.created_at) AS t"
        "       FROM activity_staging s JOIN activity_messages q"
        "         ON q.guild_id = s.guild_id AND q.message_id = s.reply_to_message_id"
        "       WHERE s.author_id != q.author_id AND NOT EXISTS (SELECT 1 FROM activity_optouts o"
        "         WHERE o.guild_id = q.guild_id AND o.user_id = q.author_id)"
        "       GROUP BY s.guild_id, s.reply_to_message_id) AS r"
        " WHERE m.guild_id = r.g AND m.message_id = r.mid",
        (),
    ),
)


def _write_messages(db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Run in the connection's thread, inside the caller's transaction."""
    db.execute("DELETE FROM activity_staging")
    _stage(db, rows)
    db.execute(
        "DELETE FROM activity_staging AS s WHERE EXISTS (SELECT 1 FROM activity_messages m"
        " WHERE m.guild_id = s.guild_id AND m.message_id = s.message_id)"
    )
    cursor = db.execute("SELECT COUNT(*) FROM activity_staging")
    (count,) = cursor.fetchone() or (0,)
    cursor.close()
    if not count:
        return 0
    for sql, params in _BATCH_SQL:
        db.execute(sql, params)
    return int(count)


async def write_texts(conn: aiosqlite.Connection, rows: Sequence[tuple[int, int, int, str, int]]) -> None:
    """Keep message text for servers that opted in, until its expiry."""
    await conn.executemany(
        "INSERT OR IGNORE INTO activity_text (guild_id, message_id, author_id, text, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        rows,
    )


async def _scalar(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> Any:
    cursor = await conn.execute(sql, params)
    row = await cursor.fetchone()
    await cursor.close()
    return None if row is None else row[0]


def _bucket(compound: float) -> tuple[int, int]:
    return int(compound <= NEGATIVE), int(compound >= POSITIVE)


async def edit_message(
    conn: aiosqlite.Connection,
    guild_id: int,
    message_id: int,
    length: int,
    compound: float,
    lang: str,
    at: int,
) -> bool:
    """Record an edit: new length and sentiment (the day's sentiment counts follow), not a new message."""
    # An opted-out member's stored messages stay as they were until forgotten: their edits write nothing.
    cursor = await conn.execute(
        "SELECT channel_id, created_at, compound FROM activity_messages m WHERE guild_id = ? AND message_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM activity_optouts o WHERE o.guild_id = m.guild_id"
        " AND o.user_id = m.author_id)",
        (guild_id, message_id),
    )
    row = await cursor.fetchone()
    await cursor.close()
    if row is None:
        return False
    channel_id, created_at, old = row
    old_neg, old_pos = _bucket(old)
    new_neg, new_pos = _bucket(compound)
    if (old_neg, old_pos) != (new_neg, new_pos):
        await conn.execute(
            "UPDATE activity_daily_channel SET negative = negative + ?, positive = positive + ?"
            " WHERE guild_id = ? AND day = ? AND channel_id = ?",
            (new_neg - old_neg, new_pos - old_pos, guild_id, created_at // DAY, channel_id),
        )
    await conn.execute(
        "UPDATE activity_messages SET length = ?, compound = ?, lang = ?, edited_at = ?"
        " WHERE guild_id = ? AND message_id = ?",
        (length, compound, lang, at, guild_id, message_id),
    )
    return True


async def delete_message(conn: aiosqlite.Connection, guild_id: int, message_id: int) -> bool:
    """Remove a deleted message and take it out of every roll-up."""
    cursor = await conn.execute(
        "DELETE FROM activity_messages WHERE guild_id = ? AND message_id = ?"
        " RETURNING channel_id, author_id, created_at, compound, reply_to_author_id",
        (guild_id, message_id),
    )
    row = await cursor.fetchone()
    await cursor.close()
    if row is None:
        return False
    channel_id, author_id, created_at, compound, reply_to_author = row
    day, block = created_at // DAY, created_at // BLOCK
    still_in_block = await _scalar(
        conn,
        "SELECT 1 FROM activity_messages WHERE guild_id = ? AND author_id = ? AND created_at >= ? AND created_at < ?",
        (guild_id, author_id, block * BLOCK, (block + 1) * BLOCK),
    )
    neg, pos = _bucket(compound)
    await conn.execute(
        "UPDATE activity_daily_member SET messages = messages - 1, blocks = blocks - ?"
        " WHERE guild_id = ? AND day = ? AND user_id = ?",
        (0 if still_in_block else 1, guild_id, day, author_id),
    )
    await conn.execute(
        "UPDATE activity_daily_member_channel SET messages = messages - 1"
        " WHERE guild_id = ? AND day = ? AND channel_id = ? AND user_id = ?",
        (guild_id, day, channel_id, author_id),
    )
    await conn.execute(
        "UPDATE activity_daily_channel SET messages = messages - 1, negative = negative - ?, positive = positive - ?"
        " WHERE guild_id = ? AND day = ? AND channel_id = ?",
        (neg, pos, guild_id, day, channel_id),
    )
    await conn.execute(
        "UPDATE activity_hourly SET messages = messages - 1 WHERE guild_id = ? AND hour = ?",
        (guild_id, created_at // HOUR),
    )
    if reply_to_author is not None and reply_to_author != author_id:
        await conn.execute(
            "UPDATE activity_daily_reach SET replies = replies - 1"
            " WHERE guild_id = ? AND day = ? AND target_id = ? AND source_id = ?",
            (guild_id, day, reply_to_author, author_id),
        )
    cursor = await conn.execute(
        "DELETE FROM activity_reactions WHERE guild_id = ? AND message_id = ?"
        " RETURNING user_id, message_author_id, created_at",
        (guild_id, message_id),
    )
    reactions = await cursor.fetchall()
    await cursor.close()
    for user_id, target_id, at in reactions:
        await _reach_reaction(conn, guild_id, at, target_id, user_id, -1)
    await conn.execute(
        "DELETE FROM activity_text WHERE guild_id = ? AND message_id = ?", (guild_id, message_id)
    )
    await prune_empty(conn, guild_id)
    return True


async def prune_empty(conn: aiosqlite.Connection, guild_id: int) -> None:
    """Drop roll-up rows that fell to zero, so that 'a row' keeps meaning 'was active'."""
    await conn.execute("DELETE FROM activity_daily_member WHERE guild_id = ? AND messages <= 0", (guild_id,))
    await conn.execute(
        "DELETE FROM activity_daily_member_channel WHERE guild_id = ? AND messages <= 0", (guild_id,)
    )
    await conn.execute(
        "DELETE FROM activity_daily_reach WHERE guild_id = ? AND replies <= 0 AND reactions <= 0", (guild_id,)
    )


async def _reach_reaction(
    conn: aiosqlite.Connection, guild_id: int, at: int, target_id: int | None, source_id: int, delta: int
) -> None:
    if target_id is None or target_id == source_id:
        return
    await conn.execute(
        "INSERT INTO activity_daily_reach (guild_id, day, target_id, source_id, reactions) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT DO UPDATE SET reactions = reactions + excluded.reactions",
        (guild_id, at // DAY, target_id, source_id, delta),
    )


async def add_reaction(
    conn: aiosqlite.Connection,
    guild_id: int,
    channel_id: int,
    message_id: int,
    user_id: int,
    author_id: int | None,
    emoji: str,
    at: int,
) -> bool:
    """Store a reaction once; it adds to the message author's reach (never an opted-out author's)."""
    if author_id is None:
        author_id = await _scalar(
            conn,
            "SELECT author_id FROM activity_messages WHERE guild_id = ? AND message_id = ?",
            (guild_id, message_id),
        )
    if author_id is not None and await _scalar(
        conn, "SELECT 1 FROM activity_optouts WHERE guild_id = ? AND user_id = ?", (guild_id, author_id)
    ):
        author_id = None
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO activity_reactions"
        " (guild_id, message_id, user_id, emoji, channel_id, message_author_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (guild_id, message_id, user_id, emoji, channel_id, author_id, at),
    )
    added = cursor.rowcount > 0
    await cursor.close()
    if added:
        await _reach_reaction(conn, guild_id, at, author_id, user_id, 1)
    return added


async def remove_reaction(
    conn: aiosqlite.Connection, guild_id: int, message_id: int, user_id: int, emoji: str
) -> bool:
    """Take a reaction back out, and out of the author's reach."""
    cursor = await conn.execute(
        "DELETE FROM activity_reactions WHERE guild_id = ? AND message_id = ? AND user_id = ? AND emoji = ?"
        " RETURNING message_author_id, created_at",
        (guild_id, message_id, user_id, emoji),
    )
    row = await cursor.fetchone()
    await cursor.close()
    if row is None:
        return False
    await _reach_reaction(conn, guild_id, row[1], row[0], user_id, -1)
    await prune_empty(conn, guild_id)
    return True


async def member_joined(
    conn: aiosqlite.Connection, guild_id: int, user_id: int, at: int, is_bot: bool
) -> None:
    """Record a join (a return clears the earlier leave; the first join stays the anchor)."""
    await conn.execute(
        "INSERT OR IGNORE INTO member_events (guild_id, user_id, kind, at) VALUES (?, ?, 'join', ?)",
        (guild_id, user_id, at),
    )
    await conn.execute(
        "INSERT INTO members (guild_id, user_id, joined_at, first_joined_at, is_bot) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT DO UPDATE SET"
        " left_at = CASE WHEN excluded.joined_at >= COALESCE(joined_at, 0) THEN NULL ELSE left_at END,"
        " joined_at = MAX(COALESCE(joined_at, 0), excluded.joined_at),"
        " first_joined_at = MIN(COALESCE(first_joined_at, excluded.first_joined_at), excluded.first_joined_at),"
        " is_bot = excluded.is_bot",
        (guild_id, user_id, at, at, int(is_bot)),
    )


async def member_mentioned(
    conn: aiosqlite.Connection, guild_id: int, user_id: int, author_id: int, at: int
) -> None:
    """Another member mentioned this one: their first reply received, if within the window (see members.py)."""
    await conn.execute(
        "UPDATE members SET first_reply_at = MIN(COALESCE(first_reply_at, ?), ?)"
        " WHERE guild_id = ? AND user_id = ? AND user_id != ? AND is_bot = 0 AND first_message_at IS NOT NULL"
        " AND ? >= first_message_at AND ? < first_message_at + ?",
        (at, at, guild_id, user_id, author_id, at, at, REPLY_WINDOW),
    )


async def member_left(conn: aiosqlite.Connection, guild_id: int, user_id: int, at: int) -> None:
    """Record a leave."""
    await conn.execute(
        "INSERT OR IGNORE INTO member_events (guild_id, user_id, kind, at) VALUES (?, ?, 'leave', ?)",
        (guild_id, user_id, at),
    )
    await conn.execute(
        "INSERT INTO members (guild_id, user_id, left_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO UPDATE SET left_at = MAX(COALESCE(left_at, 0), excluded.left_at)",
        (guild_id, user_id, at),
    )


async def thread_created(
    conn: aiosqlite.Connection, guild_id: int, thread_id: int, channel_id: int, owner_id: int | None, at: int
) -> None:
    """Record a new thread."""
    await conn.execute(
        "INSERT OR IGNORE INTO activity_threads (guild_id, thread_id, channel_id, owner_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (guild_id, thread_id, channel_id, owner_id, at),
    )
