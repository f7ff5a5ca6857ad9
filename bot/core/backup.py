"""A consistent copy of the live database, taken with SQLite's online backup API while the bot runs."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

PAGES_PER_STEP = 1024  # copy in steps so a running bot's writes are never blocked for long


class BackupError(Exception):
    """The backup cannot be made; the message says why in plain words."""


@dataclass(frozen=True)
class BackupResult:
    """What was written."""

    target: Path
    size_bytes: int
    schema_version: int


def backup_database(source: Path, target: Path) -> BackupResult:
    """Copy `source` to `target` (which must not exist) consistently, then check the copy."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(source, timeout=30)  # only read; read-write so a WAL file can be opened cold
    try:
        dst = sqlite3.connect(partial)
        try:
            # The backup restarts by itself if another connection writes between steps, and what it
            # finally copies is one consistent snapshot: every transaction committed before it ended.
            src.backup(dst, pages=PAGES_PER_STEP)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            integrity = dst.execute("PRAGMA integrity_check").fetchone()[0]
            version = _schema_version(dst)
        finally:
            dst.close()
    finally:
        src.close()
    if integrity != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {integrity}")
    os.replace(partial, target)
    return BackupResult(target=target, size_bytes=target.stat().st_size, schema_version=version)


def _schema_version(conn: sqlite3.Connection) -> int:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not has_table:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
