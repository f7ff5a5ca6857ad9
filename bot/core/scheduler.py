"""Durable scheduled jobs: the database is the source of truth, apscheduler only wakes us up.

A job is a row in `scheduled_jobs` with a kind, a server, a time and a JSON payload of ids. Features
register one async handler per kind. At start every pending job is re-armed (past-due ones run at
once), so a restart loses nothing. A job is claimed before it runs, so it runs once even if the
wake-up fires twice; a job left 'running' by a crash is run again at the next start.

Jobs are at-least-once: a handler must tolerate running again. A transient failure (`Transient`, or
what the glue's check calls transient: Discord 5xx, timeouts, lost connections) releases the claim and
retries with a doubling delay for about a day; any other failure is retried a few times, then the job
is marked 'failed'. A job that posts records each post (`record_post`), so a retried or restarted job
can tell what it already posted (`posted`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.core.clock import Clock, from_ts, to_ts
from bot.core.db import Database

log = logging.getLogger(__name__)

# Any other failure (a bug, a request Discord refuses): a few linear retries, then 'failed'.
MAX_ATTEMPTS = 5
RETRY_DELAY = timedelta(minutes=1)
# A transient failure: retried after 5 s, doubling up to an hour, until about a day has passed.
TRANSIENT_FIRST_DELAY = timedelta(seconds=5)
TRANSIENT_MAX_DELAY = timedelta(hours=1)
TRANSIENT_PATIENCE = timedelta(days=1)


class Transient(Exception):
    """A failure worth waiting out (Discord 5xx, a timeout, a lost connection): the job runs again later."""


def transient_delay(failures: int) -> timedelta:
    """Return the wait after a job's `failures`-th transient failure: 5 s, doubling, at most an hour."""
    return min(TRANSIENT_FIRST_DELAY * 2 ** min(failures - 1, 30), TRANSIENT_MAX_DELAY)


def _stdlib_transient(error: BaseException) -> bool:
    return isinstance(error, Transient | TimeoutError | ConnectionError)


@dataclass(frozen=True)
class Job:
    """What a handler receives: ids and plain values, never Discord objects."""

    id: int
    guild_id: int
    kind: str
    run_at: datetime
    payload: dict[str, Any]
    attempts: int
    errors: int = 0


Handler = Callable[[Job], Awaitable[None]]
TransientCheck = Callable[[BaseException], bool]


