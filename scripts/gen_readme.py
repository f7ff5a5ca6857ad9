"""Regenerate README.md's command and settings references from the code: `python scripts/gen_readme.py`.

Builds the real bot offline (no token, a throw-away database), walks its slash commands and declared
settings, and rewrites the sections between the `<!-- generated:… -->` markers. tests/test_readme.py
fails when README.md differs from what this writes.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.config import Config  # noqa: E402
from bot.discord_glue.client import HearthBot  # noqa: E402
from bot.discord_glue.reference import render_commands, render_settings, replace_section  # noqa: E402


async def build() -> tuple[str, str]:
    """Return the rendered (commands, settings) references of the real bot."""
    with tempfile.TemporaryDirectory() as folder:
        bot = HearthBot(Config(token=None, db_path=Path(folder) / "reference.db"))
        await bot.setup_hook()
        try:
            return (
                render_commands(bot.tree, bot.catalog),
                render_settings(bot.settings.specs.values(), bot.catalog),
            )
        finally:
            await bot.db.close()


def main() -> int:
    """Rewrite README.md in place; print what changed."""
    commands, settings = asyncio.run(build())
    readme = ROOT / "README.md"
    before = readme.read_text(encoding="utf-8")
    after = replace_section(replace_section(before, "commands", commands), "settings", settings)
    if after != before:
        readme.write_text(after, encoding="utf-8")
        print("README.md references regenerated")
    else:
        print("README.md references already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
