"""Onboarding state per member, raid detection, buddies, welcome variants, interests and the funnel.

Takes ids and plain values; the cog turns Discord events into calls here and renders the results.
Timed follow-ups (rules reminder, nudge, unanswered first message, batched welcome) are durable
scheduler jobs keyed by member, so a restart neither loses nor repeats them. A job may run again (a
retry after a Discord outage, a restart after a crash), so each handler asks here whether its step is
still *due*, posts, and only then *marks* the step done: a post that failed is tried again, and the
glue's record of the job's post keeps a second run from posting twice.

Every member message passes through `message_seen`; it reads no table: the few members it cares
about (newcomers still tracked, first messages still unanswered) are kept in memory, read from the
table the first time a server is seen and refreshed from it after each write that concerns them.

Member facts (first join, first message time, first reply received) are not kept here: `members`
owns them and the funnel is `bot.core.members`, the same as /stats funnel. Onboarding keeps its own
steps (welcome, rules, interests, reminders, the first message the welcome team follows up) and the
latest join, which drives raid detection and the follow-ups.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core import members as facts
from bot.core.clock import Clock, from_ts, to_ts
from bot.core.db import Database
from bot.core.errors import InvalidValue, NotFound
from bot.core.i18n import LANGUAGES
from bot.core.privacy import PrivacyRegistry
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings, SettingSpec
from bot.onboarding import templates

log = logging.getLogger(__name__)

# Declared on the Settings service by bot/services.py (FEATURE_SETTINGS).
SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("staff_channel", "channel"),
    SettingSpec("onboarding_dm", "bool", False),
    SettingSpec("rules_gate", "bool", False),
    SettingSpec("rules_reminder_hours", "int", 24, minimum=1, maximum=336),
    SettingSpec("first_reply_minutes", "int", 15, minimum=1, maximum=1440),
    SettingSpec("nudge_days", "int", 3, minimum=0, maximum=60),
    SettingSpec("nudge_dm", "bool", False),
    SettingSpec("buddy_role", "role"),
    SettingSpec("buddy_idle_days", "int", 3, minimum=1, maximum=60),
    SettingSpec("raid_joins_per_minute", "int", 10, minimum=2, maximum=1000),
)

RULES_REMINDER = "onboarding.rules_reminder"
NUDGE = "onboarding.nudge"
UNANSWERED = "onboarding.unanswered"
BATCH_WELCOME = "onboarding.batch_welcome"
JOB_KINDS = (RULES_REMINDER, NUDGE, UNANSWERED, BATCH_WELCOME)

# How long joins are collected before one batched welcome goes out during a raid.
BATCH_WINDOW = timedelta(seconds=60)
# First messages are tracked for this long after a join, answers for this long after the first message.
TRACKING = timedelta(days=facts.REPLY_WINDOW_DAYS)
MAX_INTERESTS = 25  # a Discord select menu holds at most 25 options
MAX_TEMPLATES = 10  # per language
# A volunteer's "last seen" is written at most this often (messages are a hot path).
SEEN_WRITE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class JoinPlan:
    """What to do for a member who just joined."""

    user_id: int
    batched: bool
    rules_gate: bool
    use_dm: bool


@dataclass(frozen=True)
class MessageOutcome:
    """What one message changed: a newcomer's first message, newcomers now answered."""

    first_message: bool
    answered: tuple[int, ...]


@dataclass(frozen=True)
class Interest:
    """One interest offered to newcomers, and the role it hands out."""

    id: int
    label: str
    role_id: int


@dataclass(frozen=True)
class PickResult:
    """The interest roles to add and remove after a member's choice."""

    add_role_ids: tuple[int, ...]
    remove_role_ids: tuple[int, ...]
    first_time: bool


@dataclass(frozen=True)
class WelcomeTemplate:
    """A manager-written welcome variant."""

    id: int
    lang: str
    body: str


@dataclass(frozen=True)
class FunnelStep:
    """One step of the funnel: how many members reached it."""

    key: str
    count: int
    of_joined: float | None
    of_previous: float | None


