"""Per-server settings: one small service over the `guild_settings` table.

Each feature declares its settings where it lives, as a `SETTINGS` tuple of `SettingSpec`s in its
own module; the composition root (`bot/services.py`) declares them on the one `Settings` it builds,
at load time. Values are validated once, when they are saved; a stored value that no longer parses
(written by an older version, or by hand) reads as the default and is reported, never raised.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.core.clock import Clock, to_ts
from bot.core.db import Database
from bot.core.errors import InvalidValue, UserError
from bot.core.i18n import LANGUAGES
from bot.core.timeutil import zone

log = logging.getLogger(__name__)

# "channels": a list of channel ids (stored as "id,id,…", sorted, without duplicates).
Kind = Literal["channel", "channels", "role", "timezone", "language", "int", "float", "bool", "text"]

# Plain ASCII only: `int()` and `float()` also accept "١٢", "1_000", "nan" and "inf", which no
# setting means; `str.isdigit()` even accepts "²", which `int()` then refuses.
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ID = re.compile(r"[0-9]{1,20}")
_ID_SEPARATORS = re.compile(r"[,\s]+")
# Discord ids are unsigned 64-bit; SQLite integers are signed, and no real id comes near the top bit.
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its key, kind, default and bounds."""

    key: str
    kind: Kind
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 500


CORE_SETTINGS: tuple[SettingSpec, ...] = (
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


def _parse_id(spec: SettingSpec, text: str) -> int:
    value = int(text) if _ID.fullmatch(text) else 0
    if not 0 < value <= _MAX_ID:
        raise InvalidValue("errors.not_an_id", setting=spec.key, value=text[:32])
    return value


def _parse_number(spec: SettingSpec, text: str) -> int | float:
    value: int | float
    if spec.kind == "int" and _INT.fullmatch(text):
        value = int(text)
    elif spec.kind == "float" and _FLOAT.fullmatch(text) and math.isfinite(float(text)):
        value = float(text)
    else:
        raise InvalidValue("errors.not_a_number", setting=spec.key, value=text[:32])
    if (spec.minimum is not None and value < spec.minimum) or (
        spec.maximum is not None and value > spec.maximum
    ):
        raise InvalidValue(
            "errors.out_of_range", setting=spec.key, minimum=spec.minimum, maximum=spec.maximum
        )
    return value


def parse_value(spec: SettingSpec, raw: str) -> Any:
    """Validate a raw string for a setting and return the typed value (a UserError otherwise)."""
    text = raw.strip()
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
    if spec.kind in ("channel", "role"):
        return _parse_id(spec, text)
    if spec.kind in ("int", "float"):
        return _parse_number(spec, text)
    if len(text) > spec.max_length:
        raise InvalidValue("errors.too_long", setting=spec.key, limit=spec.max_length)
    if spec.kind == "channels":
        ids = {_parse_id(spec, part) for part in _ID_SEPARATORS.split(text) if part}
        return ",".join(str(i) for i in sorted(ids))
    return text


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_channel_ids(stored: str) -> frozenset[int]:
    """Read a `channels` setting back as ids (validated when saved; anything else is skipped)."""
    return frozenset(int(part) for part in _ID_SEPARATORS.split(stored or "") if _ID.fullmatch(part))


# Called with (guild_id, key, stored text) when a stored value no longer parses.
InvalidListener = Callable[[int, str, str], Awaitable[None]]


class Settings:
    """Read and write one server's settings, with a small cache for the hot path."""

    def __init__(self, db: Database, clock: Clock, specs: Iterable[SettingSpec] = CORE_SETTINGS) -> None:
        self._db = db
        self._clock = clock
        self._specs: dict[str, SettingSpec] = {}
        self._cache: dict[int, dict[str, Any]] = {}
        self._listeners: list[Callable[[int, str], None]] = []
        self._invalid_listeners: list[InvalidListener] = []
        self.declare(*specs)

    # ------------------------------------------------------------------ declarations

    def declare(self, *specs: SettingSpec) -> None:
        """Declare settings; declaring the same key twice with a different spec is a bug."""
        for spec in specs:
            existing = self._specs.get(spec.key)
            if existing is not None and existing != spec:
                raise ValueError(f"setting {spec.key!r} declared twice differently")
            self._specs[spec.key] = spec
        self._cache.clear()

    @property
    def specs(self) -> Mapping[str, SettingSpec]:
        """Every declared setting, by key."""
        return dict(self._specs)

    def spec_for(self, key: str) -> SettingSpec:
        """Return the spec of a known setting or raise a UserError."""
        spec = self._specs.get(key)
        if spec is None:
            raise InvalidValue("errors.unknown_setting", setting=key[:64])
        return spec

    def keys_of_kind(self, *kinds: Kind) -> list[str]:
        """List the setting keys of the given kinds, sorted."""
        return sorted(k for k, s in self._specs.items() if s.kind in kinds)

    # ------------------------------------------------------------------ listeners

    def subscribe(self, listener: Callable[[int, str], None]) -> None:
        """Call `listener(guild_id, key)` after every change, so a feature's own cache stays exact."""
        self._listeners.append(listener)

    def on_invalid(self, listener: InvalidListener) -> None:
        """Await `listener(guild_id, key, stored)` when a stored value no longer parses (it reads as the default)."""
        self._invalid_listeners.append(listener)

    def _changed(self, guild_id: int, key: str) -> None:
        self._cache.pop(guild_id, None)
        for listener in self._listeners:
            listener(guild_id, key)

    # ------------------------------------------------------------------ reads

    async def _load(self, guild_id: int) -> dict[str, Any]:
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        rows = await self._db.fetchall(
            "SELECT key, value FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        values: dict[str, Any] = {}
        invalid: list[tuple[str, str]] = []
        for row in rows:
            spec = self._specs.get(row["key"])
            if spec is None:
                continue
            try:
                values[row["key"]] = parse_value(spec, row["value"])
            except UserError:
                invalid.append((row["key"], row["value"]))
        # Cached before the listeners run: they read settings too (the manager channel, the language).
        self._cache[guild_id] = values
        for key, stored in invalid:
            log.warning(
                "guild %s: stored %s=%r no longer parses; using the default", guild_id, key, stored[:64]
            )
            for listener in self._invalid_listeners:
                try:
                    await listener(guild_id, key, stored)
                except Exception:
                    log.exception("reporting the unreadable setting %s of guild %s failed", key, guild_id)
        return values

    async def get(self, guild_id: int, key: str) -> Any:
        """Return the setting's value, or its default when unset."""
        spec = self.spec_for(key)
        return (await self._load(guild_id)).get(key, spec.default)

    async def all(self, guild_id: int) -> dict[str, Any]:
        """Return every declared setting with its current value."""
        values = await self._load(guild_id)
        return {key: values.get(key, spec.default) for key, spec in sorted(self._specs.items())}

    async def is_set(self, guild_id: int, key: str) -> bool:
        """Tell whether the server chose a value (as opposed to the default)."""
        self.spec_for(key)
        return key in await self._load(guild_id)

    # ------------------------------------------------------------------ writes

    async def set(self, guild_id: int, key: str, value: Any, *, kinds: tuple[Kind, ...] | None = None) -> Any:
        """Validate and store a value (given typed or as text); return the stored value.

        `kinds` restricts which settings this call may change (a channel picker sets channels only).
        """
        spec = self.spec_for(key)
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
        self.spec_for(key)
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
