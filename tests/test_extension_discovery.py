"""Cog discovery loads modules that define setup(), and leaves views and helpers beside them alone."""

from __future__ import annotations

import pkgutil
from pathlib import Path

from bot.client import _defines_setup, discover_extensions


def test_only_modules_with_a_setup_function_are_extensions(tmp_path: Path) -> None:
    """`cogs/X_views.py` (no setup) is a helper; loading it as an extension would stop the bot at start."""
    (tmp_path / "feature.py").write_text("async def setup(bot):\n    pass\n")
    (tmp_path / "feature_views.py").write_text("class View:\n    async def setup(self):\n        pass\n")
    (tmp_path / "sync_setup.py").write_text("def setup(bot):\n    pass\n")
    found = {info.name: _defines_setup(info) for info in pkgutil.iter_modules([str(tmp_path)])}
    assert found == {"feature": True, "feature_views": False, "sync_setup": True}


def test_shipped_config_cog_is_discovered() -> None:
    """The foundation's /config cog is found by the real discovery."""
    assert "cogs.config" in discover_extensions()
