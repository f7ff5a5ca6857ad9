"""Query times: a year of history for 1000 members (over a million messages), then every /stats query.

History is written through the real pipeline (staging table and roll-ups); only the VADER score is
replaced by a cheap deterministic stand-in to build the year in about a minute. Each query is timed
several times and the median kept. Prints a final JSON line.

    python benchmarks/metrics.py [--messages 1100000] [--runs 5] [--db PATH (reuse a built year)]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.activity.metrics import MetricsService
from bot.activity.pipeline import ActivityPipeline, MessageEvent
from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.settings import Settings

GUILD = 1
END = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
TEXTS = ["hello all", "thanks, that works!", "is the server down?", "ugh this is awful", "see you tonight"]


def fake_score(text: str, lang: str) -> float:
    """A cheap deterministic compound in -1..1 (the build is about storage, not sentiment)."""
    return (zlib.crc32(text.encode()) % 200 - 100) / 100


async def build(db: Database, messages: int, seed: int = 3) -> None:
    """Write a year of joins, messages (a third are replies) and reactions for 1000 members."""
    rng = random.Random(seed)
    clock = FrozenClock(END)
    pipeline = ActivityPipeline(db, clock, Settings(db, clock), batch_size=20_000, scorer=fake_score)
    await pipeline.warm()
    start = END - timedelta(days=365)
    members = list(range(10_000, 11_000))
    joined = {m: start + timedelta(days=rng.uniform(-60, 300)) for m in members}
    for m in members:
        await pipeline.handle_join(GUILD, m, joined[m])
        if rng.random() < 0.15:
            await pipeline.handle_leave(GUILD, m, joined[m] + timedelta(days=rng.uniform(5, 200)))
    weights = [1 / (i + 1) ** 0.8 for i in range(len(members))]  # a few very active, a long tail
    authors = rng.choices(members, weights, k=messages)
    step = 365 * 86_400 / messages
    recent: list[tuple[int, int]] = []
    for i, author in enumerate(authors):
        at = start + timedelta(seconds=i * step)
        reply = rng.choice(recent) if recent and rng.random() < 0.33 else None
        message_id = 1_000_000 + i
        await pipeline.handle_message(
            MessageEvent(
                GUILD,
                100 + (author % 12),
                author,
                message_id,
                at,
                rng.choice(TEXTS),
                reply_to_message_id=reply[0] if reply else None,
                reply_to_author_id=reply[1] if reply else None,
            )
        )
        recent.append((message_id, author))
        if len(recent) > 50:
            recent.pop(0)
        if rng.random() < 0.1:
            await pipeline.handle_reaction(
                GUILD,
                100,
                message_id,
                rng.choice(members),
                author,
                "👍",
                added=True,
                at=at + timedelta(minutes=5),
            )
        if i % 2_000 == 0:
            await asyncio.sleep(0)
    await pipeline.drain()


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> float:
    """Return the median wall time of a query in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def run(path: Path, messages: int, runs: int) -> dict[str, Any]:
    """Build (unless already built) and time every query."""
    db = await Database.open(path)
    await db.migrate()
    built = await db.fetchval("SELECT COUNT(*) FROM activity_messages")
    build_s = None
    if not built:
        started = time.perf_counter()
        await build(db, messages)
        build_s = round(time.perf_counter() - started, 1)
        built = await db.fetchval("SELECT COUNT(*) FROM activity_messages")
    clock = FrozenClock(END)
    metrics = MetricsService(db, clock, Settings(db, clock))
    queries: dict[str, Callable[[], Awaitable[Any]]] = {
        "overview_7d": lambda: metrics.overview(GUILD, 7),
        "overview_365d": lambda: metrics.overview(GUILD, 365),
        "members_30d": lambda: metrics.member_stats(GUILD, 30),
        "members_365d": lambda: metrics.member_stats(GUILD, 365),
        "channels_30d": lambda: metrics.sentiment(GUILD, 30),
        "channels_365d": lambda: metrics.sentiment(GUILD, 365),
        "funnel_8w": lambda: metrics.funnel(GUILD, 56),
        "funnel_52w": lambda: metrics.funnel(GUILD, 364),
        "retention_8w": lambda: metrics.retention(GUILD, 8),
        "retention_26w": lambda: metrics.retention(GUILD, 26),
        "contributors_30d": lambda: metrics.contributors(GUILD, 30),
        "contributors_365d": lambda: metrics.contributors(GUILD, 365),
        "at_risk": lambda: metrics.at_risk(GUILD),
        "heatmap_28d": lambda: metrics.heatmap(GUILD, 28),
        "heatmap_365d": lambda: metrics.heatmap(GUILD, 365),
        "responsiveness_365d": lambda: metrics.responsiveness(GUILD, 365),
        "export_csv_365d": lambda: metrics.export_csv(GUILD, 365),
        "weekly_digest": lambda: metrics.digest(GUILD),
    }
    figures = {name: round(await timed(call, runs), 1) for name, call in queries.items()}
    await db.close()
    return {
        "messages": built,
        "members": 1000,
        "build_s": build_s,
        "runs": runs,
        "median_ms": figures,
        "max_median_ms": max(figures.values()),
        "all_under_200ms": max(figures.values()) < 200,
    }


def main() -> None:
    """Parse arguments, run, print the final JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, help="database to build into or reuse (default: a temporary file)")
    args = parser.parse_args()
    if args.db:
        result = asyncio.run(run(args.db, args.messages, args.runs))
    else:
        with tempfile.TemporaryDirectory() as folder:
            result = asyncio.run(run(Path(folder) / "year.db", args.messages, args.runs))
    for name, ms in result["median_ms"].items():
        sys.stderr.write(f"{name:>22}: {ms:8.1f} ms\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
