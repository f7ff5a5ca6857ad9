"""/config through the simulated Discord."""

from __future__ import annotations

import discord

from tests.helpers import World


async def test_manager_sets_timezone_and_it_is_stored(world: World) -> None:
    result = await world.manager.slash(world.general, "config timezone", timezone="Europe/Paris")
    assert result.ephemeral
    assert "Europe/Paris" in result.response.content
    assert await world.bot.settings.get(world.guild.id, "timezone") == "Europe/Paris"
