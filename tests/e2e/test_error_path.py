"""The one error path in the real process: a guild-only command from a DM, a command Hearth no longer has.

Discord hides guild-only commands in DMs and drops removed commands at the next sync, but a client
with an old command list (or a registration an older version made) still sends them: the member
gets a clear, localized answer and the log has no ERROR and no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import build_server, reply_text, running_bot
from tests.e2e.standin import DiscordStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

EPHEMERAL = 64


async def test_guild_only_in_a_dm_and_unknown_commands_get_clear_replies_without_tracebacks(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    server = build_server(discord_standin)
    dm_channel = int(discord_standin._dm_channel(server.member)["id"])  # the DM the member writes from
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild, log_level="INFO") as bot:
        from_dm = await discord_standin.interaction_create(
            "privacy optout", channel_id=dm_channel, user_id=server.member, require_synced=False
        )
        reply = await discord_standin.wait_for_response(from_dm.id, timeout=10)
        assert int(reply.body["data"]["flags"]) & EPHEMERAL
        assert reply_text(reply.body) == "This command works only inside a server."

        stale = await discord_standin.interaction_create(
            "contest create", channel_id=server.general, user_id=server.member, require_synced=False
        )
        answer = await discord_standin.wait_for_response(stale.id, timeout=10)
        assert int(answer.body["data"]["flags"]) & EPHEMERAL
        assert "no longer exists" in reply_text(answer.body)

        log = bot.log()
        assert "errors.guild_only" in log and "errors.command_outdated" in log
        assert " ERROR " not in log and "Traceback" not in log, log[-2000:]
