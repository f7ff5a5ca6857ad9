"""/config: view and change the server's channels, roles, timezone, language and thresholds."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.settings import Kind
from bot.core.timeutil import timezone_names
from bot.discord_glue.checks import manager_only
from bot.discord_glue.client import HearthBot
from bot.discord_glue.interactions import language_for, send_reply, tr_reply
from bot.discord_glue.validators import check_assignable, check_mentionable_role, check_postable

SCALAR_KINDS: tuple[Kind, ...] = ("int", "float", "bool", "text", "channels")
# Roles Hearth only checks or mentions: they may sit above Hearth's own role, since it never assigns them.
MENTIONED_ROLES = frozenset({"moderator_role", "welcome_role"})


def render_value(kind: str, value: Any, none_text: str) -> str:
    """Show a setting's value the way Discord displays it."""
    if value is None or value == "":
        return none_text
    if kind == "channel":
        return f"<#{value}>"
    if kind == "role":
        return f"<@&{value}>"
    return str(value)


def _choices(bot: HearthBot, lang: str, keys: list[str], current: str) -> list[app_commands.Choice[str]]:
    needle = current.lower()
    found = []
    for key in keys:
        label = bot.catalog.t(lang, f"setting.{key}")
        if needle in key.lower() or needle in label.lower():
            found.append(app_commands.Choice(name=label[:100], value=key))
    return found[:25]


@manager_only()
class ConfigCog(
    commands.GroupCog,
    group_name="config",
    group_description="View and change Hearth's settings for this server",
):
    """Managers configure Hearth here."""

    def __init__(self, bot: HearthBot) -> None:
        self.bot = bot

    async def _autocomplete(
        self, interaction: discord.Interaction, current: str, kinds: tuple[Kind, ...]
    ) -> list[app_commands.Choice[str]]:
        return _choices(
            self.bot, await language_for(interaction), self.bot.settings.keys_of_kind(*kinds), current
        )

    async def channel_keys(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the channel settings."""
        return await self._autocomplete(interaction, current, ("channel",))

    async def role_keys(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the role settings."""
        return await self._autocomplete(interaction, current, ("role",))

    async def scalar_keys(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the number, yes/no and text settings."""
        return await self._autocomplete(interaction, current, SCALAR_KINDS)

    async def any_keys(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer every setting."""
        kinds: tuple[Kind, ...] = tuple({s.kind for s in self.bot.settings.specs.values()})
        return await self._autocomplete(interaction, current, kinds)

    @app_commands.command(name="view", description="Show this server's Hearth settings")
    async def view(self, interaction: discord.Interaction) -> None:
        """Show this server's Hearth settings."""
        assert interaction.guild_id is not None
        lang = await language_for(interaction)
        values = await self.bot.settings.all(interaction.guild_id)
        specs = self.bot.settings.specs
        none_text = self.bot.catalog.t(lang, "config.not_set")
        lines = [
            f"**{self.bot.catalog.t(lang, f'setting.{key}')}**: {render_value(specs[key].kind, value, none_text)}"
            for key, value in values.items()
        ]
        embed = discord.Embed(
            title=self.bot.catalog.t(lang, "config.view.title"), description="\n".join(lines)[:4000]
        )
        await send_reply(interaction, embed=embed)

    @app_commands.command(name="channel", description="Choose the channel Hearth uses for a purpose")
    @app_commands.describe(setting="What the channel is for", channel="A text channel Hearth can post in")
    @app_commands.autocomplete(setting=channel_keys)
    async def channel(
        self, interaction: discord.Interaction, setting: str, channel: discord.TextChannel
    ) -> None:
        """Choose the channel Hearth uses for a purpose."""
        assert interaction.guild is not None
        check_postable(channel, interaction.guild.me)
        await self.bot.settings.set(interaction.guild.id, setting, channel.id, kinds=("channel",))
        await self._saved(interaction, setting, channel.mention)

    @app_commands.command(name="role", description="Choose the role Hearth uses for a purpose")
    @app_commands.describe(
        setting="What the role is for", role="A role (one Hearth hands out must be below its own)"
    )
    @app_commands.autocomplete(setting=role_keys)
    async def role(self, interaction: discord.Interaction, setting: str, role: discord.Role) -> None:
        """Choose the role Hearth uses for a purpose."""
        assert interaction.guild is not None
        if setting in MENTIONED_ROLES:
            check_mentionable_role(role)
        else:
            check_assignable(role, interaction.guild.me)
        await self.bot.settings.set(interaction.guild.id, setting, role.id, kinds=("role",))
        await self._saved(interaction, setting, role.mention)

    @app_commands.command(name="timezone", description="Set the server's timezone for schedules and reports")
    @app_commands.describe(timezone="An IANA timezone such as Europe/Paris")
    async def timezone(self, interaction: discord.Interaction, timezone: str) -> None:
        """Set the server's timezone for schedules and reports."""
        assert interaction.guild_id is not None
        stored = await self.bot.settings.set(interaction.guild_id, "timezone", timezone, kinds=("timezone",))
        await self._saved(interaction, "timezone", stored)

    @timezone.autocomplete("timezone")
    async def timezone_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer matching IANA timezone names."""
        needle = current.lower().replace(" ", "_")
        return [app_commands.Choice(name=n, value=n) for n in timezone_names() if needle in n.lower()][:25]

    @app_commands.command(name="language", description="Set the language Hearth speaks in this server")
    @app_commands.describe(language="English or French")
    @app_commands.choices(
        language=[
            app_commands.Choice(name="English", value="en"),
            app_commands.Choice(name="Français", value="fr"),
        ]
    )
    async def language(self, interaction: discord.Interaction, language: app_commands.Choice[str]) -> None:
        """Set the language Hearth speaks in this server."""
        assert interaction.guild_id is not None
        await self.bot.settings.set(interaction.guild_id, "language", language.value, kinds=("language",))
        await self._saved(interaction, "language", language.name)

    @app_commands.command(name="value", description="Set a number, yes/no or text setting")
    @app_commands.describe(setting="Which setting", value="The new value")
    @app_commands.autocomplete(setting=scalar_keys)
    async def value(
        self, interaction: discord.Interaction, setting: str, value: app_commands.Range[str, 1, 500]
    ) -> None:
        """Set a number, yes/no or text setting."""
        assert interaction.guild_id is not None
        stored = await self.bot.settings.set(interaction.guild_id, setting, value, kinds=SCALAR_KINDS)
        await self._saved(interaction, setting, str(stored))

    @app_commands.command(name="reset", description="Put a setting back to its default")
    @app_commands.describe(setting="Which setting")
    @app_commands.autocomplete(setting=any_keys)
    async def reset(self, interaction: discord.Interaction, setting: str) -> None:
        """Put a setting back to its default."""
        assert interaction.guild_id is not None
        await self.bot.settings.reset(interaction.guild_id, setting)
        lang = await language_for(interaction)
        await tr_reply(interaction, "config.reset", setting=self.bot.catalog.t(lang, f"setting.{setting}"))

    async def _saved(self, interaction: discord.Interaction, setting: str, shown: str) -> None:
        lang = await language_for(interaction)
        await tr_reply(
            interaction, "config.saved", setting=self.bot.catalog.t(lang, f"setting.{setting}"), value=shown
        )


async def setup(bot: HearthBot) -> None:
    """Add the cog."""
    await bot.add_cog(ConfigCog(bot))
