"""Adapter: the irc-disentanglement #ubuntu logs as pipeline events (tests only; data stays in ../shared)."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.activity.pipeline import ActivityPipeline, MessageEvent

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "chat" / "irc_ubuntu" / "dev"
GUILD = 42
CHANNEL = 4242
_MESSAGE = re.compile(r"^\[(\d\d):(\d\d)\] (?:<([^>]+)>| \* (\S+)) ?(.*)$")
_MEMBER = re.compile(r"^=== (\S+)\s+\[[^\]]*\]\s+has (joined|left) #")


def user_id(nick: str) -> int:
    """Give a nick a stable numeric id."""
    return zlib.crc32(nick.encode()) + 1


@dataclass(frozen=True)
class IrcLine:
    """One parsed raw line."""

    index: int
    at: datetime
    kind: str  # message, join, leave
    nick: str
    text: str


def parse(path: Path) -> list[IrcLine]:
    """Parse a raw log; times without a date roll over to the next day when the clock goes back."""
    start = datetime.strptime(path.name[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    day = start
    last = None
    current = start
    lines = []
    for index, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        match = _MESSAGE.match(raw)
        if match:
            minutes = int(match.group(1)) * 60 + int(match.group(2))
            if last is not None and minutes < last:
                day += timedelta(days=1)
            last = minutes
            current = day + timedelta(minutes=minutes)
            lines.append(IrcLine(index, current, "message", match.group(3) or match.group(4), match.group(5)))
            continue
        member = _MEMBER.match(raw)
        if member:
            lines.append(
                IrcLine(
                    index, current, "join" if member.group(2) == "joined" else "leave", member.group(1), ""
                )
            )
    return lines


def reply_links(path: Path) -> dict[int, int]:
    """Return child line -> parent line from the annotation (the latest parent when there are several)."""
    links: dict[int, int] = {}
    annotation = path.with_name(path.name.replace(".raw.txt", ".annotation.txt"))
    for raw in annotation.read_text().splitlines():
        parts = raw.split()
        if len(parts) >= 2 and parts[0] != parts[1]:
            parent, child = int(parts[0]), int(parts[1])
            links[child] = max(parent, links.get(child, parent))
    return links


def message_id(file_no: int, index: int) -> int:
    """Give a line a unique message id."""
    return file_no * 100_000 + index + 1


async def feed(pipeline: ActivityPipeline, paths: list[Path]) -> None:
    """Push every file's joins, leaves and messages (with gold reply links) through the pipeline."""
    for file_no, path in enumerate(paths):
        lines = parse(path)
        by_index = {line.index: line for line in lines}
        links = reply_links(path)
        for line in lines:
            if line.kind == "join":
                await pipeline.handle_join(GUILD, user_id(line.nick), line.at)
            elif line.kind == "leave":
                await pipeline.handle_leave(GUILD, user_id(line.nick), line.at)
            else:
                parent = by_index.get(links.get(line.index, -1))
                reply = parent is not None and parent.kind == "message"
                await pipeline.handle_message(
                    MessageEvent(
                        guild_id=GUILD,
                        channel_id=CHANNEL,
                        author_id=user_id(line.nick),
                        message_id=message_id(file_no, line.index),
                        created_at=line.at,
                        text=line.text,
                        reply_to_message_id=message_id(file_no, parent.index) if reply and parent else None,
                        reply_to_author_id=user_id(parent.nick) if reply and parent else None,
                    )
                )
    await pipeline.drain()
