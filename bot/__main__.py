"""Command line: `python -m bot [run|migrate|sync|check|forget-guild|new-migration|import|conflict] …`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.activity.importer import add_cli as add_import_cli
from bot.activity.importer import run_cli as run_import
from bot.activity.rollups import probe_writer
from bot.core.clock import SystemClock
from bot.core.config import Config, ConfigError, load_config, setup_logging
from bot.core.db import MIGRATIONS_DIR, Database, MigrationError, discover_migrations
from bot.core.guilds import GuildLifecycle
from bot.core.i18n import Catalog
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings

log = logging.getLogger("bot")

EXIT_OK, EXIT_FAILED, EXIT_NO_TOKEN = 0, 1, 2

# View Channels, Send Messages, Send Messages in Threads, Embed Links, Attach Files,
# Read Message History, Add Reactions, Manage Roles (member/interest roles), Manage Channels (slow mode).
PERMISSIONS = 1024 | 2048 | (1 << 38) | 16384 | 32768 | 65536 | 64 | (1 << 28) | 16

NO_TOKEN_HELP = f"""\
Hearth cannot start: no Discord bot token.

Set DISCORD_TOKEN in the environment or in a .env file next to README.md (see .env.example).

To get a token:
  1. Open https://discord.com/developers/applications and create an application (New Application).
  2. In the Bot tab, press Reset Token and copy it into DISCORD_TOKEN. Keep it secret.
  3. In the same tab, switch on both privileged gateway intents:
       - Server Members Intent   (welcomes, onboarding, member metrics)
       - Message Content Intent  (sentiment and conflict flagging)
  4. Invite the bot (OAuth2 tab) with the scopes `bot` and `applications.commands` and the
     permissions View Channels, Send Messages, Send Messages in Threads, Embed Links, Attach Files,
     Read Message History, Add Reactions, Manage Roles and Manage Channels (permissions integer
     {PERMISSIONS}):
       https://discord.com/oauth2/authorize?client_id=YOUR_APPLICATION_ID&scope=bot+applications.commands&permissions={PERMISSIONS}

Then run `python -m bot` again. `python -m bot check` validates the rest of the set-up without a token.
"""


def out(text: str = "") -> None:
    """Write a line for the person at the terminal."""
    sys.stdout.write(text + "\n")


def build_parser() -> argparse.ArgumentParser:
    """Describe the CLI."""
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Hearth, a Discord bot for small communities."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "run",
        help="connect to Discord and run the bot (the default)",
        description="Connect to Discord and run the bot until SIGINT/SIGTERM.",
    )
    sub.add_parser(
        "migrate",
        help="create or upgrade the database, then exit",
        description="Apply pending database migrations and exit.",
    )
    sub.add_parser(
        "sync",
        help="publish slash commands globally (takes up to an hour to show)",
        description="Log in and sync slash commands globally, then exit.",
    )
    sub.add_parser(
        "check",
        help="validate configuration and database without connecting",
        description="Validate configuration, message catalogs, migrations and the database without connecting to Discord. A missing token is a warning here.",
    )
    forget = sub.add_parser(
        "forget-guild",
        help="delete everything stored about one server, now",
        description="Delete every row of one server in every table, in one transaction, without waiting "
        "for the retention period that follows its removal of the bot. Other servers are untouched.",
    )
    forget.add_argument("guild_id", type=int, metavar="ID", help="the server's id (a snowflake)")
    new_migration = sub.add_parser(
        "new-migration",
        help="write the next numbered migration file with its header",
        description="Create bot/core/migrations/NNNN_NAME.sql (the next free number) with its "
        "`-- Reason:` header, for a schema change. Landed migrations are never edited.",
    )
    new_migration.add_argument("name", metavar="NAME", help="lowercase words joined by _, e.g. contest_votes")
    new_migration.add_argument("--reason", default="", help="why the schema changes (the header line)")
    add_import_cli(sub)
    conflict = sub.add_parser(
        "conflict",
        help="offline conflict scoring tools",
        description="Offline tools for the conflict scorer; nothing here connects to Discord.",
    )
    conflict_sub = conflict.add_subparsers(dest="conflict_command", metavar="SUBCOMMAND", required=True)
    conflict_sub.add_parser(
        "score",
        help="score JSON Lines snippets from stdin, one output line per input line",
        description="Read JSON Lines conversation snippets on stdin and write one JSON line per input "
        "line ({id, score, flag}) on stdout, in order. See bot/conflict/cli.py for the format.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen command; return the exit status."""
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    if command == "conflict" and args.conflict_command == "score":
        # Needs no configuration or database; stdout carries only the scores.
        from bot.conflict.cli import score_stream

        score_stream(sys.stdin, sys.stdout)
        return EXIT_OK
    if command == "new-migration":
        return write_migration(args.name, args.reason)
    try:
        config = load_config()
    except ConfigError as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        return EXIT_FAILED
    setup_logging(config)
    if command == "forget-guild":
        return asyncio.run(forget_guild(config, args.guild_id))
    if command == "check":
        return asyncio.run(check(config))
    if command == "migrate":
        return asyncio.run(migrate(config))
    if command == "import":
        return run_import(args, config.db_path)
    if not config.has_token:
        sys.stderr.write(NO_TOKEN_HELP)
        return EXIT_NO_TOKEN
    if command == "sync":
        return asyncio.run(sync(config))
    return asyncio.run(run(config))


