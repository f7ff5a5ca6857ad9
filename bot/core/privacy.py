"""Members' privacy, in one place: who opted out, and each feature's export and forget.

Opted out means: no row about the member — as an author, as the target of replies, reactions or
reach, in onboarding tracking, in rankings or segments. Every feature asks this service
(`is_opted_out`, or the `recorded` flag of the message signal the activity pipeline computes from
it); none keeps its own list. The set is read from `activity_optouts` once at start and kept in
memory, so the message hot path never reads the database for it; writers that resolve a member id
from stored rows (a reaction on an old message) check the same table in SQL.

Moderation is not analytics: an opted-out member's messages are still scored for conflict flags.

Forgetting runs every feature's forgetter, then strips the member's id from the payloads of pending
scheduled jobs (and cancels the jobs that were about them).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.clock import Clock, to_ts
from bot.core.db import Database

log = logging.getLogger(__name__)

Exporter = Callable[[int, int], Awaitable[Any]]
Forgetter = Callable[[int, int], Awaitable[int]]
OptOutListener = Callable[[int, int], Awaitable[None]]


class PrivacyRegistry:
    """The opt-out rule (table and in-memory set) and per-feature export and forget functions."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        # Mutated in place, never replaced: the activity pipeline holds this very set for its hot path.
        self.optouts: set[tuple[int, int]] = set()
        self.exporters: dict[str, Exporter] = {}
        self.forgetters: dict[str, Forgetter] = {}
        self._on_opt_out: list[OptOutListener] = []

    # ------------------------------------------------------------------ opt-out

    async def load(self) -> None:
        """Read who opted out (at start; the hot path then reads only memory)."""
        rows = await self._db.fetchall("SELECT guild_id, user_id FROM activity_optouts")
        self.optouts.clear()
        self.optouts.update((r[0], r[1]) for r in rows)

    def is_opted_out(self, guild_id: int, user_id: int | None) -> bool:
        """Tell whether a member asked not to be recorded (None: nobody, so no)."""
        return (guild_id, user_id) in self.optouts

    def subscribe(self, listener: OptOutListener) -> None:
        """Call `listener(guild_id, user_id)` when a member opts out (drop buffered rows, cancel tracking)."""
        self._on_opt_out.append(listener)

    async def opt_out(self, guild_id: int, user_id: int) -> bool:
        """Stop recording a member (what is stored stays until forgotten); False if already opted out."""
        self.optouts.add((guild_id, user_id))
        changed = (
            await self._db.execute(
                "INSERT OR IGNORE INTO activity_optouts (guild_id, user_id, created_at) VALUES (?, ?, ?)",
                (guild_id, user_id, to_ts(self._clock.now())),
            )
            > 0
        )
        for listener in self._on_opt_out:
            await listener(guild_id, user_id)
        return changed

    async def opt_in(self, guild_id: int, user_id: int) -> bool:
        """Record a member again; False if they were not opted out."""
        self.optouts.discard((guild_id, user_id))
        return (
            await self._db.execute(
                "DELETE FROM activity_optouts WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
            )
            > 0
        )

    async def _export_choice(self, guild_id: int, user_id: int) -> dict[str, Any]:
        at = await self._db.fetchval(
            "SELECT created_at FROM activity_optouts WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return {"opted_out_at": at}

    # ------------------------------------------------------------------ data rights

    def register(self, feature: str, export: Exporter, forget: Forgetter) -> None:
        """Declare what a feature stores about members (a later call for the same feature replaces it)."""
        self.exporters[feature] = export
        self.forgetters[feature] = forget

    async def export(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Collect everything stored about a member, per feature."""
        result = {name: await export(guild_id, user_id) for name, export in sorted(self.exporters.items())}
        result["privacy"] = await self._export_choice(guild_id, user_id)
        return result

    async def forget(self, guild_id: int, user_id: int) -> dict[str, int]:
        """Delete everything stored about a member (their opt-out choice stays); rows changed per feature."""
        deleted = {name: await forget(guild_id, user_id) for name, forget in sorted(self.forgetters.items())}
        deleted["jobs"] = await self._strip_jobs(guild_id, user_id)
        return deleted

    async def _strip_jobs(self, guild_id: int, user_id: int) -> int:
        """Take the member's id out of the server's job payloads; cancel the pending jobs about them.

        A job is about a member when a top-level payload value or its dedupe key is their id (an
        onboarding reminder, say); it could only act on them, so it is cancelled. Elsewhere (a list
        of ids) the id is removed and the job runs without them. Finished jobs are scrubbed too.
        """
        needle = str(user_id)
        rows = await self._db.fetchall(
            "SELECT id, status, dedupe_key, payload FROM scheduled_jobs WHERE guild_id = ?"
            " AND (instr(payload, ?) > 0 OR dedupe_key = ?)",
            (guild_id, needle, needle),
        )
        changed = 0
        now = to_ts(self._clock.now())
        async with self._db.transaction() as conn:
            for row in rows:
                payload = json.loads(row["payload"])
                about = row["dedupe_key"] == needle or (
                    isinstance(payload, dict) and user_id in payload.values()
                )
                stripped = _without(payload, user_id)
                if stripped == payload and not about:
                    continue  # the digits were part of another number
                status = "cancelled" if about and row["status"] == "pending" else row["status"]
                cursor = await conn.execute(
                    "UPDATE scheduled_jobs SET payload = ?, status = ?,"
                    " dedupe_key = CASE WHEN dedupe_key = ? THEN NULL ELSE dedupe_key END,"
                    " done_at = CASE WHEN ? = 'cancelled' AND status = 'pending' THEN ? ELSE done_at END"
                    " WHERE id = ?",
                    (json.dumps(stripped), status, needle, status, now, row["id"]),
                )
                changed += max(cursor.rowcount, 0)
                await cursor.close()
        return changed


def _without(value: Any, user_id: int) -> Any:
    """Return a JSON value with every occurrence of the id removed (dict entries, list items)."""
    if isinstance(value, dict):
        return {k: _without(v, user_id) for k, v in value.items() if v != user_id}
    if isinstance(value, list):
        return [_without(v, user_id) for v in value if v != user_id]
    return value
