"""Dependencies point one way: domain code under bot/ knows nothing of Discord or the cogs."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
# The only modules under bot/ allowed to talk to Discord: the glue the cogs stand on.
ADAPTERS = {"__main__.py", "client.py", "checks.py", "interactions.py", "translator.py"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_modules_do_not_import_discord_or_cogs() -> None:
    offenders = {}
    for path in BOT.rglob("*.py"):
        relative = path.relative_to(BOT)
        if len(relative.parts) == 1 and relative.name in ADAPTERS:
            continue
        bad = imported_roots(path) & {"discord", "cogs", "simcord"}
        if bad:
            offenders[str(relative)] = sorted(bad)
    assert offenders == {}


def test_the_check_itself_catches_a_discord_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from discord.ext import commands\nimport os\n")
    assert "discord" in imported_roots(sample)
