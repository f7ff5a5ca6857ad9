"""What one feature hands another, Discord-free.

The activity pipeline scores each message once (language, sentiment) and the activity cog then
dispatches the custom event `hearth_message(message, signal)`: the one message flow. Conflict
flagging, onboarding and the features to come listen to it (never to raw `on_message`) instead of
scoring again, and read `signal.recorded` before storing anything about the author.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class MessageSignal(NamedTuple):
    """One member message as the features see it: ids, counts and scores, no text.

    A named tuple rather than a frozen dataclass: it is built for every message on the hot path,
    and a frozen dataclass costs several microseconds more to construct (see benchmarks/ingest.py).
    """

    guild_id: int
    channel_id: int
    thread_id: int | None
    author_id: int
    message_id: int
    created_at: datetime
    length: int
    lang: str
    compound: float
    reply_to_message_id: int | None = None
    reply_to_author_id: int | None = None
    mention_ids: tuple[int, ...] = ()
    attachment_count: int = 0
    is_first_message: bool = False
    # False when the author opted out: features may act on the message (moderation still sees it)
    # but store nothing about the author (bot.core.privacy).
    recorded: bool = True
