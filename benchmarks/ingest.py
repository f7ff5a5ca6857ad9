"""Ingestion throughput: synthetic community messages through the real handler path, next to bare VADER.

Each message goes event object → `cogs.activity.event_from_message` → language guess → VADER (once)
→ buffer → batched SQLite writes (background tasks, as in the bot), and the run ends with a full flush.
30 % of the messages reply to a recent one and 5 % mention someone, as members do.
With `--with-conflict`, each signal then goes through conflict flagging as the conflict cog hands it
over (`cogs.conflict.incoming` → `FlagService.observe`: policy, context, hostility score, heat).
The same texts are scored by bare VADER (the right analyzer per language) in the same process, right
before and right after each pipeline run (the two averaged), so the ratio says what the bot adds over
the analysis it cannot avoid. `ratio` is wall-clock throughput (SQLite works in the connection's thread, so it overlaps the
event loop when a second core is free); `cpu_ratio` is VADER's CPU time over the pipeline's whole
process CPU time (every thread), the cost with no overlap. Prints a final JSON line.

    python benchmarks/ingest.py [--messages 20000] [--runs 7] [--with-conflict]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord

from bot.activity.pipeline import ActivityPipeline
from bot.conflict.flags import FlagService
from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.language import guess_language
from bot.core.sentiment import default_analyzers
from bot.core.settings import Settings
from bot.core.signals import MessageSignal
from cogs.activity import event_from_message
from cogs.conflict import incoming

EN = [
    "hey everyone how is it going today",
    "thanks so much for the help, that fixed it",
    "anyone know why my build keeps failing? ",
    "I love this community honestly",
    "that was a terrible idea and you know it",
    "lol same here",
    "can someone review my pull request when they have a minute",
    "the meeting is moved to thursday at 5",
    "good morning! coffee first",
    "this is so annoying, nothing works",
    "great job on the release folks",
    "I don't think that's right, check the docs again",
    "welcome to the server, glad you're here",
    "what time is the event tonight? ",
    "ugh my internet is awful today",
    "nice, that looks really good",
]
FR = [
    "salut tout le monde, ça va ? ",
    "merci beaucoup pour ton aide, c'est réglé",
    "quelqu'un sait pourquoi ça plante ? ",
    "j'adore cette communauté",
    "c'est vraiment nul ce truc",
    "bonne soirée à tous",
    "je ne suis pas d'accord avec toi",
    "la réunion est déplacée à jeudi",
    "trop bien, bravo pour le travail",
    "c'est énervant, rien ne marche",
]
WORDS = [
    "really",
    "just",
    "maybe",
    "also",
    "the",
    "bot",
    "server",
    "channel",
    "today",
    "later",
    "again",
    "docs",
    "release",
    "code",
    "game",
    "music",
]


def make_texts(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Return (text, language) pairs: 80 % English, 20 % French, varied with extra words."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        lang = "fr" if rng.random() < 0.2 else "en"
        base = rng.choice(FR if lang == "fr" else EN)
        extra = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 6)))
        texts.append((f"{base} {extra}".strip(), lang))
    return texts


REPLY_SHARE = 0.3  # answers one of the channel's last 20 messages by someone else (Discord's reply)
MENTION_SHARE = 0.05  # mentions a member


def _cached(author: Any) -> discord.Message:
    """A replied-to message as discord.py resolves it from its cache (only its author is read)."""
    resolved = discord.Message.__new__(discord.Message)
    resolved.author = author
    return resolved


def make_messages(texts: list[tuple[str, str]], members: int = 1000) -> list[Any]:
    """Build message objects with the attributes the activity cog reads from a discord.Message.

    A share of them reply to a recent message in their channel or mention someone, so replies, reach
    and conflict scoring (which scores only messages aimed at someone) cost what they cost in a live
    server.
    """
    rng = random.Random(11)
    guild = SimpleNamespace(id=1)
    channels = [SimpleNamespace(id=100 + i, parent_id=None) for i in range(8)]
    recent: dict[int, list[Any]] = {c.id: [] for c in channels}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    messages = []
    for i, (text, _) in enumerate(texts):
        author = SimpleNamespace(id=10_000 + rng.randrange(members), bot=False)
        channel = rng.choice(channels)
        earlier = [m for m in recent[channel.id] if m.author.id != author.id]
        reference = None
        if earlier and rng.random() < REPLY_SHARE:
            answered = rng.choice(earlier)
            reference = SimpleNamespace(
                message_id=answered.id,
                resolved=_cached(answered.author),
                type=discord.MessageReferenceType.reply,
            )
        mentions = []
        if rng.random() < MENTION_SHARE:
            mentions = [SimpleNamespace(id=10_000 + rng.randrange(members))]
        message = SimpleNamespace(
            id=1_000_000 + i,
            guild=guild,
            channel=channel,
            type=discord.MessageType.reply if reference else discord.MessageType.default,
            reference=reference,
            author=author,
            created_at=start + timedelta(seconds=i * 3),
            content=text,
            mentions=mentions,
            attachments=[],
            webhook_id=None,
        )
        messages.append(message)
        recent[channel.id] = [*recent[channel.id][-19:], message]
    return messages


def vader_only(texts: list[tuple[str, str]]) -> tuple[float, float]:
    """Score every text with bare VADER in its language; return messages per second and CPU seconds."""
    analyzers = default_analyzers()
    started, cpu = time.perf_counter(), time.process_time()
    for text, lang in texts:
        analyzers.polarity(text, lang)
    return len(texts) / (time.perf_counter() - started), time.process_time() - cpu


def sentiment_only(texts: list[tuple[str, str]]) -> float:
    """Score every text the way the sentiment module must without a known language: guess, then VADER."""
    analyzers = default_analyzers()
    started = time.perf_counter()
    for text, _ in texts:
        analyzers.polarity(text, guess_language(text))
    return len(texts) / (time.perf_counter() - started)


async def pipeline_run(messages: list[Any], with_conflict: bool) -> tuple[float, float]:
    """Feed every message through the handler path into a fresh database; return messages/s and CPU seconds."""
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "bench.db")
        await db.migrate()
        clock = FrozenClock(datetime(2026, 6, 1, tzinfo=UTC))
        settings = Settings(db, clock)
        pipeline = ActivityPipeline(db, clock, settings)  # the bot's own batch bounds
        await pipeline.warm()
        flags = FlagService(db, clock, settings) if with_conflict else None
        if flags is not None:
            await flags.observe(incoming(messages[0], await _signal_for(messages[0])))  # warm the model
        started, cpu = time.perf_counter(), time.process_time()
        for i, message in enumerate(messages):
            event = event_from_message(message)
            assert event is not None
            signal = await pipeline.handle_message(event)
            if flags is not None and signal is not None:
                await flags.observe(incoming(message, signal))
            if i % 50 == 0:
                await asyncio.sleep(0)  # let finished background writes complete, as between gateway events
        await pipeline.drain()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        stored = await db.fetchval("SELECT COUNT(*) FROM activity_messages")
        await db.close()
    assert stored == len(messages), (stored, len(messages))
    return len(messages) / elapsed, cpu


async def _signal_for(message: Any) -> MessageSignal:
    event = event_from_message(message)
    assert event is not None
    return MessageSignal(
        event.guild_id, event.channel_id, None, event.author_id, 0, event.created_at, 0, "en", 0.0
    )


def main() -> None:
    """Run the benchmark and print the medians as a final JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--with-conflict", action="store_true", help="also run conflict flagging per message")
    args = parser.parse_args()
    texts = make_texts(args.messages)
    messages = make_messages(texts)
    vader_only(texts[:200])  # build both analyzers before timing
    vader: list[float] = []
    sentiment: list[float] = []
    piped: list[float] = []
    cpu_ratios: list[float] = []
    for run in range(args.runs):
        sentiment.append(sentiment_only(texts))
        # Bare VADER right before and right after the pipeline, averaged: this machine's speed drifts
        # by a third within seconds, and bracketing cancels a steady drift (medians do the rest).
        before_rate, before_cpu = vader_only(texts)
        rate, cpu = asyncio.run(pipeline_run(messages, args.with_conflict))
        after_rate, after_cpu = vader_only(texts)
        vader.append(2 / (1 / before_rate + 1 / after_rate))
        vader_cpu = (before_cpu + after_cpu) / 2
        piped.append(rate)
        cpu_ratios.append((vader_cpu / len(texts)) / (cpu / len(messages)))
        sys.stderr.write(
            f"run {run + 1}: pipeline {piped[-1]:.0f}/s, vader only {vader[-1]:.0f}/s,"
            f" language guess + vader {sentiment[-1]:.0f}/s, cpu ratio {cpu_ratios[-1]:.2f}\n"
        )
    ratios = [p / v for p, v in zip(piped, vader, strict=True)]
    sentiment_ratios = [p / v for p, v in zip(piped, sentiment, strict=True)]
    result = {
        "messages": args.messages,
        "runs": args.runs,
        "with_conflict": args.with_conflict,
        "messages_per_s": round(statistics.median(piped)),
        "vader_only_per_s": round(statistics.median(vader)),
        "ratio": round(statistics.median(ratios), 3),
        "cpu_ratio": round(statistics.median(cpu_ratios), 3),
        "guess_and_vader_per_s": round(statistics.median(sentiment)),
        "ratio_vs_guess_and_vader": round(statistics.median(sentiment_ratios), 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
