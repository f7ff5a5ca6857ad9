"""A value an older version stored and that no longer parses: the default applies, managers hear once."""

from __future__ import annotations

import logging

import pytest

from tests.conflict.test_conflict_cog import HEATED, Scene
from tests.helpers import World


async def store_raw(world: World, key: str, value: str) -> None:
    """Write a row as an older version would have, then drop the cache as a restart would."""
    await world.bot.db.execute(
        "INSERT INTO guild_settings(guild_id, key, value, updated_at) VALUES (?, ?, ?, 0)",
        (world.guild.id, key, value),
    )
    world.bot.settings._cache.clear()


@pytest.mark.parametrize(
    ("key", "value", "label"),
    [
        # nan had silently disabled flagging (no heat is >= nan).
        ("conflict_threshold", "nan", "Conflict heat threshold"),
        # "²" passes str.isdigit() but not int(): every message had raised, /conflict settings too.
        ("conflict_excluded_channels", "²", "Channels excluded from conflict flags"),
    ],
)
async def test_an_unreadable_stored_setting_falls_back_and_managers_get_one_notice(
    world: World, caplog: pytest.LogCaptureFixture, key: str, value: str, label: str
) -> None:
    scene = Scene(world)
    await scene.setup()
    managers = world.guild.create_text_channel("managers")
    await world.bot.settings.set(world.guild.id, "manager_channel", managers.id)
    await store_raw(world, key, value)

    with caplog.at_level(logging.WARNING):
        await scene.play(HEATED)
        await scene.play(HEATED, channel=scene.mods)

    # Processed normally, with the default: the heated exchange is flagged, nothing raised.
    assert len(scene.flags()) >= 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    [notice] = [m.content for m in managers.history()]
    assert label in notice and value in notice and "/config" in notice
    # /conflict settings answers, showing the default in force.
    result = await world.manager.slash(world.general, "conflict settings show")
    assert result.ephemeral and result.response.embeds
    assert "1.50" in (result.response.embeds[0].description or "")
    assert world.error_keys() == []
