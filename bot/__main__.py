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
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.activity.importer import add_cli as add_import_cli
from bot.activity.importer import run_cli as run_import
from bot.activity.rollups import probe_writer
from bot.core.backup import BackupError, backup_database
from bot.core.clock import SystemClock
from bot.core.config import Config, ConfigError, default_env_file, load_config, setup_logging
from bot.core.db import MIGRATIONS_DIR, Database, MigrationError, discover_migrations
from bot.core.guilds import GuildLifecycle
from bot.core.i18n import LOCALES_DIR, Catalog
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings

log = logging.getLogger("bot")

EXIT_OK, EXIT_FAILED, EXIT_NO_TOKEN = 0, 1, 2
EXIT_USAGE = EXIT_NO_TOKEN  # the person at the terminal must fix something: the message says what

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


SCORE_FORMAT = """\
input, one JSON object per line:
  {"id": any, "lang": "en" | "fr" | null,
   "messages": [{"author": "...", "text": "...", "reply_to": INDEX}, ...]}
  lang null or missing: detected. reply_to (optional): the index of an earlier message it answers.

output, one line per input line:
  {"id": ..., "score": 0.0-1.0, "flag": true | false}
  a line that can't be scored: {"id": ..., "score": 0.0, "flag": false, "error": CODE}
  CODE: invalid_json, not_an_object, no_messages, invalid_message

example:
  $ echo '{"id": 1, "messages": [{"author": "a", "text": "you are an idiot"}]}' \\
      | python -m bot conflict score
  {"id": 1, "score": 0.4000, "flag": true}
"""


WRONG_TOKEN_HELP = """\
Hearth cannot start: Discord refused the bot token.

The token is read from DISCORD_TOKEN in the environment or in the .env file ({env_file}).
It may have been mistyped, copied with a space, or reset (a reset makes the old one invalid).

To get a new one: https://discord.com/developers/applications → your application → Bot tab →
Reset Token, then copy it into DISCORD_TOKEN and run `python -m bot` again.
"""

INTENTS_HELP = """\
Hearth cannot start: Discord refused the privileged gateway intents it needs.

Open https://discord.com/developers/applications → your application → Bot tab →
Privileged Gateway Intents, switch on BOTH, save, then run `python -m bot` again:
  - Server Members Intent   (welcomes, onboarding, member metrics)
  - Message Content Intent  (sentiment and conflict flagging)
"""

UNREACHABLE_HELP = """\
Hearth cannot reach Discord ({error}); it tried {attempts} times over {minutes} minutes.

Check this machine's internet connection, DNS and any firewall or proxy (HTTPS to discord.com and
gateway.discord.gg must be allowed), and https://discordstatus.com. Under systemd the bot is
started again by itself (deploy/hearth.service); otherwise run `python -m bot` again.
"""

# Waits between attempts to reach Discord at start (seconds): about five minutes in all.
CONNECT_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 60.0, 60.0, 60.0)


def out(text: str = "") -> None:
    """Write a line for the person at the terminal."""
    sys.stdout.write(text + "\n")


def version() -> str:
    """The installed Hearth version."""
    try:
        return metadata.version("hearth")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """Describe the CLI."""
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Hearth, a Discord bot for small communities."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
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
    backup = sub.add_parser(
        "backup",
        help="copy the database safely, even while the bot runs",
        description="Copy the live database to FILE with SQLite's online backup API; safe while the bot "
        "runs. To restore: stop the bot, replace the database file (HEARTH_DB_PATH, shown by `check`) "
        "with the copy, start the bot.",
    )
    backup.add_argument("file", type=Path, help="the new file to write (must not exist)")
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
    demo = sub.add_parser(
        "demo",
        help="an offline tour: a sample community's figures and charts, no Discord needed",
        description="Import the sample community shipped with Hearth into a throw-away database, print "
        "its headline figures and write its charts to a folder. Needs no token and no Discord application.",
    )
    demo.add_argument("--out", type=Path, default=Path("hearth-demo"), help="where to write the charts")
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
        "line on stdout, in order. The LAST message of each snippet is scored; the earlier ones are its "
        "context.",
        epilog=SCORE_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen command; return the exit status."""
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    if command == "demo":
        # Needs no configuration, token or database of the user's.
        folder = args.out.expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return asyncio.run(demo(folder))
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
    if command == "backup":
        return run_backup(config, args.file)
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
    import discord

    try:
        async with bot:
            await login_with_retries(bot, config.token)
            await bot.connect()
        # connect() returns once the gateway is closed, while a signal's close() may still be flushing
        # (and `async with` skips close() then): wait for it, or asyncio.run() would cancel the flush.
        await bot.close()
    except discord.LoginFailure:
        sys.stderr.write(WRONG_TOKEN_HELP.format(env_file=default_env_file()))
        return EXIT_USAGE
    except discord.PrivilegedIntentsRequired:
        sys.stderr.write(INTENTS_HELP)
        return EXIT_USAGE
    except Unreachable as exc:
        sys.stderr.write(
            UNREACHABLE_HELP.format(
                error=exc.reason, attempts=exc.attempts, minutes=max(1, round(sum(CONNECT_DELAYS) / 60))
            )
        )
        return EXIT_FAILED
    except Exception as exc:
        log.error("bot stopped: %s", type(exc).__name__, exc_info=exc)
        return EXIT_FAILED
    return EXIT_OK


class Unreachable(Exception):
    """Discord could not be reached at start, after every retry."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


