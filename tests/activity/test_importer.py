"""Backfill from DiscordChatExporter exports: mapping, threads, reactions, idempotence, the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.activity.importer import ImportFormatError, import_files
from bot.core.clock import FrozenClock
from bot.core.db import Database

GUILD = "111"


def _msg(mid: int, author: int, ts: str, content: str = "hello", **extra: Any) -> dict[str, Any]:
    message = {
        "id": str(mid),
        "type": "Default",
        "timestamp": ts,
        "timestampEdited": None,
        "isPinned": False,
        "content": content,
        "author": {"id": str(author), "name": f"user{author}", "isBot": False},
        "attachments": [],
        "embeds": [],
        "reactions": [],
        "mentions": [],
    }
    message.update(extra)
    return message


def _export(path: Path, channel: dict[str, Any], messages: list[dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps({"guild": {"id": GUILD, "name": "Test"}, "channel": channel, "messages": messages})
    )
    return path


@pytest.fixture
def exports(tmp_path: Path) -> list[Path]:
    general = {"id": "222", "type": "GuildTextChat", "categoryId": "9", "category": "Text", "name": "general"}
    thread = {
        "id": "333",
        "type": "GuildPublicThread",
        "categoryId": "222",
        "category": "general",
        "name": "plans",
    }
    joined = _msg(1, 7, "2025-05-01T09:00:00+00:00", "", type="GuildMemberJoin")
    question = _msg(
        2,
        7,
        "2025-05-01T09:05:00+00:00",
        "where do I start?",
        reactions=[
            {
                "emoji": {"id": None, "name": "👋"},
                "count": 2,
                "users": [{"id": "8", "isBot": False}, {"id": "9", "isBot": False}],
            }
        ],
    )
    answer = _msg(
        3,
        8,
        "2025-05-01T09:15:00.123+00:00",
        "read the pins",
        type="Reply",
        reference={"messageId": "2", "channelId": "222", "guildId": GUILD},
    )
    bot = _msg(4, 99, "2025-05-01T09:16:00+00:00", "beep")
    bot["author"]["isBot"] = True
    in_thread = _msg(5, 9, "2025-05-02T10:00:00+00:00", "planning here")
    return [
        _export(tmp_path / "general.json", general, [joined, question, answer, bot]),
        _export(tmp_path / "thread.json", thread, [in_thread]),
    ]


async def test_import_maps_authors_replies_reactions_threads_and_joins(
    db: Database, clock: FrozenClock, exports: list[Path]
) -> None:
    report = await import_files(db, clock, exports)
    assert (report.files, report.messages_read, report.messages_added, report.skipped_bots) == (2, 4, 3, 1)
    assert (report.reactions_read, report.joins_read) == (2, 1)
    rows = [
        tuple(r)
        for r in await db.fetchall(
            "SELECT message_id, channel_id, thread_id, author_id, reply_to_author_id, is_question, is_newcomer, first_reply_at"
            " FROM activity_messages ORDER BY message_id"
        )
    ]
    assert rows == [
        (2, 222, None, 7, None, 1, 1, 1746090900),
        (3, 222, None, 8, 7, 0, 0, None),
        (5, 222, 333, 9, None, 0, 0, None),
    ]
    assert await db.fetchval("SELECT joined_at FROM members WHERE user_id = 7") == 1746090000
    assert (
        await db.fetchval("SELECT COUNT(DISTINCT source_id) FROM activity_daily_reach WHERE target_id = 7")
        == 2
    )
    assert await db.fetchval("SELECT COUNT(*) FROM activity_text") == 0


async def test_importing_twice_changes_nothing(db: Database, clock: FrozenClock, exports: list[Path]) -> None:
    await import_files(db, clock, exports)
    tables = [
        "activity_messages",
        "activity_reactions",
        "members",
        "member_events",
        "activity_daily_member",
        "activity_daily_member_channel",
        "activity_daily_channel",
        "activity_hourly",
        "activity_daily_reach",
    ]
    before = {t: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {t} ORDER BY 1, 2, 3")] for t in tables}
    report = await import_files(db, clock, exports)
    after = {t: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {t} ORDER BY 1, 2, 3")] for t in tables}
    assert report.messages_added == 0
    assert after == before


async def test_a_file_that_is_not_an_export_is_refused(
    db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(ImportFormatError):
        await import_files(db, clock, [path])


def test_cli_imports_files_into_the_configured_database(
    exports: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEARTH_DB_PATH", str(tmp_path / "cli.db"))
    assert main(["import", *map(str, exports)]) == 0
    assert "4 messages read, 3 new" in capsys.readouterr().out
    assert main(["import", *map(str, exports)]) == 0
    assert "4 messages read, 0 new" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        ({"author": None}, "message 42"),
        ({"timestamp": "yesterday"}, "message 42"),
        ({"author": {"name": "no id"}}, "missing field 'id'"),
        ({"mentions": [{"id": "not-a-number"}]}, "message 42"),
    ],
)
def test_cli_names_the_file_and_message_of_malformed_input_exits_2_and_imports_nothing(
    exports: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    broken: dict[str, Any],
    words: str,
) -> None:
    bad = _export(
        tmp_path / "bad.json",
        {"id": "222", "type": "GuildTextChat", "name": "general"},
        [
            _msg(41, 7, "2025-05-01T09:00:00+00:00"),
            {**_msg(42, 7, "2025-05-01T09:01:00+00:00"), **broken},
        ],
    )
    monkeypatch.setenv("HEARTH_DB_PATH", str(tmp_path / "cli.db"))
    assert main(["import", str(exports[0]), str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and words in err and "nothing was imported" in err
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM activity_messages").fetchone()[0] == 0
    assert main(["import", str(exports[1])]) == 0
    assert "imported 1 file: 1 message read, 1 new" in capsys.readouterr().out
