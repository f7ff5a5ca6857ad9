"""The settings service on a real database."""

from __future__ import annotations

import pytest

from bot.core import settings as settings_module
from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.errors import InvalidValue
from bot.core.settings import Settings, SettingSpec, parse_value
from bot.services import FEATURE_SETTINGS, build_settings


async def test_unset_settings_read_as_defaults(settings: Settings) -> None:
    assert await settings.get(1, "language") == "en"
    assert await settings.get(1, "timezone") == "UTC"
    assert await settings.get(1, "welcome_channel") is None
    assert not await settings.is_set(1, "language")


async def test_values_are_stored_per_server_and_typed(settings: Settings, db: Database) -> None:
    await settings.set(1, "welcome_channel", 1234)  # small ids are fine: only the form is checked
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


def test_declaring_a_key_twice_differently_is_a_bug(settings: Settings) -> None:
    settings.declare(SettingSpec("test_once", "int", 1))
    settings.declare(SettingSpec("test_once", "int", 1))
    with pytest.raises(ValueError, match="twice"):
        settings.declare(SettingSpec("test_once", "int", 2))


def test_features_declare_their_settings_at_load_not_at_import(db: Database, clock: FrozenClock) -> None:
    """Each feature's SETTINGS reach the one service built for the bot; there is no global registry."""
    assert not hasattr(settings_module, "register") and not hasattr(settings_module, "SPECS")
    declared = build_settings(db, clock).specs
    assert {spec.key for group in FEATURE_SETTINGS for spec in group} <= set(declared)
    # A bare service knows only the core's settings: nothing leaks between instances through a global.
    assert "conflict_threshold" not in Settings(db, clock).specs


@pytest.mark.parametrize(
    ("key", "raw", "error"),
    [
        ("conflict_threshold", "nan", "errors.not_a_number"),
        ("conflict_threshold", "NaN", "errors.not_a_number"),
        ("conflict_threshold", "inf", "errors.not_a_number"),
        ("conflict_threshold", "-Infinity", "errors.not_a_number"),
        ("conflict_threshold", "1e999", "errors.not_a_number"),
        ("conflict_threshold", "١٫٥", "errors.not_a_number"),
        ("conflict_sensitivity", "²", "errors.not_a_number"),
        ("conflict_sensitivity", "١", "errors.not_a_number"),
        ("keep_text_days", "1_0", "errors.not_a_number"),
        ("conflict_excluded_channels", "²", "errors.not_an_id"),
        ("conflict_excluded_channels", "١٢", "errors.not_an_id"),
        ("conflict_excluded_channels", "123, 45x", "errors.not_an_id"),
        ("conflict_excluded_channels", "0", "errors.not_an_id"),
        ("conflict_excluded_channels", str(2**64), "errors.not_an_id"),
        ("welcome_channel", "-5", "errors.not_an_id"),
        ("welcome_channel", "١٢٣", "errors.not_an_id"),
        ("member_role", "12e3", "errors.not_an_id"),
    ],
)
async def test_values_that_are_not_plain_numbers_or_ids_are_refused_and_nothing_is_stored(
    settings: Settings, db: Database, key: str, raw: str, error: str
) -> None:
    with pytest.raises(InvalidValue) as raised:
        await settings.set(1, key, raw)
    assert raised.value.key == error
    assert raised.value.params["setting"] == key
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 0


async def test_typed_non_finite_floats_are_refused(settings: Settings) -> None:
    for value in (float("nan"), float("inf")):
        with pytest.raises(InvalidValue):
            await settings.set(1, "conflict_threshold", value)


async def test_a_channel_list_is_stored_as_sorted_unique_ids(settings: Settings, db: Database) -> None:
    stored = await settings.set(1, "conflict_excluded_channels", " 30, 10 20,10 ")
    assert stored == "10,20,30"
    assert await db.fetchval("SELECT value FROM guild_settings") == "10,20,30"


async def test_a_stored_value_that_no_longer_parses_reads_as_default_and_is_reported_once(
    settings: Settings, db: Database
) -> None:
    """What an older version accepted (nan, "²") falls back to the default; listeners hear it once per load."""
    reported: list[tuple[int, str, str]] = []

    async def listener(guild_id: int, key: str, stored: str) -> None:
        reported.append((guild_id, key, stored))
        # A listener may read settings (the manager channel, the language) without recursing.
        assert await settings.get(guild_id, "language") == "en"

    settings.on_invalid(listener)
    for key, value in (("conflict_threshold", "nan"), ("conflict_excluded_channels", "²")):
        await db.execute(
            "INSERT INTO guild_settings(guild_id, key, value, updated_at) VALUES (1, ?, ?, 0)", (key, value)
        )
    assert await settings.get(1, "conflict_threshold") == 1.5
    assert await settings.get(1, "conflict_excluded_channels") == ""
    assert await settings.get(1, "conflict_threshold") == 1.5  # cached: not reported again
    assert sorted(reported) == [(1, "conflict_excluded_channels", "²"), (1, "conflict_threshold", "nan")]
    assert not await settings.is_set(1, "conflict_threshold")