async def login_with_retries(bot: Any, token: str, delays: Sequence[float] = CONNECT_DELAYS) -> None:
    """Log in, waiting and trying again while Discord can't be reached; a refused token is not retried."""
    import aiohttp
    import discord

    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            await bot.login(token)
            return
        except (aiohttp.ClientConnectionError, TimeoutError, OSError, discord.DiscordServerError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if delay is None:
                raise Unreachable(reason, attempt) from None
            log.warning("cannot reach Discord (%s); trying again in %.0fs", reason, delay)
            await asyncio.sleep(delay)


_STOPPING: set[asyncio.Task[None]] = set()


def _stop(bot: object, sig: signal.Signals) -> None:
    log.info("received %s, stopping", sig.name)
    # Keep a reference: the loop holds tasks weakly, and a collected task would never finish closing.
    task = asyncio.get_running_loop().create_task(bot.close())  # type: ignore[attr-defined]
    _STOPPING.add(task)
    task.add_done_callback(_STOPPING.discard)


async def demo(folder: Path) -> int:
    """Run the offline tour (charts into an existing `folder`) and print what a manager would see."""
    from bot.demo.tour import PERIOD_DAYS, run_tour

    tour = await run_tour(folder, Catalog.load())
    m = tour.overview.members
    r = tour.overview.responsiveness
    since = (tour.ends - timedelta(days=PERIOD_DAYS)).date()
    out(
        f"Hearth demo: a sample community, {tour.messages_imported} messages imported into a throw-away database."
    )
    out(f"The last {PERIOD_DAYS} days ({since} to {tour.ends.date()}), against the {PERIOD_DAYS} before:")
    out(f"  messages        {m.messages.current:.0f} (before: {m.messages.previous:.0f})")
    out(f"  active members  {m.active.current:.0f} (before: {m.active.previous:.0f})")
    out(f"  joined / left   {m.joined.current:.0f} / {m.left.current:.0f}")
    out(f"  stickiness      {m.stickiness.current:.0%} (daily active / monthly active)")
    answered = "unknown" if r.question_share is None else f"{r.question_share:.0%}"
    out(f"  questions answered {answered} of {r.questions}")
    out(f"Charts written to {folder}:")
    for path in tour.charts:
        out(f"  {path.name}")
    return EXIT_OK


def run_backup(config: Config, target: Path) -> int:
    """Write a consistent copy of the database; exit 2 with the reason when it can't."""
    try:
        result = backup_database(config.db_path, target.expanduser().resolve())
    except BackupError as exc:
        sys.stderr.write(f"Backup not made: {exc}\n")
        return EXIT_USAGE
    size = result.size_bytes / 1_000_000
    out(f"backed up {config.db_path} to {result.target} ({size:.1f} MB, schema {result.schema_version})")
    return EXIT_OK


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
    """Log in and publish the slash commands globally, even when they look unchanged."""
    from bot.discord_glue.client import HearthBot, apply_endpoint_overrides

    apply_endpoint_overrides(config)
    bot = HearthBot(config, publish_at_start=False)
    assert config.token is not None
    async with bot:
        await bot.login(config.token)
        published = await bot.publish_commands(force=True, globally=True)
    if not published:
        sys.stderr.write("Publishing the slash commands failed; the log above says why.\n")
        return EXIT_FAILED
    out("published the slash commands globally; Discord may take up to an hour to show them everywhere")
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
    problems.extend(check_catalogs())
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


def check_catalogs(directory: Path = LOCALES_DIR) -> list[str]:
    """Find the catalogs' problems: unreadable, empty (a broken install) or with keys missing."""
    try:
        catalog = Catalog.load(directory)
    except ValueError as exc:
        return [f"message catalogs: {exc}"]
    empty = [lang for lang, messages in catalog.messages.items() if not messages]
    if empty:
        return [f"message catalogs empty for {', '.join(empty)} (looked in {directory})"]
    missing = {lang: keys for lang, keys in catalog.missing().items() if keys}
    if missing:
        return [f"message catalog keys missing: {missing}"]
    out(f"ok: message catalogs ({len(catalog.messages['en'])} keys in English and French)")
    return []


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
        folder = next(p for p in path.parents if p.exists())  # the first folder that exists, created below it
        if not os.access(folder, os.W_OK):
            return [f"cannot create the database in {path.parent}: {folder} is not writable"]
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
