"""/stats: community metrics for managers, as ephemeral embeds with a PNG chart where it reads better."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.activity import charts
from bot.activity.metrics import Change
from bot.discord_glue.checks import manager_only
from bot.discord_glue.client import HearthBot
from bot.discord_glue.interactions import language_for, send_reply

Days = app_commands.Range[int, 1, 365]
Weeks = app_commands.Range[int, 2, 26]


def fmt_change(change: Change, *, percent: bool = False, decimals: int = 0) -> str:
    """Show a figure with its change against the previous period: `12 (+3, +33 %)`."""

    def num(value: float) -> str:
        return f"{value * 100:.0f} %" if percent else f"{value:.{decimals}f}"

    sign = "+" if change.delta >= 0 else "−"
    delta = f"{sign}{num(abs(change.delta))}"
    if percent:
        delta = f"{sign}{abs(change.delta) * 100:.0f} pt"
    ratio = change.ratio
    tail = f", {ratio * 100:+.0f} %" if ratio is not None and not percent else ""
    return f"{num(change.current)} ({delta}{tail})"


def fmt_share(value: float | None) -> str:
    """Show a share as a percentage, a dash when unknown."""
    return "—" if value is None else f"{value * 100:.0f} %"


def fmt_duration(seconds: float | None) -> str:
    """Show a duration compactly."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@manager_only()
