"""Walk every manager command of the real bot and prove a plain member is refused by the runtime check.

Discord hides manager commands from members (default_permissions), but a server can grant them to
anyone; the runtime check is what we enforce. New features' manager commands are picked up here
automatically: the walk reads `bot.tree`, not a list.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import discord
from discord import app_commands

from bot.core.i18n import Catalog
from bot.discord_glue.checks import _check_manager
from tests.helpers import NO_VALUE, World, plausible_value


def _is_manager_only(command: app_commands.Command[Any, Any, Any]) -> bool:
    """Tell whether a command is meant for managers only (its own check or its root group's permissions)."""
    node: Any = command
    while node is not None:
        perms = getattr(node, "default_permissions", None)
        if perms is not None and (perms.manage_guild or perms.administrator):
            return True
        if any(
            getattr(check, "__wrapped__", check) is _check_manager for check in getattr(node, "checks", [])
        ):
            return True
        node = node.parent
    return False


def manager_commands(tree: app_commands.CommandTree) -> list[app_commands.Command[Any, Any, Any]]:
    """List every manager-only slash command leaf in the tree."""
    return [c for c in tree.walk_commands() if isinstance(c, app_commands.Command) and _is_manager_only(c)]


def plausible_options(command: app_commands.Command[Any, Any, Any], world: World) -> dict[str, Any]:
    """Build a value for every parameter that a manager could plausibly send."""
    values: dict[str, Any] = {}
    kinds = discord.AppCommandOptionType
    for param in command.parameters:
        if param.type is kinds.string and not param.choices:
            values[param.name] = "Europe/Paris" if "zone" in param.name else "welcome_channel"
        elif (value := plausible_value(world, param)) is not NO_VALUE:
            values[param.name] = value
        elif param.required:
            raise AssertionError(
                f"/{command.qualified_name}: no plausible value for {param.name} ({param.type})"
            )
    return values


def _row_counts(path: Any) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


async def _flush(world: World) -> None:
    """Write what buffered writers hold (the activity pipeline records the test server's joins)."""
    for flush in world.bot._flushers:
        await flush()


async def test_tree_has_manager_commands_to_walk(world: World) -> None:
    """The walk is not vacuous: /config and its subcommands are found."""
    names = {c.qualified_name for c in manager_commands(world.bot.tree)}
    assert {"config view", "config channel", "config timezone", "config value", "config reset"} <= names


async def test_every_manager_command_refuses_a_plain_member(world: World, catalog: Catalog) -> None:
    """Each manager command, granted to a plain member by the server, answers not_manager and writes nothing."""
    refusal = catalog.t("en", "errors.not_manager")
    commands = manager_commands(world.bot.tree)
    for root in {c.qualified_name.split()[0] for c in commands}:
        await world.grant_command(root, world.member)
    await _flush(world)
    before = _row_counts(world.bot.db.path)
    failures = []
    for command in commands:
        result = await world.member.slash(
            world.general, command.qualified_name, **plausible_options(command, world)
        )
        content = result.response.content if result.response else None
        if content != refusal or not result.ephemeral:
            failures.append(f"/{command.qualified_name}: {content!r}")
    assert not failures, "manager commands not refused:\n" + "\n".join(failures)
    await _flush(world)
    assert _row_counts(world.bot.db.path) == before
    assert world.error_keys() == ["NotManager"] * len(commands)


async def test_a_manager_gets_past_the_check_with_the_same_options(world: World, catalog: Catalog) -> None:
    """The same invocations by a manager are not refused, so the options above are plausible."""
    refusal = catalog.t("en", "errors.not_manager")
    for command in manager_commands(world.bot.tree):
        result = await world.manager.slash(
            world.general, command.qualified_name, **plausible_options(command, world)
        )
        assert result.response is None or result.response.content != refusal, command.qualified_name
    # Some plausible options still miss something the server has not set up: refused with a message.
    assert all(key.startswith(("errors.", "onboarding.errors.")) for key in world.error_keys())
