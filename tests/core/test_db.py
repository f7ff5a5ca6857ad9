"""Database: WAL, foreign keys, migrations applied once, broken ones rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.db import Database, Migration, MigrationError, discover_migrations


async def test_fresh_database_is_migrated_to_latest_with_wal_and_foreign_keys(db: Database) -> None:
    latest = max(m.version for m in discover_migrations())
    assert await db.schema_version() == latest
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1


async def test_migrate_twice_applies_nothing_the_second_time(db: Database) -> None:
    assert await db.migrate() == []


async def test_every_migration_file_says_why(tmp_path: Path) -> None:
    for migration in discover_migrations():
        assert migration.sql().startswith("-- Reason:"), migration.path.name


async def test_broken_migration_rolls_back_and_leaves_version_unchanged(tmp_path: Path) -> None:
    good = tmp_path / "0001_good.sql"
    good.write_text("-- Reason: test\nCREATE TABLE a (x INTEGER);")
    broken = tmp_path / "0002_broken.sql"
    broken.write_text("-- Reason: test\nCREATE TABLE b (x INTEGER);\nINSERT INTO nowhere VALUES (1);")
    database = await Database.open(tmp_path / "t.db")
    try:
        migrations = discover_migrations(tmp_path)
        with pytest.raises(MigrationError, match="0002_broken"):
            await database.migrate(migrations)
        assert await database.schema_version() == 1
        assert await database.fetchval("SELECT name FROM sqlite_master WHERE name = 'b'") is None
        # The connection is usable afterwards and a fixed migration applies.
        broken.write_text("-- Reason: test\nCREATE TABLE b (x INTEGER);")
        assert await database.migrate(discover_migrations(tmp_path)) == [2]
    finally:
        await database.close()


def test_duplicate_migration_numbers_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("-- Reason: a")
    (tmp_path / "0001_b.sql").write_text("-- Reason: b")
    with pytest.raises(MigrationError):
        discover_migrations(tmp_path)


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_init.sql").write_text("-- Reason: a")
    with pytest.raises(MigrationError, match="NNNN_name"):
        discover_migrations(tmp_path)


async def test_transaction_is_all_or_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_settings(guild_id, key, value, updated_at) VALUES (1, 'language', 'fr', 0)"
            )
            raise RuntimeError("interrupted half way")
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 0
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO guild_settings(guild_id, key, value, updated_at) VALUES (1, 'language', 'fr', 0)"
        )
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 1


async def test_write_waits_for_a_lock_held_by_another_connection(db: Database) -> None:
    import asyncio
    import sqlite3

    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")

    async def release_soon() -> None:
        await asyncio.sleep(0.3)
        other.execute("COMMIT")

    releaser = asyncio.create_task(release_soon())
    rows = await db.execute(
        "INSERT INTO guild_settings(guild_id, key, value, updated_at) VALUES (2, 'language', 'en', 0)"
    )
    await releaser
    other.close()
    assert rows == 1


def test_migration_dataclass_reads_sql(tmp_path: Path) -> None:
    path = tmp_path / "0001_x.sql"
    path.write_text("-- Reason: x\nSELECT 1;")
    assert "SELECT 1" in Migration(1, "x", path).sql()
