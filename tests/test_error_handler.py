"""The one error path, through the simulated Discord: slash commands, buttons, selects, modals, DMs."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.core.errors import UserError
from bot.discord_glue.views import HearthModal, HearthView, guarded
from tests.helpers import World

REFUSAL = UserError("errors.unknown_timezone", timezone="Nowhere/Land")


def fail(kind: str) -> None:
    """Raise what a callback may raise: a member's mistake, or a bug."""
    if kind == "refuse":
        raise REFUSAL
    raise RuntimeError("boom")


class Panel(HearthView):
    """A button and a select that fail on purpose."""

    def __init__(self, kind: str) -> None:
        super().__init__(timeout=None)
        self.kind = kind

    @discord.ui.button(label="Press", custom_id="test:press")
    async def press(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        fail(self.kind)

    @discord.ui.select(custom_id="test:pick", options=[discord.SelectOption(label="One", value="1")])
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        fail(self.kind)


class Form(HearthModal, title="Form"):
    """A modal whose submit fails on purpose."""

    answer: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Answer", custom_id="answer")

    def __init__(self, kind: str) -> None:
        super().__init__(custom_id=f"test:form:{kind}")
        self.kind = kind

    async def on_submit(self, interaction: discord.Interaction) -> None:
        fail(self.kind)


class Knob(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"test:knob:(?P<kind>\w+)"):
    """A persistent button rebuilt from its custom id, as the conflict flag buttons are."""

    def __init__(self, kind: str) -> None:
        super().__init__(discord.ui.Button(label="Knob", custom_id=f"test:knob:{kind}"))
        self.kind = kind

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Knob:
        return cls(match["kind"])

    async def callback(self, interaction: discord.Interaction) -> None:
        async def work() -> None:
            fail(self.kind)

        await guarded(interaction, work())


class Exploding(commands.Cog):
    @app_commands.command(name="explode", description="Fail on purpose")
    async def explode(self, interaction: discord.Interaction) -> None:
        raise RuntimeError("boom")

    @app_commands.command(name="refuse", description="Refuse on purpose")
    async def refuse(self, interaction: discord.Interaction) -> None:
        raise REFUSAL

    @app_commands.command(name="panel", description="Post failing components")
    async def panel(self, interaction: discord.Interaction, kind: str) -> None:
        view = Panel(kind)
        view.add_item(Knob(kind))
        await interaction.response.send_message("panel", view=view)

    @app_commands.command(name="form", description="Open a failing modal")
    async def form(self, interaction: discord.Interaction, kind: str) -> None:
        await interaction.response.send_modal(Form(kind))


@pytest.fixture
async def exploding(world: World) -> World:
    await world.bot.add_cog(Exploding())
    world.bot.add_dynamic_items(Knob)
    await world.sync()
    return world


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_unexpected_error_is_logged_with_a_code_and_the_user_sees_the_code(
    exploding: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.discord_glue.interactions"):
        result = await exploding.member.slash(exploding.general, "explode")
    assert result.ephemeral
    record = next(r for r in caplog.records if r.name == "bot.discord_glue.interactions")
    code = record.args[0]  # type: ignore[index]
    assert code in result.response.content
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])
    assert exploding.error_keys() == ["RuntimeError"]


async def test_user_error_answers_with_its_message_and_logs_no_traceback(
    exploding: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        result = await exploding.member.slash(exploding.general, "refuse")
    assert result.ephemeral
    assert "Nowhere/Land" in result.response.content
    assert not errors_logged(caplog)
    assert exploding.error_keys() == ["errors.unknown_timezone"]


async def post_panel(world: World, kind: str) -> discord.Message:
    await world.member.slash(world.general, "panel", kind=kind)
    [panel] = [m for m in world.general.history() if m.content == "panel"]
    return panel


@pytest.mark.parametrize("component", ["button", "select", "dynamic button"])
async def test_a_component_refusal_answers_ephemerally_with_its_message(
    exploding: World, caplog: pytest.LogCaptureFixture, component: str
) -> None:
    panel = await post_panel(exploding, "refuse")
    with caplog.at_level(logging.INFO):
        if component == "button":
            result = await exploding.member.click(panel, custom_id="test:press")
        elif component == "select":
            result = await exploding.member.select(panel, ["1"], custom_id="test:pick")
        else:
            result = await exploding.member.click(panel, custom_id="test:knob:refuse")
    assert result.ephemeral
    assert "Nowhere/Land" in result.response.content
    assert not errors_logged(caplog)
    # A view's errors are recorded by the harness; a dynamic item's go through `guarded` only.
    assert exploding.error_keys() == ([] if component == "dynamic button" else ["errors.unknown_timezone"])


@pytest.mark.parametrize("component", ["button", "select", "dynamic button"])
async def test_a_component_bug_answers_with_the_error_code_and_logs_the_traceback(
    exploding: World, caplog: pytest.LogCaptureFixture, component: str
) -> None:
    panel = await post_panel(exploding, "crash")
    with caplog.at_level(logging.ERROR, logger="bot.discord_glue.interactions"):
        if component == "button":
            result = await exploding.member.click(panel, custom_id="test:press")
        elif component == "select":
            result = await exploding.member.select(panel, ["1"], custom_id="test:pick")
        else:
            result = await exploding.member.click(panel, custom_id="test:knob:crash")
    assert result.ephemeral
    [record] = [r for r in caplog.records if r.name == "bot.discord_glue.interactions"]
    assert record.args[0] in result.response.content  # type: ignore[index]
    assert "component test:" in record.getMessage()
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])
    assert exploding.error_keys() == ([] if component == "dynamic button" else ["RuntimeError"])


@pytest.mark.parametrize(
    ("kind", "expected"), [("refuse", "Nowhere/Land"), ("crash", "Something went wrong")]
)
async def test_a_modal_submit_error_takes_the_same_path(exploding: World, kind: str, expected: str) -> None:
    shown = await exploding.member.slash(exploding.general, "form", kind=kind)
    assert shown.modal is not None
    result = await exploding.member.submit_modal(shown, {"answer": "hello"})
    assert result.ephemeral
    assert expected in result.response.content
    assert exploding.error_keys() == ["errors.unknown_timezone" if kind == "refuse" else "RuntimeError"]


async def test_a_guild_only_command_used_in_a_dm_gets_the_guild_only_reply_without_an_error_log(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord hides guild-only commands in DMs, but a registration from an older version may not."""
    registered = world.env.backend.find_command("privacy", None)
    registered["contexts"], registered["dm_permission"] = None, True
    with caplog.at_level(logging.INFO):
        result = await world.member.user.slash("privacy optout")
    assert result.ephemeral
    assert result.response.content == "This command works only inside a server."
    assert not errors_logged(caplog)
    assert world.error_keys() == ["NoPrivateMessage"]


async def test_a_command_hearth_no_longer_has_gets_a_clear_reply_without_an_error_log(
    exploding: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord still lists a command an older version registered until the next sync."""
    exploding.bot.tree.remove_command("refuse")
    with caplog.at_level(logging.INFO):
        result = await exploding.member.slash(exploding.general, "refuse")
    assert result.ephemeral
    assert "no longer exists" in result.response.content
    assert not errors_logged(caplog)
    assert [r for r in caplog.records if "errors.command_outdated" in r.getMessage()]
    assert exploding.error_keys() == ["CommandNotFound"]
