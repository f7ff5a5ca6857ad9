"""/onboarding: welcome newcomers, gate on the rules, hand out interest roles, and measure the funnel."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import InvalidValue
from bot.core.scheduler import Job
from bot.core.signals import MessageSignal
from bot.discord_glue.checks import manager_only
from bot.discord_glue.client import HearthBot
from bot.discord_glue.interactions import (
    NO_MENTIONS,
    language_for,
    report_problem,
    safe_send,
    send_reply,
    tr_reply,
)
from bot.discord_glue.posting import post_job_message
from bot.discord_glue.validators import check_assignable, check_postable
from bot.onboarding import templates
from bot.onboarding.service import (
    BATCH_WELCOME,
    NUDGE,
    RULES_REMINDER,
    UNANSWERED,
    Funnel,
    JoinPlan,
    OnboardingService,
)
from cogs.onboarding_views import OnboardingView

log = logging.getLogger(__name__)

DEFAULT_VARIANTS = 3
LANGUAGE_CHOICES = [
    app_commands.Choice(name="English", value="en"),
    app_commands.Choice(name="Français", value="fr"),
]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


@manager_only()
class OnboardingCog(
    commands.GroupCog, group_name="onboarding", group_description="Set up how Hearth welcomes newcomers"
):
    """Managers set onboarding up here; members meet it through welcomes and buttons."""

    welcome = app_commands.Group(name="welcome", description="Edit the welcome message variants")
    rules = app_commands.Group(name="rules", description="The rules gate")
    interests = app_commands.Group(
        name="interests", description="Interests newcomers pick, each giving a role"
    )

    def __init__(self, bot: HearthBot, service: OnboardingService) -> None:
        self.bot = bot
        self.service = service

    # ------------------------------------------------------------- helpers

    def t(self, lang: str, key: str, **params: Any) -> str:
        """Translate a catalog key."""
        return self.bot.catalog.t(lang, key, **params)

    def defaults(self, lang: str) -> list[str]:
        """The shipped welcome variants for a language."""
        found = [
            self.bot.catalog.raw(lang, f"onboarding.welcome.default.{n}")
            for n in range(1, DEFAULT_VARIANTS + 1)
        ]
        return [text for text in found if text]

    async def values_for(self, guild: discord.Guild, member: discord.abc.User, lang: str) -> dict[str, str]:
        """The placeholder values for one member."""
        rules = await self.bot.settings.get(guild.id, "rules_channel")
        intro = await self.bot.settings.get(guild.id, "intro_channel")
        return {
            "member": member.mention,
            "server": guild.name,
            "member_count": str(guild.member_count or len(guild.members)),
            "rules_channel": f"<#{rules}>" if rules else self.t(lang, "onboarding.placeholder.rules"),
            "intro_channel": f"<#{intro}>" if intro else self.t(lang, "onboarding.placeholder.intro"),
        }

    async def channel_setting(self, guild: discord.Guild, *keys: str) -> discord.TextChannel | None:
        """The first configured text channel among the given settings."""
        for key in keys:
            channel_id = await self.bot.settings.get(guild.id, key)
            channel = guild.get_channel(channel_id) if channel_id else None
            if isinstance(channel, discord.TextChannel | discord.Thread):
                return channel  # type: ignore[return-value]
        return None

    async def role_setting(self, guild: discord.Guild, key: str) -> discord.Role | None:
        """The configured role, if it still exists."""
        role_id = await self.bot.settings.get(guild.id, key)
        return guild.get_role(role_id) if role_id else None

    async def view_for(
        self, guild_id: int, lang: str, *, accept: bool, opt_out: bool = False
    ) -> OnboardingView:
        """Build the components a welcome or reminder carries."""
        interests = await self.service.interests(guild_id)
        return OnboardingView(
            self,
            accept_label=self.t(lang, "onboarding.button.accept") if accept else None,
            interests=interests or None,
            interests_placeholder=self.t(lang, "onboarding.interests.placeholder"),
            opt_out_label=self.t(lang, "onboarding.button.opt_out") if opt_out else None,
        )

    async def grant_role(self, member: discord.Member, role: discord.Role | None, reason: str) -> bool:
        """Give a role; tell managers once when Discord refuses."""
        if role is None or role in member.roles:
            return role is not None
        try:
            await member.add_roles(role, reason=reason)
        except discord.Forbidden:
            await report_problem(
                self.bot, member.guild.id, "cannot_manage_roles", "notices.cannot_manage_roles"
            )
            return False
        return True

    # ------------------------------------------------------------- welcome

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """Record the newcomer, then welcome them (or hold the welcome for a batch during a raid)."""
        if member.bot:
            return
        plan = await self.service.member_joined(member.guild.id, member.id, pending=bool(member.pending))
        if plan.batched:
            return
        buddy = await self.pick_buddy(member)
        await self.welcome_member(member, plan, buddy)

    async def pick_buddy(self, member: discord.Member) -> discord.Member | None:
        """Assign the next available volunteer, if the server uses buddies."""
        role = await self.role_setting(member.guild, "buddy_role")
        if role is None:
            return None
        volunteers = [m.id for m in role.members if not m.bot]
        buddy_id = await self.service.assign_buddy(member.guild.id, member.id, volunteers)
        return member.guild.get_member(buddy_id) if buddy_id else None

    async def welcome_text(
        self,
        member: discord.Member,
        lang: str,
        *,
        gate: bool,
        buddy: discord.Member | None,
        team: discord.Role | None = None,
    ) -> str:
        """Render the next welcome variant with the lines that apply to this member.

        Of the roles a template mentions, only the welcome team's (`team`) stays a mention.
        """
        guild = member.guild
        keep = team.id if team is not None else None
        body = await self.service.next_variant(guild.id, lang, self.defaults(lang))
        lines = [templates.render(body, await self.values_for(guild, member, lang), keep_role=keep)]
        if gate:
            lines.append(self.t(lang, "onboarding.welcome.rules_line"))
        if buddy is not None:
            lines.append(self.t(lang, "onboarding.welcome.buddy_line", buddy=buddy.mention))
        return templates.neutralize("\n\n".join(lines), keep_role=keep)[: templates.DISCORD_LIMIT]

    @staticmethod
    def welcome_mentions(
        member: discord.Member, buddy: discord.Member | None, team: discord.Role | None, text: str
    ) -> discord.AllowedMentions:
        """Name exactly who a welcome may ping: the newcomer, their buddy, the welcome team if called."""
        users = [member] if buddy is None else [member, buddy]
        roles = [team] if team is not None and team.mention in text else []
        return discord.AllowedMentions(everyone=False, users=users, roles=roles, replied_user=False)

    async def welcome_member(
        self, member: discord.Member, plan: JoinPlan, buddy: discord.Member | None
    ) -> None:
        """Send the welcome by DM when the server wants it, else (or when DMs are closed) in the channel."""
        guild = member.guild
        lang = await self.bot.settings.language(guild.id)
        team = await self.role_setting(guild, "welcome_role")
        text = await self.welcome_text(member, lang, gate=plan.rules_gate, buddy=buddy, team=team)
        mentions = self.welcome_mentions(member, buddy, team, text)
        if plan.use_dm:
            try:
                # Buttons need the server to act on, so the DM carries text only.
                await member.send(text, allowed_mentions=mentions)
                await self.service.mark_welcomed(guild.id, member.id)
                return
            except discord.HTTPException:
                log.info("DMs closed for %s in %s, welcoming in the channel", member.id, guild.id)
        channel = await self.channel_setting(guild, "welcome_channel")
        if channel is None:
            return
        view = await self.view_for(guild.id, lang, accept=plan.rules_gate)
        sent = await safe_send(
            self.bot,
            channel,
            text,
            guild_id=guild.id,
            allowed_mentions=mentions,
            **({} if view.is_empty() else {"view": view}),
        )
        if sent is not None:
            await self.service.mark_welcomed(guild.id, member.id)

    async def run_batch_welcome(self, job: Job) -> None:
        """Post one welcome for everyone held back during a raid."""
        guild = self.bot.get_guild(job.guild_id)
        if guild is None:
            return
        pending = await self.service.batch_pending(guild.id)
        ids = [uid for uid in pending if guild.get_member(uid) is not None]
        channel = await self.channel_setting(guild, "welcome_channel")
        if not ids or channel is None:
            await self.service.mark_batch_welcomed(guild.id, pending)
            return
        lang = await self.bot.settings.language(guild.id)
        text = templates.batch_text(
            self.t(lang, "onboarding.batch.head", count=len(ids), server=guild.name),
            [f"<@{uid}>" for uid in ids],
            self.bot.catalog.raw(lang, "onboarding.batch.more") or "+{count}",
        )
        gate = bool(await self.bot.settings.get(guild.id, "rules_gate"))
        view = await self.view_for(guild.id, lang, accept=gate)
        await post_job_message(self.bot, job, channel, text, **({} if view.is_empty() else {"view": view}))
        await self.service.mark_batch_welcomed(guild.id, pending)

    # ----------------------------------------------------------- rules gate

    async def on_accept(self, interaction: discord.Interaction) -> None:
        """A member accepted the rules: record it and give the member role."""
        member = interaction.user
        if interaction.guild is None or not isinstance(member, discord.Member):
            return
        first = await self.service.accept_rules(interaction.guild.id, member.id)
        role = await self.role_setting(interaction.guild, "member_role")
        granted = await self.grant_role(member, role, "accepted the rules")
        if role is not None and not granted:
            await tr_reply(interaction, "onboarding.rules.role_failed")
            return
        await tr_reply(interaction, "onboarding.rules.accepted" if first else "onboarding.rules.already")

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Discord's own screening finished: count it as accepting the rules and give the member role."""
        if before.pending and not after.pending and not after.bot:
            await self.service.accept_rules(after.guild.id, after.id)
            await self.grant_role(
                after, await self.role_setting(after.guild, "member_role"), "completed screening"
            )

    async def member_of(self, guild: discord.Guild | None, user_id: int) -> discord.Member | None:
        """Find a member in the cache, else ask Discord; None only when they have left.

        A member missing from the cache (not chunked yet) must not cost them their reminder: a failed
        lookup raises, so the scheduler retries the job later instead of marking it done.
        """
        if guild is None:
            return None
        member = guild.get_member(user_id)
        if member is not None:
            return member
        try:
            return await guild.fetch_member(user_id)
        except discord.NotFound:
            return None

    async def run_rules_reminder(self, job: Job) -> None:
        """Remind, once, a member who hasn't accepted the rules."""
        guild = self.bot.get_guild(job.guild_id)
        member = await self.member_of(guild, int(job.payload["user_id"]))
        if guild is None or member is None:
            return
        if not await self.service.rules_reminder_due(guild.id, member.id):
            return
        channel = await self.channel_setting(guild, "rules_channel", "welcome_channel")
        if channel is None:
            return
        lang = await self.bot.settings.language(guild.id)
        view = await self.view_for(guild.id, lang, accept=True)
        text = self.t(lang, "onboarding.rules.reminder", member=member.mention)
        await post_job_message(self.bot, job, channel, text, view=view)
        await self.service.mark_reminded(guild.id, member.id)

    # ------------------------------------------------------------ interests

    async def on_interests(self, interaction: discord.Interaction, values: list[str]) -> None:
        """A member chose interests: store the picks and sync the interest roles."""
        member = interaction.user
        if interaction.guild is None or not isinstance(member, discord.Member):
            return
        chosen = [int(v) for v in values if v.isdigit()]
        result = await self.service.set_picks(interaction.guild.id, member.id, chosen)
        guild = interaction.guild
        add = [r for r in map(guild.get_role, result.add_role_ids) if r is not None]
        remove = [r for r in map(guild.get_role, result.remove_role_ids) if r is not None]
        try:
            if add:
                await member.add_roles(*add, reason="onboarding interests")
            if remove:
                await member.remove_roles(*remove, reason="onboarding interests")
        except discord.Forbidden:
            await report_problem(self.bot, guild.id, "cannot_manage_roles", "notices.cannot_manage_roles")
            await tr_reply(interaction, "onboarding.rules.role_failed")
            return
        labels = ", ".join(i.label for i in await self.service.picks(guild.id, member.id))
        key = "onboarding.interests.saved" if labels else "onboarding.interests.cleared"
        await tr_reply(interaction, key, interests=labels)

    # ------------------------------------------------------ first messages

    @commands.Cog.listener()
    async def on_hearth_message(self, message: discord.Message, signal: MessageSignal) -> None:
        """Track newcomers' first messages and whether someone answers them (the one message flow)."""
        outcome = await self.service.message_seen(
            signal.guild_id,
            signal.author_id,
            message.channel.id,
            signal.message_id,
            reply_to_author_id=signal.reply_to_author_id,
            mention_ids=signal.mention_ids,
            recorded=signal.recorded,
        )
        if outcome.answered:
            log.debug("newcomers %s answered in %s", outcome.answered, signal.guild_id)
        if not signal.recorded:
            return
        buddy_role = await self.bot.settings.get(signal.guild_id, "buddy_role")
        if buddy_role and isinstance(message.author, discord.Member) and message.author.get_role(buddy_role):
            await self.service.volunteer_seen(signal.guild_id, signal.author_id)

    async def run_unanswered(self, job: Job) -> None:
        """Ping the welcome team when a newcomer's first message got no answer in time."""
        guild = self.bot.get_guild(job.guild_id)
        user_id = int(job.payload["user_id"])
        if guild is None or await self.member_of(guild, user_id) is None:
            return
        if not await self.service.staff_ping_due(guild.id, user_id):
            return
        channel = await self.channel_setting(guild, "staff_channel", "manager_channel")
        if channel is None:
            log.warning("no staff channel in %s for an unanswered first message", guild.id)
            return
        lang = await self.bot.settings.language(guild.id)
        role = await self.role_setting(guild, "welcome_role")
        link = (
            f"https://discord.com/channels/{guild.id}/{job.payload['channel_id']}/{job.payload['message_id']}"
        )
        minutes = await self.bot.settings.get(guild.id, "first_reply_minutes")
        text = self.t(
            lang,
            "onboarding.unanswered.ping",
            team=role.mention if role else self.t(lang, "onboarding.unanswered.no_team"),
            member=f"<@{user_id}>",
            minutes=minutes,
            link=link,
        )
        mentions = (
            discord.AllowedMentions(roles=[role], users=False, everyone=False)
            if role is not None
            else NO_MENTIONS
        )
        await post_job_message(self.bot, job, channel, text, allowed_mentions=mentions)
        await self.service.mark_staff_pinged(guild.id, user_id)

    # ---------------------------------------------------------------- nudge

    async def run_nudge(self, job: Job) -> None:
        """Nudge, once and gently, a member who hasn't said anything since joining."""
        guild = self.bot.get_guild(job.guild_id)
        member = await self.member_of(guild, int(job.payload["user_id"]))
        if guild is None or member is None:
            return
        if not await self.service.nudge_due(guild.id, member.id):
            return
        lang = await self.bot.settings.language(guild.id)
        values = await self.values_for(guild, member, lang)
        if await self.bot.settings.get(guild.id, "nudge_dm"):
            dm = self.t(lang, "onboarding.nudge.dm", server=guild.name, intro_channel=values["intro_channel"])
            try:
                await post_job_message(self.bot, job, member, dm, slot="dm", raise_refusals=True)
                await self.service.mark_nudged(guild.id, member.id)
                return
            except discord.HTTPException:
                log.info("DMs closed for %s, nudging in the channel", member.id)
        channel = await self.channel_setting(guild, "intro_channel", "welcome_channel")
        if channel is None:
            return
        text = self.t(
            lang, "onboarding.nudge.text", member=member.mention, intro_channel=values["intro_channel"]
        )
        view = OnboardingView(self, opt_out_label=self.t(lang, "onboarding.button.opt_out"))
        await post_job_message(self.bot, job, channel, text, view=view)
        await self.service.mark_nudged(guild.id, member.id)

    async def on_opt_out(self, interaction: discord.Interaction) -> None:
        """A member asked not to be nudged or reminded again."""
        if interaction.guild is None:
            return
        await self.service.opt_out(interaction.guild.id, interaction.user.id)
        await tr_reply(interaction, "onboarding.nudge.opted_out")

    @commands.Cog.listener()
    async def on_member_remove(self, member: discord.Member) -> None:
        """Drop a leaver's pending reminders."""
        await self.service.member_left(member.guild.id, member.id)

    # ------------------------------------------------------- welcome commands

    @welcome.command(name="add", description="Add a welcome variant (placeholders: {member}, {server}, …)")
    @app_commands.describe(
        text="The message, with placeholders such as {member} or {server}; \\n for a new line",
        language="Which language this variant is for (default: the server's)",
    )
    @app_commands.choices(language=LANGUAGE_CHOICES)
    async def welcome_add(
        self,
        interaction: discord.Interaction,
        text: app_commands.Range[str, 1, 6000],
        language: app_commands.Choice[str] | None = None,
    ) -> None:
        """Add a welcome variant (placeholders: {member}, {server}, …)."""
        assert interaction.guild is not None
        lang = language.value if language else await self.bot.settings.language(interaction.guild.id)
        saved = await self.service.add_template(interaction.guild.id, lang, text)
        await self.reply_preview(
            interaction, "onboarding.welcome.added", saved.body, variant=saved.id, language=lang
        )

    @welcome.command(name="edit", description="Replace the text of a welcome variant")
    @app_commands.describe(
        variant="The variant number (see /onboarding welcome list)", text="The new message"
    )
    async def welcome_edit(
        self, interaction: discord.Interaction, variant: int, text: app_commands.Range[str, 1, 6000]
    ) -> None:
        """Replace the text of a welcome variant."""
        assert interaction.guild is not None
        saved = await self.service.edit_template(interaction.guild.id, variant, text)
        await self.reply_preview(
            interaction, "onboarding.welcome.edited", saved.body, variant=saved.id, language=saved.lang
        )

    @welcome.command(name="remove", description="Delete a welcome variant")
    @app_commands.describe(variant="The variant number (see /onboarding welcome list)")
    async def welcome_remove(self, interaction: discord.Interaction, variant: int) -> None:
        """Delete a welcome variant."""
        assert interaction.guild is not None
        await self.service.remove_template(interaction.guild.id, variant)
        await tr_reply(interaction, "onboarding.welcome.removed", variant=variant)

    @welcome.command(name="list", description="Show the welcome variants in rotation")
    async def welcome_list(self, interaction: discord.Interaction) -> None:
        """Show the welcome variants in rotation."""
        assert interaction.guild is not None
        lang = await language_for(interaction)
        own = await self.service.templates(interaction.guild.id)
        if not own:
            await tr_reply(interaction, "onboarding.welcome.none")
            return
        lines = [f"**#{t.id}** ({t.lang}) {discord.utils.escape_markdown(t.body)[:300]}" for t in own]
        embed = discord.Embed(
            title=self.t(lang, "onboarding.welcome.list_title"), description="\n".join(lines)[:4000]
        )
        await send_reply(interaction, embed=embed)

    @welcome.command(name="preview", description="Show how a welcome variant looks for you")
    @app_commands.describe(variant="The variant number (default: the first one)")
    async def welcome_preview(self, interaction: discord.Interaction, variant: int | None = None) -> None:
        """Show how a welcome variant looks for you."""
        assert interaction.guild is not None
        guild_lang = await self.bot.settings.language(interaction.guild.id)
        if variant is not None:
            body = (await self.service.template(interaction.guild.id, variant)).body
        else:
            body = (
                [t.body for t in await self.service.templates(interaction.guild.id, guild_lang)]
                or self.defaults(guild_lang)
            )[0]
        await self.reply_preview(
            interaction, "onboarding.welcome.preview", body, variant=variant or 0, language=guild_lang
        )

    async def reply_preview(
        self, interaction: discord.Interaction, key: str, body: str, **params: Any
    ) -> None:
        """Answer with a confirmation and the variant rendered for the caller."""
        assert interaction.guild is not None
        lang = await language_for(interaction)
        rendered = templates.render(
            body, await self.values_for(interaction.guild, interaction.user, params["language"])
        )
        embed = discord.Embed(
            title=self.t(lang, "onboarding.welcome.preview_title"), description=rendered[:4000]
        )
        await send_reply(interaction, self.t(lang, key, **params), embed=embed)

    # --------------------------------------------------------- rules commands

    @rules.command(name="post", description="Post the rules message with the I accept button")
    @app_commands.describe(channel="Where to post it (default: the rules channel)")
    async def rules_post(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        """Post the rules message with the I accept button."""
        guild = interaction.guild
        assert guild is not None
        target = channel or await self.channel_setting(guild, "rules_channel")
        if target is None:
            raise InvalidValue("onboarding.errors.no_rules_channel")
        check_postable(target, guild.me)
        if await self.role_setting(guild, "member_role") is None:
            raise InvalidValue("onboarding.errors.no_member_role")
        lang = await self.bot.settings.language(guild.id)
        view = OnboardingView(self, accept_label=self.t(lang, "onboarding.button.accept"))
        await safe_send(
            self.bot, target, self.t(lang, "onboarding.rules.message"), guild_id=guild.id, view=view
        )
        await tr_reply(interaction, "onboarding.rules.posted", channel=target.mention)

    # ----------------------------------------------------- interest commands

    @interests.command(name="add", description="Offer an interest that gives a role")
    @app_commands.describe(
        label="What newcomers see in the menu", role="The role it gives (below Hearth's role)"
    )
    async def interests_add(
        self, interaction: discord.Interaction, label: app_commands.Range[str, 1, 100], role: discord.Role
    ) -> None:
        """Offer an interest that gives a role."""
        assert interaction.guild is not None
        check_assignable(role, interaction.guild.me)
        saved = await self.service.add_interest(interaction.guild.id, label, role.id)
        await tr_reply(interaction, "onboarding.interests.added", label=saved.label, role=role.mention)

    @interests.command(name="remove", description="Stop offering an interest")
    @app_commands.describe(label="The interest's label")
    async def interests_remove(self, interaction: discord.Interaction, label: str) -> None:
        """Stop offering an interest."""
        assert interaction.guild is not None
        removed = await self.service.remove_interest(interaction.guild.id, label)
        await tr_reply(interaction, "onboarding.interests.removed", label=removed.label)

    @interests_remove.autocomplete("label")
    async def interest_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the interests that match what was typed."""
        assert interaction.guild_id is not None
        needle = current.casefold()
        offered = await self.service.interests(interaction.guild_id)
        return [
            app_commands.Choice(name=i.label, value=i.label) for i in offered if needle in i.label.casefold()
        ][:25]

    @interests.command(name="list", description="Show the interests offered and their roles")
    async def interests_list(self, interaction: discord.Interaction) -> None:
        """Show the interests offered and their roles."""
        assert interaction.guild is not None
        offered = await self.service.interests(interaction.guild.id)
        if not offered:
            await tr_reply(interaction, "onboarding.interests.none")
            return
        await send_reply(interaction, "\n".join(f"• {i.label} → <@&{i.role_id}>" for i in offered))

    @interests.command(name="post", description="Post the interests menu in a channel")
    @app_commands.describe(channel="Where to post it (default: the welcome channel)")
    async def interests_post(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        """Post the interests menu in a channel."""
        guild = interaction.guild
        assert guild is not None
        target = channel or await self.channel_setting(guild, "welcome_channel")
        if target is None:
            raise InvalidValue("onboarding.errors.no_welcome_channel")
        check_postable(target, guild.me)
        offered = await self.service.interests(guild.id)
        if not offered:
            raise InvalidValue("onboarding.errors.no_interests")
        lang = await self.bot.settings.language(guild.id)
        view = OnboardingView(
            self, interests=offered, interests_placeholder=self.t(lang, "onboarding.interests.placeholder")
        )
        await safe_send(
            self.bot, target, self.t(lang, "onboarding.interests.message"), guild_id=guild.id, view=view
        )
        await tr_reply(interaction, "onboarding.interests.posted", channel=target.mention)

    # ------------------------------------------------------------------ stats

    @app_commands.command(name="stats", description="Show the onboarding funnel for a period")
    @app_commands.describe(days="How many days back to look at joins (default 30)")
    async def stats(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365] = 30
    ) -> None:
        """Show the onboarding funnel for a period."""
        assert interaction.guild_id is not None
        until = self.bot.clock.now() + timedelta(seconds=1)  # include who joined this very second
        await self.bot.services.activity.flush()  # the member facts are written in batches
        funnel = await self.service.funnel(interaction.guild_id, until - timedelta(days=days), until)
        lang = await language_for(interaction)
        await send_reply(interaction, embed=self.funnel_embed(funnel, lang, days))

    def funnel_embed(self, funnel: Funnel, lang: str, days: int) -> discord.Embed:
        """Render the funnel: count, share of joiners and conversion from the previous step."""
        lines = []
        for index, step in enumerate(funnel.steps):
            line = f"**{self.t(lang, f'onboarding.funnel.{step.key}')}**: {step.count}"
            if index:
                line += " " + self.t(
                    lang,
                    "onboarding.funnel.rates",
                    previous=_percent(step.of_previous),
                    joined=_percent(step.of_joined),
                )
            lines.append(line)
        embed = discord.Embed(
            title=self.t(lang, "onboarding.funnel.title", days=days), description="\n".join(lines)
        )
        embed.set_footer(text=self.t(lang, "onboarding.funnel.footer"))
        return embed


async def setup(bot: HearthBot) -> None:
    """Register the job handlers and persistent components, add the cog."""
    service = bot.services.onboarding
    cog = OnboardingCog(bot, service)
    await bot.add_cog(cog)
    bot.scheduler.register(RULES_REMINDER, cog.run_rules_reminder)
    bot.scheduler.register(NUDGE, cog.run_nudge)
    bot.scheduler.register(UNANSWERED, cog.run_unanswered)
    bot.scheduler.register(BATCH_WELCOME, cog.run_batch_welcome)
    bot.add_view(OnboardingView.persistent(cog))
