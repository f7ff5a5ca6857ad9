"""The Bot subclass: setup_hook opens the DB, migrates, builds services, adds cogs, starts the scheduler."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import importlib.util
import logging
import pkgutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import discord
import yarl
from discord.backoff import ExponentialBackoff
from discord.ext import commands

from bot.core.clock import Clock, SystemClock
from bot.core.config import Config
from bot.core.db import Database
from bot.core.i18n import Catalog
from bot.core.notices import Notices
from bot.core.privacy import PrivacyRegistry
from bot.core.published import digest
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

# How long shutdown waits for event handlers already running (a message read just before the gateway
# closed is still being stored) before unloading the cogs.
EVENT_SETTLE_SECONDS = 5.0
# Fields discord.py's parser lets be missing although every listener needs them (a message without an
# author reaches each `on_message` and fails there, once per listener).
REQUIRED_FIELDS = {"MESSAGE_CREATE": ("id", "channel_id", "author")}
# Errors that mean the set-up is wrong (bad token, intents not switched on, a close code Discord says
# is final): retrying would fail the same way, so the process ends and says why.
FATAL_GATEWAY_ERRORS = (discord.LoginFailure, discord.PrivilegedIntentsRequired, discord.ConnectionClosed)


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


def guard_parsers(parsers: dict[str, Callable[[Any], None]]) -> None:
    """Wrap discord.py's gateway event parsers so one malformed event is logged and skipped.

    A parser that raises (a MESSAGE_CREATE without `author`, a GUILD_MEMBER_ADD without `user`) would
    otherwise escape `DiscordWebSocket.received_message` and `Client.connect`, and end the process.
    The sequence number is already recorded by then, so skipping the event keeps the session whole.
    """
    for event, parse in list(parsers.items()):
        if not isinstance(parse, functools.partial) or parse.func is not _parse_or_skip:
            parsers[event] = functools.partial(_parse_or_skip, event, parse)


def _parse_or_skip(event: str, parse: Callable[[Any], None], data: Any) -> None:
    try:
        for key in REQUIRED_FIELDS.get(event, ()):
            if key not in data:
                raise KeyError(key)
        parse(data)
    except Exception:
        # The field names say what was missing; the values may be members' messages, so they stay out.
        fields = sorted(data) if isinstance(data, dict) else type(data).__name__
        log.exception("skipped a malformed %s event from the gateway (fields: %s)", event, fields)


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
        publish_at_start: bool = True,
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
        self._publish_at_start = publish_at_start
        guard_parsers(self._connection.parsers)

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
        if self._publish_at_start and self.application_id is not None:  # logged in, not an offline tool
            await self.publish_commands()

    async def command_payload(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        """The exact command payload a sync would send: names, options and their French localizations."""
        translator = self.tree.translator
        commands = self.tree._get_all_commands(guild=guild)
        if translator is None:
            return [command.to_dict(self.tree) for command in commands]
        return [await command.get_translated_payload(self.tree, translator) for command in commands]

    async def publish_commands(self, *, force: bool = False, globally: bool = False) -> bool:
        """Publish the slash commands when they differ from what was last published; return whether it did.

        Globally, or to HEARTH_DEV_GUILD_ID when set (instant there) unless `globally`. A failure is
        logged and left for the next start (or `python -m bot sync`): the bot runs on with the commands
        Discord has.
        """
        dev = self.config.dev_guild_id
        guild = discord.Object(dev) if dev and not globally else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        scope = f"guild:{guild.id}" if guild is not None else "global"
        assert self.application_id is not None
        value = digest(await self.command_payload(guild))
        published = self.services.published
        if not force and await published.is_current(self.application_id, scope, value):
            log.info("slash commands unchanged since they were last published (%s)", scope)
            return False
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            log.error("could not publish the slash commands (%s): %s; retrying at the next start", scope, exc)
            return False
        await published.record(self.application_id, scope, value)
        where = (
            f"to development server {guild.id} (shown at once)"
            if guild
            else "globally (Discord may take up to an hour to show them)"
        )
        log.info("published %d slash commands %s", len(synced), where)
        return True

    async def on_ready(self) -> None:
        """Log who we are and where; the first time, start running scheduled jobs."""
        log.info("ready as %s in %d servers", self.user, len(self.guilds))
        if self._closing:
            # discord.py's ready timer can fire after shutdown began: the database may be closing.
            return
        if not self._scheduler_started:
            # Not in setup_hook: a job already due at start would run before Discord sent the
            # guilds, find no guild in the cache and be marked done without doing anything.
            self._scheduler_started = True
            # Servers that removed the bot while it was down sent no GUILD_DELETE: their jobs stop here.
            await self.services.guilds.reconcile({guild.id for guild in self.guilds})
            await self.scheduler.start()

    async def on_error(self, event_method: str, /, *args: object, **kwargs: object) -> None:
        """Log any exception an event handler let escape, with its traceback; never silently."""
        # discord.py calls this from inside its `except`, so the exception is still current.
        error = sys.exc_info()[1]
        log.error("unhandled error in event %s", event_method, exc_info=error)

    async def connect(self, *, reconnect: bool = True) -> None:
        """Hold the gateway session; after an unexpected error, log it and connect again with back-off.

        discord.py reconnects on network errors itself; anything else that escapes its loop (a bug
        in a payload handler, an odd frame) would end the process. Only a bad token, missing intents
        and close codes Discord calls final end it (FATAL_GATEWAY_ERRORS).
        """
        backoff = ExponentialBackoff()
        while True:
            try:
                await super().connect(reconnect=reconnect)
                return
            except FATAL_GATEWAY_ERRORS:
                raise
            except Exception:
                if self.is_closed():
                    return  # shutting down: whatever the socket did last no longer matters
                if not reconnect:
                    raise
                delay = backoff.delay()
                log.exception("gateway connection failed unexpectedly; connecting again in %.1fs", delay)
                # discord.py left the socket open when the error escaped: close it (a new IDENTIFY follows),
                # whatever state it is in.
                with contextlib.suppress(Exception):
                    await self._close_gateway(code=4000)
                await asyncio.sleep(delay)
            if self.is_closed():
                return

    def is_closed(self) -> bool:
        """Tell whether the bot is closing or closed; discord.py's gateway loop stops reconnecting then."""
        return getattr(self, "_closing", False) or super().is_closed()

    async def _close_gateway(self, *, code: int = 1000) -> None:
        ws = self.ws
        if ws is not None and ws.open:
            await ws.close(code=code)

    async def _settle_events(self) -> None:
        """Wait (bounded) for the event handlers discord.py already started for events it read."""
        current = asyncio.current_task()
        running = [
            task
            for task in asyncio.all_tasks()
            if task is not current and not task.done() and task.get_name().startswith("discord.py: ")
        ]
        if running:
            _, late = await asyncio.wait(running, timeout=EVENT_SETTLE_SECONDS)
            if late:
                log.warning("%d event handlers still running at shutdown", len(late))

    async def close(self) -> None:
        """Stop reading from Discord, let handlers finish, unload cogs, flush, then close HTTP and the database.

        The gateway closes first: `commands.Bot.close()` unloads the cogs before closing it, and the
        bot went on reading (and acknowledging) messages that no listener was left to store.
        """
        if self._closing:
            # A second caller (`async with bot` after a signal's close) waits for the first to finish:
            # returning early let asyncio.run() end and cancel the flush and the database close.
            await self._closed.wait()
            return
        self._closing = True
        try:
            log.info("shutting down")
            await self._close_gateway()
            await self._settle_events()
            if hasattr(self, "services"):
                await self.scheduler.shutdown()
            # Unloads the cogs (their cog_unload writes what they buffer), then closes HTTP.
            await super().close()
            for flush in self._flushers:
                try:
                    await flush()
                except Exception:
                    log.exception("flush failed during shutdown")
            if hasattr(self, "services"):
                await self.db.close()
            log.info("shutdown complete")
        finally:
            self._closed.set()
