"""The bot joining and leaving servers: jobs stop when it is removed, the data goes after the retention period."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.core.guilds import PURGE_JOB, GuildLifecycle
from bot.discord_glue.client import HearthBot


class GuildsCog(commands.Cog):
    """Adapts Discord's guild join/remove events to the core's GuildLifecycle."""

    def __init__(self, lifecycle: GuildLifecycle) -> None:
        self.lifecycle = lifecycle

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed (kicked, banned, or the server deleted): stop its jobs, schedule the purge."""
        await self.lifecycle.left(guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """The bot was added (back): a purge still pending is cancelled."""
        await self.lifecycle.rejoined(guild.id)


async def setup(bot: HearthBot) -> None:
    """Register the purge job and add the cog."""
    lifecycle = bot.services.guilds
    bot.scheduler.register(PURGE_JOB, lifecycle.run_purge)
    await bot.add_cog(GuildsCog(lifecycle))
