"""Leaving a server: its jobs stop at once, its data is kept for a retention period, then purged.

The purge finds its tables in the schema (every table with a `guild_id` column), so a feature's new
tables are covered without touching this module. Removing the bot schedules one durable purge job;
adding it back before then cancels the purge and the data is still there.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from bot.core.clock import Clock
from bot.core.db import Database
from bot.core.errors import InvalidValue
from bot.core.scheduler import Job, Scheduler
from bot.core.settings import Settings, SettingSpec

log = logging.getLogger(__name__)

PURGE_JOB = "guild.purge"
PURGE_KEY = "left"
RETENTION_SETTING = "left_retention_days"

SETTINGS: tuple[SettingSpec, ...] = (
    # Days a server's data is kept after it removes the bot (adding it back within them keeps it all).
    SettingSpec(RETENTION_SETTING, "int", 30, minimum=1, maximum=365),
)


async def guild_tables(db: Database) -> list[str]:
    """List every table with a `guild_id` column, tables that reference others first (foreign keys)."""
    names = [
        row["name"]
        for row in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    columns = {}
    parents: dict[str, set[str]] = {}
    for name in names:
        # PRAGMA takes no parameters; the name comes from sqlite_master, quoted as an identifier.
        quoted = '"' + name.replace('"', '""') + '"'
        columns[name] = {row["name"] for row in await db.fetchall(f"PRAGMA table_info({quoted})")}
        parents[name] = {row["table"] for row in await db.fetchall(f"PRAGMA foreign_key_list({quoted})")}
    remaining = [name for name in names if "guild_id" in columns[name]]
    ordered: list[str] = []
    while remaining:
        # A table goes once no remaining table references it: its rows' dependants are deleted first.
        free = [t for t in remaining if not any(t in parents[c] for c in remaining if c != t)]
        batch = free or remaining  # a reference cycle: the deferred foreign keys of one transaction cope
        ordered.extend(batch)
        remaining = [t for t in remaining if t not in batch]
    return ordered


class GuildLifecycle:
    """What happens to a server's jobs and data when the bot leaves it, and comes back."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: Scheduler) -> None:
        settings.declare(*SETTINGS)
        self._db = db
        self._clock = clock
        self._settings = settings
        self._scheduler = scheduler

    async def left(self, guild_id: int) -> datetime:
        """Cancel the server's pending jobs and schedule the purge of its data; return when it runs.

        A purge already scheduled keeps its date (a second removal event does not postpone it).
        """
        existing = await self._scheduler.pending(guild_id, PURGE_JOB)
        days = int(await self._settings.get(guild_id, RETENTION_SETTING))
        run_at = existing[0].run_at if existing else self._clock.now() + timedelta(days=days)
        cancelled = await self._scheduler.cancel_guild(guild_id)
        await self._scheduler.schedule(guild_id, PURGE_JOB, run_at, dedupe_key=PURGE_KEY)
        log.info(
            "left guild %s: %d pending jobs cancelled, its data will be purged at %s",
            guild_id,
            cancelled - len(existing),
            run_at.isoformat(),
        )
        return run_at

    async def rejoined(self, guild_id: int) -> bool:
        """Cancel a pending purge (the server added the bot back); return whether one was pending."""
        cancelled = await self._scheduler.cancel(guild_id, PURGE_JOB, PURGE_KEY)
        if cancelled:
            log.info("guild %s added the bot back: its data is kept", guild_id)
        return cancelled

    async def reconcile(self, present: set[int]) -> list[int]:
        """Treat servers with pending jobs the bot is no longer in as left (removed while it was down)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT guild_id FROM scheduled_jobs WHERE status = 'pending' AND kind != ?",
            (PURGE_JOB,),
        )
        gone = [row["guild_id"] for row in rows if row["guild_id"] not in present]
        for guild_id in gone:
            await self.left(guild_id)
        return gone

    async def purge(self, guild_id: int) -> dict[str, int]:
        """Delete every row of the server in every table, in one transaction; return the counts per table."""
        tables = await guild_tables(self._db)
        keys = [
            row["key"]
            for row in await self._db.fetchall(
                "SELECT key FROM guild_settings WHERE guild_id = ?", (guild_id,)
            )
        ]
        deleted: dict[str, int] = {}
        async with self._db.transaction() as conn:
            await (await conn.execute("PRAGMA defer_foreign_keys = ON")).close()
            for table in tables:
                quoted = '"' + table.replace('"', '""') + '"'
                cursor = await conn.execute(f"DELETE FROM {quoted} WHERE guild_id = ?", (guild_id,))
                deleted[table] = cursor.rowcount
                await cursor.close()
        # Settings and the features that subscribe to them cache per server: tell them it is all gone.
        for key in keys:
            with contextlib.suppress(InvalidValue):  # a key no feature declares any more
                await self._settings.reset(guild_id, key)
        log.info("purged guild %s: %d rows", guild_id, sum(deleted.values()))
        return deleted

    async def run_purge(self, job: Job) -> None:
        """The purge job's handler."""
        await self.purge(job.guild_id)
