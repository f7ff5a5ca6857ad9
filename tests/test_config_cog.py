"""/config through the simulated Discord."""

from __future__ import annotations

import discord

from tests.helpers import World


async def test_manager_sets_timezone_and_it_is_stored(world: World) -> None:
    result = await world.manager.slash(world.general, "config timezone", timezone="Europe/Paris")
    assert result.ephemeral
    assert "Europe/Paris" in result.response.content
    assert await world.bot.settings.get(world.guild.id, "timezone") == "Europe/Paris"


async def test_plain_member_is_refused_even_when_discord_shows_the_command(world: World) -> None:
    await world.grant_command("config", world.member)
    result = await world.member.slash(world.general, "config timezone", timezone="Europe/Paris")
    assert result.ephemeral
    assert "Manage Server" in result.response.content
    assert not await world.bot.settings.is_set(world.guild.id, "timezone")
    world.errors()