async def run(config: Config) -> int:
    """Run the bot until a signal asks it to stop, then shut down cleanly."""
    from bot.discord_glue.client import HearthBot, apply_endpoint_overrides

    apply_endpoint_overrides(config)
    bot = HearthBot(config)
    loop = asyncio.get_running_loop()

    def on_signal(signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(_stop, bot, signal.Signals(signum))

    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not loop.add_signal_handler: it relies on the loop's wake-up socket, which a busy loop lets fill
        # up (one small write per aiosqlite result), and then asyncio drops the signal ("Exception ignored
        # when trying to write to the signal wakeup fd"): SIGTERM during a burst never stopped the bot.
        # A Python-level handler runs in the main thread between bytecodes whatever the socket holds.
        signal.signal(sig, on_signal)
    assert config.token is not None
    try:
        async with bot:
            await bot.start(config.token)
        # start() returns once the gateway is closed, while a signal's close() may still be flushing
        # (and `async with` skips close() then): wait for it, or asyncio.run() would cancel the flush.
        await bot.close()
    except Exception as exc:
        log.error("bot stopped: %s", type(exc).__name__, exc_info=exc)
        return EXIT_FAILED
    return EXIT_OK


_STOPPING: set[asyncio.Task[None]] = set()


def _stop(bot: object, sig: signal.Signals) -> None:
    log.info("received %s, stopping", sig.name)
    # Keep a reference: the loop holds tasks weakly, and a collected task would never finish closing.
    task = asyncio.get_running_loop().create_task(bot.close())  # type: ignore[attr-defined]
    _STOPPING.add(task)
    task.add_done_callback(_STOPPING.discard)


async def migrate(config: Config) -> int:
    """Apply pending migrations."""
    try:
        db = await Database.open(config.db_path)
        try:
            applied = await db.migrate()
            out(
                f"database {config.db_path}: schema version {await db.schema_version()}, {len(applied)} migrations applied"
            )
        finally:
            await db.close()
    except MigrationError as exc:
        sys.stderr.write(f"Migration failed: {exc}\n")
        return EXIT_FAILED
    return EXIT_OK


async def forget_guild(config: Config, guild_id: int) -> int:
    """Purge one server's data at once."""
    if not config.db_path.exists():
        sys.stderr.write(f"No database at {config.db_path}: nothing to forget.\n")
        return EXIT_FAILED
    db = await Database.open(config.db_path)
    try:
        await db.migrate()
        settings = Settings(db, SystemClock())
        lifecycle = GuildLifecycle(db, SystemClock(), settings, Scheduler(db, SystemClock()))
        deleted = await lifecycle.purge(guild_id)
    finally:
        await db.close()
    rows = {table: n for table, n in deleted.items() if n}
    details = ", ".join(f"{table} {n}" for table, n in sorted(rows.items()))
    out(f"server {guild_id}: {sum(rows.values())} rows deleted" + (f" ({details})" if details else ""))
    return EXIT_OK


def write_migration(name: str, reason: str, directory: Path = MIGRATIONS_DIR) -> int:
    """Create the next numbered migration file with its `-- Reason:` header; print its path."""
    if not re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)*", name):
        sys.stderr.write(
            f"Migration name {name!r}: use lowercase letters, digits and _ (e.g. contest_votes).\n"
        )
        return EXIT_FAILED
    try:
        number = max((m.version for m in discover_migrations(directory)), default=0) + 1
    except MigrationError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_FAILED
    path = directory / f"{number:04d}_{name}.sql"
    header = reason.strip() or "say why the schema changes (what feature needs it, what it keeps)"
    path.write_text(f"-- Reason: {header}\n\n", encoding="utf-8")
    out(f"created {path}")
    out(
        "when it is final, add its checksum to tests/core/landed_migrations.sha256 (the test prints the line)"
    )
    return EXIT_OK


