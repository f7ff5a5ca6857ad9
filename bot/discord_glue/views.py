"""Base classes for buttons, selects and modals: their errors take the one error path.

Subclass `HearthView` and `HearthModal` instead of `discord.ui.View` and `discord.ui.Modal`: an
exception in a callback then answers the member (ephemeral, in their language) exactly as a slash
command's would. A `DynamicItem` has no view of its own to catch its errors: wrap its callback's
body with `guarded`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import discord

from bot.discord_glue.interactions import on_interaction_error


class HearthView(discord.ui.View):
    """A view whose item errors are answered like a slash command's."""

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        """Answer through the one error path."""
        await on_interaction_error(interaction, error)


class HearthModal(discord.ui.Modal):
    """A modal whose submit errors are answered like a slash command's."""

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        """Answer through the one error path."""
        await on_interaction_error(interaction, error)


async def guarded(interaction: discord.Interaction, work: Awaitable[None]) -> None:
    """Run a component callback; an error takes the one error path instead of discord.py's log."""
    try:
        await work
    except Exception as error:
        await on_interaction_error(interaction, error)
