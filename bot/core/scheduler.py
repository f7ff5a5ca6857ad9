"""Durable scheduled jobs: the database is the source of truth, apscheduler only wakes us up.

A job is a row in `scheduled_jobs` with a kind, a server, a time and a JSON payload of ids. Features
register one async handler per kind. At start every pending job is re-armed (past-due ones run at
once), so a restart loses nothing. A job is claimed before it runs, so it runs once even if the
wake-up fires twice; a job left 'running' by a crash is run again at the next start.
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

MAX_ATTEMPTS = 5
RETRY_DELAY = timedelta(minutes=1)


@dataclass(frozen=True)
class Job:
    """What a handler receives: ids and plain values, never Discord objects."""

    id: int
    guild_id: int
    kind: str
    run_at: datetime
    payload: dict[str, Any]
    attempts: int


Handler = Callable[[Job], Awaitable[None]]


class Scheduler:
    """Schedule, cancel and run durable jobs."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._handlers: dict[str, Handler] = {}
        self._aps = AsyncIOScheduler(timezone="UTC")
        self._running = False

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
            await self._failed(job, exc)
            return 1
        await self._db.execute(
            "UPDATE scheduled_jobs SET status = 'done', done_at = ? WHERE id = ?",
            (to_ts(self._clock.now()), job_id),
        )
        return 1

    async def _failed(self, job: Job, exc: Exception) -> None:
        log.error("job %d (%s) failed on attempt %d: %r", job.id, job.kind, job.attempts, exc)
        if job.attempts >= MAX_ATTEMPTS:
            await self._db.execute(
                "UPDATE scheduled_jobs SET status = 'failed', last_error = ?, done_at = ? WHERE id = ?",
                (repr(exc)[:500], to_ts(self._clock.now()), job.id),
            )
            return
        retry_at = self._clock.now() + RETRY_DELAY * job.attempts
        await self._db.execute(
            "UPDATE scheduled_jobs SET status = 'pending', last_error = ?, run_at = ? WHERE id = ?",
            (repr(exc)[:500], to_ts(retry_at), job.id),
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
    )
