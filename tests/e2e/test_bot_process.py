"""Run the real `python -m bot run` process against the local Discord stand-in.

These tests cover what in-process simulators cannot: the process starts from the CLI, reads its
settings from the environment, logs in over a websocket with the intents it needs, syncs its
commands, and answers real interaction payloads over REST.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.conftest import TEST_TOKEN
from tests.e2e.helpers import (
    BotProcess,
    Server,
    assert_no_mass_pings,
    build_server,
    configure,
    reply_text,
    require_cog,
    running_bot,
    wait_until,
)
from tests.e2e.standin import (
    BOT_DEFAULT_PERMISSIONS,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    PERM_MANAGE_GUILD,
    PERM_MANAGE_ROLES,
    DiscordStandIn,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

EPHEMERAL = 64


async def test_bot_logs_in_with_privileged_intents_and_syncs_manager_commands(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """The process identifies with members + message content and publishes /config to the dev guild."""
    server = build_server(discord_standin)
    async with running_bot(
        discord_standin, tmp_path, guild_id=server.guild, log_level="DEBUG", wait="ready"
    ) as bot:
        identify = discord_standin.identifies[0]
        assert identify["token"] == TEST_TOKEN
        intents = int(identify["intents"])
        for needed in (INTENT_GUILDS, INTENT_GUILD_MEMBERS, INTENT_GUILD_MESSAGES, INTENT_MESSAGE_CONTENT):
            assert intents & needed == needed, f"intent bit {needed} missing from {intents}"

        put = discord_standin.requests_matching("PUT /applications/*/guilds/*/commands")
        assert put, "the bot never synced its commands to the development guild"
        assert put[-1].path.endswith(f"/guilds/{server.guild}/commands")
        synced = {c["name"]: c for c in discord_standin.guild_commands[server.guild]}
        assert "config" in synced
        config = synced["config"]
        assert int(config["default_member_permissions"]) == PERM_MANAGE_GUILD
        assert {o["name"] for o in config["options"]} >= {
            "view",
            "channel",
            "role",
            "timezone",
            "language",
            "value",
            "reset",
        }
        assert "published" in bot.log() and "slash commands to development server" in bot.log()
        assert bot.scalar("SELECT MAX(version) FROM schema_migrations") >= 1
        assert TEST_TOKEN not in bot.log(), "the token leaked into the DEBUG log"


async def test_config_command_replies_stores_and_shows_for_manager_and_refuses_member(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Real /config interactions: the manager's value is saved and shown by /config view; a member is refused."""
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        sent = await discord_standin.interaction_create(
            "config timezone",
            channel_id=server.general,
            user_id=server.manager,
            options={"timezone": "Europe/Paris"},
        )
        reply = await discord_standin.wait_for_response(sent.id, timeout=10)
        assert reply.kind == "callback" and reply.type == 4
        assert int(reply.body["data"]["flags"]) & EPHEMERAL
        assert "Europe/Paris" in reply_text(reply.body)
        stored = await wait_until(
            lambda: bot.scalar(
                "SELECT value FROM guild_settings WHERE guild_id = ? AND key = 'timezone'", (server.guild,)
            ),
            what="the timezone row",
        )
        assert stored == "Europe/Paris"

        refused = await discord_standin.interaction_create(
            "config timezone",
            channel_id=server.general,
            user_id=server.member,
            options={"timezone": "Asia/Tokyo"},
        )
        answer = await discord_standin.wait_for_response(refused.id, timeout=10)
        assert int(answer.body["data"]["flags"]) & EPHEMERAL
        assert "Asia/Tokyo" not in reply_text(answer.body)
        assert "manage" in reply_text(answer.body).lower()
        assert bot.scalar("SELECT value FROM guild_settings WHERE key = 'timezone'") == "Europe/Paris"

        view = await discord_standin.interaction_create(
            "config view", channel_id=server.general, user_id=server.manager
        )
        shown = await discord_standin.wait_for_response(view.id, timeout=10)
        assert int(shown.body["data"]["flags"]) & EPHEMERAL
        assert "Europe/Paris" in shown.body["data"]["embeds"][0]["description"]


