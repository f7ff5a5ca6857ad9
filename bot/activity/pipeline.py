"""The hot path: every member event becomes a buffered row, written in batches.

`handle_message` scores a message once (language, VADER compound), buffers its row and returns the
`MessageSignal` other features consume. Writes are batched: the buffer is written (in a background
task, so ingestion goes on while SQLite writes in the connection's thread) when it holds `batch_size`
events or when its oldest event is `max_delay` seconds old, whichever comes first. The size bound is
checked as events arrive, the time bound by a timer while anything is buffered: the first event into
an empty buffer calls `on_armed` (the activity cog starts a one-second loop that calls `flush_if_due()` and
stops once the buffer is empty), so a burst followed by silence is written within the bound and an
idle bot has no timer at all. `drain()` at shutdown writes everything left. A crash loses at most the
last bound's worth; a clean stop loses nothing. A batch that meets a locked database is kept, in
order, and retried at once by one background task (after the database's busy timeout), together with
what arrived meanwhile; the kept backlog is capped at `max_backlog` events (the oldest beyond it are
dropped, counted in `lost` and logged) so a database locked for hours cannot exhaust memory.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from bot.activity import rollups
from bot.core.clock import Clock, to_ts
from bot.core.db import Database
from bot.core.language import guess_language
from bot.core.members import answered_by
from bot.core.privacy import PrivacyRegistry
from bot.core.sentiment import polarity
from bot.core.settings import Settings, SettingSpec
from bot.core.signals import MessageSignal

log = logging.getLogger(__name__)

# Declared on the Settings service by bot/services.py (FEATURE_SETTINGS).
SETTINGS: tuple[SettingSpec, ...] = (
    # Days message text is kept for moderators' context; 0 keeps none. Never more than 30.
    SettingSpec("keep_text_days", "int", 0, minimum=0, maximum=30),
)

NEWCOMER_DAYS = 14
_NEWCOMER_SECONDS = NEWCOMER_DAYS * rollups.DAY
_QUESTION = re.compile(r"\?(?:\s|$)")

Scorer = Callable[[str, str], float]


class MessageEvent(NamedTuple):
    """A message as the pipeline receives it from the adapter (or an importer): plain values.

    A named tuple (immutable, and cheap to build positionally) because one is built per message.
    """

    guild_id: int
    channel_id: int
    author_id: int
    message_id: int
    created_at: datetime
    text: str
    thread_id: int | None = None
    reply_to_message_id: int | None = None
    reply_to_author_id: int | None = None
    mention_ids: tuple[int, ...] = ()
    attachment_count: int = 0
    is_bot: bool = False


def is_question(text: str) -> bool:
    """Tell whether a message asks something (a question mark ending a sentence)."""
    return "?" in text and _QUESTION.search(text) is not None  # the plain test first: most lines have no "?"


class ActivityPipeline:
    """Buffer member activity and write it in batches; keeps the small in-memory state the hot path needs."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        batch_size: int = 2_000,
        max_delay: float = 5.0,
        max_backlog: int = 100_000,
        scorer: Scorer = polarity,
        privacy: PrivacyRegistry | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        settings.declare(*SETTINGS)
        self._keep_days: dict[int, int] = {}  # keep_text_days per server, dropped when a setting changes
        settings.subscribe(self._setting_changed)
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.max_backlog = max_backlog
        self._score = scorer
        self._messages: list[tuple[Any, ...]] = []
        self._texts: list[tuple[int, int, int, str, int]] = []
        self._ops: list[tuple[str, tuple[Any, ...]]] = []
        # The privacy service's own set (one source for every feature), read here without a call.
        self.privacy = privacy or PrivacyRegistry(db, clock)
        self._optouts = self.privacy.optouts
        self.closed = False  # drained for shutdown: no event is taken (nor handed on) any more
        self._spoken: set[tuple[int, int]] = set()
        self._joined: dict[tuple[int, int], int] = {}
        self._write_lock = asyncio.Lock()
        self._background: set[asyncio.Task[int]] = set()
        self._deadline: datetime | None = None  # the oldest buffered event's time bound (injected clock)
        self._flush_spawned = False  # a background flush is on its way to take the buffer
        self._staging_ready = False
        self.on_text_kept: Callable[[dict[int, int]], Awaitable[None]] | None = None
        self.on_armed: Callable[[], None] | None = None  # the buffer went from empty to holding events
        self.lost = 0

    # ------------------------------------------------------------------ state

    def _setting_changed(self, guild_id: int, _key: str) -> None:
        self._keep_days.pop(guild_id, None)

    async def warm(self) -> None:
        """Load opt-outs, who has spoken and join times, so the hot path never reads the database."""
        await self.privacy.load()
        self.closed = False
        rows = await self._db.fetchall(
            "SELECT guild_id, user_id, COALESCE(first_joined_at, joined_at), first_message_at FROM members"
        )
        self._spoken = {(r[0], r[1]) for r in rows if r[3] is not None}
        # Newcomers are counted from their first join (bot/core/members.py), not a later return.
        self._joined = {(r[0], r[1]): r[2] for r in rows if r[2] is not None}

    @property
    def pending(self) -> int:
        """Count buffered events not yet written."""
        return len(self._messages) + len(self._ops)

    # ------------------------------------------------------------------ events

    async def handle_message(self, event: MessageEvent) -> MessageSignal | None:
        """Score a member's message and return its signal (None for bots, and once closed).

        The message is buffered only when its author is recorded; an opted-out author's message is
        still scored and handed on (`signal.recorded` False) because moderation still sees it.
        """
        # Runs for every message: plain locals and positional construction (see benchmarks/ingest.py).
        if event.is_bot or self.closed:
            return None
        guild_id = event.guild_id
        author_id = event.author_id
        key = (guild_id, author_id)
        text = event.text
        lang = guess_language(text)
        compound = self._score(text, lang)
        channel_id = event.channel_id
        thread_id = event.thread_id
        message_id = event.message_id
        reply_id = event.reply_to_message_id
        reply_author = event.reply_to_author_id
        created_at = event.created_at
        length = len(text)
        mentions = event.mention_ids
        attachments = event.attachment_count
        optouts = self._optouts
        if optouts and key in optouts:
            return MessageSignal(
                guild_id,
                channel_id,
                thread_id,
                author_id,
                message_id,
                created_at,
                length,
                lang,
                compound,
                reply_id,
                reply_author,
                mentions,
                attachments,
                False,
                False,
            )
        created = to_ts(created_at)
        first = key not in self._spoken
        if first:
            self._spoken.add(key)
        joined = self._joined.get(key)
        # The row in `rollups.MESSAGE_COLUMNS` order, built once; the writer binds it as is.
        self._messages.append(
            (
                guild_id,
                message_id,
                channel_id,
                thread_id,
                author_id,
                created,
                length,
                len(mentions),
                attachments,
                compound,
                lang,
                reply_id,
                # Replying to an opted-out member writes nothing about them (nor reach); the writer
                # also checks the ids it looks up from stored messages.
                None if optouts and (guild_id, reply_author) in optouts else reply_author,
                int(is_question(text)),
                1 if joined is not None and 0 <= created - joined < _NEWCOMER_SECONDS else 0,
            )
        )
        keep_days = self._keep_days.get(guild_id)
        if keep_days is None:
            keep_days = self._keep_days[guild_id] = int(await self._settings.get(guild_id, "keep_text_days"))
        if mentions:
            # A mention answers the members it names (a reply is matched in the batch, by its author).
            for target in answered_by(author_id, None, mentions):
                self._ops.append(("mention", (guild_id, target, author_id, created)))
        if keep_days and text:
            expires = created_at + timedelta(days=min(int(keep_days), 30))
            if expires > self._clock.now():
                self._texts.append((guild_id, message_id, author_id, text, to_ts(expires)))
        self._maybe_flush()
        return MessageSignal(
            guild_id,
            channel_id,
            thread_id,
            author_id,
            message_id,
            created_at,
            length,
            lang,
            compound,
            reply_id,
            reply_author,
            mentions,
            attachments,
            first,
            True,
        )

    def _op(self, kind: str, *args: Any) -> None:
        self._ops.append((kind, args))
        self._maybe_flush()

    async def handle_edit(self, guild_id: int, message_id: int, text: str, at: datetime) -> None:
        """Re-score an edited message; an edit is not a new message."""
        if self.closed:
            return
        lang = guess_language(text)
        self._op("edit", guild_id, message_id, len(text), self._score(text, lang), lang, to_ts(at))

    async def handle_delete(self, guild_id: int, message_ids: list[int]) -> None:
        """Take deleted messages out of the counts."""
        if self.closed:
            return
        for message_id in message_ids:
            self._op("delete", guild_id, message_id)

    async def handle_reaction(
        self,
        guild_id: int,
        channel_id: int,
        message_id: int,
        user_id: int,
        author_id: int | None,
        emoji: str,
        *,
        added: bool,
        is_bot: bool = False,
        at: datetime | None = None,
    ) -> None:
        """Record a reaction added or removed by a member (nothing about an opted-out author either)."""
        if is_bot or self.closed or (guild_id, user_id) in self._optouts:
            return
        if (guild_id, author_id) in self._optouts:
            author_id = None  # the writer looks the author up in SQL and checks the opt-out there too
        if added:
            when = to_ts(at or self._clock.now())
            self._op("react", guild_id, channel_id, message_id, user_id, author_id, emoji, when)
        else:
            self._op("unreact", guild_id, message_id, user_id, emoji)

    async def handle_join(self, guild_id: int, user_id: int, at: datetime, *, is_bot: bool = False) -> None:
        """Record a member joining (bots are kept apart from member metrics)."""
        if self.closed or (guild_id, user_id) in self._optouts:
            return
        if not is_bot:
            when = to_ts(at)
            self._joined[(guild_id, user_id)] = min(when, self._joined.get((guild_id, user_id), when))
        self._op("join", guild_id, user_id, to_ts(at), is_bot)

    async def handle_leave(self, guild_id: int, user_id: int, at: datetime) -> None:
        """Record a member leaving."""
        if self.closed or (guild_id, user_id) in self._optouts:
            return
        self._op("leave", guild_id, user_id, to_ts(at))

    async def handle_thread(
        self, guild_id: int, thread_id: int, channel_id: int, owner_id: int | None, at: datetime
    ) -> None:
        """Record a new thread (an opted-out owner is not named)."""
        if self.closed:
            return
        if (guild_id, owner_id) in self._optouts:
            owner_id = None
        self._op("thread", guild_id, thread_id, channel_id, owner_id, to_ts(at))

    # ------------------------------------------------------------------ writing

    def _maybe_flush(self) -> None:
        # Size bound here; the time bound starts with the first event into an empty buffer and is
        # checked by the timer (`flush_if_due`), not per event: reading the clock costs every message.
        if self._deadline is None:
            self._deadline = self._clock.now() + timedelta(seconds=self.max_delay)
            if self.on_armed is not None:
                self.on_armed()
        if len(self._messages) + len(self._ops) >= self.batch_size:
            self._spawn_flush()

    def flush_due(self) -> bool:
        """Tell whether buffered events have reached the time bound (the timer's question)."""
        return self._deadline is not None and self._clock.now() >= self._deadline

    async def flush_if_due(self) -> int:
        """Write the buffer if its time bound has passed (called by the timer); return events written."""
        if not self.flush_due():
            return 0
        return await self.flush()

    def _spawn_flush(self) -> None:
        if self._flush_spawned:
            return  # one is already on its way; it takes everything buffered by then
        self._flush_spawned = True
        task = asyncio.get_running_loop().create_task(self.flush())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _take(self) -> None:
        """The buffer is being taken for writing: its time bound ends with it."""
        self._flush_spawned = False
        self._deadline = None

    async def flush(self) -> int:
        """Write everything buffered in one transaction; return how many events were written."""
        async with self._write_lock:
            self._take()
            messages, self._messages = self._messages, []
            texts, self._texts = self._texts, []
            ops, self._ops = self._ops, []
            if not (messages or texts or ops):
                return 0
            try:
                await self._write(messages, texts, ops)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    self.lost += len(messages) + len(ops)
                    log.exception(
                        "activity batch of %d events could not be written", len(messages) + len(ops)
                    )
                    return 0
                # Locked or busy beyond the retries: keep the batch, in order, for the next attempt.
                log.warning("activity batch of %d events postponed: database busy", len(messages) + len(ops))
                self._messages[:0] = messages
                self._texts[:0] = texts
                self._ops[:0] = ops
                self._cap_backlog()
                # Retry it without waiting for another event (the burst may be over): one retry task
                # at a time, each attempt waiting out the database's busy timeout first.
                self._spawn_flush()
                return 0
            except Exception:
                # Keep the bot alive; the batch is lost (it could be the cause) and the loss is counted.
                self.lost += len(messages) + len(ops)
                log.exception("activity batch of %d events could not be written", len(messages) + len(ops))
                return 0
        if texts and self.on_text_kept is not None:
            earliest: dict[int, int] = {}
            for guild_id, _, _, _, expires in texts:
                earliest[guild_id] = min(expires, earliest.get(guild_id, expires))
            try:
                await self.on_text_kept(earliest)
            except Exception:
                log.exception("could not schedule the purge of kept message text")
        return len(messages) + len(ops)

    def _cap_backlog(self) -> None:
        """Bound what a long lock can pile up: drop the oldest events beyond `max_backlog`, and say so."""
        excess = len(self._messages) + len(self._ops) - self.max_backlog
        if excess <= 0:
            return
        dropped_messages = self._messages[: min(excess, len(self._messages))]
        del self._messages[: len(dropped_messages)]
        del self._ops[: excess - len(dropped_messages)]
        if dropped_messages:
            gone = {(row[0], row[1]) for row in dropped_messages}
            self._texts = [t for t in self._texts if (t[0], t[1]) not in gone]
        self.lost += excess
        log.error(
            "database locked too long: dropped the %d oldest activity events (backlog cap %d)",
            excess,
            self.max_backlog,
        )

    async def drain_background(self) -> None:
        """Wait for the batch writes already started in the background."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def drain(self) -> None:
        """Wait for background batch writes, then write what is left."""
        await self.drain_background()
        await self.flush()

    async def close(self) -> None:
        """Stop taking events, then drain (shutdown, before the database closes).

        From here on no event is buffered and no message is handed to the features, so none of
        them touches the database once it is closed.
        """
        self.closed = True
        await self.drain()

    async def _write(
        self,
        messages: list[tuple[Any, ...]],
        texts: list[tuple[int, int, int, str, int]],
        ops: list[tuple[str, tuple[Any, ...]]],
    ) -> None:
        async with self._db.transaction() as conn:
            # Created in every transaction until one commits: a rollback would take the table with it.
            if not self._staging_ready:
                await rollups.ensure_staging(conn)
            if messages:
                await rollups.write_messages(conn, messages)
            if texts:
                await rollups.write_texts(conn, texts)
            for kind, args in ops:
                await _OPS[kind](conn, *args)
        self._staging_ready = True

    async def purge_expired_text(self, guild_id: int | None = None) -> int:
        """Delete kept message text past its expiry (in one server, or all); return how many were deleted."""
        return await self._db.execute(
            "DELETE FROM activity_text WHERE expires_at <= ? AND (? IS NULL OR guild_id = ?)",
            (to_ts(self._clock.now()), guild_id, guild_id),
        )

    async def next_text_expiry(self, guild_id: int) -> int | None:
        """Return when the next kept text of a server expires (unix seconds), None if none is kept."""
        value = await self._db.fetchval(
            "SELECT MIN(expires_at) FROM activity_text WHERE guild_id = ?", (guild_id,)
        )
        return None if value is None else int(value)

    # ------------------------------------------------------------------ members' rights

    async def member_opted_out(self, guild_id: int, user_id: int) -> None:
        """Drop what is buffered about a member who just opted out (the privacy service calls this)."""
        self._drop_pending(guild_id, user_id)

    def _drop_pending(self, guild_id: int, user_id: int) -> None:
        self._messages = [m for m in self._messages if not (m[0] == guild_id and m[4] == user_id)]
        self._texts = [t for t in self._texts if not (t[0] == guild_id and t[2] == user_id)]
        self._ops = [op for op in self._ops if not _op_concerns(op, guild_id, user_id)]

    async def forget(self, guild_id: int, user_id: int) -> int:
        """Delete everything stored about a member (their opt-out choice stays); return rows deleted."""
        async with self._write_lock:
            self._drop_pending(guild_id, user_id)
            self._spoken.discard((guild_id, user_id))
            self._joined.pop((guild_id, user_id), None)
            deleted = 0
            async with self._db.transaction() as conn:
                for sql in _FORGET:
                    cursor = await conn.execute(sql, (guild_id, user_id))
                    deleted += max(cursor.rowcount, 0)
                    await cursor.close()
                # Others' replies to them stay, without pointing at them.
                await conn.execute(
                    "UPDATE activity_messages SET reply_to_author_id = NULL"
                    " WHERE guild_id = ? AND reply_to_author_id = ?",
                    (guild_id, user_id),
                )
                await conn.execute(
                    "UPDATE activity_reactions SET message_author_id = NULL"
                    " WHERE guild_id = ? AND message_author_id = ?",
                    (guild_id, user_id),
                )
            return deleted

    async def export(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Return everything stored about a member, as plain JSON-ready values."""
        await self.flush()
        tables = {
            "member": "SELECT first_joined_at, joined_at, left_at, first_message_at, first_reply_at FROM members"
            " WHERE guild_id = ? AND user_id = ?",
            "join_leave": "SELECT kind, at FROM member_events WHERE guild_id = ? AND user_id = ? ORDER BY at",
            "messages": "SELECT message_id, channel_id, thread_id, created_at, length, mention_count,"
            " attachment_count, compound, lang, reply_to_message_id, reply_to_author_id, is_question,"
            " first_reply_at, edited_at FROM activity_messages WHERE guild_id = ? AND author_id = ?"
            " ORDER BY created_at",
            "reactions": "SELECT message_id, channel_id, emoji, created_at FROM activity_reactions"
            " WHERE guild_id = ? AND user_id = ? ORDER BY created_at",
            "kept_text": "SELECT message_id, text, expires_at FROM activity_text WHERE guild_id = ? AND author_id = ?",
            "daily_activity": "SELECT day * 86400 AS day_start, messages, blocks FROM activity_daily_member"
            " WHERE guild_id = ? AND user_id = ? ORDER BY day",
        }
        result: dict[str, Any] = {}
        for name, sql in tables.items():
            rows = await self._db.fetchall(sql, (guild_id, user_id))
            result[name] = [dict(row) for row in rows]
        member = result["member"]
        result["member"] = member[0] if member else None
        return result