class Scheduler:
    """Schedule, cancel and run durable jobs."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._handlers: dict[str, Handler] = {}
        self._aps = AsyncIOScheduler(timezone="UTC")
        self._running = False
        self._is_transient: TransientCheck = _stdlib_transient

    def treat_as_transient(self, check: TransientCheck) -> None:
        """Also wait out the failures `check` accepts (the glue adds Discord's 5xx and connection errors)."""
        self._is_transient = lambda error: _stdlib_transient(error) or check(error)

    def register(self, kind: str, handler: Handler) -> None:
        """Route jobs of `kind` to `handler`; one handler per kind."""
        if kind in self._handlers and self._handlers[kind] is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self._handlers[kind] = handler

    async def schedule(
        self,
        guild_id: int,
        kind: str,
        run_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        dedupe_key: str | None = None,
    ) -> int | None:
        """Store a job and arm it; with a `dedupe_key`, a live job with the same key is kept instead.

        Returns the job id, or None when an identical live job already exists.
        """
        now = self._clock.now()
        job_id = await self._db.insert(
            "INSERT INTO scheduled_jobs(guild_id, kind, dedupe_key, run_at, payload, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, kind, dedupe_key, to_ts(run_at), json.dumps(payload or {}), to_ts(now)),
        )
        if not job_id:
            return None
        self._arm(job_id, run_at)
        return job_id

    async def cancel(self, guild_id: int, kind: str, dedupe_key: str) -> bool:
        """Cancel the live job with this key; return whether one was cancelled."""
        count = await self._db.execute(
            "UPDATE scheduled_jobs SET status = 'cancelled', done_at = ?"
            " WHERE guild_id = ? AND kind = ? AND dedupe_key = ? AND status = 'pending'",
            (to_ts(self._clock.now()), guild_id, kind, dedupe_key),
        )
        return count > 0

    async def cancel_guild(self, guild_id: int) -> int:
        """Cancel every pending job of a server (it removed the bot)."""
        return await self._db.execute(
            "UPDATE scheduled_jobs SET status = 'cancelled', done_at = ?"
            " WHERE guild_id = ? AND status = 'pending'",
            (to_ts(self._clock.now()), guild_id),
        )

    async def pending(self, guild_id: int | None = None, kind: str | None = None) -> list[Job]:
        """List pending jobs, soonest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM scheduled_jobs WHERE status IN ('pending', 'running')"
            " AND (? IS NULL OR guild_id = ?) AND (? IS NULL OR kind = ?) ORDER BY run_at, id",
            (guild_id, guild_id, kind, kind),
        )
        return [_job(row) for row in rows]

    async def start(self) -> int:
        """Recover jobs a crash left running, re-arm every pending job, start waking; return the count."""
        await self._db.execute("UPDATE scheduled_jobs SET status = 'pending' WHERE status = 'running'")
        rows = await self._db.fetchall("SELECT id, run_at FROM scheduled_jobs WHERE status = 'pending'")
        if not self._running:
            self._aps.start()
            self._running = True
        for row in rows:
            self._arm(row["id"], from_ts(row["run_at"]))
        log.info("scheduler started, %d pending jobs re-armed", len(rows))
        return len(rows)

    async def shutdown(self) -> None:
        """Stop waking up; pending jobs stay in the database for the next start."""
        if self._running:
            self._aps.shutdown(wait=False)
            self._running = False

    def _arm(self, job_id: int, run_at: datetime) -> None:
        if not self._running:
            return
        # apscheduler waits on the real clock; convert our clock's due time into a real-time delay so an
        # injected clock (tests, simulators) can't make a future job look overdue and spin.
        delay = max(run_at - self._clock.now(), timedelta(0))
        self._aps.add_job(
            self.run_job,
            DateTrigger(run_date=datetime.now(UTC) + delay),
            args=(job_id,),
            id=f"job-{job_id}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def run_due(self) -> int:
        """Run every pending job whose time has come by this clock; return how many ran."""
        rows = await self._db.fetchall(
            "SELECT id FROM scheduled_jobs WHERE status = 'pending' AND run_at <= ? ORDER BY run_at, id",
            (to_ts(self._clock.now()),),
        )
        ran = 0
        for row in rows:
            ran += await self.run_job(row["id"])
        return ran

    async def run_job(self, job_id: int) -> int:
        """Claim and run one job if it is still pending and due; return 1 if it ran."""
        now = to_ts(self._clock.now())
        claimed = await self._db.execute(
            "UPDATE scheduled_jobs SET status = 'running', attempts = attempts + 1"
            " WHERE id = ? AND status = 'pending' AND run_at <= ?",
            (job_id, now),
        )
        if not claimed:
            # Woken early (clock skew) or already handled; re-arm if still pending.
            row = await self._db.fetchone(
                "SELECT run_at FROM scheduled_jobs WHERE id = ? AND status = 'pending'", (job_id,)
            )
            if row is not None:
                self._arm(job_id, from_ts(row["run_at"]))
            return 0
        row = await self._db.fetchone("SELECT * FROM scheduled_jobs WHERE id = ?", (job_id,))
        assert row is not None
        job = _job(row)
        handler = self._handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            await handler(job)
        except Exception as exc:
            if self._is_transient(exc):
                await self._transient(job, exc)
            else:
                await self._failed(job, exc)
            return 1
        await self._db.execute(
            "UPDATE scheduled_jobs SET status = 'done', done_at = ? WHERE id = ?",
            (to_ts(self._clock.now()), job_id),
        )
        return 1

    async def posted(self, job_id: int, slot: str = "post") -> int | None:
        """Return the message id a job already posted in this slot, None if it hasn't."""
        value = await self._db.fetchval(
            "SELECT message_id FROM scheduled_job_posts WHERE job_id = ? AND slot = ?", (job_id, slot)
        )
        return None if value is None else int(value)

    async def record_post(self, job: Job, slot: str, channel_id: int, message_id: int) -> None:
        """Remember that a job's post went out, so no later run posts it again."""
        await self._db.execute(
            "INSERT INTO scheduled_job_posts(job_id, slot, guild_id, channel_id, message_id, posted_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(job_id, slot) DO NOTHING",
            (job.id, slot, job.guild_id, channel_id, message_id, to_ts(self._clock.now())),
        )

    async def _transient(self, job: Job, exc: Exception) -> None:
        # `attempts` counts runs (a run cut short by a crash included) and `errors` the other failures:
        # the difference is how many times this job has met an outage so far.
        failures = job.attempts - job.errors
        waited = sum((transient_delay(n) for n in range(1, failures)), timedelta(0))
        if waited >= TRANSIENT_PATIENCE:
            log.error("job %d (%s) gave up after %d transient failures: %r", job.id, job.kind, failures, exc)
            await self._db.execute(
                "UPDATE scheduled_jobs SET status = 'failed', last_error = ?, done_at = ? WHERE id = ?",
                (repr(exc)[:500], to_ts(self._clock.now()), job.id),
            )
            return
        retry_at = self._clock.now() + transient_delay(failures)
        log.warning(
            "job %d (%s) hit a transient failure (%d so far), retrying at %s: %r",
            job.id,
            job.kind,
            failures,
            retry_at.isoformat(),
            exc,
        )
        await self._db.execute(
            "UPDATE scheduled_jobs SET status = 'pending', last_error = ?, run_at = ? WHERE id = ?",
            (repr(exc)[:500], to_ts(retry_at), job.id),
        )
        self._arm(job.id, retry_at)

    async def _failed(self, job: Job, exc: Exception) -> None:
        errors = job.errors + 1
        log.error("job %d (%s) failed (error %d): %r", job.id, job.kind, errors, exc)
        if errors >= MAX_ATTEMPTS:
            await self._db.execute(
                "UPDATE scheduled_jobs SET status = 'failed', errors = ?, last_error = ?, done_at = ?"
                " WHERE id = ?",
                (errors, repr(exc)[:500], to_ts(self._clock.now()), job.id),
            )
            return
        retry_at = self._clock.now() + RETRY_DELAY * errors
        await self._db.execute(
            "UPDATE scheduled_jobs SET status = 'pending', errors = ?, last_error = ?, run_at = ? WHERE id = ?",
            (errors, repr(exc)[:500], to_ts(retry_at), job.id),
        )
        self._arm(job.id, retry_at)


def _job(row: Any) -> Job:
    return Job(
        id=row["id"],
        guild_id=row["guild_id"],
        kind=row["kind"],
        run_at=from_ts(row["run_at"]),
        payload=json.loads(row["payload"]),
        attempts=row["attempts"],
        errors=row["errors"],
    )
