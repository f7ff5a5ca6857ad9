"""Onboarding's member-facing components: persistent, fixed custom_ids, so they work after restarts.

Every component acts on whoever clicks it (a public welcome message can be used by anyone, each
member for themselves). The callbacks hand over to the cog, which holds the logic.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import discord

from bot.discord_glue.views import HearthView
from bot.onboarding.service import Interest

ACCEPT_ID = "hearth:onboarding:accept"
INTERESTS_ID = "hearth:onboarding:interests"
OPT_OUT_ID = "hearth:onboarding:optout"


class Handlers(Protocol):
    """What the cog provides to the components."""

    async def on_accept(self, interaction: discord.Interaction) -> None:
        """A member pressed "I accept"."""

    async def on_interests(self, interaction: discord.Interaction, values: list[str]) -> None:
        """A member chose interests."""

    async def on_opt_out(self, interaction: discord.Interaction) -> None:
        """A member asked for no more nudges."""


class _Button(discord.ui.Button["OnboardingView"]):
    def __init__(
        self, label: str, custom_id: str, style: discord.ButtonStyle, action: Callable[..., Awaitable[None]]
    ) -> None:
        super().__init__(label=label, custom_id=custom_id, style=style)
        self._action = action

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the click to the cog."""
        await self._action(interaction)


class _InterestSelect(discord.ui.Select["OnboardingView"]):
    def __init__(self, placeholder: str, interests: Sequence[Interest], handlers: Handlers) -> None:
        options = [discord.SelectOption(label=i.label[:100], value=str(i.id)) for i in interests] or [
            discord.SelectOption(label="-", value="0")
        ]
        super().__init__(
            custom_id=INTERESTS_ID,
            placeholder=placeholder[:150],
            min_values=0,
            max_values=len(options),
            options=options,
        )
        self._handlers = handlers

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the choice to the cog."""
        await self._handlers.on_interests(interaction, list(self.values))


class OnboardingView(HearthView):
    """The accept button, the interests menu and/or the opt-out button, as a message needs them."""

    def __init__(
        self,
        handlers: Handlers,
        *,
        accept_label: str | None = None,
        interests: Sequence[Interest] | None = None,
        interests_placeholder: str = "",
        opt_out_label: str | None = None,
    ) -> None:
        super().__init__(timeout=None)
        if accept_label is not None:
            self.add_item(_Button(accept_label, ACCEPT_ID, discord.ButtonStyle.success, handlers.on_accept))
        if interests is not None:
            self.add_item(_InterestSelect(interests_placeholder, interests, handlers))
        if opt_out_label is not None:
            self.add_item(
                _Button(opt_out_label, OPT_OUT_ID, discord.ButtonStyle.secondary, handlers.on_opt_out)
            )

    @classmethod
    def persistent(cls, handlers: Handlers) -> OnboardingView:
        """The instance registered at start so old messages keep working after a restart."""
        return cls(handlers, accept_label="-", interests=[], opt_out_label="-")

    def is_empty(self) -> bool:
        """Tell whether there is nothing to attach."""
        return not self.children
