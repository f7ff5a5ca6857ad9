"""Every permission rule in one place: managers and moderators (adapter: imports discord)."""

from __future__ import annotations

from typing import Any, TypeVar

import discord
from discord import app_commands

T = TypeVar("T")


class NotManager(app_commands.CheckFailure):
    """The member lacks Manage Server."""


def is_manager(interaction: discord.Interaction) -> bool:
    """Tell whether the caller may manage this server."""
    perms = interaction.permissions
    return bool(interaction.guild_id) and (perms.manage_guild or perms.administrator)


async def _check_manager(interaction: discord.Interaction) -> bool:
    if not is_manager(interaction):
        raise NotManager()
    return True


def manager_only() -> Any:
    """Mark a command, or a whole GroupCog, as managers-only: what Discord shows and what we enforce.

    Sets `default_permissions(manage_guild=True)` and `guild_only()` (Discord hides the command from
    others) and adds a runtime check (Discord's per-server overrides can't open it to non-managers).
    """

    def decorator(obj: T) -> T:
        obj = app_commands.default_permissions(manage_guild=True)(obj)
        obj = app_commands.guild_only()(obj)
        if isinstance(obj, type):
            original = obj.interaction_check  # type: ignore[attr-defined]

            async def interaction_check(self: Any, interaction: discord.Interaction) -> bool:
                await _check_manager(interaction)
                return bool(await discord.utils.maybe_coroutine(original, self, interaction))

            obj.interaction_check = interaction_check  # type: ignore[attr-defined]
            return obj
        return app_commands.check(_check_manager)(obj)

    return decorator


async def is_moderator(interaction: discord.Interaction) -> bool:
    """Tell whether the caller moderates this server: Manage Messages, Manage Server, or the moderator role."""
    if interaction.guild_id is None:
        return False
    perms = interaction.permissions
    if perms.manage_messages or perms.manage_guild or perms.administrator:
        return True
    role_id = await interaction.client.settings.get(interaction.guild_id, "moderator_role")  # type: ignore[attr-defined]
    roles = getattr(interaction.user, "roles", [])
    return bool(role_id) and any(role.id == role_id for role in roles)
