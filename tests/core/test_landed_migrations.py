"""A landed migration never changes: each one's sha256 is kept in tests/core/landed_migrations.sha256.

Databases in the wild already ran the landed files; editing one changes nothing for them and makes
fresh installs differ from upgraded ones. A schema change is a NEW numbered file
(`python -m bot new-migration NAME`). When you add one, this test fails and prints the line to add to
the table (`sha256sum` format, so `sha256sum -c` in bot/core/migrations also checks it).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from bot.__main__ import EXIT_OK, write_migration
from bot.core.db import MIGRATIONS_DIR

TABLE = Path(__file__).with_name("landed_migrations.sha256")


def checksum(path: Path) -> str:
    """Return the sha256 of a migration file, line endings normalised (a Windows checkout is no edit)."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def read_table(table: Path) -> dict[str, str]:
    """Read `<sha256>  <file name>` lines."""
    entries: dict[str, str] = {}
    for line in table.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            entries[name.strip()] = digest
    return entries


def checksum_problems(directory: Path, table: Path) -> list[str]:
    """Say what differs between the migration files and the table of landed checksums."""
    landed = read_table(table)
    files = {path.name: checksum(path) for path in sorted(directory.glob("*.sql"))}
    problems = []
    for name, digest in landed.items():
        if name not in files:
            problems.append(f"{name} landed and is gone: restore it (a later migration can undo what it did)")
        elif files[name] != digest:
            problems.append(
                f"{name} landed and was edited: restore it (git checkout) and put the change in a new "
                "migration (`python -m bot new-migration NAME`)"
            )
    for name, digest in files.items():
        if name not in landed:
            problems.append(
                f"{name} is new: once it is final, add this line to {table.name}:\n{digest}  {name}"
            )
    return problems


def test_no_landed_migration_was_edited_and_every_migration_is_in_the_table() -> None:
    problems = checksum_problems(MIGRATIONS_DIR, TABLE)
    assert not problems, "\n".join(problems)


def test_editing_a_landed_migration_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    assert checksum_problems(copy, TABLE) == []
    first = sorted(copy.glob("*.sql"))[0]
    first.write_text(
        first.read_text(encoding="utf-8") + "\nCREATE TABLE sneaky (id INTEGER);\n", encoding="utf-8"
    )

    problems = checksum_problems(copy, TABLE)

    assert len(problems) == 1 and f"{first.name} landed and was edited" in problems[0]


def test_a_removed_landed_migration_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    last = sorted(copy.glob("*.sql"))[-1]
    last.unlink()
    assert [p for p in checksum_problems(copy, TABLE) if "is gone" in p] != []


def test_new_migration_writes_the_next_numbered_file_and_the_table_asks_for_it(tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    latest = max(int(p.name[:4]) for p in copy.glob("*.sql"))

    assert write_migration("contest_votes", "contests need votes", copy) == EXIT_OK

    created = copy / f"{latest + 1:04d}_contest_votes.sql"
    assert created.read_text(encoding="utf-8").startswith("-- Reason: contests need votes\n")
    problems = checksum_problems(copy, TABLE)
    assert problems == [
        f"{created.name} is new: once it is final, add this line to {TABLE.name}:\n"
        f"{checksum(created)}  {created.name}"
    ]
    assert write_migration("Bad Name", "", copy) != EXIT_OK