async def test_member_join_posts_a_welcome(discord_standin: DiscordStandIn, tmp_path: Path) -> None:
    """A member joins → the onboarding feature welcomes them in the welcome channel."""
    require_cog("onboarding")
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild):
        await configure(
            discord_standin, server, "config channel", setting="welcome_channel", channel=server.welcome
        )
        newcomer = await discord_standin.member_add(server.guild, username="nadia")
        welcome = await discord_standin.wait_for_message(server.welcome, timeout=10)
        assert str(newcomer) in welcome["content"] or "nadia" in welcome["content"]


async def test_wrong_token_fails_cleanly_and_never_logs_the_token(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Login with a rejected token exits non-zero; the token appears nowhere in the output, even at DEBUG."""
    discord_standin.add_guild("Hearth e2e")
    wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.wrong-token.Xy9zQ2secretpart"
    bot = BotProcess(discord_standin, tmp_path, token=wrong, log_level="DEBUG")
    await bot.start()
    try:
        status = await bot.wait_exit(within=30)
    finally:
        await bot.kill()
    output = bot.log()
    assert status == 2, output[-2000:]
    assert "refused the bot token" in output and "Reset Token" in output and "DISCORD_TOKEN" in output
    assert "Traceback" not in output
    assert wrong not in output
    assert wrong.split(".")[-1] not in output
    assert all(r.authorization == f"Bot {wrong}" for r in discord_standin.requests if r.authorization)


async def test_lost_send_permission_is_reported_once_to_managers_not_retried(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """The bot loses Send Messages in the welcome channel: managers hear it once, in plain words; no retry loop."""
    require_cog("onboarding")
    server = build_server(discord_standin)
    locked = discord_standin.add_channel(server.guild, "locked", bot_can_send=False)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        # Choosing a channel the bot can't post in is refused at once, in plain words.
        sent = await discord_standin.interaction_create(
            "config channel",
            channel_id=server.general,
            user_id=server.manager,
            options={"setting": "welcome_channel", "channel": locked},
        )
        assert "can't post" in reply_text((await discord_standin.wait_for_response(sent.id, timeout=10)).body)
        assert bot.scalar("SELECT COUNT(*) FROM guild_settings WHERE key = 'welcome_channel'") == 0

        for setting, channel in (("welcome_channel", server.welcome), ("manager_channel", server.managers)):
            await configure(discord_standin, server, "config channel", setting=setting, channel=channel)
        discord_standin.set_bot_can_send(server.welcome, False)
        for name in ("nadia", "omar", "pia"):
            await discord_standin.member_add(server.guild, username=name)
        notice = await discord_standin.wait_for_message(server.managers, timeout=10)
        await wait_until(
            lambda: len(discord_standin.requests_matching(f"POST /channels/{server.welcome}/messages")) >= 3,
            what="one welcome attempt per join",
        )
        await asyncio.sleep(1.5)
        attempts = discord_standin.requests_matching(f"POST /channels/{server.welcome}/messages")
        assert [r.status for r in attempts] == [403, 403, 403], "a refused post was retried"
        assert len(discord_standin.messages_in(server.managers)) == 1, "managers were told more than once"
        assert f"<#{server.welcome}>" in notice["content"] and "permission" in notice["content"].lower()
        assert bot.scalar("SELECT COUNT(*) FROM guild_notices WHERE guild_id = ?", (server.guild,)) == 1
        assert "missing permission to post" in bot.log()


async def test_every_message_the_bot_sends_blocks_mass_pings(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """A welcome for a member named '@everyone' and a /config reply echoing '@here': no request allows mass pings."""
    require_cog("onboarding")
    server = build_server(discord_standin)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild):
        await configure(
            discord_standin, server, "config channel", setting="welcome_channel", channel=server.welcome
        )
        sent = await discord_standin.interaction_create(
            "config value",
            channel_id=server.general,
            user_id=server.manager,
            options={"setting": "nudge_days", "value": "@here <@&1> @everyone"},
        )
        await discord_standin.wait_for_response(sent.id, timeout=10)
        await discord_standin.member_add(server.guild, username="@everyone")
        await discord_standin.wait_for_message(server.welcome, timeout=10)
        assert_no_mass_pings(discord_standin)


async def test_missing_manage_roles_is_reported_once_when_members_accept_the_rules(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """The bot lacks Manage Roles: two members accept the rules, each is told, managers are told once."""
    require_cog("onboarding")
    server = build_server(discord_standin, bot_permissions=BOT_DEFAULT_PERMISSIONS & ~PERM_MANAGE_ROLES)
    member_role = discord_standin.add_role(server.guild, "Member", position=1)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        for command, options in (
            ("config channel", {"setting": "welcome_channel", "channel": server.welcome}),
            ("config channel", {"setting": "manager_channel", "channel": server.managers}),
            ("config role", {"setting": "member_role", "role": member_role}),
            ("config value", {"setting": "rules_gate", "value": "yes"}),
        ):
            sent = await discord_standin.interaction_create(
                command, channel_id=server.general, user_id=server.manager, options=options
            )
            await discord_standin.wait_for_response(sent.id, timeout=10)
        for name in ("nadia", "omar"):
            newcomer = await discord_standin.member_add(server.guild, username=name)

            def welcome_for(user_id: int = newcomer) -> dict | None:
                found = [
                    m for m in discord_standin.messages_in(server.welcome) if f"<@{user_id}>" in m["content"]
                ]
                return found[0] if found and found[0]["components"] else None

            welcome = await discord_standin.wait_for(welcome_for, timeout=10)
            button = next(
                c["custom_id"]
                for row in welcome["components"]
                for c in row["components"]
                if c.get("type") == 2 and c.get("style") == 3
            )
            click = await discord_standin.component_click(int(welcome["id"]), newcomer, button)
            answer = await discord_standin.wait_for_response(click.id, timeout=10)
            assert int(answer.body["data"]["flags"]) & EPHEMERAL
        await discord_standin.wait_for_message(server.managers, timeout=10)
        await asyncio.sleep(1.0)
        notices = discord_standin.messages_in(server.managers)
        assert len(notices) == 1, [n["content"] for n in notices]
        assert "role" in notices[0]["content"].lower()
        refused = discord_standin.requests_matching("PUT /guilds/*/members/*/roles/*")
        assert [r.status for r in refused] == [403, 403]
        assert bot.scalar("SELECT COUNT(*) FROM guild_notices") == 1


HEATED = [
    ("bob", "I think the new rules are fine"),
    ("alice", "you are a stupid idiot, shut up"),
    ("bob", "shut up yourself, you pathetic moron"),
    ("alice", "get lost loser, nobody asked you"),
    ("bob", "you're the loser here, idiot"),
]


async def test_heated_exchange_is_flagged_once_to_moderators(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Real messages through the gateway → activity → conflict: one flag posted in the moderators' channel."""
    require_cog("conflict", "activity")
    server = build_server(discord_standin)
    people = {
        "alice": discord_standin.add_member(server.guild, username="alice"),
        "bob": discord_standin.add_member(server.guild, username="bob"),
    }
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild) as bot:
        await configure(
            discord_standin, server, "config channel", setting="moderator_channel", channel=server.managers
        )
        previous = None
        for name, text in HEATED:
            message = await discord_standin.message_create(
                server.general, people[name], text, reply_to=previous
            )
            previous = int(message["id"])
            await asyncio.sleep(0.2)
        flag = await discord_standin.wait_for_message(server.managers, timeout=15)
        await asyncio.sleep(1.0)
        flags = [m for m in discord_standin.messages_in(server.managers) if m["embeds"]]
        assert len(flags) == 1 and flag["embeds"]
        assert bot.scalar("SELECT COUNT(*) FROM conflict_flags WHERE guild_id = ?", (server.guild,)) == 1
        assert_no_mass_pings(discord_standin)


