"""The guilds cog in the harness: removal stops the server's jobs; its data goes after the retention period."""

from __future__ import annotations

import asyncio

from bot.core.guilds import PURGE_JOB
from bot.core.scheduler import Job
from tests.helpers import World

DAY = 86_400


async def setting_rows(world: World) -> int:
    return int(
        await world.bot.db.fetchval(
            "SELECT COUNT(*) FROM guild_settings WHERE guild_id = ?", (world.guild.id,)
        )
    )


async def until_purge_scheduled(world: World) -> list[Job]:
    """Wait (bounded) for the listener task, which simcord's settle() doesn't track, to schedule the purge."""
    for _ in range(200):
        pending = await world.bot.scheduler.pending(world.guild.id)
        if any(job.kind == PURGE_JOB for job in pending):
            return pending
        await asyncio.sleep(0.01)
    raise AssertionError(f"no purge scheduled; pending: {[job.kind for job in pending]}")


async def test_retention_purge_deletes_the_servers_data_after_the_period(world: World) -> None:
    result = await world.manager.slash(world.general, "config timezone", timezone="Europe/Paris")
    assert "Europe/Paris" in result.response.content
    await world.bot.scheduler.schedule(
        world.guild.id, "onboarding.nudge", world.bot.clock.now().replace(year=2099)
    )
    assert await setting_rows(world) == 1

    # simcord can't remove the bot itself: dispatch what discord.py dispatches on GUILD_DELETE.
    world.bot.dispatch("guild_remove", world.bot.get_guild(world.guild.id))
    pending = await until_purge_scheduled(world)
    assert [job.kind for job in pending] == [PURGE_JOB]

    await world.env.advance_time(29 * DAY)
    assert await world.bot.scheduler.run_due() == 0
    assert await setting_rows(world) == 1, "purged before the retention period ended"

    await world.env.advance_time(2 * DAY)
    assert await world.bot.scheduler.run_due() == 1
    assert await setting_rows(world) == 0
    assert (
        await world.bot.db.fetchval(
            "SELECT COUNT(*) FROM scheduled_jobs WHERE guild_id = ?", (world.guild.id,)
        )
        == 0
    )
    assert await world.bot.settings.get(world.guild.id, "timezone") == "UTC"


async def test_added_back_before_the_purge_keeps_the_data(world: World) -> None:
    await world.manager.slash(world.general, "config timezone", timezone="Europe/Paris")
    guild = world.bot.get_guild(world.guild.id)
    world.bot.dispatch("guild_remove", guild)
    await until_purge_scheduled(world)

    world.bot.dispatch("guild_join", guild)
    for _ in range(200):
        if not await world.bot.scheduler.pending(world.guild.id, PURGE_JOB):
            break
        await asyncio.sleep(0.01)
    await world.env.advance_time(60 * DAY)
    assert await world.bot.scheduler.run_due() == 0
    assert await setting_rows(world) == 1