class StatsCog(commands.GroupCog, group_name="stats", group_description="Community metrics for managers"):
    """Managers read the community's metrics here."""

    def __init__(self, bot: HearthBot) -> None:
        self.bot = bot
        self.metrics = bot.services.metrics

    async def _embed(
        self, interaction: discord.Interaction, key: str, **params: Any
    ) -> tuple[discord.Embed, Callable[..., str]]:
        assert interaction.guild_id is not None
        lang = await language_for(interaction)

        def t(k: str, **p: Any) -> str:
            return self.bot.catalog.t(lang, k, **p)

        return discord.Embed(title=t(f"stats.{key}.title", **params), colour=discord.Colour.orange()), t

    async def _send(
        self,
        interaction: discord.Interaction,
        embed: discord.Embed,
        png: bytes | None = None,
        name: str = "chart.png",
    ) -> None:
        if png is None:
            await send_reply(interaction, embed=embed)
            return
        embed.set_image(url=f"attachment://{name}")
        await send_reply(interaction, embed=embed, file=discord.File(io.BytesIO(png), filename=name))

    @app_commands.command(name="overview", description="Headline figures of a period against the one before")
    @app_commands.describe(days="How many days to cover (default 7)")
    async def overview(self, interaction: discord.Interaction, days: Days = 7) -> None:
        """Headline figures of a period against the one before."""
        assert interaction.guild_id is not None
        data = await self.metrics.overview(interaction.guild_id, days)
        embed, t = await self._embed(interaction, "overview", days=days)
        m, r = data.members, data.responsiveness
        embed.add_field(name=t("stats.messages"), value=fmt_change(m.messages))
        embed.add_field(name=t("stats.active"), value=fmt_change(m.active))
        embed.add_field(name=t("stats.members_total"), value=str(m.total_members))
        embed.add_field(name=t("stats.net"), value=fmt_change(m.net))
        embed.add_field(name=t("stats.stickiness"), value=fmt_change(m.stickiness, percent=True))
        embed.add_field(name=t("stats.negative_share"), value=fmt_change(data.negative_share, percent=True))
        embed.add_field(
            name=t("stats.responsiveness"),
            value=t(
                "stats.responsiveness.value",
                questions=fmt_share(r.question_share),
                newcomers=fmt_share(r.newcomer_share),
                median=fmt_duration(r.median_reply_seconds),
            ),
            inline=False,
        )
        await self._send(interaction, embed)

    @app_commands.command(
        name="members", description="Joins, leaves, growth, daily/weekly/monthly active members"
    )
    @app_commands.describe(days="How many days to cover (default 30)")
    async def members(self, interaction: discord.Interaction, days: Days = 30) -> None:
        """Joins, leaves, growth, daily/weekly/monthly active members."""
        assert interaction.guild_id is not None
        m = await self.metrics.member_stats(interaction.guild_id, days)
        embed, t = await self._embed(interaction, "members", days=days)
        for key, change, kwargs in (
            ("joined", m.joined, {}),
            ("left", m.left, {}),
            ("net", m.net, {}),
            ("dau", m.dau, {"decimals": 1}),
            ("wau", m.wau, {}),
            ("mau", m.mau, {}),
            ("stickiness", m.stickiness, {"percent": True}),
        ):
            embed.add_field(name=t(f"stats.{key}"), value=fmt_change(change, **kwargs))
        embed.set_footer(text=t("stats.members.footer", total=m.total_members))
        await self._send(interaction, embed)

    @app_commands.command(name="channels", description="Messages, active members and mood per channel")
    @app_commands.describe(days="How many days to cover (default 30)")
    async def channels(self, interaction: discord.Interaction, days: Days = 30) -> None:
        """Messages, active members and mood per channel."""
        assert interaction.guild_id is not None
        trend = await self.metrics.sentiment(interaction.guild_id, days)
        embed, t = await self._embed(interaction, "channels", days=days)
        lines = [
            t(
                "stats.channels.line",
                channel=f"<#{c.channel_id}>",
                messages=fmt_change(c.messages),
                members=c.active_members,
                negative=fmt_share(c.negative_share),
                positive=fmt_share(c.positive_share),
            )
            for c in trend.channels[:20]
        ]
        embed.description = "\n".join(lines) or t("stats.empty")
        if trend.hidden:
            embed.set_footer(text=t("stats.hidden", count=trend.hidden))
        png = None
        if trend.days:
            png = await asyncio.to_thread(
                charts.sentiment_png,
                trend,
                t("stats.sentiment.chart"),
                t("stats.negative"),
                t("stats.positive"),
            )
        await self._send(interaction, embed, png, "sentiment.png")

    @app_commands.command(name="funnel", description="How newcomers get started, by join week")
    @app_commands.describe(weeks="How many weeks of newcomers (default 8)")
    async def funnel(self, interaction: discord.Interaction, weeks: Weeks = 8) -> None:
        """How newcomers get started, by join week."""
        assert interaction.guild_id is not None
        await self.bot.services.activity.flush()  # the member facts are written in batches
        data = await self.metrics.funnel(interaction.guild_id, weeks * 7)
        embed, t = await self._embed(interaction, "funnel", weeks=weeks)

        def line(step: Any, label: str) -> str:
            return t(
                "stats.funnel.line",
                label=label,
                joined=step.joined,
                spoke=step.spoke,
                replied=step.got_reply,
                median=fmt_duration(step.median_reply_seconds),
                returned=step.returned_week2,
                eligible=step.eligible_week2,
            )

        lines = [line(data.total, t("stats.funnel.total"))]
        lines += [line(step, step.week_start.isoformat()) for step in data.weeks]
        embed.description = "\n".join(lines)
        if data.hidden:
            embed.set_footer(text=t("stats.hidden", count=data.hidden))
        await self._send(interaction, embed)

    @app_commands.command(
        name="retention", description="Share of each join week's members still active later"
    )
    @app_commands.describe(
        weeks="How many weeks of cohorts (default 8)",
        basis="Group members by join week or first message week",
    )
    @app_commands.choices(
        basis=[
            app_commands.Choice(name="Join week", value="join_week"),
            app_commands.Choice(name="First message week", value="first_message_week"),
        ]
    )
    async def retention(
        self, interaction: discord.Interaction, weeks: Weeks = 8, basis: str = "join_week"
    ) -> None:
        """Share of each join week's members still active later."""
        assert interaction.guild_id is not None
        data = await self.metrics.retention(
            interaction.guild_id, weeks, "first_activity" if basis == "first_message_week" else "join"
        )
        embed, t = await self._embed(interaction, "retention", weeks=weeks)
        lines = [
            f"{c.week_start.isoformat()} ({c.size}): "
            + " · ".join(fmt_share(s) for s in c.shares if s is not None)
            for c in data.cohorts
        ]
        embed.description = "\n".join(lines) or t("stats.empty")
        if data.hidden:
            embed.set_footer(text=t("stats.hidden", count=data.hidden))
        png = None
        if data.cohorts:
            png = await asyncio.to_thread(
                charts.retention_png, data, t("stats.retention.chart"), t("stats.retention.weeks_since")
            )
        await self._send(interaction, embed, png, "retention.png")

    @app_commands.command(
        name="contributors", description="Most active members and widest reach (managers only)"
    )
    @app_commands.describe(days="How many days to cover (default 30)")
    async def contributors(self, interaction: discord.Interaction, days: Days = 30) -> None:
        """Most active members and widest reach (managers only)."""
        assert interaction.guild_id is not None
        data = await self.metrics.contributors(interaction.guild_id, days)
        embed, t = await self._embed(interaction, "contributors", days=days)
        active = [
            t("stats.contributors.line", member=f"<@{c.user_id}>", blocks=c.blocks, messages=c.messages)
            for c in data.active
        ]
        reach = [
            t(
                "stats.influencers.line",
                member=f"<@{i.user_id}>",
                reach=i.reach,
                replies=i.replies,
                reactions=i.reactions,
            )
            for i in data.influencers
        ]
        embed.add_field(
            name=t("stats.contributors.active"), value="\n".join(active) or t("stats.empty"), inline=False
        )
        embed.add_field(
            name=t("stats.contributors.reach"), value="\n".join(reach) or t("stats.empty"), inline=False
        )
        await self._send(interaction, embed)

    @app_commands.command(name="at-risk", description="Regulars who have gone quiet, for a personal check-in")
    async def at_risk(self, interaction: discord.Interaction) -> None:
        """Regulars who have gone quiet, for a personal check-in."""
        assert interaction.guild_id is not None
        people = await self.metrics.at_risk(interaction.guild_id)
        embed, t = await self._embed(interaction, "at_risk")
        lines = [
            t(
                "stats.at_risk.line",
                member=f"<@{p.user_id}>",
                days=p.active_days,
                last=p.last_active.isoformat(),
            )
            for p in people[:25]
        ]
        embed.description = "\n".join(lines) or t("stats.at_risk.none")
        await self._send(interaction, embed)

    @app_commands.command(name="heatmap", description="When the community is awake, by weekday and hour")
    @app_commands.describe(days="How many days to cover (default 28)")
    async def heatmap(self, interaction: discord.Interaction, days: Days = 28) -> None:
        """When the community is awake, by weekday and hour."""
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True)
        data = await self.metrics.heatmap(interaction.guild_id, days)
        embed, t = await self._embed(interaction, "heatmap", days=days)
        weekdays = t("stats.weekdays").split(",")
        if data.hidden or data.peak is None:
            embed.description = t("stats.too_few")
            await self._send(interaction, embed)
            return
        day, hour = data.peak
        embed.description = t(
            "stats.heatmap.peak", day=weekdays[day], hour=f"{hour:02d}:00", timezone=data.timezone
        )
        png = await asyncio.to_thread(charts.heatmap_png, data, t("stats.heatmap.chart"), weekdays)
        await self._send(interaction, embed, png, "heatmap.png")

    @app_commands.command(name="export", description="Download the server's daily aggregate metrics as CSV")
    @app_commands.describe(days="How many days to cover (default 365)")
    async def export(self, interaction: discord.Interaction, days: Days = 365) -> None:
        """Download the server's daily aggregate metrics as CSV."""
        assert interaction.guild_id is not None
        text = await self.metrics.export_csv(interaction.guild_id, days)
        lang = await language_for(interaction)
        await send_reply(
            interaction,
            self.bot.catalog.t(lang, "stats.export.done", days=days),
            file=discord.File(io.BytesIO(text.encode()), filename="hearth-metrics.csv"),
        )


async def setup(bot: HearthBot) -> None:
    """Add the cog."""
    await bot.add_cog(StatsCog(bot))
