"""Leaving a server: jobs cancelled at once, data kept for the retention period, then purged (real SQLite)."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.guilds import PURGE_JOB, RETENTION_SETTING, GuildLifecycle, guild_tables
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings

GONE, STAYS = 111, 222
ROOT = Path(__file__).resolve().parents[2]


async def seed_every_guild_table(db: Database, guild_id: int) -> list[str]:
    """Insert one row for `guild_id` into every table with a guild_id column, whatever its columns.

    Built from the schema, like the purge, so a feature's new table is seeded (and checked) too.
    """
    tables = await guild_tables(db)
    counter = itertools.count(guild_id * 1000)
    # Filler values can't satisfy every CHECK (kind IN ('join', 'leave')); the purge doesn't care.
    await db.execute("PRAGMA ignore_check_constraints = ON")
    # Parents first, so a child's foreign key finds its parent row.
    for table in reversed(tables):
        columns = await db.fetchall(f'PRAGMA table_info("{table}")')
        parents = {
            row["from"]: (row["table"], row["to"])
            for row in await db.fetchall(f'PRAGMA foreign_key_list("{table}")')
        }
        names, values = [], []
        for column in columns:
            name, kind = column["name"], (column["type"] or "").upper()
            if name == "guild_id":
                value: object = guild_id
            elif name in parents:
                parent, key = parents[name]
                value = await db.fetchval(
                    f'SELECT "{key}" FROM "{parent}" WHERE guild_id = ? LIMIT 1', (guild_id,)
                )
            elif column["pk"] == 1 and kind == "INTEGER" and sum(c["pk"] for c in columns) == 1:
                continue  # rowid alias
            elif column["dflt_value"] is not None or (not column["notnull"] and not column["pk"]):
                continue
            elif "INT" in kind:
                value = next(counter)
            elif "REAL" in kind or "FLOA" in kind:
                value = 0.5
            else:
                value = f"x{next(counter)}"
            names.append(f'"{name}"')
            values.append(value)
        marks = ", ".join("?" for _ in values)
        await db.execute(f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})', values)
    await db.execute("PRAGMA ignore_check_constraints = OFF")
    return tables


async def count(db: Database, table: str, guild_id: int) -> int:
    return int(await db.fetchval(f'SELECT COUNT(*) FROM "{table}" WHERE guild_id = ?', (guild_id,)))


async def test_purge_deletes_every_guild_table_of_that_server_only(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    tables = await seed_every_guild_table(db, GONE)
    await seed_every_guild_table(db, STAYS)
    assert {"guild_settings", "scheduled_jobs", "activity_messages", "conflict_flags"} <= set(tables)
    lifecycle = GuildLifecycle(db, clock, settings, Scheduler(db, clock))
    # Some tables are filled by triggers too: compare with what was there.
    kept = {table: await count(db, table, STAYS) for table in tables}
    assert all(kept.values())

    deleted = await lifecycle.purge(GONE)

    assert set(deleted) == set(tables)
    for table in tables:
        assert await count(db, table, GONE) == 0, table
        assert await count(db, table, STAYS) == kept[table], table
    assert all(n >= 1 for n in deleted.values())


async def test_purge_forgets_the_cached_settings(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    await settings.set(GONE, "timezone", "Europe/Paris")
    assert await settings.get(GONE, "timezone") == "Europe/Paris"  # now cached
    await GuildLifecycle(db, clock, settings, Scheduler(db, clock)).purge(GONE)
    assert await settings.get(GONE, "timezone") == "UTC"


async def test_leaving_cancels_pending_jobs_and_schedules_one_purge_after_the_retention(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    scheduler = Scheduler(db, clock)
    lifecycle = GuildLifecycle(db, clock, settings, scheduler)
    await settings.set(GONE, RETENTION_SETTING, 10)
    await scheduler.schedule(GONE, "onboarding.nudge", clock.now() + timedelta(days=1), dedupe_key="a")
    await scheduler.schedule(GONE, "activity.purge_text", clock.now() + timedelta(hours=1))
    await scheduler.schedule(STAYS, "onboarding.nudge", clock.now() + timedelta(days=1), dedupe_key="a")

    run_at = await lifecycle.left(GONE)

    assert run_at == clock.now() + timedelta(days=10)
    assert [(j.kind, j.run_at) for j in await scheduler.pending(GONE)] == [(PURGE_JOB, run_at)]
    assert [j.kind for j in await scheduler.pending(STAYS)] == ["onboarding.nudge"]
    # A second removal event (or a restart's reconcile) doesn't postpone the purge.
    clock.advance(days=3)
    assert await lifecycle.left(GONE) == run_at
    assert len(await scheduler.pending(GONE)) == 1


async def test_coming_back_before_the_purge_cancels_it(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    scheduler = Scheduler(db, clock)
    lifecycle = GuildLifecycle(db, clock, settings, scheduler)
    await settings.set(GONE, "timezone", "Europe/Paris")
    await lifecycle.left(GONE)
    assert await lifecycle.rejoined(GONE) is True
    assert await scheduler.pending(GONE) == []
    clock.advance(days=60)
    assert await scheduler.run_due() == 0
    assert await settings.get(GONE, "timezone") == "Europe/Paris"
    assert await lifecycle.rejoined(GONE) is False


async def test_servers_gone_while_the_bot_was_down_are_treated_as_left(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    scheduler = Scheduler(db, clock)
    lifecycle = GuildLifecycle(db, clock, settings, scheduler)
    await scheduler.schedule(GONE, "onboarding.nudge", clock.now() + timedelta(days=1))
    await scheduler.schedule(STAYS, "onboarding.nudge", clock.now() + timedelta(days=1))

    assert await lifecycle.reconcile({STAYS}) == [GONE]
    assert [j.kind for j in await scheduler.pending(GONE)] == [PURGE_JOB]
    # The purge job itself doesn't make the server look gone again at the next start.
    assert await lifecycle.reconcile({STAYS}) == []


async def test_forget_guild_command_purges_that_server_at_once(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    db = await Database.open(path)
    await db.migrate()
    tables = await seed_every_guild_table(db, GONE)
    await seed_every_guild_table(db, STAYS)
    kept = {table: await count(db, table, STAYS) for table in tables}
    await db.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "HEARTH_"))}
    env["HEARTH_DB_PATH"] = str(path)

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "forget-guild", str(GONE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert f"server {GONE}: " in result.stdout and "guild_settings 1" in result.stdout
    db = await Database.open(path)
    try:
        for table in tables:
            assert await count(db, table, GONE) == 0, table
            assert await count(db, table, STAYS) == kept[table], table
    finally:
        await db.close()
