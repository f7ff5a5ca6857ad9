"""Real traffic: the #ubuntu IRC logs with human reply links, through the pipeline, against plain counts."""

from __future__ import annotations

import re
import statistics
import zlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.activity.metrics import MetricsService
from bot.activity.pipeline import ActivityPipeline
from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.settings import Settings
from tests.activity import irc

DATA = Path(__file__).parents[2] / ".." / "shared" / "data" / "chat" / "irc_ubuntu" / "dev"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared IRC data not found at {DATA}")
END = datetime(2017, 1, 1, tzinfo=UTC)
DAYS = (END - datetime(2004, 11, 1, tzinfo=UTC)).days


def _raw_files() -> list[Path]:
    return sorted(DATA.glob("*.raw.txt"))


def _plain_messages() -> list[tuple[int, int, str, datetime, str]]:
    """(file number, line, nick, time, text) of every message line, by string operations only."""
    found = []
    for file_no, path in enumerate(_raw_files()):
        day = datetime.fromisoformat(path.name[:10]).replace(tzinfo=UTC)
        previous = -1
        for index, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
            if not line.startswith("[") or line[6:8] not in ("] ",):
                continue
            rest = line[8:]
            if rest.startswith("<") and ">" in rest:
                nick, text = rest[1 : rest.index(">")], rest[rest.index(">") + 2 :]
            elif rest.startswith(" * "):
                nick, _, text = rest[3:].partition(" ")
            else:
                continue
            minutes = int(line[1:3]) * 60 + int(line[4:6])
            if minutes < previous:
                day += timedelta(days=1)
            previous = minutes
            found.append((file_no, index, nick, day + timedelta(minutes=minutes), text))
    return found


def _gold_parents(message_lines: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Child line -> its latest annotated parent line, between message lines, self-links left out."""
    parents: dict[tuple[int, int], int] = {}
    for file_no, path in enumerate(_raw_files()):
        annotation = Path(str(path).replace(".raw.txt", ".annotation.txt"))
        for row in annotation.read_text().splitlines():
            a, b, *_ = row.split()
            if a != b and (file_no, int(a)) in message_lines and (file_no, int(b)) in message_lines:
                parents[(file_no, int(b))] = max(int(a), parents.get((file_no, int(b)), -1))
    return parents


@pytest.fixture
async def loaded(db: Database, settings: Settings) -> tuple[Database, MetricsService]:
    clock = FrozenClock(END)
    pipeline = ActivityPipeline(db, clock, Settings(db, clock), batch_size=2_000)
    await pipeline.warm()
    await irc.feed(pipeline, _raw_files())
    return db, MetricsService(db, clock, Settings(db, clock))


async def test_message_counts_per_member_and_joins_match_the_logs(
    loaded: tuple[Database, MetricsService],
) -> None:
    db, metrics = loaded
    messages = _plain_messages()
    expected = Counter(zlib.crc32(nick.encode()) + 1 for _, _, nick, _, _ in messages)
    stored = {
        r[0]: r[1]
        for r in await db.fetchall(
            "SELECT user_id, SUM(messages) FROM activity_daily_member GROUP BY user_id"
        )
    }
    assert stored == dict(expected)
    assert len(messages) > 10_000
    joiners = set()
    for path in _raw_files():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("=== ") and " has joined #" in line:
                joiners.add(line.split()[1])
    assert await db.fetchval("SELECT COUNT(DISTINCT user_id) FROM member_events WHERE kind = 'join'") == len(
        joiners
    )
    stats = await metrics.member_stats(irc.GUILD, DAYS)
    assert stats.messages.current == len(messages)
    assert stats.active.current == len(expected)


async def test_reply_links_and_responsiveness_match_the_annotations(
    loaded: tuple[Database, MetricsService],
) -> None:
    db, metrics = loaded
    messages = _plain_messages()
    by_line = {(f, i): (nick, at, text) for f, i, nick, at, text in messages}
    parents = _gold_parents(set(by_line))
    expected_pairs = {(f * 100_000 + b + 1, f * 100_000 + a + 1) for (f, b), a in parents.items()}
    stored = {
        tuple(r)
        for r in await db.fetchall(
            "SELECT message_id, reply_to_message_id FROM activity_messages WHERE reply_to_message_id IS NOT NULL"
        )
    }
    assert stored == expected_pairs
    assert len(stored) > 1_500
    # Questions answered by someone else, and how fast, from the annotation alone.
    first_reply: dict[tuple[int, int], datetime] = {}
    for (f, b), a in parents.items():
        child_nick, child_at, _ = by_line[(f, b)]
        if child_nick != by_line[(f, a)][0]:
            first_reply[(f, a)] = min(child_at, first_reply.get((f, a), child_at))
    questions = [key for key, (_, _, text) in by_line.items() if re.search(r"\?(\s|$)", text)]
    answered = [key for key in questions if key in first_reply]
    delays = [(first_reply[k] - by_line[k][1]).total_seconds() for k in answered]
    result = await metrics.responsiveness(irc.GUILD, DAYS)
    assert (result.questions, result.questions_answered) == (len(questions), len(answered))
    assert result.median_reply_seconds == statistics.median(delays)


async def test_contributors_and_heatmap_match_plain_counts(loaded: tuple[Database, MetricsService]) -> None:
    _, metrics = loaded
    messages = _plain_messages()
    blocks: dict[int, set[int]] = defaultdict(set)
    counts: Counter[int] = Counter()
    grid: Counter[tuple[int, int]] = Counter()
    for _, _, nick, at, _ in messages:
        uid = zlib.crc32(nick.encode()) + 1
        blocks[uid].add(int(at.timestamp()) // 600)
        counts[uid] += 1
        grid[(at.weekday(), at.hour)] += 1
    ranking = sorted(blocks, key=lambda u: (-len(blocks[u]), -counts[u], u))[:10]
    result = await metrics.contributors(irc.GUILD, DAYS, limit=10)
    assert [(c.user_id, c.blocks, c.messages) for c in result.active] == [
        (u, len(blocks[u]), counts[u]) for u in ranking
    ]
    heatmap = await metrics.heatmap(irc.GUILD, DAYS)
    assert heatmap.timezone == "UTC"
    assert {(d, h): v for d, row in enumerate(heatmap.grid) for h, v in enumerate(row) if v} == dict(grid)