def _leaves(options: list[dict], path: tuple[str, ...]) -> list[tuple[str, list[dict]]]:
    """Flatten a synced command into (full name, leaf options) pairs."""
    subs = [o for o in options if o.get("type") in (1, 2)]
    if not subs:
        return [(" ".join(path), options)]
    found: list[tuple[str, list[dict]]] = []
    for sub in subs:
        found += _leaves(sub.get("options", []), (*path, sub["name"]))
    return found


def _plausible(schema: list[dict], server: Server, role: int) -> dict[str, object] | None:
    """Values a manager could plausibly send for each option; None when a command needs a file."""
    values: dict[str, object] = {}
    for option in schema:
        kind = option["type"]
        if option.get("choices"):
            values[option["name"]] = option["choices"][0]["value"]
        elif kind == 3:
            values[option["name"]] = "welcome_channel" if option.get("autocomplete") else "hello"
        elif kind in (4, 10):
            values[option["name"]] = option.get("min_value") or 1
        elif kind == 5:
            values[option["name"]] = False
        elif kind == 6:
            values[option["name"]] = server.member
        elif kind == 7:
            values[option["name"]] = server.general
        elif kind == 8:
            values[option["name"]] = role
        elif kind == 11:
            if option.get("required"):
                return None
        elif option.get("required"):
            return None
    return values


