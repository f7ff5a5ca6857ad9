"""Members' data rights across features: each feature registers how to export and forget a member."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Exporter = Callable[[int, int], Awaitable[Any]]
Forgetter = Callable[[int, int], Awaitable[int]]


@dataclass
class PrivacyRegistry:
    """Per-feature export and forget functions, all taking (guild_id, user_id)."""

    exporters: dict[str, Exporter] = field(default_factory=dict)
    forgetters: dict[str, Forgetter] = field(default_factory=dict)

    def register(self, feature: str, export: Exporter, forget: Forgetter) -> None:
        """Declare what a feature stores about members."""
        self.exporters[feature] = export
        self.forgetters[feature] = forget

    async def export(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Collect everything stored about a member, per feature."""
        return {name: await export(guild_id, user_id) for name, export in sorted(self.exporters.items())}

    async def forget(self, guild_id: int, user_id: int) -> dict[str, int]:
        """Delete everything stored about a member; return rows deleted per feature."""
        return {name: await forget(guild_id, user_id) for name, forget in sorted(self.forgetters.items())}
