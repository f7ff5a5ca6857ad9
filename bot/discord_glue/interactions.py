"""Discord glue shared by every cog: reply language, safe sending, and the one tree error handler."""

from __future__ import annotations

import logging
import secrets
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.core.errors import UserError
from bot.core.i18n import Catalog, lang_from_locale
from bot.core.notices import Notices
from bot.core.settings import Settings
from bot.discord_glue.checks import NotManager

log = logging.getLogger(__name__)

# User text echoed by the bot must never ping @everyone, @here or roles.
SAFE_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)
NO_MENTIONS = discord.AllowedMentions.none()


class Host(Protocol):
    """What the glue needs of the bot (HearthBot has it): typed without importing the client."""

    @property
    def settings(self) -> Settings: ...

    @property
    def notices(self) -> Notices: ...

    catalog: Catalog

    def get_guild(self, guild_id: int, /) -> discord.Guild | None: ...


def hearth(interaction: discord.Interaction) -> Host:
    """Return the bot behind an interaction, typed."""
    return interaction.client  # type: ignore[return-value]


async def language_for(interaction: discord.Interaction, *, ephemeral: bool = True) -> str:
    """Pick the reply language: the member's locale for private replies, else the server's setting."""
    if ephemeral:
        lang = lang_from_locale(str(interaction.locale.value)) if interaction.locale else None
        if lang is not None:
            return lang
    return await hearth(interaction).settings.language(interaction.guild_id)


async def send_reply(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    ephemeral: bool = True,
    **kwargs: Any,
) -> None:
    """Answer an interaction, as a follow-up when it was already answered or deferred."""
    kwargs.setdefault("allowed_mentions", NO_MENTIONS)
    if interaction.response.is_done():
        await interaction.followup.send(content or "", ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)


async def tr_reply(
    interaction: discord.Interaction, key: str, *, ephemeral: bool = True, **params: Any
) -> None:
    """Answer with one catalog message in the right language."""
    lang = await language_for(interaction, ephemeral=ephemeral)
    await send_reply(interaction, hearth(interaction).catalog.t(lang, key, **params), ephemeral=ephemeral)


def _classify(error: app_commands.AppCommandError) -> tuple[str, dict[str, Any], BaseException | None]:
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, UserError):
        return original.key, original.params, None
    if isinstance(error, NotManager):
        return "errors.not_manager", {}, None
    if isinstance(error, app_commands.NoPrivateMessage):
        return "errors.guild_only", {}, None
    if isinstance(error, app_commands.CommandOnCooldown):
        return "errors.cooldown", {"seconds": round(error.retry_after)}, None
    if isinstance(error, app_commands.BotMissingPermissions):
        return "errors.bot_missing_permissions", {"permissions": ", ".join(error.missing_permissions)}, None
    if isinstance(error, app_commands.CheckFailure):
        return "errors.check_failed", {}, None
    if isinstance(original, discord.Forbidden):
        return "errors.bot_forbidden", {}, None
    return "errors.unexpected", {}, original


async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    """The one handler: user errors get their message; anything else is logged with a short code."""
    key, params, unexpected = _classify(error)
    if unexpected is not None:
        code = secrets.token_hex(3)
        params = {"code": code}
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error("error %s in /%s", code, command, exc_info=unexpected)
    try:
        await tr_reply(interaction, key, ephemeral=True, **params)
    except discord.HTTPException:
        log.warning("could not send the error reply for %s", key)


async def safe_send(
    bot: Host,
    channel: discord.abc.Messageable,
    content: str | None = None,
    *,
    guild_id: int | None = None,
    **kwargs: Any,
) -> discord.Message | None:
    """Post to a configured channel; on missing permissions tell managers once and give up."""
    kwargs.setdefault("allowed_mentions", SAFE_MENTIONS)
    try:
        return await channel.send(content, **kwargs)
    except discord.Forbidden:
        channel_id = getattr(channel, "id", 0)
        log.warning("missing permission to post in channel %s of guild %s", channel_id, guild_id)
        if guild_id is not None:
            await report_problem(
                bot, guild_id, f"cannot_post:{channel_id}", "notices.cannot_post", channel=f"<#{channel_id}>"
            )
        return None


async def report_problem(bot: Host, guild_id: int, notice_key: str, key: str, **params: Any) -> None:
    """Tell the server's managers about a setup problem, once, in plain words."""
    if not await bot.notices.first_time(guild_id, notice_key):
        return
    guild = bot.get_guild(guild_id)
    channel_id = await bot.settings.get(guild_id, "manager_channel")
    channel = guild.get_channel(channel_id) if guild and channel_id else None
    lang = await bot.settings.language(guild_id)
    text = bot.catalog.t(lang, key, **params)
    log.warning("notice for guild %s: %s", guild_id, notice_key)
    if isinstance(channel, discord.abc.Messageable):
        try:
            await channel.send(text, allowed_mentions=NO_MENTIONS)
            return
        except discord.HTTPException:
            log.warning("could not post notice %s in the manager channel", notice_key)
    owner = guild.owner if guild else None
    if owner is not None:
        try:
            await owner.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not DM the owner notice %s", notice_key)
