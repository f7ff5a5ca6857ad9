"""Conflict flags for moderators: score each message, track conversation heat, store and learn.

Flag to humans, with context; never act alone. `FlagService.observe` takes one message (ids, the
text, the sentiment already computed) and returns a flag to post when a conversation heats up.
Moderators' verdicts (Handled, False positive) move the server's heat threshold and teach it
words that are banter there (allow-list), then the excerpts are deleted.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from bot.conflict.context import ChatMessage, context_signals
from bot.conflict.heat import EXCERPT_CHARS, FlagState, HeatResult, HeatTracker, Observation, Reason
from bot.conflict.scoring import DATA_DIR, HostilityModel, Lexicon, default_model, load_lexicon, score_message
from bot.core.clock import Clock, from_ts, to_ts
from bot.core.db import Database
from bot.core.errors import InvalidValue, NotFound, UserError
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings, SettingSpec, parse_channel_ids

log = logging.getLogger(__name__)

# Declared on the Settings service by bot/services.py (FEATURE_SETTINGS).
SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("conflict_enabled", "bool", True),
    # Conversation heat needed to flag: ~1.5 is two clearly hostile messages between members.
    SettingSpec("conflict_threshold", "float", 1.5, minimum=0.5, maximum=6.0),
    # 1 (only blatant hostility counts) .. 5 (milder hostility counts too); 3 is the model's own.
    SettingSpec("conflict_sensitivity", "int", 3, minimum=1, maximum=5),
    # Channel ids, validated when saved (a stored id Hearth can no longer read falls back to none).
    SettingSpec("conflict_excluded_channels", "channels", "", max_length=2000),
    SettingSpec("calm_note", "text", "", max_length=1000),
    # Slow mode set with a calm-down note, only when a moderator presses the button; 0 = never.
    SettingSpec("calm_slowmode_minutes", "int", 0, minimum=0, maximum=360),
)

Status = Literal["open", "acknowledged", "handled", "false_positive"]
OPEN_STATUSES = ("open", "acknowledged")
PURGE_KIND = "conflict.purge"
PURGE_AFTER = timedelta(days=7)
CONTEXT_MESSAGES = 6
# A second-person message with no reply or mention is read against the conversation of this span.
ADDRESS_SECONDS = 120
SENSITIVITY_OFFSETS = {1: 0.25, 2: 0.12, 3: 0.0, 4: -0.08, 5: -0.15}
FALSE_POSITIVE_STEP = 0.25
HANDLED_STEP = 0.1
MIN_OFFSET, MAX_OFFSET = -0.5, 2.0
ALLOW_MIN_FALSE_POSITIVES = 2
# Only everyday insults and swearing can become banter; slurs, threats and hate never do.
_LEARNABLE = frozenset({"insult", "profanity"})
_NEVER_LEARN = frozenset({"slur", "threat", "dehum", "hate", "identity", "you", "negator"})
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


class IncomingMessage(NamedTuple):
    """One member message as the flagger needs it (the text stays in memory only, truncated).

    A named tuple: one is built for every member message, and it is cheaper than a frozen dataclass.
    """

    guild_id: int
    channel_id: int
    thread_id: int | None
    message_id: int
    author_id: int
    created_at: datetime
    text: str
    lang: str | None = None
    compound: float | None = None
    reply_to_author_id: int | None = None
    reply_to_message_id: int | None = None
    mention_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A server's conflict settings plus what it learned."""

    enabled: bool
    message_threshold: float
    heat_threshold: float
    base_threshold: float
    offset: float
    sensitivity: int
    excluded: frozenset[int]
    allow_terms: frozenset[str]


@dataclass(frozen=True)
class Excerpt:
    """One stored excerpt: the message that drove the score, truncated."""

    message_id: int
    channel_id: int
    author_id: int
    text: str
    score: float
    created_at: datetime


