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


def _classify(error: BaseException) -> tuple[str, dict[str, Any], BaseException | None]:
    """Map an error to (catalog key, params, the error to log with a traceback or None)."""
    original: BaseException = error
    if isinstance(error, app_commands.CommandInvokeError):
        original = error.original
    elif isinstance(error, app_commands.TransformerError) and error.__cause__ is not None:
        original = error.__cause__
    if isinstance(original, UserError):
        return original.key, original.params, None
    if isinstance(error, NotManager):
        return "errors.not_manager", {}, None
    if isinstance(error, app_commands.NoPrivateMessage):
        return "errors.guild_only", {}, None
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return "errors.command_outdated", {}, None
    if isinstance(error, app_commands.CommandOnCooldown):
        return "errors.cooldown", {"seconds": round(error.retry_after)}, None
    if isinstance(error, app_commands.BotMissingPermissions):
        return "errors.bot_missing_permissions", {"permissions": ", ".join(error.missing_permissions)}, None
    if isinstance(error, app_commands.CheckFailure):
        return "errors.check_failed", {}, None
    if isinstance(original, discord.Forbidden):
        return "errors.bot_forbidden", {}, None
    return "errors.unexpected", {}, original


def _where(interaction: discord.Interaction) -> str:
    """Name what the member used, for the log: /command, or the component's custom id."""
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    data: dict[str, Any] = dict(interaction.data or {})
    if "custom_id" in data:
        return f"component {data['custom_id']}"
    return f"/{data['name']}" if data.get("name") else "an interaction"


async def on_interaction_error(interaction: discord.Interaction, error: BaseException) -> None:
    """The one error path for slash commands, buttons, selects and modals.

    A member's mistake gets its message; a command Discord still shows but Hearth no longer has
    (or one used in a DM) gets a fixed message, logged without a traceback; anything else is
    logged with its traceback and a short code the member can give the host. Always ephemeral,
    in the member's language.
    """
    key, params, unexpected = _classify(error)
    if unexpected is not None:
        code = secrets.token_hex(3)
        params = {"code": code}
        log.error("error %s in %s", code, _where(interaction), exc_info=unexpected)
    elif key in ("errors.command_outdated", "errors.guild_only"):
        log.info("%s in %s: %s", key, _where(interaction), error)
    try:
        await tr_reply(interaction, key, ephemeral=True, **params)
    except discord.HTTPException:
        log.warning("could not send the error reply for %s", key)


async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    """The tree's handler: the same path as components."""
    await on_interaction_error(interaction, error)


def _guild_only(command: Any) -> bool:
    root = getattr(command, "root_parent", None) or command
    return bool(getattr(root, "guild_only", False))


class HearthTree(app_commands.CommandTree):  # type: ignore[type-arg]
    """The command tree: one error path, and guild-only enforced at run time too.

    `guild_only()` only tells Discord to hide a command in DMs; a client with an old command list
    (or a registration from an older version) can still send one, and it must get a clear answer
    rather than reach code that assumes a server.
    """

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse a guild-only command used outside a server."""
        if (
            interaction.type is discord.InteractionType.application_command
            and interaction.guild_id is None
            and _guild_only(interaction.command)
        ):
            raise app_commands.NoPrivateMessage()
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        """Answer through the one error path."""
        await on_tree_error(interaction, error)


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


async def report_bad_setting(bot: Host, guild_id: int, key: str, stored: str) -> None:
    """Tell managers, once per setting, that a stored value no longer parses and the default applies."""
    lang = await bot.settings.language(guild_id)
    await report_problem(
        bot,
        guild_id,
        f"bad_setting:{key}",
        "notices.bad_setting",
        setting=bot.catalog.t(lang, f"setting.{key}"),
        value=discord.utils.escape_mentions(stored[:64]),
    )
