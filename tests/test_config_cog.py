"""/config through the simulated Discord: each subcommand, its validation, and the refusals."""

from __future__ import annotations

import discord
import pytest

from tests.helpers import World


async def test_manager_sets_timezone_and_it_is_stored(world: World) -> None:
    result = await world.manager.slash(world.general, "config timezone", timezone="Europe/Paris")
    assert result.ephemeral
    assert "Europe/Paris" in result.response.content
    assert await world.bot.settings.get(world.guild.id, "timezone") == "Europe/Paris"


async def test_unknown_timezone_gets_a_clear_message_and_nothing_changes(world: World) -> None:
    result = await world.manager.slash(world.general, "config timezone", timezone="Europe/Atlantis")
    assert result.ephemeral
    assert "Europe/Atlantis" in result.response.content and "IANA" in result.response.content
    assert not await world.bot.settings.is_set(world.guild.id, "timezone")
    assert world.error_keys() == ["errors.unknown_timezone"]


async def test_timezone_autocomplete_offers_matching_zones(world: World) -> None:
    choices = await world.manager.autocomplete(world.general, "config timezone", "timezone", "paris")
    assert {"name": "Europe/Paris", "value": "Europe/Paris"} in [
        {"name": c["name"], "value": c["value"]} for c in choices
    ]


async def test_plain_member_is_refused_even_when_discord_shows_the_command(world: World) -> None:
    await world.grant_command("config", world.member)
    result = await world.member.slash(world.general, "config timezone", timezone="Europe/Paris")
    assert result.ephemeral
    assert "Manage Server" in result.response.content
    assert not await world.bot.settings.is_set(world.guild.id, "timezone")
    assert world.error_keys() == ["NotManager"]


async def test_channel_is_saved_when_the_bot_can_post_there(world: World) -> None:
    welcome = world.guild.create_text_channel("welcome")
    result = await world.manager.slash(
        world.general, "config channel", setting="welcome_channel", channel=welcome
    )
    assert welcome.mention in result.response.content
    assert await world.bot.settings.get(world.guild.id, "welcome_channel") == welcome.id


async def test_channel_the_bot_cannot_post_in_is_refused(world: World) -> None:
    me = world.guild.me
    assert me is not None
    locked = world.guild.create_text_channel(
        "locked", overwrites={me: discord.PermissionOverwrite(send_messages=False)}
    )
    result = await world.manager.slash(
        world.general, "config channel", setting="welcome_channel", channel=locked
    )
    assert "can't post" in result.response.content
    assert await world.bot.settings.get(world.guild.id, "welcome_channel") is None
    assert world.error_keys() == ["errors.channel_not_postable"]


async def test_channel_picker_refuses_a_setting_that_is_not_a_channel(world: World) -> None:
    result = await world.manager.slash(
        world.general, "config channel", setting="language", channel=world.general
    )
    assert "can't be changed with this command" in result.response.content
    assert world.error_keys() == ["errors.wrong_setting_kind"]


async def test_role_above_the_bot_is_refused_and_one_below_is_saved(world: World) -> None:
    high = world.guild.create_role("Admins", permissions=discord.Permissions(administrator=True), position=50)
    result = await world.manager.slash(world.general, "config role", setting="member_role", role=high)
    assert "at or above my own role" in result.response.content
    assert await world.bot.settings.get(world.guild.id, "member_role") is None
    assert world.error_keys() == ["errors.role_above_bot"]


async def test_everyone_role_cannot_be_handed_out(world: World) -> None:
    result = await world.manager.slash(
        world.general, "config role", setting="member_role", role=world.guild.default_role
    )
    assert "can't be handed out" in result.response.content
    assert world.error_keys() == ["errors.role_not_assignable"]


async def test_language_switch_changes_public_language(world: World) -> None:
    result = await world.manager.slash(world.general, "config language", language="fr")
    assert "Français" in result.response.content
    assert await world.bot.settings.language(world.guild.id) == "fr"


async def test_view_lists_settings_with_their_values(world: World) -> None:
    await world.bot.settings.set(world.guild.id, "welcome_channel", world.general.id)
    result = await world.manager.slash(world.general, "config view")
    embed = result.response.embeds[0]
    assert embed.title == "Hearth settings"
    assert f"<#{world.general.id}>" in embed.description
    assert "Timezone**: UTC" in embed.description


async def test_reset_puts_the_default_back(world: World) -> None:
    await world.bot.settings.set(world.guild.id, "language", "fr")
    result = await world.manager.slash(world.general, "config reset", setting="language")
    assert result.ephemeral
    assert await world.bot.settings.language(world.guild.id) == "en"


async def test_setting_autocomplete_shows_labels(world: World) -> None:
    choices = await world.manager.autocomplete(world.general, "config channel", "setting", "welc")
    assert {"name": "Welcome channel", "value": "welcome_channel"} in [
        {"name": c["name"], "value": c["value"]} for c in choices
    ]


async def stored(world: World, key: str) -> object:
    """What guild_settings holds for the key, as text (None when nothing was stored)."""
    return await world.bot.db.fetchval(
        "SELECT value FROM guild_settings WHERE guild_id = ? AND key = ?", (world.guild.id, key)
    )


@pytest.mark.parametrize(
    ("setting", "value", "error", "shown"),
    [
        ("conflict_threshold", "nan", "errors.not_a_number", "takes a number"),
        ("conflict_threshold", "inf", "errors.not_a_number", "takes a number"),
        ("conflict_sensitivity", "²", "errors.not_a_number", "takes a number"),
        ("conflict_sensitivity", "١", "errors.not_a_number", "takes a number"),
        ("calm_slowmode_minutes", "١٢", "errors.not_a_number", "takes a number"),
        ("conflict_excluded_channels", "²", "errors.not_an_id", "takes a Discord id"),
        ("conflict_excluded_channels", "١٢", "errors.not_an_id", "takes a Discord id"),
        ("conflict_excluded_channels", "#general", "errors.not_an_id", "takes a Discord id"),
    ],
)
async def test_config_value_refuses_what_is_not_a_plain_number_or_id_and_stores_nothing(
    world: World, setting: str, value: str, error: str, shown: str
) -> None:
    result = await world.manager.slash(world.general, "config value", setting=setting, value=value)
    assert result.ephemeral
    assert shown in result.response.content and setting in result.response.content
    assert await stored(world, setting) is None
    assert world.error_keys() == [error]


async def test_config_value_stores_a_channel_list_as_ids(world: World) -> None:
    result = await world.manager.slash(
        world.general, "config value", setting="conflict_excluded_channels", value=f" {world.general.id}, "
    )
    assert str(world.general.id) in result.response.content
    assert await stored(world, "conflict_excluded_channels") == str(world.general.id)


async def test_moderator_role_may_sit_above_hearths_own_role(world: World) -> None:
    """Hearth never hands the moderator role out, it only checks it: its position does not matter."""
    high = world.guild.create_role(
        "Moderators", permissions=discord.Permissions(manage_messages=True), position=50
    )
    result = await world.manager.slash(world.general, "config role", setting="moderator_role", role=high)
    assert high.mention in result.response.content
    assert await world.bot.settings.get(world.guild.id, "moderator_role") == high.id
    assert world.error_keys() == []
