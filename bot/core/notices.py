"""Problems managers must hear about once, not on every event."""

from __future__ import annotations

from bot.core.clock import Clock, to_ts
from bot.core.db import Database


class Notices:
    """Remember which one-off notices a server has been given."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def first_time(self, guild_id: int, notice_key: str) -> bool:
        """Record the notice; return True only the first time it is seen for this server."""
        inserted = await self._db.execute(
            "INSERT OR IGNORE INTO guild_notices(guild_id, notice_key, created_at) VALUES (?, ?, ?)",
            (guild_id, notice_key, to_ts(self._clock.now())),
        )
        return inserted > 0