@dataclass(frozen=True)
class Flag:
    """A flagged conversation."""

    id: int
    guild_id: int
    channel_id: int
    thread_id: int | None
    status: Status
    score: float
    threshold: float
    reasons: tuple[Reason, ...]
    members: tuple[int, ...]
    escalations: int
    calm_notes: int
    post_channel_id: int | None
    post_message_id: int | None
    created_at: datetime
    acked_at: datetime | None
    acked_by: int | None
    closed_at: datetime | None
    closed_by: int | None

    @property
    def is_open(self) -> bool:
        """Tell whether moderators still have to close it."""
        return self.status in OPEN_STATUSES

    @property
    def where_id(self) -> int:
        """Return the thread id, or the channel id."""
        return self.thread_id or self.channel_id


@dataclass(frozen=True)
class FlagOutcome:
    """A flag to post: new, or an escalation of an open one."""

    flag: Flag
    excerpts: tuple[Excerpt, ...]
    escalated: bool


@dataclass(frozen=True)
class FlagStats:
    """Flags over a period, and moderators' verdicts on them."""

    total: int
    open: int
    acknowledged: int
    handled: int
    false_positive: int
    escalations: int
    precision: float | None
    mean_ack_seconds: float | None
    heat_threshold: float
    offset: float
    allow_terms: tuple[str, ...]


def strip_terms(text: str, terms: Iterable[str]) -> str:
    """Remove allow-listed words (and their plural) from text before scoring it."""
    if not terms:
        return text
    return _terms_pattern(frozenset(terms)).sub(" ", text)