async def sync(config: Config) -> int:
    """Log in and publish the slash commands globally."""
    from bot.discord_glue.client import HearthBot, apply_endpoint_overrides

    apply_endpoint_overrides(config)
    bot = HearthBot(config)
    assert config.token is not None
    async with bot:
        await bot.login(config.token)
        synced = await bot.tree.sync()
    out(f"synced {len(synced)} commands globally; Discord may take up to an hour to show them everywhere")
    return EXIT_OK


async def check(config: Config) -> int:
    """Validate everything that can be validated offline."""
    problems: list[str] = []
    if not config.has_token:
        out("warning: DISCORD_TOKEN is not set; `python -m bot run` will need it (see README)")
    else:
        out("ok: token present")
    out(f"ok: log level {config.log_level}")
    problems.extend(_check_sqlite())
    try:
        catalog = Catalog.load()
        missing = {lang: keys for lang, keys in catalog.missing().items() if keys}
        if missing:
            problems.append(f"message catalog keys missing: {missing}")
        else:
            out(f"ok: message catalogs ({len(catalog.messages['en'])} keys in English and French)")
    except ValueError as exc:
        problems.append(f"message catalogs: {exc}")
    try:
        latest = len(discover_migrations())
        out(f"ok: {latest} migrations")
    except MigrationError as exc:
        problems.append(str(exc))
        latest = 0
    problems.extend(await _check_database(config, latest))
    for problem in problems:
        out(f"error: {problem}")
    out("check failed" if problems else "check passed")
    return EXIT_FAILED if problems else EXIT_OK


def _check_sqlite() -> list[str]:
    conn = sqlite3.connect(":memory:")
    try:
        probe_writer(conn)
    except sqlite3.OperationalError as exc:
        return [
            f"SQLite {sqlite3.sqlite_version} cannot run Hearth's activity writer ({exc}); 3.33 or newer is needed"
        ]
    finally:
        conn.close()
    out(f"ok: SQLite {sqlite3.sqlite_version} runs the activity writer's batch statements")
    return []


async def _check_database(config: Config, latest: int) -> list[str]:
    path = config.db_path
    if not path.exists():
        folder = path.parent if path.parent.exists() else path.parent.parent
        if not os.access(folder, os.W_OK):
            return [f"cannot create the database in {path.parent}: not writable"]
        out(f"ok: database {path} will be created on first start")
        return []
    db = await Database.open(path)
    try:
        integrity = await db.fetchval("PRAGMA integrity_check")
        version = await db.schema_version()
    finally:
        await db.close()
    if integrity != "ok":
        return [f"database {path} is damaged: {integrity}"]
    if version > latest:
        return [f"database {path} is at schema {version}, newer than this code ({latest})"]
    out(
        f"ok: database {path} at schema {version} of {latest}"
        + (" (run `python -m bot migrate`)" if version < latest else "")
    )
    return []


if __name__ == "__main__":
    raise SystemExit(main())