@dataclass(frozen=True)
class Funnel:
    """Onboarding conversion for members who joined in [since, until)."""

    since: datetime
    until: datetime
    steps: tuple[FunnelStep, ...]


FUNNEL_STEPS = ("joined", "accepted", "interests", "first_message", "replied", "week2")


@dataclass
class _Newcomer:
    """A tracked newcomer whose first message is still to come."""

    joined_at: int


@dataclass
class _Watched:
    """One server's members that a message may concern, kept in step with `onboarding_members`."""

    newcomers: dict[int, _Newcomer] = field(default_factory=dict)
    # Newcomers whose first message nobody answered yet: user id -> (its channel, its time).
    waiting: dict[int, tuple[int, int]] = field(default_factory=dict)

    def apply(self, user_id: int, row: Any, now: int) -> None:
        """Mirror one member's row, joined with their `members` facts (None: deleted)."""
        self.newcomers.pop(user_id, None)
        self.waiting.pop(user_id, None)
        if row is None:
            return
        first = row["first_message_id"] is not None
        if row["tracked"] and not first:
            self.newcomers[user_id] = _Newcomer(row["joined_at"])
        if first and row["first_reply_at"] is None and row["staff_pinged_at"] is None:
            # The activity side writes the first message's time in batches: until then, it is now.
            self.waiting[user_id] = (row["first_message_channel_id"], row["first_message_at"] or now)

    def prune(self, cutoff: int) -> None:
        """Drop members past the tracking window (silent newcomers would otherwise stay forever)."""
        for user_id in [u for u, n in self.newcomers.items() if n.joined_at <= cutoff]:
            del self.newcomers[user_id]
        for user_id in [u for u, (_, at) in self.waiting.items() if at <= cutoff]:
            del self.waiting[user_id]


