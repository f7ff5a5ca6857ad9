"""The process stays up, shuts down in the right order, and lets go of a server that removed it.

Each test runs the real `python -m bot run` against the stand-in and checks rows in the bot's
database and what the stand-in saw, not only log lines.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import (
    BotProcess,
    Server,
    build_server,
    configure,
    require_cog,
    running_bot,
    wait_until,
)
from tests.e2e.standin import DiscordStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

DAY = 86_400


def errors_in(log: str) -> list[str]:
    """Return the ERROR and CRITICAL lines of a log."""
    return [line for line in log.splitlines() if re.search(r" (ERROR|CRITICAL) ", line)]


async def stored_after_a_normal_message(standin: DiscordStandIn, bot: BotProcess, server: Server) -> None:
    """Send a member's message and wait until the activity pipeline stored it (the bot still reads)."""
    message = await standin.message_create(server.general, server.member, "still here?")
    await wait_until(
        lambda: bot.scalar(
            "SELECT COUNT(*) FROM activity_messages WHERE message_id = ?", (int(message["id"]),)
        ),
        within=15,
        what="the normal message after the bad event to be stored",
    )


def message_without_author(standin: DiscordStandIn, server: Server) -> dict[str, object]:
    """A MESSAGE_CREATE payload missing its `author` but with its `member`, as Discord sends in a server.

    discord.py's parser reads the author while it handles `member`, and raises.
    """
    return {
        "member": {"roles": [], "joined_at": "2026-03-01T09:00:00+00:00", "deaf": False, "mute": False},
        "id": str(standin.snowflake()),
        "type": 0,
        "channel_id": str(server.general),
        "guild_id": str(server.guild),
        "content": "who sent this?",
        "timestamp": "2026-03-02T09:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "flags": 0,
    }


def member_without_user(server: Server) -> dict[str, object]:
    """A GUILD_MEMBER_ADD payload missing its `user`."""
    return {
        "guild_id": str(server.guild),
        "nick": None,
        "roles": [],
        "joined_at": "2026-03-02T09:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
    }


# ---------------------------------------------------------------------- a process that stays up


@pytest.mark.parametrize(
    ("event", "build"),
    [
        ("MESSAGE_CREATE", lambda standin, server: message_without_author(standin, server)),
        ("GUILD_MEMBER_ADD", lambda _standin, server: member_without_user(server)),
    ],
    ids=["message-without-author", "member-without-user"],
)
async def test_malformed_event_is_logged_once_and_the_bot_keeps_answering(
    discord_standin: DiscordStandIn, tmp_path: Path, event: str, build: object
) -> None:
    """A malformed gateway event is skipped with one error in the log; the session and the bot go on."""
    require_cog("activity", "config")
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        await discord_standin.dispatch(event, build(discord_standin, server))  # type: ignore[operator]
        await bot.wait_log(f"skipped a malformed {event} event", within=10)

        await stored_after_a_normal_message(discord_standin, bot, server)
        reply = await configure(discord_standin, server, "config timezone", timezone="Europe/Paris")
        assert "Europe/Paris" in reply
        assert bot.proc is not None and bot.proc.returncode is None
        assert len(discord_standin.identifies) == 1, "the bad event cost the session"
        errors = errors_in(bot.log())
        assert len(errors) == 1 and f"malformed {event}" in errors[0], errors


async def test_unexpected_gateway_error_reconnects_and_the_bot_keeps_answering(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """An error outside the parsers (a READY without session_id) is logged; the bot connects again."""
    require_cog("config")
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild, wait="ready") as bot:
        await discord_standin.dispatch("READY", {"v": 10})
        await bot.wait_log("connecting again in", within=10)
        await discord_standin.wait_until_identified(count=2, timeout=20)
        await bot.wait_log("ready as ", count=2, within=20)
        reply = await configure(discord_standin, server, "config timezone", timezone="Asia/Tokyo")
        assert "Asia/Tokyo" in reply
        assert bot.proc is not None and bot.proc.returncode is None


async def test_missing_intents_still_end_the_process(discord_standin: DiscordStandIn, tmp_path: Path) -> None:
    """Intents not switched on in the portal can't be fixed by retrying: the process ends with an error."""
    discord_standin.allowed_intents = 0
    build_server(discord_standin)
    bot = BotProcess(discord_standin, tmp_path)
    await bot.start()
    try:
        status = await bot.wait_exit(within=30)
    finally:
        await bot.kill()
    assert status == 2
    output = bot.log()
    assert "Server Members Intent" in output and "Message Content Intent" in output and "Bot tab" in output
    assert "Traceback" not in output
    assert len(discord_standin.identifies) == 1, "the bot retried a set-up error"


# ---------------------------------------------------------------------- shutdown order


