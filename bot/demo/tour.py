"""Import the shipped sample community into a throw-away database, compute its figures, draw its charts.

No Discord, no token: what a manager would see from `/stats`, before creating anything.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.activity import charts
from bot.activity.importer import import_files
from bot.activity.metrics import MetricsService, Overview
from bot.core.clock import FrozenClock, from_ts
from bot.core.db import Database
from bot.core.i18n import Catalog
from bot.core.resources import data_path
from bot.core.settings import Settings

DEMO_DIR = data_path("demo")
PERIOD_DAYS = 28


@dataclass(frozen=True)
class Tour:
    """What the tour found and wrote."""

    guild_id: int
    messages_imported: int
    ends: datetime
    overview: Overview
    charts: tuple[Path, ...]


def export_files() -> list[Path]:
    """The shipped sample export, one file per channel."""
    return sorted(DEMO_DIR.glob("*.json"))


async def run_tour(out: Path, catalog: Catalog, lang: str = "en") -> Tour:
    """Import the sample into a temporary database and write the charts of its last weeks into `out` (a folder)."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hearth-demo-") as folder:
        db = await Database.open(Path(folder) / "demo.db")
        try:
            await db.migrate()
            clock = FrozenClock(datetime.now(UTC))
            settings = Settings(db, clock)
            report = await import_files(db, clock, export_files(), settings=settings)
            guild_id, last = await _guild_and_last_message(db)
            # The history is in the past: every figure is computed for the sample's own last weeks.
            end = from_ts(last) + timedelta(seconds=1)
            clock.set(end)
            metrics = MetricsService(db, clock, settings)
            overview = await metrics.overview(guild_id, PERIOD_DAYS, end)
            written = await _draw(metrics, guild_id, end, out, catalog, lang)
        finally:
            await db.close()
    return Tour(guild_id, report.messages_added, end, overview, written)


async def _guild_and_last_message(db: Database) -> tuple[int, int]:
    row = await db.fetchone("SELECT guild_id, MAX(created_at) FROM activity_messages GROUP BY guild_id")
    assert row is not None, "the demo export holds no messages"
    return int(row[0]), int(row[1])


async def _draw(
    metrics: MetricsService, guild_id: int, end: datetime, out: Path, catalog: Catalog, lang: str
) -> tuple[Path, ...]:
    def t(key: str) -> str:
        return catalog.t(lang, key)

    heatmap = await metrics.heatmap(guild_id, PERIOD_DAYS, end)
    trend = await metrics.sentiment(guild_id, PERIOD_DAYS, end)
    retention = await metrics.retention(guild_id, 8, "join", end)
    pictures = {
        "heatmap.png": charts.heatmap_png(heatmap, t("stats.heatmap.chart"), t("stats.weekdays").split(",")),
        "sentiment.png": charts.sentiment_png(
            trend, t("stats.sentiment.chart"), t("stats.negative"), t("stats.positive")
        ),
        "retention.png": charts.retention_png(
            retention, t("stats.retention.chart"), t("stats.retention.weeks_since")
        ),
    }
    written = []
    for name, png in pictures.items():
        path = out / name
        path.write_bytes(png)
        written.append(path)
    return tuple(written)
