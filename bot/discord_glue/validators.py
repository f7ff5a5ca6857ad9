"""What a channel or role must be for Hearth to use it: one rule each, shared by every cog."""

from __future__ import annotations

import discord

from bot.core.errors import InvalidValue


def check_postable(channel: discord.abc.GuildChannel | discord.Thread, me: discord.Member) -> None:
    """Refuse a channel Hearth can't post its messages (embeds included) in."""
    perms = channel.permissions_for(me)
    if not (perms.view_channel and perms.send_messages and perms.embed_links):
        raise InvalidValue("errors.channel_not_postable", channel=channel.mention)


def check_assignable(role: discord.Role, me: discord.Member) -> None:
    """Refuse a role Hearth can't hand out: @everyone, a managed role, or one at or above its own."""
    check_mentionable_role(role)
    if role >= me.top_role:
        raise InvalidValue("errors.role_above_bot", role=role.name)


def check_mentionable_role(role: discord.Role) -> None:
    """Refuse a role no member can be given (@everyone, a bot's or integration's own role).

    Enough for a role Hearth only checks or mentions (the moderator role): its place in the role
    list does not matter, since Hearth never assigns it.
    """
    if role.is_default() or role.managed:
        raise InvalidValue("errors.role_not_assignable", role=role.name)
