"""The one tree error handler, through the simulated Discord."""

from __future__ import annotations

import logging

import pytest
from discord import app_commands
from discord.ext import commands

from bot.core.errors import UserError
from tests.helpers import World


class Exploding(commands.Cog):
    @app_commands.command(name="explode", description="Fail on purpose")
    async def explode(self, interaction) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    @app_commands.command(name="refuse", description="Refuse on purpose")
    async def refuse(self, interaction) -> None:  # type: ignore[no-untyped-def]
        raise UserError("errors.unknown_timezone", timezone="Nowhere/Land")


async def test_unexpected_error_is_logged_with_a_code_and_the_user_sees_the_code(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await world.bot.add_cog(Exploding())
    await world.sync()
    with caplog.at_level(logging.ERROR, logger="bot.discord_glue.interactions"):
        result = await world.member.slash(world.general, "explode")
    assert result.ephemeral
    record = next(r for r in caplog.records if r.name == "bot.discord_glue.interactions")
    code = record.args[0]  # type: ignore[index]
    assert code in result.response.content
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])
    world.errors()


async def test_user_error_answers_with_its_message_and_logs_no_traceback(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await world.bot.add_cog(Exploding())
    await world.sync()
    with caplog.at_level(logging.ERROR, logger="bot.discord_glue.interactions"):
        result = await world.member.slash(world.general, "refuse")
    assert result.ephemeral
    assert "Nowhere/Land" in result.response.content
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    world.errors()
