"""Scheduled posts (rules reminder, nudge, staff ping) through the simulated Discord: at least once, never twice.

A post that meets Discord errors is retried with back-off until it lands; a crash while it is in flight
doesn't lose it; a job that runs again after its post went out doesn't post twice; a channel Hearth may
not post in is reported to managers once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import pytest

from bot.discord_glue.client import HearthBot
from bot.onboarding.service import NUDGE, RULES_REMINDER, UNANSWERED
from tests.conftest import make_bot
from tests.onboarding.conftest import Onboarding, bot_messages, quiet_timers

HOUR = 3600
DAY = 86400


async def reminder_case(ob: Onboarding) -> Any:
    await ob.set("rules_gate", True)
    await ob.set("rules_reminder_hours", 6)
    return await ob.join("alice")


async def nudge_case(ob: Onboarding) -> Any:
    return await ob.join("alice")


async def staff_ping_case(ob: Onboarding) -> Any:
    alice = await ob.join("alice")
    await alice.send(ob.world.general, "hello, I'm new here")
    return alice


Case = tuple[str, str, int, Callable[[Onboarding], Awaitable[Any]]]
CASES: list[Case] = [
    (RULES_REMINDER, "rules", 6 * HOUR, reminder_case),
    (NUDGE, "intro", 3 * DAY, nudge_case),
    (UNANSWERED, "staff", 15 * 60, staff_ping_case),
]


def posts_about(ob: Onboarding, channel: Any, member: Any) -> list[discord.Message]:
    """The bot's messages in a channel that name this member."""
    return [m for m in bot_messages(channel, ob.world.bot.user.id) if member.mention in m.content]  # type: ignore[union-attr]


def post_requests(ob: Onboarding, channel: Any) -> list[Any]:
    """Every POST the bot made to a channel's messages, failed ones included."""
    path = f"/channels/{channel.id}/messages"
    return [r for r in ob.world.env.http_requests if r.method == "POST" and r.path == path]


async def job_status(ob: Onboarding, kind: str) -> str:
    status = await ob.world.bot.db.fetchval(
        "SELECT status FROM scheduled_jobs WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
    )
    return str(status)


async def restart(ob: Onboarding) -> HearthBot:
    """Start a new bot process on the same database, as after a crash."""
    world = ob.world
    old = world.bot
    new: HearthBot = make_bot(old.config.db_path, old.clock)
    await world.env.restart_bot(new)
    await old.scheduler.shutdown()
    await quiet_timers(new)
    world.bot = new
    guild = new.get_guild(world.guild.id)
    assert guild is not None
    await guild.chunk()
    return new


@pytest.mark.parametrize(
    ("kind", "where", "due_in", "prepare"), CASES, ids=["reminder", "nudge", "staff_ping"]
)
async def test_five_server_errors_delay_a_scheduled_post_and_it_lands_once(
    ob: Onboarding, kind: str, where: str, due_in: int, prepare: Callable[[Onboarding], Awaitable[Any]]
) -> None:
    channel = getattr(ob, where)
    alice = await prepare(ob)
    ob.world.env.inject_error("POST", f"/channels/{channel.id}/messages", status=500, times=5)
    await ob.later(due_in + 60)
    assert posts_about(ob, channel, alice) == []
    assert await job_status(ob, kind) == "pending"  # released for a retry, not done and lost
    assert await ob.later(1) == 0  # backed off, not hammered
    for _ in range(12):
        await ob.later(30)
    assert len(posts_about(ob, channel, alice)) == 1
    assert len(post_requests(ob, channel)) == 6  # five 500s, then the one that landed
    assert await job_status(ob, kind) == "done"
    await ob.later(DAY)
    assert len(posts_about(ob, channel, alice)) == 1