@lru_cache(maxsize=64)
def _terms_pattern(terms: frozenset[str]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternation})s?(?![\w'])", re.IGNORECASE)


@lru_cache(maxsize=1)
def second_person_pattern() -> re.Pattern[str]:
    """One pattern for both lexicons' second-person words (`you:`): a cheap test run on every message."""
    words = _lexicon("en").words("you") | _lexicon("fr").words("you")
    words |= {w.replace("'", "\u2019") for w in words if "'" in w}
    # Longest first; a word ending in an apostrophe (t') is glued to the next one ("t'es").
    alternatives = "|".join(
        re.escape(w) + ("" if w[-1] in "'\u2019" else r"(?![^\W_])")
        for w in sorted(words, key=len, reverse=True)
    )
    return re.compile(rf"(?<![^\W_'\u2019])(?:{alternatives})", re.IGNORECASE)


@lru_cache(maxsize=2)
def _lexicon(lang: str) -> Lexicon:
    return load_lexicon(DATA_DIR / f"lexicon_{lang}.txt")


def learnable_terms(text: str) -> set[str]:
    """Return the everyday insult/swear words of an excerpt (the only words learning looks at)."""
    found = set()
    for word in _WORD_RE.findall(text.lower()):
        for lang in ("en", "fr"):
            categories = _lexicon(lang).categories(word)
            if categories & _LEARNABLE and not categories & _NEVER_LEARN:
                found.add(word)
                break
    return found


def _flag(row: Any, members: Sequence[int]) -> Flag:
    return Flag(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        thread_id=row["thread_id"],
        status=row["status"],
        score=row["score"],
        threshold=row["threshold"],
        reasons=tuple(Reason.from_json(r) for r in json.loads(row["reasons"])),
        members=tuple(members),
        escalations=row["escalations"],
        calm_notes=row["calm_notes"],
        post_channel_id=row["post_channel_id"],
        post_message_id=row["post_message_id"],
        created_at=from_ts(row["created_at"]),
        acked_at=from_ts(row["acked_at"]) if row["acked_at"] is not None else None,
        acked_by=row["acked_by"],
        closed_at=from_ts(row["closed_at"]) if row["closed_at"] is not None else None,
        closed_by=row["closed_by"],
    )


class FlagService:
    """Score messages, keep conversation heat, store flags, learn from moderators."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        scheduler: Scheduler | None = None,
        tracker: HeatTracker | None = None,
        model: HostilityModel | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        settings.declare(*SETTINGS)
        self._scheduler = scheduler
        self.tracker = tracker or HeatTracker()
        self._model = model
        self._learned: dict[int, tuple[float, frozenset[str]]] = {}
        # The hot path reads the policy from here; any settings change or verdict drops the server's entry.
        self._policies: dict[int, Policy] = {}
        settings.subscribe(self._setting_changed)

    async def load(self) -> int:
        """Restore the conversations still cooling down after a flag (at start); return how many."""
        now = to_ts(self._clock.now())
        since = now - int(self.tracker.cooldown_seconds)
        await self._db.execute("DELETE FROM conflict_heat WHERE flagged_at <= ?", (since,))
        rows = await self._db.fetchall(
            "SELECT guild_id, conversation_id, flagged_at, flagged_heat FROM conflict_heat ORDER BY flagged_at"
        )
        for row in rows:
            self.tracker.restore(
                (row["guild_id"], row["conversation_id"]), FlagState(row["flagged_at"], row["flagged_heat"])
            )
        return len(rows)

    # ------------------------------------------------------------------ policy

    def _setting_changed(self, guild_id: int, key: str) -> None:
        self._policies.pop(guild_id, None)

    async def _learned_for(self, guild_id: int) -> tuple[float, frozenset[str]]:
        cached = self._learned.get(guild_id)
        if cached is not None:
            return cached
        offset = await self._db.fetchval(
            "SELECT threshold_offset FROM conflict_adaptation WHERE guild_id = ?", (guild_id,)
        )
        rows = await self._db.fetchall(
            "SELECT term FROM conflict_terms WHERE guild_id = ? AND false_positives >= ? AND handled = 0",
            (guild_id, ALLOW_MIN_FALSE_POSITIVES),
        )
        learned = (float(offset or 0.0), frozenset(row["term"] for row in rows))
        self._learned[guild_id] = learned
        return learned

    async def policy(self, guild_id: int) -> Policy:
        """Return the server's settings and learning as one value (cached until either changes)."""
        cached = self._policies.get(guild_id)
        if cached is not None:
            return cached
        values = await self._settings.all(guild_id)
        offset, terms = await self._learned_for(guild_id)
        model = self._model or default_model()
        sensitivity = int(values["conflict_sensitivity"])
        base = float(values["conflict_threshold"])
        message_threshold = min(0.95, max(0.05, model.threshold + SENSITIVITY_OFFSETS.get(sensitivity, 0.0)))
        policy = Policy(
            enabled=bool(values["conflict_enabled"]),
            message_threshold=message_threshold,
            heat_threshold=round(base + offset, 4),
            base_threshold=base,
            offset=offset,
            sensitivity=sensitivity,
            excluded=parse_channel_ids(str(values["conflict_excluded_channels"])),
            allow_terms=terms,
        )
        self._policies[guild_id] = policy
        return policy

    async def set_excluded(self, guild_id: int, channel_id: int, excluded: bool) -> frozenset[int]:
        """Exclude a channel from flagging, or include it again; return the excluded set."""
        current = (await self.policy(guild_id)).excluded
        updated = current | {channel_id} if excluded else current - {channel_id}
        await self._settings.set(
            guild_id, "conflict_excluded_channels", ",".join(str(c) for c in sorted(updated))
        )
        self.tracker.forget((guild_id, channel_id))
        return updated

    # ------------------------------------------------------------------ hot path

    def seen(self, message: IncomingMessage) -> bool:
        """Tell whether this message was already observed."""
        return self.tracker.seen(self._key(message), message.message_id)

    @staticmethod
    def _key(message: IncomingMessage) -> tuple[int, int]:
        return (message.guild_id, message.thread_id or message.channel_id)

    async def observe(self, message: IncomingMessage) -> FlagOutcome | None:
        """Score one message in its conversation; return a flag to post, or None."""
        if self.seen(message):
            return None
        policy = await self.policy(message.guild_id)
        if not policy.enabled or {message.channel_id, message.thread_id} & policy.excluded:
            return None
        observation = self._score(message, policy)
        result = self.tracker.observe(self._key(message), observation, policy.heat_threshold)
        if result.decision == "none":
            return None
        return await self._record(message, result)

    def _score(self, message: IncomingMessage, policy: Policy) -> Observation:
        now = to_ts(message.created_at)
        key = self._key(message)
        targets = tuple(
            sorted(
                {
                    t
                    for t in (message.reply_to_author_id, *message.mention_ids)
                    if t and t != message.author_id
                }
            )
        )
        lang = message.lang if message.lang in ("en", "fr") else None
        if not targets and second_person_pattern().search(message.text) is not None:
            # "you…" / "t'es…" without a reply or a mention: aimed at whom it most likely answers.
            addressee = self.tracker.addressee(key, message.author_id, now - ADDRESS_SECONDS)
            if addressee is not None:
                targets = (addressee,)
        # Heat counts only messages aimed at someone: one aimed at no one stays in the window as
        # context for later ones, unscored (scoring is the dearest step, and most lines in a channel
        # answer no one in particular).
        score, hostile, kinds = (
            self._hostility(message, policy, key, now, lang) if targets else (0.0, False, ())
        )
        return Observation(
            message.message_id,
            message.author_id,
            targets,
            now,
            score,
            hostile,
            kinds,
            message.text[:EXCERPT_CHARS],
            message.thread_id or message.channel_id,
            lang or "en",
        )

    def _hostility(
        self, message: IncomingMessage, policy: Policy, key: tuple[int, int], now: int, lang: str | None
    ) -> tuple[float, bool, tuple[str, ...]]:
        """Score a message aimed at someone in its conversation: (score, flagged, reasons)."""
        text = strip_terms(message.text, policy.allow_terms)
        # The sentiment was computed on the full text; recompute it once a banter word is removed.
        compound = message.compound if text == message.text else None
        earlier = self.tracker.recent(key, now)[-CONTEXT_MESSAGES:]
        allow = policy.allow_terms
        chat = [ChatMessage(str(o.author_id), strip_terms(o.text, allow), None, o.lang) for o in earlier]
        reply_index = next(
            (i for i, o in enumerate(earlier) if o.message_id == message.reply_to_message_id), None
        )
        chat.append(ChatMessage(str(message.author_id), text, reply_to=reply_index))
        signals, _ = context_signals(chat, len(chat) - 1, lang or "en")
        if not signals.reply_to_other:
            signals = type(signals)(True, signals.self_prev, signals.other_prev, signals.swear_habit)
        scored = score_message(
            text,
            lang=lang,
            compound=compound,
            addressed=True,
            context=signals,
            model=self._model,
            threshold=policy.message_threshold,
        )
        return scored.score, scored.flag, scored.reasons

    async def _record(self, message: IncomingMessage, result: HeatResult) -> FlagOutcome:
        now = to_ts(self._clock.now())
        reasons = json.dumps([r.to_json() for r in result.reasons])
        state = self.tracker.flag_state(self._key(message))
        assert state is not None  # the tracker recorded the flag it just decided
        existing = None
        if result.decision == "escalate":
            existing = await self._db.fetchval(
                "SELECT id FROM conflict_flags WHERE guild_id = ? AND channel_id = ? AND thread_id IS ?"
                " AND status IN ('open', 'acknowledged') ORDER BY id DESC LIMIT 1",
                (message.guild_id, message.channel_id, message.thread_id),
            )
        async with self._db.transaction() as conn:
            if existing is not None:
                flag_id = int(existing)
                await conn.execute(
                    "UPDATE conflict_flags SET score = ?, threshold = ?, reasons = ?,"
                    " escalations = escalations + 1, updated_at = ? WHERE id = ?",
                    (result.heat, result.threshold, reasons, now, flag_id),
                )
                await conn.execute("DELETE FROM conflict_excerpts WHERE flag_id = ?", (flag_id,))
            else:
                cursor = await conn.execute(
                    "INSERT INTO conflict_flags(guild_id, channel_id, thread_id, score, threshold, reasons,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        message.guild_id,
                        message.channel_id,
                        message.thread_id,
                        result.heat,
                        result.threshold,
                        reasons,
                        now,
                        now,
                    ),
                )
                flag_id = int(cursor.lastrowid or 0)
                await cursor.close()
            # What decides the next flag (cooldown, escalation baseline) must survive a restart.
            await conn.execute(
                "INSERT INTO conflict_heat(guild_id, conversation_id, flagged_at, flagged_heat, flag_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(guild_id, conversation_id) DO UPDATE SET"
                " flagged_at = excluded.flagged_at, flagged_heat = excluded.flagged_heat,"
                " flag_id = excluded.flag_id",
                (*self._key(message), round(state.flagged_at), state.heat, flag_id),
            )
            await conn.executemany(
                "INSERT OR IGNORE INTO conflict_flag_members(flag_id, guild_id, user_id) VALUES (?, ?, ?)",
                [(flag_id, message.guild_id, member) for member in result.members],
            )
            await conn.executemany(
                "INSERT INTO conflict_excerpts(flag_id, guild_id, channel_id, message_id, author_id, text,"
                " score, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        flag_id,
                        message.guild_id,
                        o.channel_id,
                        o.message_id,
                        o.author_id,
                        o.text[:EXCERPT_CHARS],
                        o.score,
                        int(o.at),
                    )
                    for o in result.evidence
                ],
            )
        if existing is None and self._scheduler is not None:
            await self._scheduler.schedule(
                message.guild_id,
                PURGE_KIND,
                self._clock.now() + PURGE_AFTER,
                {"flag_id": flag_id},
                dedupe_key=f"flag:{flag_id}",
            )
        log.info(
            "conflict flag %d in guild %s (%s, heat %.2f)",
            flag_id,
            message.guild_id,
            result.decision,
            result.heat,
        )
        flag = await self.get(message.guild_id, flag_id)
        return FlagOutcome(flag, tuple(await self.excerpts(flag_id)), escalated=existing is not None)

    # ------------------------------------------------------------------ reading

    async def get(self, guild_id: int, flag_id: int) -> Flag:
        """Return one of the server's flags."""
        row = await self._db.fetchone(
            "SELECT * FROM conflict_flags WHERE id = ? AND guild_id = ?", (flag_id, guild_id)
        )
        if row is None:
            raise NotFound("conflict.errors.no_flag", flag=flag_id)
        members = await self._db.fetchall(
            "SELECT user_id FROM conflict_flag_members WHERE flag_id = ? ORDER BY user_id", (flag_id,)
        )
        return _flag(row, [m["user_id"] for m in members])

    async def excerpts(self, flag_id: int) -> list[Excerpt]:
        """Return the flag's stored excerpts, oldest first (none once it is closed or purged)."""
        rows = await self._db.fetchall(
            "SELECT * FROM conflict_excerpts WHERE flag_id = ? ORDER BY created_at, message_id", (flag_id,)
        )
        return [
            Excerpt(
                r["message_id"],
                r["channel_id"],
                r["author_id"],
                r["text"],
                r["score"],
                from_ts(r["created_at"]),
            )
            for r in rows
        ]

    async def set_post(self, flag_id: int, channel_id: int, message_id: int) -> None:
        """Remember where the moderators' embed is, to update it later."""
        await self._db.execute(
            "UPDATE conflict_flags SET post_channel_id = ?, post_message_id = ? WHERE id = ?",
            (channel_id, message_id, flag_id),
        )

    # ------------------------------------------------------------------ moderators' verdicts

    async def _respond(
        self, guild_id: int, flag_id: int, moderator_id: int, *, sql: str = "", params: tuple[Any, ...] = ()
    ) -> Flag:
        flag = await self.get(guild_id, flag_id)
        if not flag.is_open:
            raise UserError("conflict.errors.closed", flag=flag_id)
        now = to_ts(self._clock.now())
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE conflict_flags SET acked_at = COALESCE(acked_at, ?), acked_by = COALESCE(acked_by, ?),"
                " updated_at = ? WHERE id = ?",
                (now, moderator_id, now, flag_id),
            )
            if sql:
                await conn.execute(sql, params)
        return await self.get(guild_id, flag_id)

    async def acknowledge(self, guild_id: int, flag_id: int, moderator_id: int) -> Flag:
        """A moderator is looking at it."""
        return await self._respond(
            guild_id,
            flag_id,
            moderator_id,
            sql="UPDATE conflict_flags SET status = 'acknowledged' WHERE id = ? AND status = 'open'",
            params=(flag_id,),
        )

    async def note_calm(self, guild_id: int, flag_id: int, moderator_id: int) -> Flag:
        """A moderator posted the calm-down note (counts as acknowledging)."""
        return await self._respond(
            guild_id,
            flag_id,
            moderator_id,
            sql="UPDATE conflict_flags SET calm_notes = calm_notes + 1,"
            " status = CASE status WHEN 'open' THEN 'acknowledged' ELSE status END WHERE id = ?",
            params=(flag_id,),
        )

    async def close(self, guild_id: int, flag_id: int, moderator_id: int, status: Status) -> Flag:
        """Close as handled or false positive: learn from it, then delete its excerpts."""
        if status not in ("handled", "false_positive"):
            raise InvalidValue("errors.invalid_value")
        flag = await self.get(guild_id, flag_id)
        if not flag.is_open:
            raise UserError("conflict.errors.closed", flag=flag_id)
        terms: set[str] = set()
        counts: dict[str, int] = {}
        for excerpt in await self.excerpts(flag_id):
            for term in learnable_terms(excerpt.text):
                counts[term] = counts.get(term, 0) + 1
                terms.add(term)
        false_positive = status == "false_positive"
        step = FALSE_POSITIVE_STEP if false_positive else -HANDLED_STEP
        now = to_ts(self._clock.now())
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE conflict_flags SET status = ?, closed_at = ?, closed_by = ?, updated_at = ?,"
                " acked_at = COALESCE(acked_at, ?), acked_by = COALESCE(acked_by, ?) WHERE id = ?",
                (status, now, moderator_id, now, now, moderator_id, flag_id),
            )
            await conn.execute(
                "INSERT INTO conflict_adaptation(guild_id, threshold_offset, false_positives, handled, updated_at)"
                " VALUES (?, MIN(?, MAX(?, ?)), ?, ?, ?) ON CONFLICT(guild_id) DO UPDATE SET"
                " threshold_offset = MIN(?, MAX(?, threshold_offset + ?)),"
                " false_positives = false_positives + excluded.false_positives,"
                " handled = handled + excluded.handled, updated_at = excluded.updated_at",
                (
                    guild_id,
                    MAX_OFFSET,
                    MIN_OFFSET,
                    step,
                    int(false_positive),
                    int(not false_positive),
                    now,
                    MAX_OFFSET,
                    MIN_OFFSET,
                    step,
                ),
            )
            column = "false_positives" if false_positive else "handled"
            await conn.executemany(
                f"INSERT INTO conflict_terms(guild_id, term, {column}, updated_at) VALUES (?, ?, ?, ?)"
                f" ON CONFLICT(guild_id, term) DO UPDATE SET {column} = {column} + excluded.{column},"
                " updated_at = excluded.updated_at",
                [(guild_id, term, counts[term], now) for term in sorted(terms)],
            )
            await conn.execute("DELETE FROM conflict_excerpts WHERE flag_id = ?", (flag_id,))
        self._learned.pop(guild_id, None)
        self._policies.pop(guild_id, None)
        if self._scheduler is not None:
            await self._scheduler.cancel(guild_id, PURGE_KIND, f"flag:{flag_id}")
        return await self.get(guild_id, flag_id)

    async def purge_excerpts(self, flag_id: int) -> int:
        """Delete a flag's excerpts (the 7-day limit for flags left open); return how many."""
        return await self._db.execute("DELETE FROM conflict_excerpts WHERE flag_id = ?", (flag_id,))

    # ------------------------------------------------------------------ stats

    async def stats(self, guild_id: int, since: datetime) -> FlagStats:
        """Count flags created since a time, moderators' verdicts and time to acknowledge."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS total,"
            " SUM(status = 'open') AS open, SUM(status = 'acknowledged') AS acknowledged,"
            " SUM(status = 'handled') AS handled, SUM(status = 'false_positive') AS false_positive,"
            " SUM(escalations) AS escalations, AVG(acked_at - created_at) AS mean_ack"
            " FROM conflict_flags WHERE guild_id = ? AND created_at >= ?",
            (guild_id, to_ts(since)),
        )
        assert row is not None
        handled, false_positive = int(row["handled"] or 0), int(row["false_positive"] or 0)
        judged = handled + false_positive
        policy = await self.policy(guild_id)
        return FlagStats(
            total=int(row["total"] or 0),
            open=int(row["open"] or 0),
            acknowledged=int(row["acknowledged"] or 0),
            handled=handled,
            false_positive=false_positive,
            escalations=int(row["escalations"] or 0),
            precision=handled / judged if judged else None,
            mean_ack_seconds=float(row["mean_ack"]) if row["mean_ack"] is not None else None,
            heat_threshold=policy.heat_threshold,
            offset=policy.offset,
            allow_terms=tuple(sorted(policy.allow_terms)),
        )

    # ------------------------------------------------------------------ data rights

    async def export_member(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Return the flags involving a member (ids, scores, reasons) and only their own excerpts."""
        rows = await self._db.fetchall(
            "SELECT f.* FROM conflict_flags f JOIN conflict_flag_members m ON m.flag_id = f.id"
            " WHERE m.guild_id = ? AND m.user_id = ? ORDER BY f.id",
            (guild_id, user_id),
        )
        excerpts = await self._db.fetchall(
            "SELECT flag_id, message_id, text, created_at FROM conflict_excerpts"
            " WHERE guild_id = ? AND author_id = ? ORDER BY created_at",
            (guild_id, user_id),
        )
        return {
            "flags": [
                {
                    "id": r["id"],
                    "channel_id": r["thread_id"] or r["channel_id"],
                    "status": r["status"],
                    "score": r["score"],
                    "reasons": json.loads(r["reasons"]),
                    "created_at": r["created_at"],
                }
                for r in rows
            ],
            "own_excerpts": [dict(e) for e in excerpts],
        }

    async def posts_quoting(self, guild_id: int, user_id: int) -> list[Flag]:
        """Return the open flags whose moderators' post quotes the member (to re-render after forget)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT f.id FROM conflict_flags f JOIN conflict_excerpts e ON e.flag_id = f.id"
            " WHERE f.guild_id = ? AND e.author_id = ? AND f.status IN ('open', 'acknowledged')"
            " AND f.post_message_id IS NOT NULL ORDER BY f.id",
            (guild_id, user_id),
        )
        return [await self.get(guild_id, row["id"]) for row in rows]

    async def forget_member(self, guild_id: int, user_id: int) -> int:
        """Delete a member's excerpts and remove their id from flags (they stay as anonymous counts)."""
        self.tracker.forget_author(guild_id, user_id)  # the in-memory windows hold some of their text
        rows = await self._db.fetchall(
            "SELECT f.id, f.reasons FROM conflict_flags f JOIN conflict_flag_members m ON m.flag_id = f.id"
            " WHERE m.guild_id = ? AND m.user_id = ?",
            (guild_id, user_id),
        )
        changed = 0
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM conflict_excerpts WHERE guild_id = ? AND author_id = ?", (guild_id, user_id)
            )
            changed += cursor.rowcount
            await cursor.close()
            for row in rows:
                reasons = [
                    [code, {k: (0 if v == user_id else v) for k, v in params.items()}]
                    for code, params in json.loads(row["reasons"])
                ]
                await conn.execute(
                    "UPDATE conflict_flags SET reasons = ? WHERE id = ?", (json.dumps(reasons), row["id"])
                )
            cursor = await conn.execute(
                "DELETE FROM conflict_flag_members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
            )
            changed += cursor.rowcount
            await cursor.close()
            for column in ("acked_by", "closed_by"):
                cursor = await conn.execute(
                    f"UPDATE conflict_flags SET {column} = NULL WHERE guild_id = ? AND {column} = ?",
                    (guild_id, user_id),
                )
                changed += cursor.rowcount
                await cursor.close()
        return changed
