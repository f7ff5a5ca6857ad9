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
    exports = [_load(Path(p)) for p in paths]
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
        sys.stderr.write(f"Import failed: {exc}\n")
        return 1
    finally:
        await db.close()
    sys.stdout.write(
        f"imported {report.files} files: {report.messages_read} messages read, {report.messages_added} new,"
        f" {report.reactions_read} reactions, {report.joins_read} joins, {report.skipped_bots} bot messages skipped\n"
    )
    if report.reactions_without_users:
        sys.stdout.write(
            f"{report.reactions_without_users} reactions had no user list in the export (re-export with a"
            " recent DiscordChatExporter to count them)\n"
        )
    return 0
