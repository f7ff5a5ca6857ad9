"""One aiosqlite connection (WAL, foreign keys on) and forward-only numbered migrations."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
BUSY_RETRIES = 5
WRITER_SWITCH_INTERVAL = 0.001  # seconds; see Database.open


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    path: Path

    def sql(self) -> str:
        """Read the file's SQL."""
        return self.path.read_text(encoding="utf-8")


class MigrationError(RuntimeError):
    """A migration failed or the migration files are inconsistent."""


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """List migration files in order, refusing duplicate numbers."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name not of the form NNNN_name.sql: {path.name}")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a number: {sorted(versions)}")
    return found


class Database:
    """The process's single connection; writes that belong together go through `transaction()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Open (creating if needed) the database file with WAL and foreign keys."""
        path = Path(path)
        # aiosqlite runs every statement in its own thread, and each statement needs the GIL back
        # from the event loop before SQLite can step (SQLite releases it while it works). A busy loop
        # hands the GIL over only every switch interval (5 ms by default), so a batch of a dozen
        # statements would crawl while messages pour in; 1 ms lets batch writes keep pace.
        if sys.getswitchinterval() > WRITER_SWITCH_INTERVAL:
            sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL"):
            # Close each cursor: an unread PRAGMA result keeps a statement open and blocks COMMIT.
            cursor = await conn.execute(f"PRAGMA {pragma}")
            await cursor.close()
        return cls(conn, path)

    async def close(self) -> None:
        """Close the connection (pending transactions must be finished first)."""
        async with self._write_lock:
            await self.conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the enclosed writes as one transaction: all of them land, or none."""
        async with self._write_lock:
            await _retry_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"))
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await _retry_busy(lambda: self.conn.execute("COMMIT"))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement on its own; return the affected row count."""
        async with self._write_lock:
            cursor = await _retry_busy(lambda: self.conn.execute(sql, params))
            await cursor.close()
            return cursor.rowcount

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one INSERT on its own; return the new row id, 0 when nothing was inserted."""
        async with self._write_lock:
            cursor = await _retry_busy(lambda: self.conn.execute(sql, params))
            await cursor.close()
            return int(cursor.lastrowid or 0) if cursor.rowcount > 0 else 0

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """Return the first row of a query, or None."""
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Return every row of a query."""
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Return the first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def schema_version(self) -> int:
        """Return the highest applied migration, 0 on a new database."""
        exists = await self.fetchval(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
        )
        if not exists:
            return 0
        return int(await self.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") or 0)

    async def migrate(self, migrations: Iterable[Migration] | None = None) -> list[int]:
        """Apply pending migrations, each in its own transaction; return the versions applied."""
        migrations = list(discover_migrations() if migrations is None else migrations)
        async with self._write_lock:
            await self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
            )
        done = {row[0] for row in await self.fetchall("SELECT version FROM schema_migrations")}
        applied: list[int] = []
        for migration in migrations:
            if migration.version in done:
                continue
            await self._apply(migration)
            applied.append(migration.version)
            log.info("applied migration %04d_%s", migration.version, migration.name)
        return applied

    async def _apply(self, migration: Migration) -> None:
        # executescript would commit an open transaction first, so the script carries its own BEGIN.
        script = (
            "BEGIN IMMEDIATE;\n"
            + migration.sql()
            + "\n;INSERT INTO schema_migrations(version, name) VALUES "
            + f"({int(migration.version)}, '{migration.name}');\nCOMMIT;"
        )
        async with self._write_lock:
            try:
                await self.conn.executescript(script)
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise MigrationError(f"migration {migration.path.name} failed: {exc}") from exc


async def _retry_busy(call: Any) -> Any:
    """Retry a statement a few times when SQLite reports the database busy or locked."""
    delay = 0.05
    for attempt in range(BUSY_RETRIES):
        try:
            return await call()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == BUSY_RETRIES - 1:
                raise
            log.warning("database busy, retrying in %.2fs", delay)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
