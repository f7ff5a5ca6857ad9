"""Hand the catalog's command names and descriptions to Discord (adapter: imports discord)."""

from __future__ import annotations

from typing import Any

from discord import Locale, app_commands

from bot.core.i18n import Catalog, lang_from_locale


def command_key(context: app_commands.TranslationContextTypes) -> str | None:
    """Return the catalog key for a command-tree string, or None for strings we don't translate."""
    location = context.location
    data: Any = context.data
    loc = app_commands.TranslationContextLocation
    if location in (loc.command_name, loc.group_name):
        return f"cmd.{data.qualified_name.replace(' ', '.')}.name"
    if location in (loc.command_description, loc.group_description):
        return f"cmd.{data.qualified_name.replace(' ', '.')}.description"
    if location in (loc.parameter_name, loc.parameter_description):
        suffix = "name" if location is loc.parameter_name else "description"
        command = data.command.qualified_name.replace(" ", ".")
        return f"cmd.{command}.params.{data.name}.{suffix}"
    if location is loc.choice_name:
        return f"choice.{data.value}"
    return None


class HearthTranslator(app_commands.Translator):
    """Translate slash command names, descriptions, options and choices from the catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """Return the French (or other non-default) text, None to keep the English default."""
        lang = lang_from_locale(locale.value)
        if lang is None or lang == "en":
            return None
        key = command_key(context)
        return self.catalog.raw(lang, key) if key else None
