"""Fixtures for the activity tests: a pipeline and a metrics service on the real test database."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from bot.activity.metrics import MetricsService
from bot.activity.pipeline import ActivityPipeline, MessageEvent
from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.settings import Settings

GUILD = 1000
GENERAL = 2000
_ids = itertools.count(10_000)


def message(author: int, at: datetime, text: str = "hello there", **fields: Any) -> MessageEvent:
    """Build a message event with a fresh id."""
    fields.setdefault("guild_id", GUILD)
    fields.setdefault("channel_id", GENERAL)
    fields.setdefault("message_id", next(_ids))
    return MessageEvent(author_id=author, created_at=at, text=text, **fields)


@pytest.fixture
async def pipeline(db: Database, clock: FrozenClock, settings: Settings) -> ActivityPipeline:
    """A warmed pipeline with a large batch (tests flush explicitly)."""
    pipe = ActivityPipeline(db, clock, settings, batch_size=10_000)
    await pipe.warm()
    return pipe


@pytest.fixture
def metrics(db: Database, clock: FrozenClock, settings: Settings) -> MetricsService:
    """The metrics service on the test database."""
    return MetricsService(db, clock, settings)
