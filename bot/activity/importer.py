"""Backfill from DiscordChatExporter JSON exports, through the same pipeline as live events.

Authors, replies, reactions (when the export lists who reacted), threads and join messages are mapped
into the activity tables. Importing the same files twice changes nothing: messages, reactions and joins
are keyed by their Discord ids and times, and only rows not stored yet count in the roll-ups.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.activity.pipeline import ActivityPipeline, MessageEvent
from bot.core.clock import Clock, SystemClock
from bot.core.db import Database
from bot.core.settings import Settings

log = logging.getLogger(__name__)

MESSAGE_TYPES = {"Default", "Reply"}
JOIN_TYPES = {"GuildMemberJoin"}


@dataclass(frozen=True)
class ImportReport:
    """What an import read and what it added."""

    files: int
    messages_read: int
    messages_added: int
    reactions_read: int
    joins_read: int
    skipped_bots: int
    reactions_without_users: int


class ImportFormatError(ValueError):
    """A file is not a DiscordChatExporter JSON export."""


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ImportFormatError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or "guild" not in data or "channel" not in data or "messages" not in data:
        raise ImportFormatError(f"{path}: not a DiscordChatExporter JSON export (guild, channel, messages)")
    return data


def _check_message(path: Path, index: int, message: Any) -> None:
    """Refuse a malformed message before anything is written, naming the file and the message."""
    where = f"{path}: message {message.get('id', f'#{index + 1}') if isinstance(message, dict) else f'#{index + 1}'}"
    if not isinstance(message, dict):
        raise ImportFormatError(f"{where}: not a JSON object")
    try:
        int(message["id"])
        int(message["author"]["id"])
        _ts(message["timestamp"])
        reference = message.get("reference") or {}
        if reference.get("messageId"):
            int(reference["messageId"])
        for mention in message.get("mentions") or ():
            int(mention["id"])
        for reaction in message.get("reactions") or ():
            for user in reaction.get("users") or ():
                int(user["id"])
    except KeyError as exc:
        raise ImportFormatError(f"{where}: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ImportFormatError(f"{where}: {exc}") from None


def _channel_ids(channel: dict[str, Any]) -> tuple[int, int | None]:
    """Return (channel, thread): a thread's export names its parent channel as its category."""
    channel_id = int(channel["id"])
    if "Thread" in str(channel.get("type", "")) and channel.get("categoryId"):
        return int(channel["categoryId"]), channel_id
    return channel_id, None


