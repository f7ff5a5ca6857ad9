"""The activity listeners through the simulated Discord: events in, rows and signals out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord

from bot.core.db import Database
from bot.core.signals import MessageSignal
from tests.helpers import World


def _pipeline(world: World) -> Any:
    return world.bot.get_cog("ActivityCog").pipeline  # type: ignore[union-attr]


async def _flush(world: World) -> None:
    await _pipeline(world).drain()


async def _rows(world: World, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await world.bot.db.fetchall(sql, params)]


async def test_member_message_is_stored_without_text_and_signalled_once(world: World) -> None:
    signals: list[MessageSignal] = []

    async def on_hearth_message(message: discord.Message, signal: MessageSignal) -> None:
        signals.append(signal)

    world.bot.add_listener(on_hearth_message)
    await _flush(world)  # the harness's joins (and their timer)
    _pipeline(world).max_delay = 3600  # keep the time bound out of the way: this test looks at the buffer
    first = await world.member.send(world.general, "thanks everyone, this is wonderful")
    reply = await world.manager.send(world.general, "glad you like it", reply_to=first)
    await world.env.settle()
    assert [s.message_id for s in signals] == [first.id, reply.id]
    assert signals[0].is_first_message and signals[0].compound > 0.5 and signals[0].lang == "en"
    assert signals[1].reply_to_author_id == world.member.id
    assert await _rows(world, "SELECT COUNT(*) FROM activity_messages") == [(0,)]  # buffered
    await _flush(world)
    rows = await _rows(
        world,
        "SELECT author_id, reply_to_author_id, length FROM activity_messages ORDER BY created_at, message_id",
    )
    assert rows == [
        (world.member.id, None, len("thanks everyone, this is wonderful")),
        (world.manager.id, world.member.id, 16),
    ]
    assert await _rows(world, "SELECT COUNT(*) FROM activity_text") == [(0,)]


async def test_bot_messages_are_not_counted(world: World) -> None:
    robot = world.guild.add_member(world.env.create_user("robot", bot=True))
    await robot.send(world.general, "beep")
    await _flush(world)
    assert await _rows(world, "SELECT COUNT(*) FROM activity_messages") == [(0,)]
    assert await _rows(world, "SELECT is_bot FROM members WHERE user_id = ?", robot.id) == [(1,)]


async def test_edit_and_delete_through_discord_events(world: World) -> None:
    message = await world.member.send(world.general, "I love it")
    await _flush(world)
    await world.member.edit(message, "I hate it, this is awful")
    await _flush(world)
    assert await _rows(world, "SELECT COUNT(*), SUM(compound < 0) FROM activity_messages") == [(1, 1)]
    assert await _rows(world, "SELECT messages, negative FROM activity_daily_channel") == [(1, 1)]
    await world.member.delete(message)
    await _flush(world)
    assert await _rows(world, "SELECT COUNT(*) FROM activity_messages") == [(0,)]
    assert await _rows(world, "SELECT SUM(messages) FROM activity_daily_channel") == [(0,)]


async def test_reactions_count_towards_reach(world: World) -> None:
    message = await world.member.send(world.general, "here is my drawing")
    await world.manager.react(message, "🎨")
    await _flush(world)
    assert await _rows(world, "SELECT target_id, source_id, reactions FROM activity_daily_reach") == [
        (world.member.id, world.manager.id, 1)
    ]
    await world.manager.unreact(message, "🎨")
    await _flush(world)
    assert await _rows(world, "SELECT COUNT(*) FROM activity_daily_reach") == [(0,)]


async def test_joins_and_leaves_are_recorded(world: World) -> None:
    newcomer = world.add_member("nina")
    await world.env.settle()
    world.guild.remove_member(newcomer)
    await world.env.settle()
    await _flush(world)
    assert await _rows(
        world, "SELECT kind FROM member_events WHERE user_id = ? ORDER BY kind", newcomer.id
    ) == [
        ("join",),
        ("leave",),
    ]
    assert world.errors() == []  # a join and a leave with no channels set up are handled quietly


async def test_threads_are_recorded(world: World) -> None:
    channel = world.bot.get_channel(world.general.id)
    thread = await channel.create_thread(name="planning", type=discord.ChannelType.public_thread)  # type: ignore[union-attr]
    await world.env.settle()
    await _flush(world)
    assert await _rows(world, "SELECT thread_id, channel_id FROM activity_threads") == [
        (thread.id, world.general.id)
    ]


async def test_the_timer_writes_a_burst_followed_by_silence(world: World) -> None:
    await _flush(world)  # the joins of the harness's members
    cog = world.bot.get_cog("ActivityCog")
    await world.env.advance_time(2)
    assert not cog.flush_timer.is_running()  # idle: no timer at all
    await world.member.send(world.general, "hello")
    await world.member.send(world.general, "anyone here?")
    assert _pipeline(world).pending == 2
    assert cog.flush_timer.is_running()
    await world.env.advance_time(_pipeline(world).max_delay - 2)
    assert _pipeline(world).pending == 2  # within the time bound: still buffered
    await world.env.advance_time(3)  # no further event: the timer alone writes them
    assert await _rows(world, "SELECT COUNT(*) FROM activity_messages") == [(2,)]
    assert _pipeline(world).pending == 0
    await world.env.advance_time(2)
    assert not cog.flush_timer.is_running()  # stopped once the buffer is empty
    await world.member.send(world.general, "back again")
    assert cog.flush_timer.is_running()  # armed again by the next event
    await world.env.advance_time(_pipeline(world).max_delay + 2)
    assert await _rows(world, "SELECT COUNT(*) FROM activity_messages") == [(3,)]


async def test_a_clean_shutdown_writes_everything_buffered(world: World) -> None:
    await _flush(world)
    _pipeline(world).max_delay = 3600
    for i in range(3):
        await world.member.send(world.general, f"message {i}")
    assert _pipeline(world).pending == 3
    path = world.bot.db.path
    await world.bot.close()
    db = await Database.open(path)
    try:
        assert await db.fetchval("SELECT COUNT(*) FROM activity_messages") == 3
    finally:
        await db.close()


async def test_kept_text_is_purged_by_a_durable_job_at_expiry(world: World) -> None:
    await world.bot.settings.set(world.guild.id, "keep_text_days", 1)
    await world.member.send(world.general, "context for the moderators")
    await _flush(world)
    assert await _rows(world, "SELECT text FROM activity_text") == [("context for the moderators",)]
    (job,) = await world.bot.scheduler.pending(world.guild.id, "activity.purge_text")
    assert job.run_at - world.bot.clock.now() <= timedelta(days=1, hours=1)
    await world.env.advance_time(12 * 3600)
    await world.bot.scheduler.run_due()
    assert await _rows(world, "SELECT COUNT(*) FROM activity_text") == [(1,)]
    await world.env.advance_time(13 * 3600)
    await world.bot.scheduler.run_due()
    await world.env.settle()
    assert await _rows(world, "SELECT COUNT(*) FROM activity_text") == [(0,)]
