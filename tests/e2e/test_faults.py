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

from tests.e2e.helpers import (
    BotProcess,
    Server,
    build_server,
    configure,
    reply_text,
    require_cog,
    running_bot,
    wait_until,
)
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
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild, wait="ready") as bot:
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


# ---------------------------------------------------------------------- kill -9 and restart


async def wait_jobs_done(bot: BotProcess, kinds: tuple[str, ...], what: str) -> None:
    """Wait until every job of these kinds is marked done in the bot's database."""
    marks = ", ".join("?" for _ in kinds)
    sql = f"SELECT COUNT(*) FROM scheduled_jobs WHERE status = 'done' AND kind IN ({marks})"
    await wait_until(lambda: bot.scalar(sql, kinds) == len(kinds), within=20, what=what)


def make_due(bot: BotProcess, kinds: tuple[str, ...]) -> int:
    """While the bot is down, let the clock pass its pending jobs' time (as if it had been down for days)."""
    conn = sqlite3.connect(bot.db_path, timeout=10)
    try:
        marks = ", ".join("?" for _ in kinds)
        count = conn.execute(
            f"UPDATE scheduled_jobs SET run_at = ? WHERE status = 'pending' AND kind IN ({marks})",
            (int(time.time()) - 5, *kinds),
        ).rowcount
        conn.commit()
        return count
    finally:
        conn.close()


