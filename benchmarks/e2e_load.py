"""Push a burst of MESSAGE_CREATE events through the real `python -m bot run` process; count what is stored.

The local Discord stand-in (tests/e2e/standin.py) serves one server with `--members` members and
`--channels` channels and writes `--messages` frames to the bot's gateway socket as fast as the bot
reads them. We measure:

- ingest_per_s: messages / time until the bot has read every frame (an interaction sent after the
  burst is answered, and the gateway is ordered);
- messages_per_s: messages / time until every row is in the database, read from outside while the
  bot runs (includes the pipeline's batching and its 5 s flush timer for the last partial batch);
- stored: rows in `activity_messages` after a clean SIGTERM shutdown; lost = messages - stored;
- peak_rss_mb: the bot process's peak resident memory (VmHWM).

Usage: python benchmarks/e2e_load.py [--messages 50000] [--members 1000] [--channels 20]
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.helpers import BotProcess, wait_until  # noqa: E402
from tests.e2e.standin import PERM_MANAGE_GUILD, DiscordStandIn  # noqa: E402

TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.load.token"
CHUNK = 1000


async def run(messages: int, members: int, channels: int, workdir: Path) -> dict[str, Any]:
    """Run one load test and return its figures."""
    async with DiscordStandIn(token=TOKEN, interaction_deadline=None) as standin:
        guild = standin.add_guild("Load test")
        manager_role = standin.add_role(guild, "Managers", permissions=PERM_MANAGE_GUILD)
        manager = standin.add_member(guild, username="manager", roles=[manager_role])
        channel_ids = [standin.add_channel(guild, f"chan-{i}") for i in range(channels)]
        member_ids = [standin.add_member(guild, username=f"m{i}") for i in range(members)]
        bot = BotProcess(standin, workdir, guild_id=guild)
        await bot.start()
        try:
            await bot.wait_ready(within=60)
            sent_ids: list[int] = []
            started = time.perf_counter()
            for offset in range(0, messages, CHUNK):
                await standin.burst(
                    min(CHUNK, messages - offset),
                    channel_ids,
                    member_ids,
                    content="message {i}: how is everyone doing today? great work on the release",
                    sent_ids=sent_ids,
                )
            send_done = time.perf_counter() - started
            sentinel = await standin.interaction_create(
                "config view", channel_id=channel_ids[0], user_id=manager
            )
            await standin.wait_for_response(sentinel.id, timeout=600)
            ingest_done = time.perf_counter() - started
            await wait_until(
                lambda: bot.scalar("SELECT COUNT(*) FROM activity_messages") >= messages,
                within=120,
                what="every row in the database",
            )
            stored_done = time.perf_counter() - started
            peak = bot.peak_rss_mb()
            status = await bot.terminate(within=60)
        finally:
            await bot.kill()
        stored = bot.scalar("SELECT COUNT(*) FROM activity_messages")
        distinct = bot.scalar("SELECT COUNT(DISTINCT message_id) FROM activity_messages")
        return {
            "messages": messages,
            "stored": stored,
            "lost": messages - distinct,
            "duplicates": stored - distinct,
            "members": members,
            "channels": channels,
            "send_s": round(send_done, 2),
            "ingest_per_s": round(messages / ingest_done),
            "messages_per_s": round(messages / stored_done),
            "peak_rss_mb": round(peak, 1),
            "exit_status": status,
        }


def main() -> None:
    """Parse arguments, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--channels", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hearth-load-") as tmp:
        result = asyncio.run(run(args.messages, args.members, args.channels, Path(tmp)))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
