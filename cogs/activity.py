"""Feed every member event into the activity pipeline and hand scored messages to other features."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands, tasks

from bot.activity.pipeline import ActivityPipeline, MessageEvent
from bot.core.clock import from_ts
from bot.core.scheduler import Job
from bot.discord_glue.client import HearthBot

log = logging.getLogger(__name__)

COUNTED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
PURGE_JOB = "activity.purge_text"
HOUR = 3600
FLUSH_CHECK_SECONDS = 1.0  # how often the timer checks the buffer's time bound while it holds events


def event_from_message(message: discord.Message) -> MessageEvent | None:
    """Turn a Discord message into the pipeline's plain event; None outside servers or for system messages."""
    guild = message.guild
    if guild is None or message.type not in COUNTED_TYPES:
        return None
    channel = message.channel
    if isinstance(channel, discord.Thread):
        channel_id, thread_id = channel.parent_id or channel.id, channel.id
    else:
        channel_id, thread_id = channel.id, None
    reply_id = reply_author = None
    ref = message.reference
    if (
        ref is not None
        and ref.message_id
        and getattr(ref, "type", None) != discord.MessageReferenceType.forward
    ):
        reply_id = ref.message_id
        if isinstance(ref.resolved, discord.Message):
            reply_author = ref.resolved.author.id
    author = message.author
    mentions = message.mentions
    # Positional: one event per message, and keyword construction costs more than the rest of this.
    return MessageEvent(
        guild.id,
        channel_id,
        author.id,
        message.id,
        message.created_at,
        message.content,
        thread_id,
        reply_id,
        reply_author,
        tuple([m.id for m in mentions]) if mentions else (),
        len(message.attachments),
        author.bot or message.webhook_id is not None,
    )


class ActivityCog(commands.Cog):
    """Listens to messages, edits, deletes, reactions, threads, joins and leaves."""

    def __init__(self, bot: HearthBot, pipeline: ActivityPipeline) -> None:
        self.bot = bot
        self.pipeline = pipeline
        pipeline.on_text_kept = self.schedule_purges
        pipeline.on_armed = self._arm_flush_timer

    async def cog_load(self) -> None:
        """Warm the in-memory state the hot path reads (opt-outs, who has spoken, join times)."""
        await self.pipeline.warm()

    async def cog_unload(self) -> None:
        """Stop the timer, stop taking events and write what is buffered."""
        self.flush_timer.cancel()
        await self.pipeline.close()

    def _arm_flush_timer(self) -> None:
        # Runs only while events are buffered: an idle bot has no timer waking it up.
        if not self.flush_timer.is_running():
            self.flush_timer.start()

    @tasks.loop(seconds=FLUSH_CHECK_SECONDS)
    async def flush_timer(self) -> None:
        """Write the buffer once its time bound passes (a burst followed by silence), then stop when empty."""
        try:
            await self.pipeline.flush_if_due()
        except Exception:
            log.exception("timed activity flush failed")
        if not self.pipeline.pending:
            self.flush_timer.stop()

    async def schedule_purges(self, earliest: dict[int, int]) -> None:
        """Arm a durable job at the next expiry of kept text (rounded up to the hour, one job per hour)."""
        for guild_id, expires in earliest.items():
            run_at = -(-expires // HOUR) * HOUR
            await self.bot.scheduler.schedule(
                guild_id, PURGE_JOB, from_ts(run_at), dedupe_key=f"purge:{run_at}"
            )

    async def purge_text(self, job: Job) -> None:
        """Delete a server's expired text, then arm the job for the next expiry."""
        purged = await self.pipeline.purge_expired_text(job.guild_id)
        log.info("purged %d expired message texts in guild %s", purged, job.guild_id)
        following = await self.pipeline.next_text_expiry(job.guild_id)
        if following is not None:
            await self.schedule_purges({job.guild_id: following})

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Score each member message (recording it unless opted out) and hand its one signal on.

        The one message flow: every feature listens to `hearth_message`, none to `on_message`.
        Nothing is handed on once the pipeline closed for shutdown (the database closes next).
        """
        event = event_from_message(message)
        if event is None:
            return
        signal = await self.pipeline.handle_message(event)
        if signal is not None:
            self.bot.dispatch("hearth_message", message, signal)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Re-score an edited message (embeds unfolding are not edits)."""
        content = payload.data.get("content")
        if payload.guild_id is None or content is None or payload.data.get("author", {}).get("bot"):
            return
        await self.pipeline.handle_edit(payload.guild_id, payload.message_id, content, self.bot.clock.now())

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """Take a deleted message out of the counts."""
        if payload.guild_id is not None:
            await self.pipeline.handle_delete(payload.guild_id, [payload.message_id])

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """Take deleted messages out of the counts."""
        if payload.guild_id is not None:
            await self.pipeline.handle_delete(payload.guild_id, sorted(payload.message_ids))

    async def _reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        if payload.guild_id is None:
            return
        member = payload.member
        if member is None:
            guild = self.bot.get_guild(payload.guild_id)
            member = guild.get_member(payload.user_id) if guild else None
        await self.pipeline.handle_reaction(
            payload.guild_id,
            payload.channel_id,
            payload.message_id,
            payload.user_id,
            payload.message_author_id,
            str(payload.emoji),
            added=added,
            is_bot=bool(member and member.bot),
            at=self.bot.clock.now(),
        )

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """Count a reaction towards the author's reach."""
        await self._reaction(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        """Take a reaction back out."""
        await self._reaction(payload, added=False)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """Record a new thread."""
        created = thread.created_at or self.bot.clock.now()
        await self.pipeline.handle_thread(
            thread.guild.id, thread.id, thread.parent_id or 0, thread.owner_id, created
        )

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """Record a join."""
        await self.pipeline.handle_join(
            member.guild.id, member.id, member.joined_at or self.bot.clock.now(), is_bot=member.bot
        )

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """Record a leave (raw: the member may not be cached)."""
        await self.pipeline.handle_leave(payload.guild_id, payload.user.id, self.bot.clock.now())


async def setup(bot: HearthBot) -> None:
    """Register the pipeline's shutdown flush and its purge job, add the cog."""
    pipeline = bot.services.activity
    bot.add_flusher(pipeline.close)
    cog = ActivityCog(bot, pipeline)
    bot.scheduler.register(PURGE_JOB, cog.purge_text)
    await bot.add_cog(cog)