async def test_kill_9_with_pending_reminder_and_nudge_fires_each_exactly_once(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """kill -9 with an onboarding rules reminder and nudge pending; after restart each is posted once, never twice."""
    require_cog("onboarding")
    kinds = ("onboarding.rules_reminder", "onboarding.nudge")
    server = build_server(discord_standin)
    bot = BotProcess(discord_standin, tmp_path, guild_id=server.guild)
    try:
        await bot.start()
        await bot.wait_connected()
        await configure(
            discord_standin, server, "config channel", setting="welcome_channel", channel=server.welcome
        )
        await configure(discord_standin, server, "config value", setting="rules_gate", value="yes")
        newcomer = await discord_standin.member_add(server.guild, username="nadia")
        await discord_standin.wait_for_message(server.welcome, timeout=10)
        await wait_until(
            lambda: (
                bot.scalar(
                    "SELECT COUNT(*) FROM scheduled_jobs WHERE status = 'pending' AND kind IN (?, ?)", kinds
                )
                == 2
            ),
            what="the reminder and nudge jobs",
        )
        await bot.kill()
        assert make_due(bot, kinds) == 2

        # As with real Discord, the guilds arrive a moment after READY: due jobs must wait for them.
        discord_standin.guild_create_delay = 1.5
        await bot.start()
        await bot.wait_ready()
        await wait_jobs_done(bot, kinds, "both jobs to run after the restart")
        await discord_standin.wait_for(
            lambda: len(discord_standin.messages_in(server.welcome)) >= 3, timeout=10
        )
        posted = discord_standin.messages_in(server.welcome)
        assert len(posted) == 3, [m["content"][:60] for m in posted]
        assert all(f"<@{newcomer}>" in m["content"] for m in posted)

        # A crash between posting and marking the job done: the job runs again at start, posts nothing new.
        await bot.kill()
        conn = sqlite3.connect(bot.db_path)
        conn.execute(
            "UPDATE scheduled_jobs SET status = 'running', done_at = NULL WHERE kind IN (?, ?)", kinds
        )
        conn.commit()
        conn.close()
        await bot.start()
        await bot.wait_ready()
        await wait_jobs_done(bot, kinds, "the interrupted jobs to finish")
        await asyncio.sleep(1.0)
        assert len(discord_standin.messages_in(server.welcome)) == 3, "a job posted twice after a crash"
        assert bot.scalar("SELECT COUNT(*) FROM scheduled_jobs WHERE status = 'failed'") == 0
    finally:
        await bot.kill()


# ---------------------------------------------------------------------- scheduled posts under faults

ONBOARDING_POSTS = ("onboarding.rules_reminder", "onboarding.nudge")


async def reminder_and_nudge_due_at_restart(
    standin: DiscordStandIn, server: Server, bot: BotProcess, rules: int
) -> int:
    """Start the bot, gate a newcomer on the rules, kill the bot, make both follow-ups due; return the newcomer."""
    await bot.start()
    await bot.wait_connected()
    await configure(standin, server, "config channel", setting="welcome_channel", channel=server.welcome)
    await configure(standin, server, "config channel", setting="rules_channel", channel=rules)
    await configure(standin, server, "config value", setting="rules_gate", value="yes")
    newcomer = await standin.member_add(server.guild, username="nadia")
    await standin.wait_for_message(server.welcome, timeout=10)
    pending = "SELECT COUNT(*) FROM scheduled_jobs WHERE status = 'pending' AND kind IN (?, ?)"
    await wait_until(lambda: bot.scalar(pending, ONBOARDING_POSTS) == 2, what="the reminder and nudge jobs")
    await bot.kill()
    assert make_due(bot, ONBOARDING_POSTS) == 2
    return newcomer


def assert_posted_once_each(standin: DiscordStandIn, server: Server, rules: int, newcomer: int) -> None:
    """One reminder in the rules channel; the welcome and one nudge in the welcome channel."""
    reminders = standin.messages_in(rules)
    assert len(reminders) == 1, [m["content"][:60] for m in reminders]
    welcome_channel = standin.messages_in(server.welcome)
    assert len(welcome_channel) == 2, [m["content"][:60] for m in welcome_channel]
    assert all(f"<@{newcomer}>" in m["content"] for m in [*reminders, *welcome_channel])


async def test_server_errors_on_scheduled_posts_are_retried_and_each_posted_once(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """5xx on a reminder (never stored) and on a nudge (stored, then 503): each is posted exactly once."""
    require_cog("onboarding")
    server = build_server(discord_standin)
    rules = discord_standin.add_channel(server.guild, "rules")
    bot = BotProcess(discord_standin, tmp_path, guild_id=server.guild)
    try:
        newcomer = await reminder_and_nudge_due_at_restart(discord_standin, server, bot, rules)
        # The reminder: a 500 (discord.py retries it at once), then a 503 (it doesn't): Hearth must.
        discord_standin.fail_next(f"POST /channels/{rules}/messages", 500)
        discord_standin.fail_next(f"POST /channels/{rules}/messages", 503)
        # The nudge: Discord creates the message but answers 503; the retry must not post it again.
        discord_standin.fail_next_post_after_storing(server.welcome, 503)
        await bot.start()
        await bot.wait_ready()
        await wait_jobs_done(bot, ONBOARDING_POSTS, "both jobs to get through the errors")
        assert statuses(discord_standin, f"POST /channels/{rules}/messages") == [500, 503, "ok"]
        assert statuses(discord_standin, f"POST /channels/{server.welcome}/messages") == ["ok", 503, "ok"]
        await asyncio.sleep(0.5)
        assert_posted_once_each(discord_standin, server, rules, newcomer)
        marked = bot.query(
            "SELECT reminded_at IS NOT NULL, nudged_at IS NOT NULL FROM onboarding_members WHERE user_id = ?",
            (newcomer,),
        )
        assert marked == [(1, 1)]
        assert bot.scalar("SELECT COUNT(*) FROM scheduled_jobs WHERE status = 'failed'") == 0
        assert "Traceback" not in bot.all_logs()
    finally:
        discord_standin.release_held_posts()
        await bot.kill()


async def test_kill_9_while_scheduled_posts_are_in_flight_posts_each_exactly_once(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """kill -9 with a reminder not yet at Discord and a nudge already posted but unanswered: once each after restart."""
    require_cog("onboarding")
    server = build_server(discord_standin)
    rules = discord_standin.add_channel(server.guild, "rules")
    bot = BotProcess(discord_standin, tmp_path, guild_id=server.guild)
    try:
        newcomer = await reminder_and_nudge_due_at_restart(discord_standin, server, bot, rules)
        dropped = discord_standin.hold_next_post(rules, after_storing=False)
        unanswered = discord_standin.hold_next_post(server.welcome, after_storing=True)
        await bot.start()
        await bot.wait_ready()
        await asyncio.wait_for(dropped.reached.wait(), 20)
        await asyncio.wait_for(unanswered.reached.wait(), 20)
        assert discord_standin.messages_in(rules) == []
        assert len(discord_standin.messages_in(server.welcome)) == 2  # the welcome and the nudge
        await bot.kill()
        running = "SELECT COUNT(*) FROM scheduled_jobs WHERE status = 'running' AND kind IN (?, ?)"
        assert bot.scalar(running, ONBOARDING_POSTS) == 2
        discord_standin.release_held_posts()

        await bot.start()
        await bot.wait_ready()
        await wait_jobs_done(bot, ONBOARDING_POSTS, "both jobs to run again after the crash")
        await asyncio.sleep(0.5)
        assert_posted_once_each(discord_standin, server, rules, newcomer)
        assert bot.scalar("SELECT COUNT(*) FROM scheduled_jobs WHERE status = 'failed'") == 0
    finally:
        discord_standin.release_held_posts()
        await bot.kill()


# ---------------------------------------------------------------------- bursts and shutdown


def stored_message_ids(bot: BotProcess) -> list[int]:
    """Return the message ids the activity pipeline stored."""
    return [row[0] for row in bot.query("SELECT message_id FROM activity_messages")]


async def test_sigterm_during_a_burst_stores_every_message_the_bot_read(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """1,250 messages read, then SIGTERM while more pour in: every one read is stored, none twice, in order."""
    require_cog("activity")
    discord_standin.interaction_deadline = None
    server = build_server(discord_standin, extra_members=20)
    channels = [server.general, server.welcome, server.managers]
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        first: list[int] = []
        # Not a multiple of the pipeline's batch size: a partial batch is still buffered at SIGTERM.
        await discord_standin.burst(1_250, channels, server.others, sent_ids=first)
        sentinel = await discord_standin.interaction_create(
            "config view", channel_id=server.general, user_id=server.manager
        )
        await discord_standin.wait_for_response(sentinel.id, timeout=60)
        before_signal = len(stored_message_ids(bot))

        second: list[int] = []

        async def keep_sending() -> None:
            while discord_standin.connected and len(second) < 800:
                try:
                    await discord_standin.burst(50, channels, server.others, sent_ids=second)
                except (RuntimeError, ConnectionError):
                    return
                await asyncio.sleep(0)

        sender = asyncio.create_task(keep_sending())
        await discord_standin.wait_for(lambda: len(second) >= 300, timeout=20)
        assert await bot.terminate(within=30) == 0
        await asyncio.wait_for(sender, 20)

        assert "shutdown complete" in bot.log()
        stored = stored_message_ids(bot)
        assert len(stored) == len(set(stored)), "a message was stored twice"
        stored_set = set(stored)
        missing = [m for m in first if m not in stored_set]
        assert not missing, f"{len(missing)} of {len(first)} messages read before SIGTERM were lost"
        assert before_signal < len(first), "nothing was buffered at SIGTERM, the test proved nothing"
        # The gateway is ordered: what the bot read of the second burst is a prefix of what was sent.
        read = [m for m in second if m in stored_set]
        assert read == second[: len(read)], "a message in the middle of the burst was lost"
        assert len(stored) == len(first) + len(read)


async def test_burst_from_many_members_is_stored_while_the_database_is_locked(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """2,000 messages from 40 members over 3 channels while another process locks the database: zero lost."""
    require_cog("activity")
    discord_standin.interaction_deadline = None
    server = build_server(discord_standin, extra_members=40)
    channels = [server.general, server.welcome, server.managers]
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        locked = threading.Event()
        holder = asyncio.create_task(asyncio.to_thread(hold_exclusive_lock, bot.db_path, 1.5, locked))
        await wait_until(locked.is_set, within=5, what="the exclusive lock")
        sent: list[int] = []
        started = time.monotonic()
        await discord_standin.burst(2_000, channels, server.others, sent_ids=sent)
        await asyncio.wait_for(holder, 15)
        # Every row lands while the bot runs (batches, then the flush timer), not only at shutdown.
        await wait_until(
            lambda: bot.scalar("SELECT COUNT(*) FROM activity_messages") >= len(sent),
            within=60,
            what="all 2,000 rows",
        )
        elapsed = time.monotonic() - started
        stored = {row[0] for row in bot.query("SELECT message_id FROM activity_messages")}
        assert stored == set(sent)
        assert bot.scalar("SELECT COUNT(*) FROM activity_messages") == len(sent)
        authors = bot.scalar("SELECT COUNT(DISTINCT author_id) FROM activity_messages")
        assert authors == len(server.others)
        assert bot.proc is not None and bot.proc.returncode is None
        assert "Traceback" not in bot.log() and "could not be written" not in bot.log()
        assert len(sent) / elapsed > 50, f"only {len(sent) / elapsed:.0f} messages/s"
