"""Shared fixtures: a real migrated SQLite file, a frozen clock, and the simcord harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
import simcord

from bot.core.clock import FrozenClock
from bot.core.config import Config
from bot.core.db import Database
from bot.core.i18n import Catalog
from bot.core.settings import Settings
from bot.discord_glue.client import HearthBot
from bot.services import build_settings
from tests.helpers import EnvClock, World, build_world


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at a fixed Monday morning, moved only by the test."""
    return FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real database file under tmp_path, migrated by the production code."""
    database = await Database.open(tmp_path / "hearth.db")
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped message catalogs."""
    return Catalog.load()


@pytest.fixture
def settings(db: Database, clock: FrozenClock) -> Settings:
    """The settings service on the test database, every feature's settings declared as in production."""
    return build_settings(db, clock)


def make_bot(db_path: Path, clock: object) -> HearthBot:
    """Build the real bot with every cog, on a test database."""
    return HearthBot(Config(token=None, db_path=db_path), clock=clock)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The real bot in simcord's simulated Discord, with a small server and commands synced."""
    clock = EnvClock()
    bot = make_bot(tmp_path / "bot.db", clock)
    env = simcord.Env(bot)
    await env.start()
    clock.env = env
    w: World | None = None
    try:
        w = build_world(env, bot)
        await w.sync()
        yield w
    finally:
        await env.shutdown()
        await bot.close()
        unread = w.unread_errors() if w is not None else list(env.errors_since(0))
        if unread:
            raise ExceptionGroup("the bot recorded errors the test did not read (world.errors())", unread)