async def test_a_reminder_whose_post_was_in_flight_at_a_crash_is_posted_after_restart(
    ob: Onboarding, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await reminder_case(ob)
    real_send = discord.abc.Messageable.send

    async def process_dies(*args: Any, **kwargs: Any) -> Any:
        # The process is killed while the request is on the wire: nothing reaches Discord.
        monkeypatch.setattr(discord.abc.Messageable, "send", real_send)
        raise asyncio.CancelledError

    monkeypatch.setattr(discord.abc.Messageable, "send", process_dies)
    with pytest.raises(asyncio.CancelledError):
        await ob.later(7 * HOUR)
    assert posts_about(ob, ob.rules, alice) == []
    assert await job_status(ob, RULES_REMINDER) == "running"

    new = await restart(ob)
    try:
        await ob.later(60)
        assert len(posts_about(ob, ob.rules, alice)) == 1
        assert await job_status(ob, RULES_REMINDER) == "done"
        await ob.later(DAY)
        assert len(posts_about(ob, ob.rules, alice)) == 1
    finally:
        await new.close()


async def test_a_reminder_that_posted_just_before_a_crash_is_not_posted_again(ob: Onboarding) -> None:
    alice = await reminder_case(ob)
    await ob.later(7 * HOUR)
    assert len(posts_about(ob, ob.rules, alice)) == 1
    # The crash came after the post landed, before the job and the member's row were marked.
    db = ob.world.bot.db
    await db.execute(
        "UPDATE scheduled_jobs SET status = 'running', done_at = NULL WHERE kind = ?", (RULES_REMINDER,)
    )
    await db.execute("UPDATE onboarding_members SET reminded_at = NULL WHERE user_id = ?", (alice.id,))

    new = await restart(ob)
    try:
        await ob.later(60)
        await ob.later(DAY)
        assert len(posts_about(ob, ob.rules, alice)) == 1
        assert len(post_requests(ob, ob.rules)) == 1
        assert await job_status(ob, RULES_REMINDER) == "done"
        row = await new.db.fetchone(
            "SELECT reminded_at FROM onboarding_members WHERE user_id = ?", (alice.id,)
        )
        assert row is not None and row["reminded_at"] is not None
    finally:
        await new.close()


async def test_a_channel_hearth_cannot_post_in_is_reported_once_and_not_retried(ob: Onboarding) -> None:
    me = ob.world.guild.me
    assert me is not None
    locked = ob.world.guild.create_text_channel(
        "locked-rules", overwrites={me: discord.PermissionOverwrite(send_messages=False)}
    )
    await ob.world.env.settle()
    await ob.set("rules_channel", locked.id)  # behind /config's back, as if the permission changed later
    await ob.set("manager_channel", ob.staff.id)
    await ob.set("rules_gate", True)
    await ob.set("rules_reminder_hours", 6)
    alice = await ob.join("alice")
    bob = await ob.join("bob")
    await ob.later(7 * HOUR)
    await ob.later(DAY)
    notices = [m for m in ob.staff.history() if "can't post" in m.content]
    assert len(notices) == 1 and locked.mention in notices[0].content
    assert len(post_requests(ob, locked)) == 2  # one try per member, no retries
    assert locked.history() == []
    statuses = await ob.world.bot.db.fetchall(
        "SELECT status FROM scheduled_jobs WHERE kind = ?", (RULES_REMINDER,)
    )
    assert [r["status"] for r in statuses] == ["done", "done"]
    for member in (alice, bob):
        assert not await ob.service.rules_reminder_due(ob.world.guild.id, member.id)


async def test_a_dm_nudge_that_meets_server_errors_waits_for_the_dm(ob: Onboarding) -> None:
    await ob.set("nudge_dm", True)
    alice = await ob.join("alice")
    dm = alice.user.dm_channel
    ob.world.env.inject_error("POST", f"/channels/{dm.id}/messages", status=503, times=2)
    await ob.later(3 * DAY + 60)
    assert dm.history() == []
    for _ in range(4):
        await ob.later(30)
    assert len(dm.history()) == 1
    assert bot_messages(ob.intro, ob.world.bot.user.id) == []  # type: ignore[union-attr]
