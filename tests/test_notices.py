"""Problems managers must hear about once: a channel Hearth can't post in."""

from __future__ import annotations

from types import SimpleNamespace

import discord

from bot.discord_glue.interactions import language_for, safe_send
from tests.helpers import World


async def test_missing_permission_is_reported_once_to_managers(world: World) -> None:
    me = world.guild.me
    assert me is not None
    staff = world.guild.create_text_channel("staff")
    locked = world.guild.create_text_channel(
        "locked", overwrites={me: discord.PermissionOverwrite(send_messages=False)}
    )
    await world.bot.settings.set(world.guild.id, "manager_channel", staff.id)
    channel = world.bot.get_channel(locked.id)
    assert isinstance(channel, discord.TextChannel)

    first = await safe_send(world.bot, channel, "hello", guild_id=world.guild.id)
    second = await safe_send(world.bot, channel, "hello again", guild_id=world.guild.id)
    await world.env.settle()

    assert first is None and second is None
    notices = [m for m in staff.history() if "can't post" in m.content]
    assert len(notices) == 1
    assert locked.mention in notices[0].content
    assert locked.history() == []


async def test_notices_use_the_server_language(world: World) -> None:
    me = world.guild.me
    assert me is not None
    staff = world.guild.create_text_channel("staff")
    locked = world.guild.create_text_channel(
        "verrouille", overwrites={me: discord.PermissionOverwrite(send_messages=False)}
    )
    await world.bot.settings.set(world.guild.id, "manager_channel", staff.id)
    await world.bot.settings.set(world.guild.id, "language", "fr")
    channel = world.bot.get_channel(locked.id)
    assert isinstance(channel, discord.TextChannel)
    await safe_send(world.bot, channel, "bonjour", guild_id=world.guild.id)
    await world.env.settle()
    assert "ne peut pas publier" in staff.last_message.content


async def test_private_replies_follow_the_member_locale_and_public_ones_the_server(world: World) -> None:
    await world.bot.settings.set(world.guild.id, "language", "fr")
    french_member = SimpleNamespace(locale=discord.Locale.french, guild_id=world.guild.id, client=world.bot)
    german_member = SimpleNamespace(locale=discord.Locale.german, guild_id=world.guild.id, client=world.bot)
    english_member = SimpleNamespace(
        locale=discord.Locale.american_english, guild_id=world.guild.id, client=world.bot
    )
    assert await language_for(french_member, ephemeral=True) == "fr"  # type: ignore[arg-type]
    assert await language_for(german_member, ephemeral=True) == "fr"  # type: ignore[arg-type]
    assert await language_for(english_member, ephemeral=True) == "en"  # type: ignore[arg-type]
    assert await language_for(english_member, ephemeral=False) == "fr"  # type: ignore[arg-type]
