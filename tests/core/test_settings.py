"""The settings service on a real database."""

from __future__ import annotations

import pytest

from bot.core.db import Database
from bot.core.errors import InvalidValue
from bot.core.settings import Settings, SettingSpec, parse_value, register


async def test_unset_settings_read_as_defaults(settings: Settings) -> None:
    assert await settings.get(1, "language") == "en"
    assert await settings.get(1, "timezone") == "UTC"
    assert await settings.get(1, "welcome_channel") is None
    assert not await settings.is_set(1, "language")


async def test_values_are_stored_per_server_and_typed(settings: Settings, db: Database) -> None:
    await settings.set(1, "welcome_channel", 1234)
    await settings.set(1, "language", "FR")
    assert await settings.get(1, "welcome_channel") == 1234
    assert await settings.language(1) == "fr"
    assert await settings.get(2, "welcome_channel") is None
    rows = await db.fetchall("SELECT guild_id, key, value FROM guild_settings ORDER BY key")
    assert [tuple(r) for r in rows] == [(1, "language", "fr"), (1, "welcome_channel", "1234")]


async def test_unknown_timezone_is_refused_and_nothing_is_written(settings: Settings, db: Database) -> None:
    with pytest.raises(InvalidValue) as raised:
        await settings.set(1, "timezone", "Mars/Olympus")
    assert raised.value.key == "errors.unknown_timezone"
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 0


async def test_timezone_reads_back_as_zone(settings: Settings) -> None:
    await settings.set(5, "timezone", "America/Montreal")
    assert (await settings.timezone(5)).key == "America/Montreal"


async def test_unknown_setting_is_refused(settings: Settings) -> None:
    with pytest.raises(InvalidValue) as raised:
        await settings.set(1, "no_such_thing", "1")
    assert raised.value.key == "errors.unknown_setting"


async def test_kind_restriction_refuses_other_kinds(settings: Settings) -> None:
    with pytest.raises(InvalidValue) as raised:
        await settings.set(1, "language", "fr", kinds=("channel",))
    assert raised.value.key == "errors.wrong_setting_kind"


async def test_reset_restores_default(settings: Settings) -> None:
    await settings.set(1, "language", "fr")
    await settings.reset(1, "language")
    assert await settings.language(1) == "en"


def test_numbers_are_range_checked() -> None:
    spec = SettingSpec("test_days", "int", 3, minimum=1, maximum=30)
    assert parse_value(spec, " 7 ") == 7
    for bad, key in (
        ("0", "errors.out_of_range"),
        ("31", "errors.out_of_range"),
        ("seven", "errors.not_a_number"),
    ):
        with pytest.raises(InvalidValue) as raised:
            parse_value(spec, bad)
        assert raised.value.key == key


def test_booleans_accept_english_and_french() -> None:
    spec = SettingSpec("test_flag", "bool", False)
    assert parse_value(spec, "oui") is True
    assert parse_value(spec, "No") is False
    with pytest.raises(InvalidValue):
        parse_value(spec, "maybe")


def test_declaring_a_key_twice_differently_is_a_bug() -> None:
    register(SettingSpec("test_once", "int", 1))
    register(SettingSpec("test_once", "int", 1))
    with pytest.raises(ValueError, match="twice"):
        register(SettingSpec("test_once", "int", 2))
