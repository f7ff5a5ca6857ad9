"""The layers and what each may import: dependencies point one way, and the glue has no import cycle.

- `bot/core/`: the pure core (database, scheduler, settings, catalogs, clock, errors, privacy…).
  Imports nothing of Discord and no feature.
- `bot/<feature>/`: one package per feature, domain logic only. Imports the core and features,
  never Discord, the glue or the cogs.
- `bot/services.py`: the composition root, pure: builds every service once, for the glue to hand
  to the cogs. Imports the core and features, never Discord.
- `bot/discord_glue/`: what every cog stands on (the Bot subclass, the one error path, checks,
  validators, the translator). Imports Discord, the core and features, never a cog.
- `cogs/`: thin adapters, one per feature. May import anything under `bot/`.
- `bot/__main__.py`: the command line, the composition's entry point.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
DISCORD = {"discord", "simcord"}


def imports_of(path: Path) -> set[str]:
    """Every absolute module a file imports, TYPE_CHECKING blocks included (they are cycles too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def imported_roots(path: Path) -> set[str]:
    """The top-level packages a file imports."""
    return {name.split(".")[0] for name in imports_of(path)}


def layer_of(path: Path) -> str:
    """Name the layer a file under the project belongs to."""
    parts = path.relative_to(ROOT).parts
    if parts[0] == "cogs":
        return "cogs"
    if parts[1] == "__main__.py":
        return "cli"
    if parts[1] == "__init__.py":
        return "package"
    if parts[1] == "services.py":
        return "services"
    if parts[1] in ("core", "discord_glue"):
        return parts[1]
    if len(parts) == 2:
        return "loose"
    return "feature"


def module_layer(module: str) -> str | None:
    """Name the layer of an imported module of ours; None for third-party and standard modules."""
    parts = module.split(".")
    if parts[0] == "cogs":
        return "cogs"
    if parts[0] != "bot" or len(parts) == 1:
        return None
    if parts[1] in ("core", "discord_glue"):
        return parts[1]
    if parts[1] == "services":
        return "services"
    return "feature"


FORBIDDEN = {
    "core": {"feature", "services", "discord_glue", "cogs", "discord"},
    "feature": {"services", "discord_glue", "cogs", "discord"},
    "discord_glue": {"cogs"},
    "services": {"discord_glue", "cogs", "discord"},
    "package": {"core", "feature", "services", "discord_glue", "cogs", "discord"},
    "cogs": set(),
    "cli": {"cogs"},
}


def violations() -> dict[str, list[str]]:
    """Map each file breaking its layer's rule to what it imports that it may not."""
    found: dict[str, list[str]] = {}
    for path in [*BOT.rglob("*.py"), *(ROOT / "cogs").rglob("*.py")]:
        layer = layer_of(path)
        if layer == "loose":
            found[str(path.relative_to(ROOT))] = [
                "a module loose in bot/: put it in core/, a feature or the glue"
            ]
            continue
        bad = sorted(
            name
            for name in imports_of(path)
            if (module_layer(name) in FORBIDDEN[layer])
            or (name.split(".")[0] in DISCORD and "discord" in FORBIDDEN[layer])
        )
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_each_layer_imports_only_what_it_may() -> None:
    assert violations() == {}


def test_every_module_under_bot_belongs_to_a_layer() -> None:
    assert {layer_of(p) for p in BOT.rglob("*.py")} <= {
        "package",
        "core",
        "feature",
        "services",
        "discord_glue",
        "cli",
    }


def glue_cycle() -> list[str] | None:
    """Return an import cycle among the glue's modules, if there is one."""
    glue = {p.stem: p for p in (BOT / "discord_glue").glob("*.py") if p.stem != "__init__"}
    edges = {
        name: {m.split(".")[2] for m in imports_of(path) if m.startswith("bot.discord_glue.")} & set(glue)
        for name, path in glue.items()
    }

    def visit(node: str, trail: list[str]) -> list[str] | None:
        if node in trail:
            return [*trail[trail.index(node) :], node]
        for nxt in sorted(edges[node]):
            cycle = visit(nxt, [*trail, node])
            if cycle:
                return cycle
        return None

    for start in sorted(glue):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_glue_has_no_import_cycle() -> None:
    assert glue_cycle() is None


def test_the_check_itself_catches_a_discord_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from discord.ext import commands\nimport os\n")
    assert "discord" in imported_roots(sample)


def test_the_check_sees_type_checking_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.discord_glue.client import HearthBot\n"
    )
    assert "bot.discord_glue.client" in imports_of(sample)
    assert module_layer("bot.discord_glue.client") == "discord_glue"
    assert module_layer("bot.activity.pipeline") == "feature"
    assert module_layer("discord") is None
