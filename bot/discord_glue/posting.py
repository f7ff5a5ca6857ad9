"""Posts made by scheduled jobs: at least once, never twice.

A job may run more than once: the scheduler retries it after a transient failure (Discord 5xx, a
timeout, a lost connection) and runs it again at start after a crash. So each post a job makes carries
a nonce derived from the job and never from the attempt; discord.py sends it with `enforce_nonce`, and
Discord answers a repeat within a few minutes with the message it already created instead of posting
again. Once a post succeeds its message id is recorded, so a later run, however late, never posts again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Protocol

import aiohttp
import discord

from bot.core.scheduler import Job, Scheduler, Transient
from bot.discord_glue.interactions import SAFE_MENTIONS, Host, report_problem

log = logging.getLogger(__name__)


class PostHost(Host, Protocol):
    """What posting needs of the bot: the glue's host plus the scheduler that records posts."""

    @property
    def scheduler(self) -> Scheduler: ...


def is_transient(error: BaseException) -> bool:
    """Tell whether a failure is worth retrying later: Discord 5xx or 429, a timeout, a lost connection."""
    if isinstance(error, discord.HTTPException):
        return error.status >= 500 or error.status == 429
    return isinstance(
        error,
        TimeoutError
        | ConnectionError
        | aiohttp.ClientError
        | discord.RateLimited
        | discord.ConnectionClosed
        | discord.GatewayNotFound,
    )


def job_nonce(job: Job, slot: str) -> str:
    """Return the nonce of a job's post: the same on every attempt, 20 characters (Discord allows 25)."""
    key = f"hearth:{job.guild_id}:{job.kind}:{job.id}:{slot}"
    return hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


async def post_job_message(
    bot: PostHost,
    job: Job,
    target: discord.abc.Messageable,
    content: str | None = None,
    *,
    slot: str = "post",
    raise_refusals: bool = False,
    **kwargs: Any,
) -> int | None:
    """Post a job's message once however often the job runs; return its id, None if Discord refused it.

    A transient failure raises `Transient` (the scheduler retries the job with back-off). A `Forbidden`
    is reported to managers once, as `safe_send` does; with `raise_refusals` (a DM the caller falls
    back from) a `Forbidden` or `NotFound` is raised instead. `slot` tells apart several posts of a job.
    """
    already = await bot.scheduler.posted(job.id, slot)
    if already is not None:
        log.info("job %d (%s) already posted message %d, not posting again", job.id, job.kind, already)
        return already
    kwargs.setdefault("allowed_mentions", SAFE_MENTIONS)
    try:
        message = await target.send(content, nonce=job_nonce(job, slot), **kwargs)
    except discord.Forbidden:
        if raise_refusals:
            raise
        channel_id = getattr(target, "id", 0)
        log.warning("missing permission to post in channel %s of guild %s", channel_id, job.guild_id)
        await report_problem(
            bot, job.guild_id, f"cannot_post:{channel_id}", "notices.cannot_post", channel=f"<#{channel_id}>"
        )
        return None
    except discord.NotFound:
        if raise_refusals:
            raise
        # The channel is gone, or our earlier post was deleted a moment ago (Discord refuses its nonce):
        # posting again would not help.
        log.warning("job %d (%s): nowhere to post (not found)", job.id, job.kind)
        return None
    except Exception as exc:
        if is_transient(exc):
            raise Transient(f"job {job.id} ({job.kind}) could not post: {exc!r}") from exc
        raise
    await bot.scheduler.record_post(job, slot, message.channel.id, message.id)
    return message.id