async def test_sigterm_while_messages_arrive_stores_every_message_the_bot_acknowledged(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """SIGTERM while messages arrive: every message the bot's heartbeats reported as read is stored, log clean.

    The heartbeat carries the last sequence number the bot read. Another process holds the database
    for a moment (a backup), so shutdown's last write waits. Before the fix the cogs were unloaded
    (and waited on that write) while the gateway was still open: the bot went on reading and
    acknowledging messages that no listener was left to store.
    """
    require_cog("activity")
    discord_standin.interaction_deadline = None
    # Frequent heartbeats, so the stand-in learns how far the bot has read up to its last moment.
    discord_standin.heartbeat_interval_ms = 100
    server = build_server(discord_standin, extra_members=20)
    channels = [server.general, server.welcome, server.managers]
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        # Not a multiple of the pipeline's batch size: a partial batch is still buffered at SIGTERM.
        await discord_standin.burst(1_250, channels, server.others)
        sentinel = await discord_standin.interaction_create(
            "config view", channel_id=server.general, user_id=server.manager
        )
        await discord_standin.wait_for_response(sentinel.id, timeout=60)
        sent: list[int] = []

        async def keep_sending() -> None:
            # A pace the bot keeps up with: a saturated bot reads without yielding and sends no heartbeat.
            while discord_standin.connected and len(sent) < 5_000:
                try:
                    await discord_standin.burst(10, channels, server.others, sent_ids=sent)
                except (RuntimeError, ConnectionError):
                    return
                await asyncio.sleep(0.01)

        sender = asyncio.create_task(keep_sending())
        await discord_standin.wait_for(
            lambda: len(sent) >= 300 and sent[0] in acknowledged_ids(discord_standin), timeout=20
        )
        locked = threading.Event()
        holder = asyncio.create_task(asyncio.to_thread(hold_database, bot, 2.0, locked))
        await wait_until(locked.is_set, within=5, what="the exclusive lock")
        assert await bot.terminate(within=30) == 0
        await asyncio.wait_for(sender, 20)
        await asyncio.wait_for(holder, 10)

        acknowledged = acknowledged_ids(discord_standin)
        stored = {row[0] for row in bot.query("SELECT message_id FROM activity_messages")}
        lost = [m for m in acknowledged if m not in stored]
        assert not lost, f"{len(lost)} of {len(acknowledged)} messages the bot acknowledged were not stored"
        log = bot.log()
        assert "shutdown complete" in log
        assert "Traceback" not in log and not errors_in(log), errors_in(log)[:5]


def hold_database(bot: BotProcess, seconds: float, locked: threading.Event) -> None:
    """Keep the bot's database write-locked from a second connection, as a backup tool would."""
    conn = sqlite3.connect(bot.db_path, timeout=10, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


def acknowledged_ids(standin: DiscordStandIn) -> list[int]:
    """Return the ids of the messages the bot's heartbeats have reported as read."""
    return standin.dispatched_message_ids(up_to_seq=standin.acknowledged_seq)


# ---------------------------------------------------------------------- leaving a server


async def test_removed_from_a_server_cancels_its_jobs_and_schedules_the_purge(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """GUILD_DELETE: the server's pending reminders are cancelled and one purge is set 30 days out."""
    require_cog("onboarding", "guilds")
    server = build_server(discord_standin)
    # Ready, not only connected: at on_ready the bot also treats servers it is no longer in as left,
    # and this test is about the GUILD_DELETE it receives while running.
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild, wait="ready") as bot:
        await configure(
            discord_standin, server, "config channel", setting="welcome_channel", channel=server.welcome
        )
        await configure(discord_standin, server, "config value", setting="rules_gate", value="yes")
        await discord_standin.member_add(server.guild, username="nadia")
        await discord_standin.wait_for_message(server.welcome, timeout=10)
        pending = "SELECT COUNT(*) FROM scheduled_jobs WHERE guild_id = ? AND status = 'pending'"
        await wait_until(lambda: bot.scalar(pending, (server.guild,)) >= 2, what="the onboarding jobs")
        jobs = bot.scalar(pending, (server.guild,))

        removed_at = time.time()
        await discord_standin.guild_delete(server.guild)
        await wait_until(
            lambda: (
                bot.scalar(
                    "SELECT COUNT(*) FROM scheduled_jobs WHERE guild_id = ? AND status = 'cancelled'",
                    (server.guild,),
                )
                == jobs
            ),
            what="the server's jobs to be cancelled",
        )
        await wait_until(
            lambda: bot.scalar(
                "SELECT COUNT(*) FROM scheduled_jobs WHERE guild_id = ? AND kind = 'guild.purge'",
                (server.guild,),
            ),
            what="the purge job",
        )
        live = bot.query(
            "SELECT kind, run_at FROM scheduled_jobs WHERE guild_id = ? AND status = 'pending'",
            (server.guild,),
        )
        assert [kind for kind, _ in live] == ["guild.purge"]
        assert abs(live[0][1] - (removed_at + 30 * DAY)) < 60
        # The data stays until then.
        assert bot.scalar("SELECT COUNT(*) FROM guild_settings WHERE guild_id = ?", (server.guild,)) >= 2
        assert bot.proc is not None and bot.proc.returncode is None
        assert "Traceback" not in bot.log()