# One member's onboarding row with the facts `members` owns (the mirror's source).
_MIRROR = (
    "SELECT o.user_id, o.joined_at, o.tracked, o.first_message_id, o.first_message_channel_id,"
    " o.staff_pinged_at, m.first_message_at, m.first_reply_at FROM onboarding_members o"
    " LEFT JOIN members m ON m.guild_id = o.guild_id AND m.user_id = o.user_id"
)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class OnboardingService:
    """Everything onboarding decides, over its own tables."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        scheduler: Scheduler,
        *,
        privacy: PrivacyRegistry | None = None,
    ) -> None:
        self._db = db
        self._privacy = privacy
        self._clock = clock
        self._settings = settings
        settings.declare(*SETTINGS)
        self._scheduler = scheduler
        self._seen_written: dict[tuple[int, int], datetime] = {}
        self._watched: dict[int, _Watched] = {}
        self._watch_lock = asyncio.Lock()

    def _now(self) -> int:
        return to_ts(self._clock.now())

    # ------------------------------------------------------------- in-memory mirror

    async def _watch(self, guild_id: int) -> _Watched:
        """Return the server's watched members, reading them from the table the first time."""
        watched = self._watched.get(guild_id)
        if watched is not None:
            return watched
        async with self._watch_lock:
            watched = self._watched.get(guild_id)
            if watched is None:
                watched = _Watched()
                cutoff = self._now() - int(TRACKING.total_seconds())
                rows = await self._db.fetchall(
                    _MIRROR + " WHERE o.guild_id = ? AND (o.joined_at > ? OR m.first_message_at > ?)",
                    (guild_id, cutoff, cutoff),
                )
                for row in rows:
                    watched.apply(row["user_id"], row, self._now())
                self._watched[guild_id] = watched
        return watched

    async def _refresh(self, guild_id: int, user_id: int) -> None:
        """Read one member's row again after a write that concerns them."""
        watched = await self._watch(guild_id)
        row = await self._db.fetchone(
            _MIRROR + " WHERE o.guild_id = ? AND o.user_id = ?", (guild_id, user_id)
        )
        watched.apply(user_id, row, self._now())

    # ------------------------------------------------------------------ joins

    async def member_joined(self, guild_id: int, user_id: int, *, pending: bool = False) -> JoinPlan:
        """Record a join, schedule its follow-ups, and say whether the welcome waits for a batch.

        A member who opted out (and left, and came back) is welcomed like anyone, but not followed:
        no tracking row, no nudge or reminder scheduled about them.
        """
        now = self._now()
        if self._privacy is not None and self._privacy.is_opted_out(guild_id, user_id):
            return JoinPlan(
                user_id=user_id,
                batched=False,
                rules_gate=bool(await self._settings.get(guild_id, "rules_gate")) and not pending,
                use_dm=bool(await self._settings.get(guild_id, "onboarding_dm")),
            )
        limit = int(await self._settings.get(guild_id, "raid_joins_per_minute"))
        recent = int(
            await self._db.fetchval(
                "SELECT COUNT(*) FROM onboarding_members WHERE guild_id = ? AND tracked = 1 AND joined_at > ?"
                " AND user_id != ?",
                (guild_id, now - 60, user_id),
            )
            or 0
        )
        batched = recent + 1 > limit
        await self._db.execute(
            "INSERT INTO onboarding_members(guild_id, user_id, joined_at, screening, welcome_pending)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(guild_id, user_id) DO UPDATE SET"
            " joined_at = excluded.joined_at, screening = excluded.screening,"
            " welcome_pending = excluded.welcome_pending, tracked = 1",
            (guild_id, user_id, now, int(pending), int(batched)),
        )
        await self._refresh(guild_id, user_id)
        self._watched[guild_id].prune(now - int(TRACKING.total_seconds()))
        gate = bool(await self._settings.get(guild_id, "rules_gate")) and not pending
        if gate and not await self._accepted(guild_id, user_id):
            hours = int(await self._settings.get(guild_id, "rules_reminder_hours"))
            await self._schedule(guild_id, RULES_REMINDER, timedelta(hours=hours), user_id)
        days = int(await self._settings.get(guild_id, "nudge_days"))
        if days > 0:
            await self._schedule(guild_id, NUDGE, timedelta(days=days), user_id)
        if batched:
            await self._scheduler.schedule(
                guild_id, BATCH_WELCOME, self._clock.now() + BATCH_WINDOW, {}, dedupe_key="batch"
            )
        use_dm = bool(await self._settings.get(guild_id, "onboarding_dm")) and not batched
        return JoinPlan(user_id, batched, gate, use_dm)

    async def _schedule(self, guild_id: int, kind: str, delay: timedelta, user_id: int, **extra: Any) -> None:
        await self._scheduler.schedule(
            guild_id, kind, self._clock.now() + delay, {"user_id": user_id, **extra}, dedupe_key=str(user_id)
        )

    async def _accepted(self, guild_id: int, user_id: int) -> bool:
        value = await self._db.fetchval(
            "SELECT accepted_at FROM onboarding_members WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return value is not None

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """Cancel the member's pending follow-ups; their funnel row stays for the statistics."""
        for kind in (RULES_REMINDER, NUDGE, UNANSWERED):
            await self._scheduler.cancel(guild_id, kind, str(user_id))
        await self._db.execute(
            "UPDATE onboarding_members SET welcome_pending = 0 WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )

    async def mark_welcomed(self, guild_id: int, user_id: int) -> None:
        """Remember that the member's welcome went out."""
        await self._db.execute(
            "UPDATE onboarding_members SET welcomed_at = ?, welcome_pending = 0 WHERE guild_id = ? AND user_id = ?",
            (self._now(), guild_id, user_id),
        )

    async def batch_pending(self, guild_id: int) -> list[int]:
        """Return the members held back during a raid and not welcomed yet, oldest join first."""
        rows = await self._db.fetchall(
            "SELECT user_id FROM onboarding_members WHERE guild_id = ? AND welcome_pending = 1"
            " ORDER BY joined_at, user_id",
            (guild_id,),
        )
        return [row["user_id"] for row in rows]

    async def mark_batch_welcomed(self, guild_id: int, user_ids: Sequence[int]) -> None:
        """Remember that the batched welcome naming these members went out."""
        now = self._now()
        async with self._db.transaction() as conn:
            for user_id in user_ids:
                await conn.execute(
                    "UPDATE onboarding_members SET welcome_pending = 0, welcomed_at = ?"
                    " WHERE guild_id = ? AND user_id = ? AND welcome_pending = 1",
                    (now, guild_id, user_id),
                )

    # ------------------------------------------------------------ rules gate

    async def accept_rules(self, guild_id: int, user_id: int) -> bool:
        """Record acceptance (or Discord's screening completed); True the first time."""
        now = self._now()
        await self._db.execute(
            "INSERT INTO onboarding_members(guild_id, user_id, joined_at, tracked) VALUES (?, ?, ?, 0)"
            " ON CONFLICT(guild_id, user_id) DO NOTHING",
            (guild_id, user_id, now),
        )
        changed = await self._db.execute(
            "UPDATE onboarding_members SET accepted_at = ? WHERE guild_id = ? AND user_id = ? AND accepted_at IS NULL",
            (now, guild_id, user_id),
        )
        await self._scheduler.cancel(guild_id, RULES_REMINDER, str(user_id))
        return changed > 0

    async def rules_reminder_due(self, guild_id: int, user_id: int) -> bool:
        """Tell whether the one rules reminder is still due (not accepted, not sent, not opted out)."""
        row = await self._db.fetchone(
            "SELECT 1 FROM onboarding_members WHERE guild_id = ? AND user_id = ?"
            " AND accepted_at IS NULL AND reminded_at IS NULL AND nudge_opt_out = 0",
            (guild_id, user_id),
        )
        return row is not None

    async def mark_reminded(self, guild_id: int, user_id: int) -> None:
        """Remember that the rules reminder went out (after the post, so a failed post is retried)."""
        await self._db.execute(
            "UPDATE onboarding_members SET reminded_at = ? WHERE guild_id = ? AND user_id = ?"
            " AND reminded_at IS NULL",
            (self._now(), guild_id, user_id),
        )

    # ----------------------------------------------------------------- nudge

    async def nudge_due(self, guild_id: int, user_id: int) -> bool:
        """Tell whether the one nudge is still due: the member is silent, not opted out, not nudged."""
        row = await self._db.fetchone(
            "SELECT 1 FROM onboarding_members WHERE guild_id = ? AND user_id = ?"
            " AND first_message_id IS NULL AND nudged_at IS NULL AND nudge_opt_out = 0",
            (guild_id, user_id),
        )
        return row is not None

    async def mark_nudged(self, guild_id: int, user_id: int) -> None:
        """Remember that the nudge went out (after the post, so a failed post is retried)."""
        await self._db.execute(
            "UPDATE onboarding_members SET nudged_at = ? WHERE guild_id = ? AND user_id = ? AND nudged_at IS NULL",
            (self._now(), guild_id, user_id),
        )

    async def opt_out(self, guild_id: int, user_id: int) -> None:
        """Stop nudges and reminders for this member."""
        await self._db.execute(
            "INSERT INTO onboarding_members(guild_id, user_id, joined_at, nudge_opt_out, tracked)"
            " VALUES (?, ?, ?, 1, 0)"
            " ON CONFLICT(guild_id, user_id) DO UPDATE SET nudge_opt_out = 1",
            (guild_id, user_id, self._now()),
        )
        for kind in (RULES_REMINDER, NUDGE):
            await self._scheduler.cancel(guild_id, kind, str(user_id))

    async def member_opted_out(self, guild_id: int, user_id: int) -> None:
        """Stop following a member who opted out: no more tracking, no nudge or staff ping about them.

        (The privacy service calls this; what is stored stays until they ask to be forgotten.)
        """
        watched = self._watched.get(guild_id)
        if watched is not None:
            watched.newcomers.pop(user_id, None)
            watched.waiting.pop(user_id, None)
        for kind in (NUDGE, UNANSWERED):
            await self._scheduler.cancel(guild_id, kind, str(user_id))

    # -------------------------------------------------------------- messages

    async def message_seen(
        self,
        guild_id: int,
        author_id: int,
        channel_id: int,
        message_id: int,
        *,
        reply_to_author_id: int | None = None,
        mention_ids: Sequence[int] = (),
        recorded: bool = True,
    ) -> MessageOutcome:
        """Track a newcomer's first message for the follow-ups, and answers to waiting newcomers.

        An author who opted out (`recorded` False, from the message signal) is not tracked: nothing
        is written about them and no staff ping is scheduled; their message may still answer others.
        """
        now = self._now()
        watched = await self._watch(guild_id)
        first = False
        newcomer = watched.newcomers.get(author_id) if recorded else None
        if not recorded and (author_id in watched.newcomers or author_id in watched.waiting):
            await self.member_opted_out(guild_id, author_id)  # opted out before this process started
        if newcomer is not None and newcomer.joined_at <= now - int(TRACKING.total_seconds()):
            del watched.newcomers[author_id]
            newcomer = None
        if newcomer is not None:
            first = await self._first_message(guild_id, author_id, channel_id, message_id)
            await self._refresh(guild_id, author_id)
        answered = await self._answers(
            watched, guild_id, author_id, channel_id, reply_to_author_id, mention_ids
        )
        return MessageOutcome(first, answered)

    async def _first_message(self, guild_id: int, user_id: int, channel_id: int, message_id: int) -> bool:
        changed = await self._db.execute(
            "UPDATE onboarding_members SET first_message_channel_id = ?, first_message_id = ?"
            " WHERE guild_id = ? AND user_id = ? AND first_message_id IS NULL",
            (channel_id, message_id, guild_id, user_id),
        )
        if not changed:
            return False
        await self._scheduler.cancel(guild_id, NUDGE, str(user_id))
        minutes = int(await self._settings.get(guild_id, "first_reply_minutes"))
        await self._schedule(
            guild_id,
            UNANSWERED,
            timedelta(minutes=minutes),
            user_id,
            channel_id=channel_id,
            message_id=message_id,
        )
        return True

    async def _answers(
        self,
        watched: _Watched,
        guild_id: int,
        author_id: int,
        channel_id: int,
        reply_to_author_id: int | None,
        mention_ids: Sequence[int],
    ) -> tuple[int, ...]:
        # "Answered" is the one rule of bot/core/members.py (a reply or a mention by someone else); the
        # time it happened is written to `members` by the activity pipeline, not here.
        if not watched.waiting:
            return ()
        cutoff = self._now() - int(TRACKING.total_seconds())
        targets = facts.answered_by(author_id, reply_to_author_id, mention_ids)
        answered: list[int] = []
        for user_id, (_, first_at) in sorted(watched.waiting.items(), key=lambda i: i[1][1]):
            if first_at <= cutoff:
                del watched.waiting[user_id]
            elif user_id in targets:
                del watched.waiting[user_id]  # before any await: a message arriving meanwhile won't claim it
                answered.append(user_id)
        for user_id in answered:
            await self._scheduler.cancel(guild_id, UNANSWERED, str(user_id))
        return tuple(answered)

    async def staff_ping_due(self, guild_id: int, user_id: int) -> bool:
        """Tell whether the staff ping is still due: the first message is unanswered, nobody was pinged."""
        row = await self._db.fetchone(
            "SELECT 1 FROM onboarding_members WHERE guild_id = ? AND user_id = ?"
            " AND first_message_id IS NOT NULL AND staff_pinged_at IS NULL AND NOT EXISTS (SELECT 1"
            " FROM members m WHERE m.guild_id = ? AND m.user_id = ? AND m.first_reply_at IS NOT NULL)",
            (guild_id, user_id, guild_id, user_id),
        )
        return row is not None

    async def mark_staff_pinged(self, guild_id: int, user_id: int) -> None:
        """Remember that the staff ping went out (after the post, so a failed post is retried)."""
        await self._db.execute(
            "UPDATE onboarding_members SET staff_pinged_at = ? WHERE guild_id = ? AND user_id = ?"
            " AND staff_pinged_at IS NULL",
            (self._now(), guild_id, user_id),
        )

    # ----------------------------------------------------------------- buddy

    async def volunteer_seen(self, guild_id: int, user_id: int) -> None:
        """Note that a welcome volunteer is around (written at most hourly per volunteer)."""
        now = self._clock.now()
        last = self._seen_written.get((guild_id, user_id))
        if last is not None and now - last < SEEN_WRITE_EVERY:
            return
        self._seen_written[(guild_id, user_id)] = now
        await self._db.execute(
            "INSERT INTO onboarding_volunteers_seen(guild_id, user_id, last_seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT(guild_id, user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            (guild_id, user_id, to_ts(now)),
        )

    async def assign_buddy(self, guild_id: int, user_id: int, volunteer_ids: Sequence[int]) -> int | None:
        """Pick the next volunteer round-robin, skipping those not seen for `buddy_idle_days`.

        A volunteer never seen since Hearth arrived is given the benefit of the doubt. A newcomer who
        opted out gets none (a pairing is a row about them).
        """
        if self._privacy is not None and self._privacy.is_opted_out(guild_id, user_id):
            return None
        idle_days = int(await self._settings.get(guild_id, "buddy_idle_days"))
        cutoff = self._now() - idle_days * 86400
        seen = {
            row["user_id"]: row["last_seen_at"]
            for row in await self._db.fetchall(
                "SELECT user_id, last_seen_at FROM onboarding_volunteers_seen WHERE guild_id = ?", (guild_id,)
            )
        }
        eligible = sorted(v for v in set(volunteer_ids) if v != user_id and seen.get(v, cutoff) >= cutoff)
        if not eligible:
            return None
        last = await self._db.fetchval(
            "SELECT value FROM onboarding_rotation WHERE guild_id = ? AND name = 'buddy'", (guild_id,)
        )
        after = [v for v in eligible if last is None or v > last]
        buddy = after[0] if after else eligible[0]
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO onboarding_rotation(guild_id, name, value) VALUES (?, 'buddy', ?)"
                " ON CONFLICT(guild_id, name) DO UPDATE SET value = excluded.value",
                (guild_id, buddy),
            )
            await conn.execute(
                "UPDATE onboarding_members SET buddy_id = ? WHERE guild_id = ? AND user_id = ?",
                (buddy, guild_id, user_id),
            )
        return buddy

    # ------------------------------------------------------------- templates

    async def templates(self, guild_id: int, lang: str | None = None) -> list[WelcomeTemplate]:
        """List the server's welcome variants, optionally for one language."""
        rows = await self._db.fetchall(
            "SELECT id, lang, body FROM onboarding_templates WHERE guild_id = ? AND (? IS NULL OR lang = ?)"
            " ORDER BY id",
            (guild_id, lang, lang),
        )
        return [WelcomeTemplate(row["id"], row["lang"], row["body"]) for row in rows]

    async def add_template(self, guild_id: int, lang: str, body: str) -> WelcomeTemplate:
        """Validate and store a new welcome variant."""
        if lang not in LANGUAGES:
            raise InvalidValue("errors.unknown_language", language=lang[:16])
        text = templates.validate(body)
        if len(await self.templates(guild_id, lang)) >= MAX_TEMPLATES:
            raise InvalidValue("onboarding.errors.too_many_templates", limit=MAX_TEMPLATES)
        template_id = await self._db.insert(
            "INSERT INTO onboarding_templates(guild_id, lang, body, created_at) VALUES (?, ?, ?, ?)",
            (guild_id, lang, text, self._now()),
        )
        return WelcomeTemplate(template_id, lang, text)

    async def edit_template(self, guild_id: int, template_id: int, body: str) -> WelcomeTemplate:
        """Validate and replace a welcome variant's text."""
        text = templates.validate(body)
        changed = await self._db.execute(
            "UPDATE onboarding_templates SET body = ? WHERE guild_id = ? AND id = ?",
            (text, guild_id, template_id),
        )
        if not changed:
            raise NotFound("onboarding.errors.no_template", variant=template_id)
        lang = await self._db.fetchval("SELECT lang FROM onboarding_templates WHERE id = ?", (template_id,))
        return WelcomeTemplate(template_id, str(lang), text)

    async def remove_template(self, guild_id: int, template_id: int) -> None:
        """Delete a welcome variant."""
        changed = await self._db.execute(
            "DELETE FROM onboarding_templates WHERE guild_id = ? AND id = ?", (guild_id, template_id)
        )
        if not changed:
            raise NotFound("onboarding.errors.no_template", variant=template_id)

    async def template(self, guild_id: int, template_id: int) -> WelcomeTemplate:
        """Return one of the server's variants."""
        row = await self._db.fetchone(
            "SELECT id, lang, body FROM onboarding_templates WHERE guild_id = ? AND id = ?",
            (guild_id, template_id),
        )
        if row is None:
            raise NotFound("onboarding.errors.no_template", variant=template_id)
        return WelcomeTemplate(row["id"], row["lang"], row["body"])

    async def next_variant(self, guild_id: int, lang: str, defaults: Sequence[str]) -> str:
        """Return the next welcome text in rotation: the server's own variants, else `defaults`."""
        bodies = [t.body for t in await self.templates(guild_id, lang)] or list(defaults)
        if not bodies:
            raise LookupError(f"no welcome text for {lang}")
        name = f"welcome:{lang}"
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT value FROM onboarding_rotation WHERE guild_id = ? AND name = ?", (guild_id, name)
            )
            row = await cursor.fetchone()
            await cursor.close()
            index = 0 if row is None else int(row[0]) + 1
            await conn.execute(
                "INSERT INTO onboarding_rotation(guild_id, name, value) VALUES (?, ?, ?)"
                " ON CONFLICT(guild_id, name) DO UPDATE SET value = excluded.value",
                (guild_id, name, index),
            )
        return bodies[index % len(bodies)]

    # ------------------------------------------------------------- interests

    async def interests(self, guild_id: int) -> list[Interest]:
        """List the interests offered, in the order they were added."""
        rows = await self._db.fetchall(
            "SELECT id, label, role_id FROM onboarding_interests WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [Interest(row["id"], row["label"], row["role_id"]) for row in rows]

    async def add_interest(self, guild_id: int, label: str, role_id: int) -> Interest:
        """Offer a new interest mapped to a role."""
        label = label.strip()
        if not label or len(label) > 100:
            raise InvalidValue("onboarding.errors.bad_label")
        current = await self.interests(guild_id)
        if len(current) >= MAX_INTERESTS:
            raise InvalidValue("onboarding.errors.too_many_interests", limit=MAX_INTERESTS)
        if any(i.label.casefold() == label.casefold() for i in current):
            raise InvalidValue("onboarding.errors.duplicate_interest", label=label)
        interest_id = await self._db.insert(
            "INSERT INTO onboarding_interests(guild_id, label, role_id) VALUES (?, ?, ?)",
            (guild_id, label, role_id),
        )
        return Interest(interest_id, label, role_id)

    async def remove_interest(self, guild_id: int, label: str) -> Interest:
        """Stop offering an interest (members keep the role; their pick is forgotten)."""
        for interest in await self.interests(guild_id):
            if interest.label.casefold() == label.strip().casefold():
                await self._db.execute("DELETE FROM onboarding_interests WHERE id = ?", (interest.id,))
                return interest
        raise NotFound("onboarding.errors.no_interest", label=label[:100])

    async def picks(self, guild_id: int, user_id: int) -> list[Interest]:
        """Return the interests a member picked."""
        rows = await self._db.fetchall(
            "SELECT i.id, i.label, i.role_id FROM onboarding_picks p JOIN onboarding_interests i"
            " ON i.id = p.interest_id WHERE p.guild_id = ? AND p.user_id = ? ORDER BY i.id",
            (guild_id, user_id),
        )
        return [Interest(row["id"], row["label"], row["role_id"]) for row in rows]

    async def set_picks(self, guild_id: int, user_id: int, interest_ids: Sequence[int]) -> PickResult:
        """Replace a member's picks; return the roles to add and remove."""
        offered = {i.id: i for i in await self.interests(guild_id)}
        chosen = {i for i in interest_ids if i in offered}
        before = {i.id for i in await self.picks(guild_id, user_id)}
        now = self._now()
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO onboarding_members(guild_id, user_id, joined_at, tracked) VALUES (?, ?, ?, 0)"
                " ON CONFLICT(guild_id, user_id) DO NOTHING",
                (guild_id, user_id, now),
            )
            await conn.execute(
                "DELETE FROM onboarding_picks WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
            )
            await conn.executemany(
                "INSERT INTO onboarding_picks(guild_id, user_id, interest_id, picked_at) VALUES (?, ?, ?, ?)",
                [(guild_id, user_id, i, now) for i in sorted(chosen)],
            )
            cursor = await conn.execute(
                "UPDATE onboarding_members SET interests_at = ? WHERE guild_id = ? AND user_id = ?"
                " AND interests_at IS NULL",
                (now if chosen else None, guild_id, user_id),
            )
            first = cursor.rowcount > 0 and bool(chosen)
            await cursor.close()
        keep = {offered[i].role_id for i in chosen}
        add = tuple(sorted(offered[i].role_id for i in chosen - before))
        remove = tuple(sorted(offered[i].role_id for i in before - chosen if offered[i].role_id not in keep))
        return PickResult(add, remove, first)

    # ---------------------------------------------------------------- funnel

    async def funnel(self, guild_id: int, since: datetime, until: datetime) -> Funnel:
        """Count members whose first join is in [since, until) at each onboarding step.

        Joined, first message, got an answer and back in week 2 are `bot.core.members` (the same
        newcomers and rules as /stats funnel); rules and interests are onboarding's own steps for
        those newcomers.
        """
        newcomers = await facts.newcomers(self._db, guild_id, to_ts(since), to_ts(until))
        ids = {n.user_id for n in newcomers}
        rows = await self._db.fetchall(
            "SELECT user_id, accepted_at IS NOT NULL, interests_at IS NOT NULL FROM onboarding_members"
            " WHERE guild_id = ?",
            (guild_id,),
        )
        accepted = sum(1 for row in rows if row[0] in ids and row[1])
        interests = sum(1 for row in rows if row[0] in ids and row[2])
        counts = facts.count(newcomers, self._now() // facts.DAY)
        values = {
            "joined": counts.joined,
            "accepted": accepted,
            "interests": interests,
            "first_message": counts.spoke,
            "replied": counts.got_reply,
            "week2": counts.returned_week2,
        }
        steps = []
        for index, key in enumerate(FUNNEL_STEPS):
            previous = values[FUNNEL_STEPS[index - 1]] if index else values["joined"]
            steps.append(
                FunnelStep(
                    key, values[key], _ratio(values[key], values["joined"]), _ratio(values[key], previous)
                )
            )
        return Funnel(since, until, tuple(steps))

    # --------------------------------------------------------------- privacy

    async def export(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Return everything onboarding stores about a member."""
        row = await self._db.fetchone(
            "SELECT * FROM onboarding_members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        state = dict(row) if row is not None else None
        if state is not None:
            for key, value in state.items():
                if key.endswith("_at") and value is not None:
                    state[key] = from_ts(value).isoformat()
        return {"state": state, "interests": [p.label for p in await self.picks(guild_id, user_id)]}

    async def forget(self, guild_id: int, user_id: int) -> int:
        """Delete everything onboarding stores about a member; return the rows deleted."""
        async with self._db.transaction() as conn:
            deleted = 0
            for statement in (
                "DELETE FROM onboarding_picks WHERE guild_id = ? AND user_id = ?",
                "DELETE FROM onboarding_members WHERE guild_id = ? AND user_id = ?",
                "DELETE FROM onboarding_volunteers_seen WHERE guild_id = ? AND user_id = ?",
            ):
                cursor = await conn.execute(statement, (guild_id, user_id))
                deleted += cursor.rowcount
                await cursor.close()
        watched = self._watched.get(guild_id)
        if watched is not None:
            watched.apply(user_id, None, self._now())
        for kind in (RULES_REMINDER, NUDGE, UNANSWERED):
            await self._scheduler.cancel(guild_id, kind, str(user_id))
        return deleted
