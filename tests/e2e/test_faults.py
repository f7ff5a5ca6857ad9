"""Faults production will see, inflicted on the real `python -m bot run` process.

Each test would fail if the bot lost or duplicated data: it counts rows in the bot's database and
requests/messages recorded by the stand-in, not log lines.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import BotProcess, Server, build_server, reply_text, running_bot, wait_until
from tests.e2e.standin import DiscordStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

CALLBACK = "POST /interactions/*/*/callback"


async def set_timezone(standin: DiscordStandIn, server: Server, zone: str, *, within: float = 10.0) -> str:
    """Run `/config timezone` as the manager and return the reply text."""
    sent = await standin.interaction_create(
        "config timezone", channel_id=server.general, user_id=server.manager, options={"timezone": zone}
    )
    reply = await standin.wait_for_response(sent.id, timeout=within)
    return reply_text(reply.body)


def stored_timezone(bot: BotProcess, server: Server) -> str | None:
    """Read the timezone row the bot wrote."""
    return bot.scalar(
        "SELECT value FROM guild_settings WHERE guild_id = ? AND key = 'timezone'", (server.guild,)
    )


def statuses(standin: DiscordStandIn, pattern: str) -> list[int | str]:
    """Return the answers to requests matching `pattern`, in order, with every 2xx shown as "ok"."""
    return ["ok" if 200 <= r.status < 300 else r.status for r in standin.requests_matching(pattern)]


# ---------------------------------------------------------------------- rate limits and 5xx


async def test_rate_limited_and_failing_command_sync_backs_off_and_completes(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """429 then 500 on the start-up command sync: the bot waits, retries, syncs once and gets ready."""
    server = build_server(discord_standin)
    sync = "PUT /applications/*/guilds/*/commands"
    discord_standin.fail_next(sync, 429, retry_after=0.5)
    discord_standin.fail_next(sync, 500)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild):
        assert statuses(discord_standin, sync) == [429, 500, "ok"]
        assert {c["name"] for c in discord_standin.guild_commands[server.guild]} >= {"config"}


async def test_rate_limited_reply_is_retried_and_sent_once(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """429 with retry_after on the interaction reply: one reply lands, the setting is stored once."""
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        discord_standin.fail_next(CALLBACK, 429, retry_after=0.4, times=2)
        started = time.monotonic()
        text = await set_timezone(discord_standin, server, "Europe/Paris")
        assert time.monotonic() - started >= 0.7, "the bot did not honour retry_after"
        assert "Europe/Paris" in text
        assert statuses(discord_standin, CALLBACK) == [429, 429, "ok"]
        assert len(discord_standin.interaction_responses) == 1
        assert stored_timezone(bot, server) == "Europe/Paris"
        assert bot.scalar("SELECT COUNT(*) FROM guild_settings") == 1


async def test_server_error_on_reply_is_retried_and_sent_once(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A 500 on the interaction reply: discord.py retries, the member sees exactly one answer."""
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        discord_standin.fail_next(CALLBACK, 500)
        text = await set_timezone(discord_standin, server, "America/Montreal")
        assert "America/Montreal" in text
        assert statuses(discord_standin, CALLBACK) == [500, "ok"]
        assert len(discord_standin.interaction_responses) == 1
        assert stored_timezone(bot, server) == "America/Montreal"
        assert "Traceback" not in bot.log()


# ---------------------------------------------------------------------- gateway


async def test_cut_connection_resumes_and_replays_the_missed_command(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """The TCP connection dies; a command sent meanwhile is replayed on RESUME and answered once."""
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        await discord_standin.drop_connection(abrupt=True)
        text = await set_timezone(discord_standin, server, "Asia/Tokyo", within=20)
        assert "Asia/Tokyo" in text
        assert len(discord_standin.resumes) >= 1
        assert len(discord_standin.identifies) == 1, "the bot identified again instead of resuming"
        assert stored_timezone(bot, server) == "Asia/Tokyo"
        assert len(discord_standin.interaction_responses) == 1


async def test_reconnect_request_and_invalidated_session_recover(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Op 7 RECONNECT, then a non-resumable INVALID_SESSION: the bot identifies again and keeps working."""
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        await discord_standin.request_reconnect()
        await discord_standin.wait_for(
            lambda: discord_standin.resumes and discord_standin.connected, timeout=15
        )
        assert "Europe/Berlin" in await set_timezone(discord_standin, server, "Europe/Berlin")

        await discord_standin.invalidate_session(resumable=False)
        # discord.py waits 5 s before a fresh IDENTIFY (Client.before_identify_hook).
        await discord_standin.wait_until_identified(count=2, timeout=25)
        await bot.wait_log("ready as ", count=2, within=15)
        assert "Europe/Lisbon" in await set_timezone(discord_standin, server, "Europe/Lisbon")
        assert stored_timezone(bot, server) == "Europe/Lisbon"
        assert bot.proc is not None and bot.proc.returncode is None


# ---------------------------------------------------------------------- SQLite


def hold_exclusive_lock(path: Path, seconds: float, locked: threading.Event) -> None:
    """Keep the database write-locked from a second connection, as a backup tool or a migration would."""
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_database_locked_for_a_moment_is_waited_out_not_crashed(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Another process holds the database for ~1 s while the bot writes: the write waits and lands."""
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        locked = threading.Event()
        holder = asyncio.create_task(asyncio.to_thread(hold_exclusive_lock, bot.db_path, 1.0, locked))
        await wait_until(locked.is_set, within=5, what="the exclusive lock")
        started = time.monotonic()
        text = await set_timezone(discord_standin, server, "Europe/Paris")
        waited = time.monotonic() - started
        await asyncio.wait_for(holder, 10)
        assert "Europe/Paris" in text
        assert waited >= 0.5, "the write did not wait for the lock (was it really held?)"
        assert stored_timezone(bot, server) == "Europe/Paris"
        assert bot.proc is not None and bot.proc.returncode is None
        assert "Traceback" not in bot.log()
