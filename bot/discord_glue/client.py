"""The Bot subclass: setup_hook opens the DB, migrates, builds services, adds cogs, starts the scheduler."""

from __future__ import annotations

import ast
import asyncio
import functools
import importlib.util
import logging
import pkgutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord
import yarl
from discord.ext import commands

from bot.core.clock import Clock, SystemClock
from bot.core.config import Config
from bot.core.db import Database
from bot.core.i18n import Catalog
from bot.core.notices import Notices
from bot.core.privacy import PrivacyRegistry
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings
from bot.discord_glue.interactions import SAFE_MENTIONS, HearthTree, report_bad_setting
from bot.discord_glue.posting import is_transient
from bot.discord_glue.translator import HearthTranslator
from bot.services import Services, build_services

log = logging.getLogger(__name__)

INTENTS = discord.Intents.default()
INTENTS.members = True
INTENTS.message_content = True


def discover_extensions() -> list[str]:
    """List the cog modules under `cogs/`: those defining `setup()` (views beside a cog and `_` files are helpers)."""
    spec = importlib.util.find_spec("cogs")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(
        f"cogs.{info.name}"
        for info in pkgutil.iter_modules(spec.submodule_search_locations)
        if not info.name.startswith("_") and _defines_setup(info)
    )


def _defines_setup(info: pkgutil.ModuleInfo) -> bool:
    # Read the source rather than import it: `cogs/X_views.py` (CONTRIBUTING's place for views) has no
    # setup(), and loading it as an extension would stop the bot at start.
    folder = Path(getattr(info.module_finder, "path", ""))
    source = folder / info.name / "__init__.py" if info.ispkg else folder / f"{info.name}.py"
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return True  # let load_extension report the real problem
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "setup"
        for node in tree.body
    )


def apply_endpoint_overrides(config: Config) -> None:
    """Point discord.py at a local Discord stand-in; only for tests, only when set."""
    if config.api_base:
        discord.http.Route.BASE = config.api_base.rstrip("/")
        log.warning("TEST MODE: Discord REST API redirected to %s", discord.http.Route.BASE)
    if config.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)
        log.warning("TEST MODE: Discord gateway redirected to %s", config.gateway_url)


class HearthBot(commands.Bot):
    """Hearth: services hang off the bot so cogs can reach them; domain code never sees the bot."""

    services: Services

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        extensions: list[str] | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        # Hearth never joins voice: no warning at every start that the voice libraries are missing.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=INTENTS,
            allowed_mentions=SAFE_MENTIONS,
            help_command=None,
            tree_cls=HearthTree,
        )
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.catalog = catalog or Catalog.load()
        self._extensions = discover_extensions() if extensions is None else extensions
        self._flushers: list[Callable[[], Awaitable[None]]] = []
        self._closing = False
        self._closed = asyncio.Event()
        self._scheduler_started = False

    # The services cogs use most, by their short names.
    @property
    def db(self) -> Database:
        """The one database connection."""
        return self.services.db

    @property
    def settings(self) -> Settings:
        """Per-server settings."""
        return self.services.settings

    @property
    def scheduler(self) -> Scheduler:
        """Durable scheduled jobs."""
        return self.services.scheduler

    @property
    def notices(self) -> Notices:
        """One-off notices to managers."""
        return self.services.notices

    @property
    def privacy(self) -> PrivacyRegistry:
        """Members' data rights across features."""
        return self.services.privacy

    def add_flusher(self, flush: Callable[[], Awaitable[None]]) -> None:
        """Register pending work to write out before the database closes (shutdown)."""
        self._flushers.append(flush)

    async def setup_hook(self) -> None:
        """Open and migrate the database, build services, load cogs (the scheduler starts at on_ready)."""
        db = await Database.open(self.config.db_path)
        applied = await db.migrate()
        log.info(
            "database %s ready (schema %d, %d applied)",
            self.config.db_path,
            await db.schema_version(),
            len(applied),
        )
        self.services = await build_services(self.config, db, self.clock, self.catalog)
        self.services.settings.on_invalid(functools.partial(report_bad_setting, self))
        # A Discord outage (5xx, timeouts, lost connections) delays a job; it never loses it.
        self.services.scheduler.treat_as_transient(is_transient)
        await self.tree.set_translator(HearthTranslator(self.catalog))
        for name in self._extensions:
            await self.load_extension(name)
            log.info("loaded %s", name)
        if self.config.dev_guild_id:
            guild = discord.Object(self.config.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to development guild %s", len(synced), self.config.dev_guild_id)

    async def on_ready(self) -> None:
        """Log who we are and where; the first time, start running scheduled jobs."""
        log.info("ready as %s in %d servers", self.user, len(self.guilds))
        if not self._scheduler_started:
            # Not in setup_hook: a job already due at start would run before Discord sent the
            # guilds, find no guild in the cache and be marked done without doing anything.
            self._scheduler_started = True
            await self.scheduler.start()

    async def on_error(self, event_method: str, /, *args: object, **kwargs: object) -> None:
        """Log any exception an event handler let escape, with its traceback; never silently."""
        # discord.py calls this from inside its `except`, so the exception is still current.
        error = sys.exc_info()[1]
        log.error("unhandled error in event %s", event_method, exc_info=error)

    async def close(self) -> None:
        """Flush pending writes, stop the scheduler, close the database, then disconnect."""
        if self._closing:
            # A second caller (`async with bot` after a signal's close) waits for the first to finish:
            # returning early let asyncio.run() end and cancel the flush and the database close.
            await self._closed.wait()
            return
        self._closing = True
        try:
            log.info("shutting down")
            # Disconnect first so no new event arrives after the last flush.
            await super().close()
            for flush in self._flushers:
                try:
                    await flush()
                except Exception:
                    log.exception("flush failed during shutdown")
            if hasattr(self, "services"):
                await self.scheduler.shutdown()
                await self.db.close()
            log.info("shutdown complete")
        finally:
            self._closed.set()
