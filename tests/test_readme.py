"""README.md: its command and settings references are what the code has, and it renders as tables."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

from bot.discord_glue.reference import render_commands, render_settings, section
from tests.helpers import World

README = Path(__file__).resolve().parents[1] / "README.md"
SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")


def test_command_and_settings_references_match_the_code(world: World) -> None:
    text = README.read_text(encoding="utf-8")
    commands = render_commands(world.bot.tree, world.bot.catalog)
    settings = render_settings(world.bot.settings.specs.values(), world.bot.catalog)
    assert section(text, "commands") == commands, "run: python scripts/gen_readme.py"
    assert section(text, "settings") == settings, "run: python scripts/gen_readme.py"
    for command in world.bot.tree.walk_commands():
        assert f"`/{command.qualified_name}" in commands
    for key in world.bot.settings.specs:
        assert f"| `{key}` |" in settings


def rows_rendered_and_written(markdown: str) -> tuple[int, int]:
    """Count table rows as a GitHub-style renderer sees them, and the `|` lines the author wrote."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rendered = sum(1 for token in tokens if token.type == "tr_open")
    in_code = False
    written = 0
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("|") and not SEPARATOR.match(line):
            written += 1
    return rendered, written


def test_every_table_line_renders_as_a_table_row() -> None:
    rendered, written = rows_rendered_and_written(README.read_text(encoding="utf-8"))
    assert rendered == written


def test_the_check_catches_a_table_broken_by_a_blank_line() -> None:
    broken = "| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n"
    rendered, written = rows_rendered_and_written(broken)
    assert (rendered, written) == (2, 3)
