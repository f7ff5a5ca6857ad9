"""Onboarding fixtures: a server with welcome, rules, intro and staff channels and the roles they use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord
import pytest_asyncio
from discord.ext import tasks

from bot.discord_glue.client import HearthBot
from bot.onboarding.service import OnboardingService
from tests.helpers import World


@dataclass
class Onboarding:
    """The harness world plus the channels and roles onboarding is configured with."""

    world: World
    welcome: Any
    rules: Any
    intro: Any
    staff: Any
    member_role: Any
    team_role: Any

    @property
    def service(self) -> OnboardingService:
        """The running cog's service."""
        return self.world.bot.get_cog("OnboardingCog").service  # type: ignore[union-attr]

    async def set(self, key: str, value: Any) -> None:
        """Change one setting directly (the /config path is tested in tests/test_config_cog.py)."""
        await self.world.bot.settings.set(self.world.guild.id, key, value)

    async def join(self, name: str) -> Any:
        """A new member joins; wait until the bot has handled it."""
        actor = self.world.add_member(name)
        await self.world.env.settle()
        return actor

    async def later(self, seconds: float) -> int:
        """Move simulated time and run the jobs that came due."""
        await self.world.env.advance_time(seconds)
        return await self.world.bot.scheduler.run_due()


async def configure(world: World) -> Onboarding:
    """Create the channels and roles and point the settings at them."""
    guild = world.guild
    welcome = guild.create_text_channel("welcome")
    rules = guild.create_text_channel("rules")
    intro = guild.create_text_channel("introductions")
    staff = guild.create_text_channel("staff")
    member_role = guild.create_role("Member")
    team_role = guild.create_role("Welcome team")
    await world.env.settle()
    ob = Onboarding(world, welcome, rules, intro, staff, member_role, team_role)
    # The world's own members joined as the bot started: make them old-timers, not newcomers, on both
    # sides (onboarding's follow-ups and the member facts the funnel reads).
    for actor in (world.manager, world.member):
        await world.bot.privacy.forget(guild.id, actor.id)
    for key, value in (
        ("welcome_channel", welcome.id),
        ("rules_channel", rules.id),
        ("intro_channel", intro.id),
        ("staff_channel", staff.id),
        ("member_role", member_role.id),
        ("welcome_role", team_role.id),
    ):
        await ob.set(key, value)
    return ob


@pytest_asyncio.fixture
async def ob(world: World) -> Onboarding:
    """The world configured for onboarding, jobs run only by `later()`."""
    await quiet_timers(world.bot)
    return await configure(world)


async def quiet_timers(bot: HearthBot) -> None:
    """Stop wall-clock wake-ups so simulated days pass in a few steps.

    The scheduler's apscheduler wake-ups follow the wall clock, not simcord's: with the simulated
    clock behind the real date every pending job would be woken early again and again, so jobs run
    through `later()` (`run_due()`). Other features' periodic `tasks.loop` timers (a 5-second flush)
    would make simcord settle thousands of times per simulated day; their buffers are flushed at close.
    """
    await bot.scheduler.shutdown()
    for cog in bot.cogs.values():
        for name, value in vars(type(cog)).items():
            if isinstance(value, tasks.Loop):
                loop = getattr(cog, name)  # the bound copy that is actually running
                if loop.is_running():
                    loop.cancel()


def texts(channel: Any) -> list[str]:
    """The contents of a channel's messages, oldest first."""
    return [m.content for m in channel.history()]


def bot_messages(channel: Any, bot_id: int) -> list[discord.Message]:
    """The bot's messages in a channel, oldest first."""
    return [m for m in channel.history() if m.author.id == bot_id]