async def test_every_synced_command_answers_a_manager_in_time_without_an_unexpected_error(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Each feature's commands through the real process: answered (or deferred) within Discord's 3 s, no crash."""
    from bot.core.i18n import Catalog

    unexpected = Catalog.load().t("en", "errors.unexpected", code="@@").split("@@")[0]
    server = build_server(discord_standin)
    role = discord_standin.add_role(server.guild, "Helpers", position=1)
    async with running_bot(discord_standin, tmp_path, guild_id=server.guild, wait="ready") as bot:
        commands = [
            leaf
            for command in discord_standin.guild_commands[server.guild]
            for leaf in _leaves(command.get("options", []), (command["name"],))
        ]
        failures = []
        for name, schema in commands:
            options = _plausible(schema, server, role)
            if options is None:
                continue
            sent = await discord_standin.interaction_create(
                name, channel_id=server.general, user_id=server.manager, options=options
            )
            try:
                first = await discord_standin.wait_for_response(sent.id, timeout=10)
            except TimeoutError:
                failures.append(f"/{name}: no answer")
                continue
            if first.kind == "callback" and first.type == 5:
                await discord_standin.wait_for_response(sent.id, count=2, timeout=20)
            texts = [reply_text(r.body) for r in discord_standin.responses_to(sent.id)]
            if any(unexpected and unexpected in t for t in texts):
                failures.append(f"/{name}: {texts}")
        assert len(commands) >= 10
        assert not failures, "\n".join(failures)
        late = [r for r in discord_standin.requests if r.status == 404 and "/callback" in r.path]
        assert not late, f"answered after Discord's 3 s deadline: {[r.path for r in late]}"
        assert "Traceback" not in bot.log()


async def test_run_publishes_the_commands_globally_on_first_start_and_not_again_when_unchanged(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """No HEARTH_DEV_GUILD_ID: `run` itself publishes the commands (with French names), once."""
    build_server(discord_standin)
    bot = BotProcess(discord_standin, tmp_path)
    await bot.start()
    try:
        await bot.wait_ready()
        puts = discord_standin.requests_matching("PUT /applications/*/commands")
        assert len(puts) == 1, "the first start must publish the commands globally"
        published = {c["name"]: c for c in discord_standin.global_commands}
        assert {"config", "privacy", "stats"} <= set(published)
        assert published["privacy"]["name_localizations"]["fr"] == "confidentialite"
        assert "published" in bot.log() and "globally" in bot.log()
        assert await bot.terminate() == 0
        await bot.start()
        await bot.wait_ready()
        assert len(discord_standin.requests_matching("PUT /applications/*/commands")) == 1
        assert "slash commands unchanged" in bot.log()
    finally:
        await bot.kill()


async def test_discord_unreachable_at_start_is_retried_with_back_off_until_it_answers(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    """Discord down when the bot starts: it waits and tries again, then connects once Discord is back."""
    build_server(discord_standin)
    await discord_standin.stop()  # nothing listens on the stand-in's port now
    bot = BotProcess(discord_standin, tmp_path)
    await bot.start()
    try:
        await bot.wait_log("cannot reach Discord", count=2, within=20)
        assert bot.proc is not None and bot.proc.returncode is None
        await discord_standin.start()  # the same port
        await bot.wait_ready()
        output = bot.log()
        assert "Traceback" not in output
        assert "trying again in 1s" in output and "trying again in 2s" in output
    finally:
        await bot.kill()
