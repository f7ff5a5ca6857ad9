"""Per-server settings: one small service over the `guild_settings` table.

Every setting is declared once with `register()` (features declare theirs in their own module),
validated when it is set, and read back typed. Unset settings read as their default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.core.clock import Clock, to_ts
from bot.core.db import Database
from bot.core.errors import InvalidValue
from bot.core.i18n import LANGUAGES
from bot.core.timeutil import zone

Kind = Literal["channel", "role", "timezone", "language", "int", "float", "bool", "text"]


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its key, kind, default and bounds."""

    key: str
    kind: Kind
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 500


SPECS: dict[str, SettingSpec] = {}


def register(*specs: SettingSpec) -> None:
    """Declare settings; declaring the same key twice with a different spec is a bug."""
    for spec in specs:
        existing = SPECS.get(spec.key)
        if existing is not None and existing != spec:
            raise ValueError(f"setting {spec.key!r} declared twice differently")
        SPECS[spec.key] = spec


register(
    SettingSpec("language", "language", "en"),
    SettingSpec("timezone", "timezone", "UTC"),
    # Where Hearth tells managers about problems (lost permissions) and sends the weekly digest.
    SettingSpec("manager_channel", "channel"),
    SettingSpec("moderator_channel", "channel"),
    SettingSpec("welcome_channel", "channel"),
    SettingSpec("rules_channel", "channel"),
    SettingSpec("intro_channel", "channel"),
    SettingSpec("member_role", "role"),
    SettingSpec("moderator_role", "role"),
    SettingSpec("welcome_role", "role"),
)

_TRUE = {"true", "yes", "on", "1", "oui", "vrai"}
_FALSE = {"false", "no", "off", "0", "non", "faux"}


def spec_for(key: str) -> SettingSpec:
    """Return the spec of a known setting or raise a UserError."""
    spec = SPECS.get(key)
    if spec is None:
        raise InvalidValue("errors.unknown_setting", setting=key[:64])
    return spec


def keys_of_kind(*kinds: Kind) -> list[str]:
    """List the setting keys of the given kinds, sorted."""
    return sorted(k for k, s in SPECS.items() if s.kind in kinds)


def parse_value(spec: SettingSpec, raw: str) -> Any:
    """Validate a raw string for a setting and return the typed value."""
    text = raw.strip()
    parsers: dict[str, Callable[[str], Any]] = {
        "int": int,
        "float": float,
        "channel": int,
        "role": int,
    }
    if spec.kind == "timezone":
        return zone(text).key
    if spec.kind == "language":
        if text.lower() not in LANGUAGES:
            raise InvalidValue("errors.unknown_language", language=text[:16])
        return text.lower()
    if spec.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise InvalidValue("errors.not_a_bool", setting=spec.key, value=text[:32])
    if spec.kind == "text":
        if len(text) > spec.max_length:
            raise InvalidValue("errors.too_long", setting=spec.key, limit=spec.max_length)
        return text
    try:
        value = parsers[spec.kind](text)
    except ValueError:
        raise InvalidValue("errors.not_a_number", setting=spec.key, value=text[:32]) from None
    if spec.kind in ("int", "float") and (
        (spec.minimum is not None and value < spec.minimum)
        or (spec.maximum is not None and value > spec.maximum)
    ):
        raise InvalidValue(
            "errors.out_of_range", setting=spec.key, minimum=spec.minimum, maximum=spec.maximum
        )
    return value


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _decode(spec: SettingSpec, stored: str) -> Any:
    if spec.kind == "bool":
        return stored == "true"
    if spec.kind in ("int", "channel", "role"):
        return int(stored)
    if spec.kind == "float":
        return float(stored)
    return stored


class Settings:
    """Read and write one server's settings, with a small cache for the hot path."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._cache: dict[int, dict[str, Any]] = {}
        self._listeners: list[Callable[[int, str], None]] = []

    def subscribe(self, listener: Callable[[int, str], None]) -> None:
        """Call `listener(guild_id, key)` after every change, so a feature's own cache stays exact."""
        self._listeners.append(listener)

    def _changed(self, guild_id: int, key: str) -> None:
        self._cache.pop(guild_id, None)
        for listener in self._listeners:
            listener(guild_id, key)

    async def _load(self, guild_id: int) -> dict[str, Any]:
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        rows = await self._db.fetchall(
            "SELECT key, value FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        values = {row["key"]: _decode(SPECS[row["key"]], row["value"]) for row in rows if row["key"] in SPECS}
        self._cache[guild_id] = values
        return values

    async def get(self, guild_id: int, key: str) -> Any:
        """Return the setting's value, or its default when unset."""
        spec = spec_for(key)
        return (await self._load(guild_id)).get(key, spec.default)

    async def all(self, guild_id: int) -> dict[str, Any]:
        """Return every declared setting with its current value."""
        values = await self._load(guild_id)
        return {key: values.get(key, spec.default) for key, spec in sorted(SPECS.items())}

    async def is_set(self, guild_id: int, key: str) -> bool:
        """Tell whether the server chose a value (as opposed to the default)."""
        spec_for(key)
        return key in await self._load(guild_id)

    async def set(self, guild_id: int, key: str, value: Any, *, kinds: tuple[Kind, ...] | None = None) -> Any:
        """Validate and store a value (given typed or as text); return the stored value.

        `kinds` restricts which settings this call may change (a channel picker sets channels only).
        """
        spec = spec_for(key)
        if kinds is not None and spec.kind not in kinds:
            raise InvalidValue("errors.wrong_setting_kind", setting=key)
        typed = parse_value(spec, _encode(value))
        await self._db.execute(
            "INSERT INTO guild_settings(guild_id, key, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(guild_id, key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (guild_id, key, _encode(typed), to_ts(self._clock.now())),
        )
        self._changed(guild_id, key)
        return typed

    async def reset(self, guild_id: int, key: str) -> None:
        """Forget the server's value so the default applies again."""
        spec_for(key)
        await self._db.execute("DELETE FROM guild_settings WHERE guild_id = ? AND key = ?", (guild_id, key))
        self._changed(guild_id, key)

    async def language(self, guild_id: int | None) -> str:
        """Return the server's language code."""
        if guild_id is None:
            return "en"
        return str(await self.get(guild_id, "language"))

    async def timezone(self, guild_id: int) -> ZoneInfo:
        """Return the server's timezone."""
        return zone(str(await self.get(guild_id, "timezone")))
