"""The README's command and settings references, generated from the code (scripts/gen_readme.py).

A test renders both from the running bot and fails when README.md differs, so the reference can't
drift from the commands and settings that exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from discord import app_commands

from bot.core.i18n import Catalog
from bot.core.settings import SettingSpec

# The /config subcommand that sets each kind of setting.
SET_WITH = {
    "channel": "/config channel",
    "channels": "/config value",
    "role": "/config role",
    "timezone": "/config timezone",
    "language": "/config language",
    "int": "/config value",
    "float": "/config value",
    "bool": "/config value",
    "text": "/config value",
}
BEGIN = "<!-- generated:{name} (python scripts/gen_readme.py) -->"
END = "<!-- /generated:{name} -->"


def _cell(text: Any) -> str:
    """Make text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _key(command: app_commands.Command[Any, Any, Any] | app_commands.Group) -> str:
    return "cmd." + command.qualified_name.replace(" ", ".")


def _french_path(catalog: Catalog, command: app_commands.Command[Any, Any, Any]) -> str:
    parts: list[str] = []
    node: Any = command
    while node is not None:
        parts.append(catalog.raw("fr", f"{_key(node)}.name") or node.name)
        node = node.parent
    return "/" + " ".join(reversed(parts))


def _who(command: app_commands.Command[Any, Any, Any]) -> str:
    root: Any = command.root_parent or command
    perms = root.default_permissions or command.default_permissions
    return "managers" if perms is not None and perms.manage_guild else "everyone"


def _options(catalog: Catalog, command: app_commands.Command[Any, Any, Any]) -> str:
    shown = []
    for param in command.parameters:
        fr = catalog.raw("fr", f"{_key(command)}.params.{param.name}.name") or param.display_name
        text = f"`{param.display_name}`" + (f" (`{fr}`)" if fr != param.display_name else "")
        if not param.required:
            default = param.default
            text += " optional" if default is None else f", default {default}"
        shown.append(text)
    return ", ".join(shown) or "—"


def render_commands(tree: app_commands.CommandTree[Any], catalog: Catalog) -> str:
    """One table per top-level command: each subcommand, its French name, who, options, what it does."""
    out: list[str] = []
    for top in sorted(tree.get_commands(), key=lambda c: c.name):
        if not isinstance(top, app_commands.Group | app_commands.Command):
            continue
        leaves = [top] if isinstance(top, app_commands.Command) else list(top.walk_commands())
        commands = [c for c in leaves if isinstance(c, app_commands.Command)]
        fr_top = catalog.raw("fr", f"{_key(top)}.name") or top.name
        out.append(f"#### /{top.name} (`/{fr_top}`)")
        out.append("")
        out.append(_cell(top.description))
        out.append("")
        out.append("| command | en français | who | options | what it does |")
        out.append("|---|---|---|---|---|")
        for command in sorted(commands, key=lambda c: c.qualified_name):
            out.append(
                f"| `/{command.qualified_name}` | `{_french_path(catalog, command)}` | {_who(command)} "
                f"| {_cell(_options(catalog, command))} | {_cell(command.description)} |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _range(spec: SettingSpec) -> str:
    if spec.kind in ("int", "float") and (spec.minimum is not None or spec.maximum is not None):
        low = "…" if spec.minimum is None else f"{spec.minimum:g}"
        high = "…" if spec.maximum is None else f"{spec.maximum:g}"
        return f"{low} – {high}"
    if spec.kind == "text":
        return f"up to {spec.max_length} characters"
    if spec.kind == "bool":
        return "yes / no"
    if spec.kind == "language":
        return "en, fr"
    if spec.kind == "timezone":
        return "an IANA zone"
    if spec.kind == "channels":
        return "channels, comma-separated"
    return spec.kind


def _default(spec: SettingSpec) -> str:
    if spec.default is None or spec.default == "":
        return "unset"
    if isinstance(spec.default, bool):
        return "yes" if spec.default else "no"
    return f"`{spec.default}`"


def render_settings(specs: Iterable[SettingSpec], catalog: Catalog) -> str:
    """One table of every per-server setting: what it is, its default, its range and how to set it."""
    out = ["| setting | what it is | default | values | set with |", "|---|---|---|---|---|"]
    for spec in sorted(specs, key=lambda s: s.key):
        label = catalog.raw("en", f"setting.{spec.key}") or spec.key
        out.append(
            f"| `{spec.key}` | {_cell(label)} | {_default(spec)} | {_cell(_range(spec))} | `{SET_WITH[spec.kind]}` |"
        )
    return "\n".join(out) + "\n"


def replace_section(document: str, name: str, body: str) -> str:
    """Put `body` between the section's markers in `document` (the markers must be there)."""
    begin, end = BEGIN.format(name=name), END.format(name=name)
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    if not pattern.search(document):
        raise ValueError(f"README has no {begin} … {end} markers")
    return pattern.sub(lambda _m: f"{begin}\n\n{body}\n{end}", document, count=1)


def section(document: str, name: str) -> str:
    """Return what is between a section's markers."""
    begin, end = BEGIN.format(name=name), END.format(name=name)
    match = re.search(re.escape(begin) + r"\n\n(.*?)\n" + re.escape(end), document, re.S)
    if match is None:
        raise ValueError(f"README has no {begin} … {end} markers")
    return match.group(1)
