"""Cog discovery and the bot's own lifecycle hooks: what is loaded, and how unhandled errors are logged."""

from __future__ import annotations

import pkgutil
from pathlib import Path
from typing import Any

from bot.discord_glue.client import _defines_setup, discover_extensions


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


async def test_unhandled_event_error_is_logged_with_its_traceback(tmp_path: Path, caplog: Any) -> None:
    """on_error keeps the traceback (discord.py calls it inside its `except`)."""
    from bot.core.config import Config
    from bot.discord_glue.client import HearthBot

    bot = HearthBot(Config(token=None, db_path=tmp_path / "x.db"), extensions=[])
    try:
        raise RuntimeError("boom in a listener")
    except RuntimeError:
        await bot.on_error("on_message")
    record = next(r for r in caplog.records if "unhandled error in event on_message" in r.getMessage())
    assert record.exc_info is not None and "boom in a listener" in str(record.exc_info[1])