def _op_concerns(op: tuple[str, tuple[Any, ...]], guild_id: int, user_id: int) -> bool:
    kind, args = op
    if args[0] != guild_id:
        return False
    if kind in ("join", "leave"):
        return bool(args[1] == user_id)
    if kind == "react":
        return bool(args[3] == user_id)
    if kind == "mention":
        return user_id in (args[1], args[2])
    if kind == "unreact":
        return bool(args[2] == user_id)
    return False


_OPS: dict[str, Any] = {
    "edit": rollups.edit_message,
    "delete": rollups.delete_message,
    "react": rollups.add_reaction,
    "unreact": rollups.remove_reaction,
    "join": rollups.member_joined,
    "leave": rollups.member_left,
    "mention": rollups.member_mentioned,
    "thread": rollups.thread_created,
}

_FORGET = (
    "DELETE FROM activity_messages WHERE guild_id = ? AND author_id = ?",
    "DELETE FROM activity_reactions WHERE guild_id = ? AND user_id = ?",
    "DELETE FROM activity_text WHERE guild_id = ? AND author_id = ?",
    "DELETE FROM members WHERE guild_id = ? AND user_id = ?",
    "DELETE FROM member_events WHERE guild_id = ? AND user_id = ?",
    "DELETE FROM activity_daily_member WHERE guild_id = ? AND user_id = ?",
    "DELETE FROM activity_daily_member_channel WHERE guild_id = ? AND user_id = ?",
    "DELETE FROM activity_daily_reach WHERE guild_id = ? AND ? IN (target_id, source_id)",
    "UPDATE activity_threads SET owner_id = NULL WHERE guild_id = ? AND owner_id = ?",
)
