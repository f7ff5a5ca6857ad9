"""/privacy: members stop collection, take their data with them, or have it deleted."""

from __future__ import annotations

import io
import json

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_glue.client import HearthBot
from bot.discord_glue.interactions import language_for, send_reply, tr_reply


@app_commands.guild_only()
class PrivacyCog(commands.GroupCog, group_name="privacy", group_description="Your data in this server"):
    """Every member's data rights."""

    def __init__(self, bot: HearthBot) -> None:
        self.bot = bot

    @app_commands.command(name="optout", description="Stop Hearth from recording your activity here")
    async def optout(self, interaction: discord.Interaction) -> None:
        """Stop Hearth from recording your activity here."""
        assert interaction.guild_id is not None
        changed = await self.bot.privacy.opt_out(interaction.guild_id, interaction.user.id)
        await tr_reply(interaction, "privacy.optout.done" if changed else "privacy.optout.already")

    @app_commands.command(name="optin", description="Let Hearth count your activity again")
    async def optin(self, interaction: discord.Interaction) -> None:
        """Let Hearth count your activity again."""
        assert interaction.guild_id is not None
        changed = await self.bot.privacy.opt_in(interaction.guild_id, interaction.user.id)
        await tr_reply(interaction, "privacy.optin.done" if changed else "privacy.optin.already")

    @app_commands.command(
        name="forget", description="Delete everything Hearth stores about you in this server"
    )
    async def forget(self, interaction: discord.Interaction) -> None:
        """Delete everything Hearth stores about you in this server."""
        assert interaction.guild_id is not None
        deleted = await self.bot.privacy.forget(interaction.guild_id, interaction.user.id)
        await tr_reply(interaction, "privacy.forget.done", rows=sum(deleted.values()))

    @app_commands.command(
        name="export", description="Receive everything Hearth stores about you, as a JSON file"
    )
    async def export(self, interaction: discord.Interaction) -> None:
        """Receive everything Hearth stores about you, as a JSON file."""
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True)
        data = await self.bot.privacy.export(interaction.guild_id, interaction.user.id)
        payload = json.dumps(
            {"guild_id": interaction.guild_id, "user_id": interaction.user.id, "features": data},
            indent=2,
            ensure_ascii=False,
            default=str,
        ).encode()
        lang = await language_for(interaction)
        name = f"hearth-data-{interaction.guild_id}.json"
        try:
            await interaction.user.send(
                self.bot.catalog.t(lang, "privacy.export.dm"),
                file=discord.File(io.BytesIO(payload), filename=name),
            )
        except discord.HTTPException:
            await send_reply(
                interaction,
                self.bot.catalog.t(lang, "privacy.export.here"),
                file=discord.File(io.BytesIO(payload), filename=name),
            )
            return
        await tr_reply(interaction, "privacy.export.sent")


async def setup(bot: HearthBot) -> None:
    """Add the cog."""
    await bot.add_cog(PrivacyCog(bot))