async def import_files(
    db: Database, clock: Clock, paths: Iterable[Path | str], *, settings: Settings | None = None
) -> ImportReport:
    """Load DiscordChatExporter exports into the activity tables, idempotently; return what happened."""
    files = [Path(p) for p in paths]
    exports = [_load(p) for p in files]
    for path, export in zip(files, exports, strict=True):
        if not isinstance(export["messages"], list):
            raise ImportFormatError(f"{path}: 'messages' is not a list")
        try:
            int(export["guild"]["id"])
            _channel_ids(export["channel"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ImportFormatError(f"{path}: the guild or channel has no usable id ({exc})") from None
        for index, message in enumerate(export["messages"]):
            _check_message(path, index, message)
    pipeline = ActivityPipeline(db, clock, settings or Settings(db, clock), batch_size=5_000)
    await pipeline.warm()
    authors: dict[int, int] = {}
    items: list[tuple[datetime, int, dict[str, Any], int, int, int | None]] = []
    for export in exports:
        guild_id = int(export["guild"]["id"])
        channel_id, thread_id = _channel_ids(export["channel"])
        for message in export["messages"]:
            authors[int(message["id"])] = int(message["author"]["id"])
            items.append(
                (_ts(message["timestamp"]), int(message["id"]), message, guild_id, channel_id, thread_id)
            )
    items.sort(key=lambda item: (item[0], item[1]))
    guilds = {item[3] for item in items}
    before = await _message_count(db, guilds)
    read = reactions = joins = bots = unattributed = 0
    for created, message_id, message, guild_id, channel_id, thread_id in items:
        author = message["author"]
        author_id = int(author["id"])
        kind = message.get("type", "Default")
        if kind in JOIN_TYPES:
            joins += 1
            await pipeline.handle_join(guild_id, author_id, created, is_bot=bool(author.get("isBot")))
            continue
        if kind not in MESSAGE_TYPES:
            continue
        read += 1
        if author.get("isBot"):
            bots += 1
            continue
        reference = message.get("reference") or {}
        reply_id = int(reference["messageId"]) if reference.get("messageId") else None
        await pipeline.handle_message(
            MessageEvent(
                guild_id=guild_id,
                channel_id=channel_id,
                thread_id=thread_id,
                author_id=author_id,
                message_id=message_id,
                created_at=created,
                text=message.get("content") or "",
                reply_to_message_id=reply_id,
                reply_to_author_id=authors.get(reply_id) if reply_id else None,
                mention_ids=tuple(int(m["id"]) for m in message.get("mentions") or ()),
                attachment_count=len(message.get("attachments") or ()),
            )
        )
        for reaction in message.get("reactions") or ():
            emoji = reaction.get("emoji") or {}
            key = str(emoji.get("id") or emoji.get("name") or "?")
            users = reaction.get("users") or ()
            if not users:
                unattributed += int(reaction.get("count") or 0)
            for user in users:
                reactions += 1
                await pipeline.handle_reaction(
                    guild_id,
                    channel_id,
                    message_id,
                    int(user["id"]),
                    author_id,
                    key,
                    added=True,
                    is_bot=bool(user.get("isBot")),
                    at=created,
                )
    await pipeline.drain()
    if pipeline.lost:
        raise RuntimeError(f"{pipeline.lost} events could not be written; see the log")
    return ImportReport(
        files=len(exports),
        messages_read=read,
        messages_added=await _message_count(db, guilds) - before,
        reactions_read=reactions,
        joins_read=joins,
        skipped_bots=bots,
        reactions_without_users=unattributed,
    )


async def _message_count(db: Database, guilds: set[int]) -> int:
    total = 0
    for guild_id in guilds:
        total += int(
            await db.fetchval("SELECT COUNT(*) FROM activity_messages WHERE guild_id = ?", (guild_id,))
        )
    return total


def plural(count: int, noun: str) -> str:
    """'1 file', '2 files' (English terminal output)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def add_cli(subparsers: Any) -> None:
    """Add `python -m bot import FILE…`."""
    parser = subparsers.add_parser(
        "import",
        help="load history from DiscordChatExporter JSON exports",
        description="Load message history from DiscordChatExporter JSON exports into the activity tables."
        " Importing the same files twice changes nothing.",
    )
    parser.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="a DiscordChatExporter .json export"
    )


def run_cli(args: argparse.Namespace, db_path: Path) -> int:
    """Run the import subcommand; return the exit status."""
    return asyncio.run(_run(args.files, db_path))


async def _run(files: list[Path], db_path: Path) -> int:
    db = await Database.open(db_path)
    try:
        await db.migrate()
        report = await import_files(db, SystemClock(), files)
    except ImportFormatError as exc:
        sys.stderr.write(f"Import failed, nothing was imported: {exc}\n")
        return 2
    finally:
        await db.close()
    sys.stdout.write(
        f"imported {plural(report.files, 'file')}: {plural(report.messages_read, 'message')} read,"
        f" {report.messages_added} new, {plural(report.reactions_read, 'reaction')},"
        f" {plural(report.joins_read, 'join')}, {plural(report.skipped_bots, 'bot message')} skipped\n"
    )
    if report.reactions_without_users:
        sys.stdout.write(
            f"{plural(report.reactions_without_users, 'reaction')} had no user list in the export (re-export"
            " with a recent DiscordChatExporter to count them)\n"
        )
    return 0
