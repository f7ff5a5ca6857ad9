"""PNG charts for /stats (matplotlib, headless). Call them off the event loop (`asyncio.to_thread`)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from bot.activity.metrics import Heatmap, Retention, SentimentTrend


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def heatmap_png(heatmap: Heatmap, title: str, weekdays: Sequence[str]) -> bytes:
    """Draw messages by weekday and hour."""
    fig = Figure(figsize=(9, 3.2))
    ax = fig.subplots()
    image = ax.imshow(heatmap.grid, aspect="auto", cmap="YlOrRd")
    ax.set_yticks(range(7), list(weekdays))
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_title(f"{title} ({heatmap.timezone})")
    fig.colorbar(image, ax=ax)
    return _png(fig)


def sentiment_png(trend: SentimentTrend, title: str, negative: str, positive: str) -> bytes:
    """Draw the daily share of negative and positive messages."""
    fig = Figure(figsize=(9, 3.2))
    ax = fig.subplots()
    days: list[Any] = [d.day for d in trend.days]
    ax.plot(days, [d.negative_share * 100 for d in trend.days], color="tab:red", label=negative)
    ax.plot(days, [d.positive_share * 100 for d in trend.days], color="tab:green", label=positive)
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend()
    fig.autofmt_xdate()
    return _png(fig)


def retention_png(retention: Retention, title: str, week_label: str) -> bytes:
    """Draw cohorts (rows) by weeks since joining (columns), as percentages."""
    fig = Figure(figsize=(8, 0.5 + 0.45 * max(len(retention.cohorts), 1)))
    ax = fig.subplots()
    width = max((len(c.shares) for c in retention.cohorts), default=1)
    grid = [[(s * 100 if s is not None else float("nan")) for s in c.shares] for c in retention.cohorts] or [
        [float("nan")] * width
    ]
    ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=100)
    for y, cohort in enumerate(retention.cohorts):
        for x, share in enumerate(cohort.shares):
            if share is not None:
                ax.text(x, y, f"{share * 100:.0f}", ha="center", va="center", fontsize=8)
    ax.set_yticks(
        range(len(retention.cohorts)), [f"{c.week_start.isoformat()} ({c.size})" for c in retention.cohorts]
    )
    ax.set_xticks(range(width), [str(k) for k in range(width)])
    ax.set_xlabel(week_label)
    ax.set_title(title)
    return _png(fig)
