"""Test helpers: a clock that follows simcord's simulated time, and a ready-made small server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import discord
import simcord

from bot.core.errors import UserError
from bot.discord_glue.client import HearthBot

SIM_START = datetime(2026, 1, 1, tzinfo=UTC)


class EnvClock:
    """The bot's clock in harness tests: simcord's simulated time once the env is running."""

    def __init__(self) -> None:
        self.env: simcord.Env | None = None

    def now(self) -> datetime:
        """Return the simulated time."""
        return self.env.now() if self.env is not None else SIM_START


@dataclass
class World:
    """A small server: a manager (Manage Server) and a plain member, a general channel."""

    env: simcord.Env
    bot: HearthBot
    guild: Any
    general: Any
    manager: Any
    member: Any
    manager_role: Any
    errors_read: int = 0

    async def sync(self) -> None:
        """Publish the command tree to the simulated Discord, as `python -m bot sync` does."""
        await self.bot.tree.sync()
        await self.env.settle()

    def add_member(self, name: str, *, roles: tuple[Any, ...] = ()) -> Any:
        """Add a member (fires the join event)."""
        return self.guild.add_member(self.env.create_user(name), roles=list(roles))

    def errors(self) -> list[BaseException]:
        """Return the errors the bot's handlers recorded since the last read, and acknowledge them.

        Everything the one error path handled is here (refusals answered to the member included);
        the `world` fixture fails a test that leaves an unexpected one unread.
        """
        found = list(self.env.errors_since(self.errors_read))
        self.errors_read = self.env.error_cursor
        return found

    def error_keys(self) -> list[str]:
        """Read the errors (as `errors()`) and name each: a UserError's catalog key, else its type's name."""
        return [error_key(error) for error in self.errors()]

    def unread_errors(self) -> list[BaseException]:
        """The recorded errors no test has read yet."""
        return list(self.env.errors_since(self.errors_read))

    async def grant_command(self, name: str, member: Any) -> None:
        """Let `member` see a manager command despite its default permissions (to test the runtime check)."""
        commands = await self.bot.tree.fetch_commands()
        command = next(c for c in commands if c.name == name)
        self.guild.set_command_permissions(command, {member: True})


def error_key(error: BaseException) -> str:
    """Name a recorded error: the catalog key of the UserError inside it, else the type of what was raised."""
    original = getattr(error, "original", None) or error.__cause__ or error
    return original.key if isinstance(original, UserError) else type(original).__name__


def build_world(env: simcord.Env, bot: HearthBot) -> World:
    """Create the guild, roles, channel and members every harness test starts from."""
    guild = env.create_guild("Hearth Test")
    general = guild.create_text_channel("general")
    manager_role = guild.create_role("Managers", permissions=discord.Permissions(manage_guild=True))
    manager = guild.add_member(env.create_user("manon"), roles=[manager_role])
    member = guild.add_member(env.create_user("marc"))
    return World(env, bot, guild, general, manager, member, manager_role)


NO_VALUE = object()


def plausible_value(world: World, param: Any) -> Any:
    """A value Discord would accept for a non-text slash option; `NO_VALUE` when there is none."""
    kinds = discord.AppCommandOptionType
    if param.choices:
        return param.choices[0].value
    if param.type is kinds.integer:
        return max(int(param.min_value or 1), 1)
    if param.type is kinds.number:
        return float(param.min_value or 1.0)
    if param.type is kinds.boolean:
        return True
    if param.type is kinds.channel:
        return world.general
    if param.type is kinds.role:
        return world.manager_role
    if param.type in (kinds.user, kinds.mentionable):
        return world.member
    return NO_VALUE
