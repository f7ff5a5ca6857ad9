"""Walk every slash command of the real bot: unique names, described options, both languages."""

from __future__ import annotations

import re
from typing import Any

from discord import app_commands

from bot.core.i18n import Catalog
from tests.helpers import World

NAME = re.compile(r"^[-_\w]{1,32}$")


def _key(item: Any) -> str:
    return "cmd." + item.qualified_name.replace(" ", ".")


def test_walk(world: World, catalog: Catalog) -> None:
    problems: list[str] = []
    top = [c.name for c in world.bot.tree.get_commands()]
    if len(top) != len(set(top)):
        problems.append(f"duplicate top-level names: {top}")
    for command in world.bot.tree.walk_commands():
        key = _key(command)
        if isinstance(command, app_commands.Group):
            children = [c.name for c in command.commands]
            if len(children) != len(set(children)):
                problems.append(f"duplicate subcommands in {command.qualified_name}")
        for suffix, english in (("name", command.name), ("description", command.description)):
            if catalog.raw("en", f"{key}.{suffix}") != english:
                problems.append(f"en {key}.{suffix} != {english!r}")
            if not catalog.raw("fr", f"{key}.{suffix}"):
                problems.append(f"fr {key}.{suffix} missing")
        fr_name = catalog.raw("fr", f"{key}.name") or ""
        if not NAME.match(fr_name) or fr_name != fr_name.lower():
            problems.append(f"fr name {fr_name!r} of {key} is not a valid command name")
        if isinstance(command, app_commands.Command):
            for param in command.parameters:
                pkey = f"{key}.params.{param.name}"
                if not param.description or param.description == "…":
                    problems.append(f"{pkey} has no description")
                for suffix, english in (("name", param.display_name), ("description", param.description)):
                    if catalog.raw("en", f"{pkey}.{suffix}") != english:
                        problems.append(f"en {pkey}.{suffix} != {english!r}")
                    if not catalog.raw("fr", f"{pkey}.{suffix}"):
                        problems.append(f"fr {pkey}.{suffix} missing")
                fr_param = catalog.raw("fr", f"{pkey}.name") or ""
                if not NAME.match(fr_param) or fr_param != fr_param.lower():
                    problems.append(f"fr parameter name {fr_param!r} of {pkey} is invalid")
                for choice in param.choices:
                    for lang in ("en", "fr"):
                        if not catalog.raw(lang, f"choice.{choice.value}"):
                            problems.append(f"{lang} choice.{choice.value} missing")
    assert problems == []


async def test_french_translations_reach_discord(world: World) -> None:
    import discord

    payload = await world.bot.tree.translator.translate(  # type: ignore[union-attr]
        app_commands.locale_str("view"),
        discord.Locale.french,
        app_commands.TranslationContext(
            app_commands.TranslationContextLocation.command_name,
            world.bot.tree.get_command("config").get_command("view"),  # type: ignore[union-attr]
        ),
    )
    assert payload == "voir"
