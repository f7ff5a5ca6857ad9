"""What slash commands were last published to Discord, so `run` publishes them only when they change.

Discord keeps an application's commands until they are replaced; publishing them on every start is
slow to show up (global commands can take an hour) and counts against a daily limit of command
creations. The glue hashes the exact payload it would send (names, options, French localizations)
and asks here whether that digest was already published for this application and scope.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.core.clock import Clock, to_ts
from bot.core.db import Database


def digest(payload: Any) -> str:
    """Return a stable hash of a JSON-able command payload (key order doesn't matter)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PublishedCommands:
    """Read and record the digest of the last command set published per application and scope."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def is_current(self, application_id: int, scope: str, value: str) -> bool:
        """Tell whether exactly this command set was the last one published there."""
        stored = await self._db.fetchval(
            "SELECT digest FROM published_commands WHERE application_id = ? AND scope = ?",
            (application_id, scope),
        )
        return stored == value

    async def record(self, application_id: int, scope: str, value: str) -> None:
        """Remember that this command set was published there, now."""
        await self._db.execute(
            "INSERT INTO published_commands(application_id, scope, digest, published_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(application_id, scope) DO UPDATE SET digest = excluded.digest,"
            " published_at = excluded.published_at",
            (application_id, scope, value, to_ts(self._clock.now())),
        )
