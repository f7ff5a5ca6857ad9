"""`python -m bot backup`: a consistent copy of the live database, taken while writes go on."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.core.backup import BackupError, backup_database
from bot.core.db import Database
from tests.core.test_cli import run_cli


async def make_database(path: Path) -> None:
    db = await Database.open(path)
    await db.migrate()
    await db.close()


def writer(path: Path, stop: threading.Event, committed: list[int]) -> None:
    """Insert one row per transaction, as the bot's writer does, until told to stop."""
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    i = 0
    while not stop.is_set():
        with conn:
            conn.execute("INSERT INTO sample(i) VALUES (?)", (i,))
        committed.append(i)
        i += 1
    conn.close()


async def test_backup_while_writes_go_on_holds_every_row_committed_before_it_started(tmp_path: Path) -> None:
    live = tmp_path / "hearth.db"
    await make_database(live)
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE TABLE sample(i INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO sample(i) VALUES (?)", [(-n,) for n in range(1, 20_001)])
    stop = threading.Event()
    committed: list[int] = []
    thread = threading.Thread(target=writer, args=(live, stop, committed))
    thread.start()
    try:
        while len(committed) < 50:  # writes are really going on
            threading.Event().wait(0.01)
        before = len(committed)
        result = backup_database(live, tmp_path / "copy.db")
        during = len(committed)
    finally:
        stop.set()
        thread.join()
    assert during > before  # the writer kept committing while the copy was made
    copy = sqlite3.connect(result.target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = [r[0] for r in copy.execute("SELECT i FROM sample WHERE i >= 0 ORDER BY i")]
    # A snapshot: every row committed before the backup started, and no gap after them.
    assert rows == list(range(len(rows))) and len(rows) >= before
    assert copy.execute("SELECT COUNT(*) FROM sample WHERE i < 0").fetchone()[0] == 20_000
    assert result.schema_version == copy.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    assert not (tmp_path / "copy.db-wal").exists() and not (tmp_path / "copy.db.partial").exists()
    copy.close()


async def test_backup_refuses_to_overwrite_and_names_a_missing_database(tmp_path: Path) -> None:
    live = tmp_path / "hearth.db"
    await make_database(live)
    (tmp_path / "taken.db").write_text("keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup_database(live, tmp_path / "taken.db")
    assert (tmp_path / "taken.db").read_text() == "keep me"
    with pytest.raises(BackupError, match="no database"):
        backup_database(tmp_path / "nothing.db", tmp_path / "out.db")


async def test_backup_command_writes_the_copy_and_exits_2_with_the_reason_when_it_cannot(
    tmp_path: Path,
) -> None:
    await make_database(tmp_path / "cli.db")
    result = run_cli("backup", "saved.db", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "backed up" in result.stdout and (tmp_path / "saved.db").is_file()
    again = run_cli("backup", "saved.db", tmp_path=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
