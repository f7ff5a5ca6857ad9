"""The moderators' flag embed and its persistent buttons (custom ids carry the flag id)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import discord

from bot.conflict.flags import Excerpt, Flag
from bot.conflict.heat import Reason
from bot.core.i18n import Catalog
from bot.discord_glue.views import HearthView, guarded

if TYPE_CHECKING:
    pass

ACTIONS = ("ack", "handled", "fp", "calm")
_STYLES = {
    "ack": discord.ButtonStyle.primary,
    "handled": discord.ButtonStyle.success,
    "fp": discord.ButtonStyle.secondary,
    "calm": discord.ButtonStyle.secondary,
}
_COLOURS = {
    "open": discord.Colour.orange(),
    "acknowledged": discord.Colour.gold(),
    "handled": discord.Colour.green(),
    "false_positive": discord.Colour.light_grey(),
}
_ID_PARAMS = ("target", "author", "member", "other")


class ButtonHandler(Protocol):
    """What the conflict cog offers the buttons."""

    async def on_flag_button(self, interaction: discord.Interaction, action: str, flag_id: int) -> None:
        """Handle one press."""
        ...


def jump_url(guild_id: int, channel_id: int, message_id: int | None = None) -> str:
    """Return a discord.com link to a channel or a message."""
    base = f"https://discord.com/channels/{guild_id}/{channel_id}"
    return f"{base}/{message_id}" if message_id else base


def quote_excerpt(text: str) -> str:
    """Make member text inert: no mentions, no markdown, one line."""
    text = re.sub(r"\s+", " ", text).strip()
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def reason_text(catalog: Catalog, lang: str, reason: Reason) -> str:
    """Put one reason in words; member ids become mentions (embeds never ping)."""
    params: dict[str, Any] = dict(reason.params)
    for key in _ID_PARAMS:
        if key in params:
            params[key] = f"<@{params[key]}>" if params[key] else catalog.t(lang, "conflict.someone")
    return catalog.t(lang, f"conflict.reason.{reason.code}", **params)


def flag_embed(
    catalog: Catalog, lang: str, flag: Flag, excerpts: Sequence[Excerpt], *, escalated: bool = False
) -> discord.Embed:
    """Render a flag for moderators: where, who, why, the excerpt while open, the status."""
    t = catalog.t
    title_key = (
        "conflict.flag.title_escalated"
        if escalated and flag.is_open
        else f"conflict.flag.title.{flag.status}"
    )
    lines = []
    for excerpt in excerpts:
        link = jump_url(flag.guild_id, excerpt.channel_id, excerpt.message_id)
        lines.append(
            f"<@{excerpt.author_id}>: {quote_excerpt(excerpt.text)} — [{t(lang, 'conflict.flag.jump')}]({link})"
        )
    if flag.is_open and not excerpts:
        lines.append(t(lang, "conflict.flag.excerpt_purged"))
    elif not flag.is_open:
        lines.append(t(lang, "conflict.flag.excerpt_deleted"))
    embed = discord.Embed(
        title=t(lang, title_key, flag=flag.id),
        description="\n".join(lines)[:4000],
        colour=_COLOURS.get(flag.status, discord.Colour.orange()),
        timestamp=flag.created_at,
    )
    where = (
        f"<#{flag.where_id}> — [{t(lang, 'conflict.flag.jump')}]({jump_url(flag.guild_id, flag.where_id)})"
    )
    embed.add_field(name=t(lang, "conflict.flag.where"), value=where, inline=True)
    who = ", ".join(f"<@{m}>" for m in flag.members) or t(lang, "conflict.someone")
    embed.add_field(name=t(lang, "conflict.flag.who"), value=who[:1024], inline=True)
    embed.add_field(
        name=t(lang, "conflict.flag.score"),
        value=t(
            lang, "conflict.flag.score_value", score=f"{flag.score:.2f}", threshold=f"{flag.threshold:.2f}"
        ),
        inline=True,
    )
    why = "\n".join(f"• {reason_text(catalog, lang, r)}" for r in flag.reasons) or "—"
    embed.add_field(name=t(lang, "conflict.flag.why"), value=why[:1024], inline=False)
    embed.add_field(
        name=t(lang, "conflict.flag.status"), value=status_text(catalog, lang, flag), inline=False
    )
    embed.set_footer(text=t(lang, "conflict.flag.footer", flag=flag.id))
    return embed


def status_text(catalog: Catalog, lang: str, flag: Flag) -> str:
    """Say who did what, in words."""
    parts = [catalog.t(lang, f"conflict.status.{flag.status}")]
    if flag.acked_by:
        parts.append(catalog.t(lang, "conflict.status.acked_by", moderator=f"<@{flag.acked_by}>"))
    if flag.closed_by:
        parts.append(catalog.t(lang, "conflict.status.closed_by", moderator=f"<@{flag.closed_by}>"))
    if flag.calm_notes:
        parts.append(catalog.t(lang, "conflict.status.calm_posted"))
    if flag.escalations:
        parts.append(catalog.t(lang, "conflict.status.escalations", count=flag.escalations))
    return " · ".join(parts)


class FlagButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"conflict:(?P<action>ack|handled|fp|calm):(?P<flag_id>[0-9]+)",
):
    """One moderator button; works after a restart because the flag id is in the custom id.

    The bot registers `bound_to(handler)`, a subclass that knows who acts on a press (handed in at
    setup, not looked up by cog name).
    """

    handler: ClassVar[ButtonHandler | None] = None

    def __init__(self, action: str, flag_id: int, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action, style=_STYLES[action], custom_id=f"conflict:{action}:{flag_id}"
            )
        )
        self.action = action
        self.flag_id = flag_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FlagButton:
        """Rebuild the button from a pressed custom id."""
        return cls(match["action"], int(match["flag_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the press to the handler this button class was bound to."""
        if self.handler is not None:
            # A dynamic item has no view of its own to catch errors: take the one error path here.
            await guarded(interaction, self.handler.on_flag_button(interaction, self.action, self.flag_id))

    @classmethod
    def bound_to(cls, handler: ButtonHandler) -> type[FlagButton]:
        """Return the button class to register with the bot, bound to what acts on presses."""

        class BoundFlagButton(cls, template=cls.__discord_ui_compiled_template__):  # type: ignore[valid-type,misc]
            pass

        BoundFlagButton.handler = handler
        return BoundFlagButton


def flag_view(
    catalog: Catalog, lang: str, flag: Flag, button: type[FlagButton] = FlagButton
) -> HearthView | None:
    """Return the buttons for an open flag (of the bound `button` class), None once it is closed."""
    if not flag.is_open:
        return None
    view = HearthView(timeout=None)
    for action in ACTIONS:
        if action == "ack" and flag.status == "acknowledged":
            continue
        view.add_item(button(action, flag.id, catalog.t(lang, f"conflict.button.{action}")))
    return view
