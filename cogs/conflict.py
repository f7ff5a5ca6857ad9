"""/conflict: heated conversations flagged to moderators, with context; nothing acts on its own."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.conflict.flags import PURGE_KIND, FlagOutcome, FlagService, IncomingMessage, Status
from bot.core.errors import UserError
from bot.core.scheduler import Job
from bot.core.signals import MessageSignal
from bot.discord_glue.checks import is_moderator, manager_only
from bot.discord_glue.client import HearthBot
from bot.discord_glue.interactions import (
    NO_MENTIONS,
    language_for,
    report_problem,
    safe_send,
    send_reply,
    tr_reply,
)
from cogs.conflict_views import FlagButton, flag_embed, flag_view

log = logging.getLogger(__name__)

SLOWMODE_KIND = "conflict.slowmode_reset"


def incoming(message: discord.Message, signal: MessageSignal) -> IncomingMessage:
    """Combine the message text with the signal the activity pipeline computed."""
    # Positional: built for every member message (keyword construction costs more).
    return IncomingMessage(
        signal.guild_id,
        signal.channel_id,
        signal.thread_id,
        signal.message_id,
        signal.author_id,
        signal.created_at,
        message.content,
        signal.lang,
        signal.compound,
        signal.reply_to_author_id,
        signal.reply_to_message_id,
        signal.mention_ids,
    )


@manager_only()
class ConflictCog(
    commands.GroupCog, group_name="conflict", group_description="Conflict flags sent to moderators"
):
    """Flag heated conversations to moderators and learn from their verdicts."""

    settings = app_commands.Group(name="settings", description="Tune how conversations are flagged")

    def __init__(self, bot: HearthBot, service: FlagService) -> None:
        self.bot = bot
        self.service = service
        # The moderators' buttons, bound to this cog: presses come here, even after a restart.
        self.button = FlagButton.bound_to(self)
        super().__init__()

    # ------------------------------------------------------------------ input

    @commands.Cog.listener()
    async def on_hearth_message(self, message: discord.Message, signal: MessageSignal) -> None:
        """Score a member message the activity pipeline has already analysed.

        Every member's, opted out or not (`signal.recorded`): moderation is a safety function, not
        analytics, so opting out never takes anyone out of it.
        """
        try:
            outcome = await self.service.observe(incoming(message, signal))
            if outcome is not None:
                await self._post(outcome)
        except Exception:
            log.exception("conflict scoring failed for message %s", signal.message_id)

    async def _post(self, outcome: FlagOutcome) -> None:
        flag = outcome.flag
        guild = self.bot.get_guild(flag.guild_id)
        channel_id = await self.bot.settings.get(flag.guild_id, "moderator_channel")
        channel_id = channel_id or await self.bot.settings.get(flag.guild_id, "manager_channel")
        channel = guild.get_channel(channel_id) if guild and channel_id else None
        if not isinstance(channel, discord.abc.Messageable):
            await report_problem(self.bot, flag.guild_id, "conflict_no_channel", "conflict.notice.no_channel")
            return
        lang = await self.bot.settings.language(flag.guild_id)
        if outcome.escalated and flag.post_channel_id and flag.post_message_id:
            await self._edit_post(
                flag.post_channel_id, flag.post_message_id, flag.guild_id, flag.id, retire=True
            )
        posted = await safe_send(
            self.bot,
            channel,
            embed=flag_embed(self.bot.catalog, lang, flag, outcome.excerpts, escalated=outcome.escalated),
            view=flag_view(self.bot.catalog, lang, flag, self.button) or discord.utils.MISSING,
            guild_id=flag.guild_id,
            allowed_mentions=NO_MENTIONS,
        )
        if posted is not None:
            await self.service.set_post(flag.id, posted.channel.id, posted.id)

    async def _edit_post(
        self, channel_id: int, message_id: int, guild_id: int, flag_id: int, *, retire: bool = False
    ) -> None:
        """Re-render a flag post (no excerpts once closed, purged or superseded by an escalation)."""
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        flag = await self.service.get(guild_id, flag_id)
        lang = await self.bot.settings.language(guild_id)
        excerpts = [] if retire else await self.service.excerpts(flag_id)
        embed = flag_embed(self.bot.catalog, lang, flag, excerpts)
        if retire:
            embed.description = self.bot.catalog.t(lang, "conflict.flag.superseded")
        try:
            await channel.get_partial_message(message_id).edit(
                embed=embed, view=None if retire else flag_view(self.bot.catalog, lang, flag, self.button)
            )
        except discord.HTTPException:
            log.warning("could not update conflict flag post %s", message_id)

    # ------------------------------------------------------------------ buttons

    async def on_flag_button(self, interaction: discord.Interaction, action: str, flag_id: int) -> None:
        """Acknowledge, close or calm a flagged conversation (moderators only; errors take the one path)."""
        if interaction.guild_id is None or not await is_moderator(interaction):
            raise UserError("conflict.errors.not_moderator")
        guild_id, moderator = interaction.guild_id, interaction.user.id
        if action == "ack":
            flag = await self.service.acknowledge(guild_id, flag_id, moderator)
        elif action in ("handled", "fp"):
            verdict: Status = "handled" if action == "handled" else "false_positive"
            flag = await self.service.close(guild_id, flag_id, moderator, verdict)
        else:
            await self._calm(interaction, flag_id)
            flag = await self.service.note_calm(guild_id, flag_id, moderator)
        lang = await self.bot.settings.language(guild_id)
        embed = flag_embed(self.bot.catalog, lang, flag, await self.service.excerpts(flag_id))
        await interaction.response.edit_message(
            embed=embed, view=flag_view(self.bot.catalog, lang, flag, self.button)
        )
        await tr_reply(interaction, f"conflict.done.{action}")

    async def _calm(self, interaction: discord.Interaction, flag_id: int) -> None:
        """Post the calm-down note in the flagged channel; slow mode only if the server set minutes."""
        assert interaction.guild is not None
        flag = await self.service.get(interaction.guild.id, flag_id)
        if not flag.is_open:
            raise UserError("conflict.errors.closed", flag=flag_id)
        channel = interaction.guild.get_channel_or_thread(flag.where_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise UserError("conflict.errors.channel_gone")
        lang = await self.bot.settings.language(flag.guild_id)
        note = await self.bot.settings.get(flag.guild_id, "calm_note") or self.bot.catalog.t(
            lang, "conflict.calm.default"
        )
        minutes = int(await self.bot.settings.get(flag.guild_id, "calm_slowmode_minutes"))
        try:
            await channel.send(note, allowed_mentions=NO_MENTIONS)
            if minutes > 0:
                await self._slow_mode(channel, flag.guild_id, minutes)
        except discord.Forbidden:
            raise UserError("conflict.errors.calm_forbidden", channel=channel.mention) from None

    async def _slow_mode(
        self, channel: discord.TextChannel | discord.Thread, guild_id: int, minutes: int
    ) -> None:
        key = f"slowmode:{channel.id}"
        pending = [
            j
            for j in await self.bot.scheduler.pending(guild_id, SLOWMODE_KIND)
            if j.payload["channel_id"] == channel.id
        ]
        # A second note while slow mode is on keeps the channel's original delay to restore.
        previous = pending[0].payload["previous"] if pending else channel.slowmode_delay
        await channel.edit(slowmode_delay=minutes * 60)
        await self.bot.scheduler.cancel(guild_id, SLOWMODE_KIND, key)
        await self.bot.scheduler.schedule(
            guild_id,
            SLOWMODE_KIND,
            self.bot.clock.now() + timedelta(minutes=minutes),
            {"channel_id": channel.id, "previous": previous},
            dedupe_key=key,
        )

    # ------------------------------------------------------------------ scheduled jobs

    async def reset_slow_mode(self, job: Job) -> None:
        """Put the channel's slow mode back as it was before the calm-down note."""
        channel = self.bot.get_channel(job.payload["channel_id"])
        if isinstance(channel, discord.TextChannel | discord.Thread):
            await channel.edit(slowmode_delay=int(job.payload.get("previous", 0)))

    async def forget_member(self, guild_id: int, user_id: int) -> int:
        """Forget a member (/privacy forget), then take their words out of the open flag posts too."""
        posts = await self.service.posts_quoting(guild_id, user_id)
        changed = await self.service.forget_member(guild_id, user_id)
        for flag in posts:
            assert flag.post_channel_id is not None and flag.post_message_id is not None
            await self._edit_post(flag.post_channel_id, flag.post_message_id, guild_id, flag.id)
        return changed

    async def purge_excerpts(self, job: Job) -> None:
        """Delete the excerpts of a flag left open for 7 days, in the database and in the post."""
        flag_id = int(job.payload["flag_id"])
        await self.service.purge_excerpts(flag_id)
        flag = await self.service.get(job.guild_id, flag_id)
        if flag.post_channel_id and flag.post_message_id:
            await self._edit_post(flag.post_channel_id, flag.post_message_id, job.guild_id, flag_id)

    # ------------------------------------------------------------------ commands

    @settings.command(name="show", description="Show how conversations are flagged here")
    async def show(self, interaction: discord.Interaction) -> None:
        """Show how conversations are flagged here."""
        assert interaction.guild_id is not None
        lang = await language_for(interaction)
        policy = await self.service.policy(interaction.guild_id)
        values = await self.bot.settings.all(interaction.guild_id)
        t = self.bot.catalog.t
        none = t(lang, "config.not_set")
        lines = {
            "conflict_enabled": t(lang, "conflict.yes" if policy.enabled else "conflict.no"),
            "conflict_threshold": t(
                lang,
                "conflict.settings.threshold_value",
                base=f"{policy.base_threshold:.2f}",
                offset=f"{policy.offset:+.2f}",
                effective=f"{policy.heat_threshold:.2f}",
            ),
            "conflict_sensitivity": str(policy.sensitivity),
            "moderator_channel": f"<#{values['moderator_channel']}>" if values["moderator_channel"] else none,
            "moderator_role": f"<@&{values['moderator_role']}>" if values["moderator_role"] else none,
            "conflict_excluded_channels": ", ".join(f"<#{c}>" for c in sorted(policy.excluded)) or none,
            "calm_note": values["calm_note"] or t(lang, "conflict.calm.default"),
            "calm_slowmode_minutes": str(values["calm_slowmode_minutes"]),
        }
        description = "\n".join(f"**{t(lang, f'setting.{key}')}**: {value}" for key, value in lines.items())
        if policy.allow_terms:
            description += "\n" + t(
                lang, "conflict.settings.learned", terms=", ".join(sorted(policy.allow_terms))
            )
        embed = discord.Embed(title=t(lang, "conflict.settings.title"), description=description[:4000])
        await send_reply(interaction, embed=embed)

    @settings.command(name="threshold", description="Set the conversation heat needed to flag")
    @app_commands.describe(value="0.5 (flag early) to 6 (only big fights); 1.5 by default")
    async def threshold(
        self, interaction: discord.Interaction, value: app_commands.Range[float, 0.5, 6.0]
    ) -> None:
        """Set the conversation heat needed to flag."""
        await self._set(interaction, "conflict_threshold", value)

    @settings.command(
        name="sensitivity", description="Set how mild a message may be and still count as hostile"
    )
    @app_commands.describe(level="1 (only blatant hostility) to 5 (milder too); 3 by default")
    async def sensitivity(
        self, interaction: discord.Interaction, level: app_commands.Range[int, 1, 5]
    ) -> None:
        """Set how mild a message may be and still count as hostile."""
        await self._set(interaction, "conflict_sensitivity", level)

    @settings.command(name="enabled", description="Turn conflict flagging on or off")
    @app_commands.describe(enabled="Whether Hearth flags heated conversations")
    async def enabled(self, interaction: discord.Interaction, enabled: bool) -> None:
        """Turn conflict flagging on or off."""
        await self._set(interaction, "conflict_enabled", enabled)

    @settings.command(name="exclude", description="Never flag conversations in a channel")
    @app_commands.describe(channel="The channel to leave alone")
    async def exclude(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        """Never flag conversations in a channel."""
        assert interaction.guild_id is not None
        await self.service.set_excluded(interaction.guild_id, channel.id, True)
        await tr_reply(interaction, "conflict.settings.excluded", channel=channel.mention)

    @settings.command(name="include", description="Flag conversations in an excluded channel again")
    @app_commands.describe(channel="The channel to watch again")
    async def include(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        """Flag conversations in an excluded channel again."""
        assert interaction.guild_id is not None
        await self.service.set_excluded(interaction.guild_id, channel.id, False)
        await tr_reply(interaction, "conflict.settings.included", channel=channel.mention)

    @settings.command(name="calm", description="Set the calm-down note and its optional slow mode")
    @app_commands.describe(
        note="The friendly message posted when a moderator presses the button",
        slowmode="Minutes of slow mode set with the note (0: none)",
    )
    async def calm(
        self,
        interaction: discord.Interaction,
        note: app_commands.Range[str, 1, 1000],
        slowmode: app_commands.Range[int, 0, 360] = 0,
    ) -> None:
        """Set the calm-down note and its optional slow mode."""
        assert interaction.guild_id is not None
        await self.bot.settings.set(interaction.guild_id, "calm_note", note)
        await self.bot.settings.set(interaction.guild_id, "calm_slowmode_minutes", slowmode)
        await tr_reply(interaction, "conflict.settings.calm_saved", minutes=slowmode)

    @app_commands.command(name="stats", description="Show flags and how moderators judged them")
    @app_commands.describe(days="How many days back to count (30 by default)")
    async def stats(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365] = 30
    ) -> None:
        """Show flags and how moderators judged them."""
        assert interaction.guild_id is not None
        lang = await language_for(interaction)
        stats = await self.service.stats(interaction.guild_id, self.bot.clock.now() - timedelta(days=days))
        t = self.bot.catalog.t
        unknown = t(lang, "conflict.stats.unknown")
        precision = f"{stats.precision:.0%}" if stats.precision is not None else unknown
        ack = (
            t(lang, "conflict.stats.minutes", minutes=f"{stats.mean_ack_seconds / 60:.0f}")
            if stats.mean_ack_seconds is not None
            else unknown
        )
        text = t(
            lang,
            "conflict.stats.body",
            days=days,
            total=stats.total,
            open=stats.open + stats.acknowledged,
            handled=stats.handled,
            false_positive=stats.false_positive,
            escalations=stats.escalations,
            precision=precision,
            ack=ack,
            threshold=f"{stats.heat_threshold:.2f}",
        )
        if stats.allow_terms:
            text += "\n" + t(lang, "conflict.settings.learned", terms=", ".join(stats.allow_terms))
        embed = discord.Embed(title=t(lang, "conflict.stats.title"), description=text)
        await send_reply(interaction, embed=embed)

    async def _set(self, interaction: discord.Interaction, key: str, value: Any) -> None:
        assert interaction.guild_id is not None
        stored = await self.bot.settings.set(interaction.guild_id, key, value)
        await self._saved(interaction, key, str(stored))

    async def _saved(self, interaction: discord.Interaction, setting: str, shown: str) -> None:
        lang = await language_for(interaction)
        await tr_reply(
            interaction, "config.saved", setting=self.bot.catalog.t(lang, f"setting.{setting}"), value=shown
        )


async def setup(bot: HearthBot) -> None:
    """Restore recent flags' cooldowns, register buttons and jobs, add the cog."""
    service = bot.services.conflict
    restored = await service.load()
    if restored:
        log.info("conflict: %d conversations still cooling down after a flag", restored)
    cog = ConflictCog(bot, service)
    bot.add_dynamic_items(cog.button)
    bot.scheduler.register(PURGE_KIND, cog.purge_excerpts)
    bot.scheduler.register(SLOWMODE_KIND, cog.reset_slow_mode)
    # Replaces the service's own forgetter: the same deletion, plus the posts moderators see.
    bot.privacy.register("conflict", service.export_member, cog.forget_member)
    await bot.add_cog(cog)
