"""Prove the Discord stand-in against a plain discord.py bot (not Hearth's)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import discord
import pytest
from discord import app_commands
from discord.ext import commands
from discord.http import Route

from tests.e2e.conftest import TEST_TOKEN
from tests.e2e.standin import DiscordStandIn, discord_py_pointed_at

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

INTENTS = discord.Intents.default() | discord.Intents(members=True, message_content=True)


@dataclass
class World:
    """Ids of the guild built for a test."""

    guild: int
    general: int
    readonly: int
    alice: int
    bob: int
    helper_role: int


@dataclass
class Seen:
    """What the tiny test bot observed."""

    messages: list[discord.Message] = field(default_factory=list)
    joins: list[discord.Member] = field(default_factory=list)
    reactions: list[discord.RawReactionActionEvent] = field(default_factory=list)
    resumed: int = 0


def build_world(standin: DiscordStandIn) -> World:
    """Create one guild with two members, a role and two channels."""
    guild = standin.add_guild("Hearth test")
    helper = standin.add_role(guild, "helper")
    return World(
        guild=guild,
        general=standin.add_channel(guild, "general"),
        readonly=standin.add_channel(guild, "announcements", bot_can_send=False),
        alice=standin.add_member(guild, username="alice"),
        bob=standin.add_member(guild, username="bob", roles=[helper]),
        helper_role=helper,
    )


class QuickBot(commands.Bot):
    """A bot that re-IDENTIFYs at once (discord.py's default hook sleeps 5 s before each re-IDENTIFY)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Skip the 5-second pause."""


def make_bot(seen: Seen, *, intents: discord.Intents = INTENTS) -> commands.Bot:
    """Build a tiny bot: replies to !ping, records events, has /echo, /role give and a button."""
    bot = QuickBot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author == bot.user:
            return
        seen.messages.append(message)
        if message.content == "!ping":
            await message.reply("pong")
        await bot.process_commands(message)

    @bot.event
    async def on_member_join(member: discord.Member) -> None:
        seen.joins.append(member)

    @bot.event
    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        seen.reactions.append(payload)

    @bot.event
    async def on_resumed() -> None:
        seen.resumed += 1

    @bot.tree.command(name="echo", description="Repeat the text")
    @app_commands.describe(text="What to repeat", times="How many times")
    async def echo(interaction: discord.Interaction, text: str, times: int = 1) -> None:
        await interaction.response.send_message(" ".join([text] * times), ephemeral=True)

    @bot.tree.command(name="slow", description="Defer, then edit the original response")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.edit_original_response(content="done")

    @bot.tree.command(name="sleepy", description="Answer too late")
    async def sleepy(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        await interaction.response.send_message("late")

    role_group = app_commands.Group(name="role", description="Role tools", guild_only=True)

    @role_group.command(name="give", description="Give a role")
    async def give(interaction: discord.Interaction, member: discord.Member, role: discord.Role) -> None:
        await interaction.response.defer(thinking=True)
        await member.add_roles(role)
        await interaction.followup.send(f"gave {role.name} to {member.display_name}")

    bot.tree.add_command(role_group)

    class Counter(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=30)
            self.count = 0

        @discord.ui.button(label="+1", custom_id="counter:add")
        async def add(self, interaction: discord.Interaction, button: discord.ui.Button[Counter]) -> None:
            self.count += 1
            await interaction.response.edit_message(content=f"count {self.count}", view=self)

    @bot.command(name="counter")
    async def counter(ctx: commands.Context[commands.Bot]) -> None:
        await ctx.send("count 0", view=Counter())

    return bot


@contextlib.asynccontextmanager
async def running(
    standin: DiscordStandIn, bot: discord.Client, *, within: float = 5.0
) -> AsyncIterator[discord.Client]:
    """Run ``bot`` against the stand-in until it is ready; close it and restore discord.py afterwards."""
    with discord_py_pointed_at(standin):
        task = asyncio.create_task(bot.start(TEST_TOKEN))
        ready = asyncio.create_task(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait({task, ready}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
            if ready not in done:
                raise TimeoutError("bot did not become ready")
            yield bot
        finally:
            ready.cancel()
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, within)


async def test_login_uses_requested_intents_and_caches_guild(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    bot = make_bot(Seen())
    async with running(discord_standin, bot):
        identify = discord_standin.identifies[0]
        assert identify["intents"] == INTENTS.value
        assert identify["token"] == TEST_TOKEN
        assert discord_standin.requests_matching("GET /users/@me")
        assert discord_standin.requests_matching("GET /oauth2/applications/@me")
        guild = bot.get_guild(world.guild)
        assert guild is not None and guild.chunked
        assert {m.name for m in guild.members} >= {"alice", "bob"}
        assert guild.get_member(world.bob).get_role(world.helper_role) is not None
        assert bot.application_id == discord_standin.application_id
        announcements = guild.get_channel(world.readonly)
        assert not announcements.permissions_for(guild.me).send_messages
        assert discord_standin.heartbeat_count >= 1


async def test_message_reaches_bot_and_reply_is_recorded(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    seen = Seen()
    async with running(discord_standin, make_bot(seen)):
        ping = await discord_standin.message_create(world.general, world.alice, "!ping")
        reply = await discord_standin.wait_for_message(world.general, timeout=3)
    assert reply["content"] == "pong"
    assert reply["message_reference"]["message_id"] == ping["id"]
    assert [m.content for m in seen.messages] == ["!ping"]
    assert seen.messages[0].author.id == world.alice


async def test_message_content_is_hidden_without_the_intent(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    seen = Seen()
    intents = discord.Intents.default()
    async with running(discord_standin, make_bot(seen, intents=intents)):
        await discord_standin.message_create(world.general, world.alice, "secret")
        await discord_standin.wait_for(lambda: seen.messages, 5)
    assert seen.messages[0].content == ""


async def test_member_join_and_reaction_events(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    seen = Seen()
    async with running(discord_standin, make_bot(seen)) as bot:
        carol = await discord_standin.member_add(world.guild, username="carol")
        message = await discord_standin.message_create(world.general, world.alice, "react here")
        await discord_standin.reaction_add(world.general, int(message["id"]), world.bob, "🎉")
        await discord_standin.wait_for(lambda: seen.joins and seen.reactions, 5)
        assert bot.get_guild(world.guild).get_member(carol) is not None
    assert seen.joins[0].name == "carol"
    assert str(seen.reactions[0].emoji) == "🎉"
    assert seen.reactions[0].member.id == world.bob


async def test_slash_command_is_synced_and_invoked(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        await bot.tree.sync()
        sync = discord_standin.requests_matching("PUT /applications/{application_id}/commands")
        assert [c["name"] for c in sync[0].json] == ["echo", "slow", "sleepy", "role"]

        sent = await discord_standin.interaction_create(
            "echo", channel_id=world.general, user_id=world.alice, options={"text": "hi", "times": 2}
        )
        reply = await discord_standin.wait_for_response(sent.id, timeout=3)
    assert reply.kind == "callback"
    assert reply.type == 4
    assert reply.body["data"]["content"] == "hi hi"
    assert reply.body["data"]["flags"] == 64
    assert sent.payload["data"]["options"][1] == {"name": "times", "type": 4, "value": 2}


async def test_subcommand_with_member_and_role_options_defers_then_follows_up(
    discord_standin: DiscordStandIn,
) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        bot.tree.copy_global_to(guild=discord.Object(world.guild))
        await bot.tree.sync(guild=discord.Object(world.guild))
        assert discord_standin.guild_commands[world.guild]
        sent = await discord_standin.interaction_create(
            "role give",
            channel_id=world.general,
            user_id=world.bob,
            options={"member": world.alice, "role": world.helper_role},
        )
        followup = await discord_standin.wait_for_response(sent.id, count=2, timeout=3)
    callback = discord_standin.responses_to(sent.id)[0]
    assert callback.type == 5
    assert followup.kind == "followup"
    assert followup.body["content"] == "gave helper to alice"
    role_put = f"PUT /guilds/{world.guild}/members/{world.alice}/roles/{world.helper_role}"
    assert discord_standin.requests_matching(role_put)[0].status == 204
    assert str(world.helper_role) in discord_standin.guilds[world.guild].members[world.alice]["roles"]


async def test_button_click_edits_the_message(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())):
        await discord_standin.message_create(world.general, world.alice, "!counter")
        panel = await discord_standin.wait_for_message(world.general, timeout=3)
        sent = await discord_standin.component_click(int(panel["id"]), world.bob, "counter:add")
        reply = await discord_standin.wait_for_response(sent.id, timeout=3)
    assert reply.type == 7
    assert discord_standin.messages[int(panel["id"])]["content"] == "count 1"


async def test_rate_limited_send_is_retried_and_posted_once(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    discord_standin.fail_next("POST /channels/{channel_id}/messages", 429, retry_after=0.2)
    async with running(discord_standin, make_bot(Seen())) as bot:
        await bot.get_channel(world.general).send("hello")
    posts = discord_standin.requests_matching("POST /channels/*/messages")
    assert [p.status for p in posts] == [429, 200]
    assert [m["content"] for m in discord_standin.messages_in(world.general)] == ["hello"]


async def test_missing_send_permission_raises_forbidden(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        with pytest.raises(discord.Forbidden) as caught:
            await bot.get_channel(world.readonly).send("nope")
    assert caught.value.code == 50013
    assert discord_standin.messages_in(world.readonly) == []


@pytest.mark.parametrize("how", ["close-4000", "tcp-cut", "op7-reconnect"])
async def test_dropped_connection_resumes_and_replays_missed_events(
    discord_standin: DiscordStandIn, how: str
) -> None:
    world = build_world(discord_standin)
    seen = Seen()
    async with running(discord_standin, make_bot(seen)):
        if how == "op7-reconnect":
            await discord_standin.request_reconnect()
            await discord_standin.wait_for(lambda: not discord_standin.connected, 3)
        else:
            await discord_standin.drop_connection(abrupt=how == "tcp-cut")
        await discord_standin.message_create(world.general, world.alice, "sent while down")
        await discord_standin.wait_for(
            lambda: discord_standin.resumes and discord_standin.connected, timeout=3
        )
        await discord_standin.message_create(world.general, world.alice, "after resume")
        await discord_standin.wait_for(lambda: len(seen.messages) == 2 and seen.resumed, 5)
    assert [m.content for m in seen.messages] == ["sent while down", "after resume"]
    assert len(discord_standin.identifies) == 1


async def test_invalidated_session_identifies_again(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    discord_standin.resume_enabled = False
    seen = Seen()
    async with running(discord_standin, make_bot(seen)):
        await discord_standin.drop_connection()
        await discord_standin.wait_until_identified(count=2, timeout=3)
        await discord_standin.message_create(world.general, world.alice, "after re-identify")
        await discord_standin.wait_for(lambda: seen.messages, 5)
    assert len(discord_standin.resumes) == 1
    assert seen.messages[0].content == "after re-identify"


async def test_burst_of_messages_is_delivered(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    seen = Seen()
    async with running(discord_standin, make_bot(seen)):
        await discord_standin.burst(500, [world.general], [world.alice, world.bob])
        await discord_standin.wait_for(lambda: len(seen.messages) == 500, 5)
    assert seen.messages[-1].content == "load test message 499"


async def test_unknown_route_is_answered_404_and_recorded(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        with pytest.raises(discord.NotFound):
            await bot.http.request(Route("GET", "/guilds/{guild_id}/bans", guild_id=world.guild))
    assert [r.key for r in discord_standin.unknown_routes] == [f"GET /guilds/{world.guild}/bans"]
    discord_standin.unknown_routes.clear()  # expected here; the fixture fails on leftovers


async def test_everyday_rest_routes_parse_in_discord_py(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        guild = bot.get_guild(world.guild)
        general = guild.get_channel(world.general)
        await general.edit(slowmode_delay=10)
        await discord_standin.wait_for(lambda: guild.get_channel(world.general).slowmode_delay == 10, 3)

        upload = await general.send("file", file=discord.File(io.BytesIO(b"abc"), "notes.txt"))
        assert upload.attachments[0].filename == "notes.txt"
        assert upload.attachments[0].size == 3
        await upload.delete()
        message = await general.send("first")
        await message.edit(content="second")
        await message.add_reaction("✅")
        await message.remove_reaction("✅", guild.me)
        assert (await general.fetch_message(message.id)).content == "second"
        await message.delete()

        alice = await guild.fetch_member(world.alice)
        assert alice.name == "alice"
        assert {r.name for r in await guild.fetch_roles()} >= {"@everyone", "helper"}
        assert (await bot.fetch_channel(world.general)).name == "general"
        await guild.get_member(world.bob).remove_roles(discord.Object(world.helper_role))

        await alice.send("welcome")
        discord_standin.block_dms(world.bob)
        with pytest.raises(discord.Forbidden) as caught:
            await guild.get_member(world.bob).send("hello?")

    assert caught.value.code == 50007
    assert discord_standin.guilds[world.guild].channels[world.general]["rate_limit_per_user"] == 10
    assert discord_standin.messages_in(world.general) == []
    assert discord_standin.reactions == []
    assert discord_standin.guilds[world.guild].members[world.bob]["roles"] == []
    assert [m["content"] for m in discord_standin.dms_to(world.alice)] == ["welcome"]


async def test_deferred_response_is_edited(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        await bot.tree.sync()
        sent = await discord_standin.interaction_create("slow", channel_id=world.general, user_id=world.alice)
        edit = await discord_standin.wait_for_response(sent.id, count=2, timeout=3)
    callback = discord_standin.responses_to(sent.id)[0]
    assert (callback.type, callback.body["data"]["flags"]) == (5, 64)
    assert edit.kind == "edit"
    original = discord_standin.messages[edit.message_id]
    assert original["content"] == "done"
    assert original["flags"] == 64  # the "loading" flag is gone, the ephemeral one stays


async def test_late_interaction_response_is_rejected_like_discord(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    discord_standin.interaction_deadline = 0.1
    async with running(discord_standin, make_bot(Seen())) as bot:
        await bot.tree.sync()
        await discord_standin.interaction_create("sleepy", channel_id=world.general, user_id=world.alice)
        rejected = await discord_standin.wait_for_request("POST /interactions/*", timeout=3)
    assert rejected.status == 404
    assert discord_standin.interaction_responses == []


async def test_server_error_is_retried(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    discord_standin.fail_next("GET /channels/{channel_id}", 500)
    async with running(discord_standin, make_bot(Seen())) as bot:
        channel = await bot.fetch_channel(world.general)
    assert channel.id == world.general
    assert [r.status for r in discord_standin.requests_matching("GET /channels/{channel_id}")] == [500, 200]


async def test_a_repeated_nonce_returns_the_message_already_posted(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        channel = bot.get_channel(world.general)
        first = await channel.send("reminder", nonce="job-1")
        again = await channel.send("reminder", nonce="job-1")  # a retry: discord.py sends enforce_nonce
        other = await channel.send("reminder", nonce="job-2")
        assert again.id == first.id and other.id != first.id
        assert [m["content"] for m in discord_standin.messages_in(world.general)] == ["reminder", "reminder"]
        created = [
            d for e, d in discord_standin.dispatched if e == "MESSAGE_CREATE" and d["content"] == "reminder"
        ]
        assert len(created) == 2  # the repeat was not delivered again
        posts = discord_standin.requests_matching("POST /channels/*/messages")
        assert all(p.json["enforce_nonce"] is True for p in posts)

        # The nonce of a message deleted a moment ago is refused; past the window a nonce is free again.
        await first.delete()
        with pytest.raises(discord.NotFound):
            await channel.send("reminder", nonce="job-1")
        discord_standin.nonce_window = 0.0
        late = await channel.send("reminder", nonce="job-2")
        assert late.id != other.id
    assert len(discord_standin.messages_in(world.general)) == 2


async def test_a_held_post_lands_or_not_while_its_answer_waits(discord_standin: DiscordStandIn) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        channel = bot.get_channel(world.general)
        dropped = discord_standin.hold_next_post(world.general, after_storing=False)
        sending = asyncio.create_task(channel.send("lost", nonce="a"))
        await asyncio.wait_for(dropped.reached.wait(), 5)
        assert discord_standin.messages_in(world.general) == []
        discord_standin.release_held_posts()
        with pytest.raises(discord.DiscordServerError):
            await sending

        stored = discord_standin.hold_next_post(world.general, after_storing=True)
        sending = asyncio.create_task(channel.send("landed", nonce="b"))
        await asyncio.wait_for(stored.reached.wait(), 5)
        assert [m["content"] for m in discord_standin.messages_in(world.general)] == ["landed"]
        assert not sending.done()  # the bot has not heard back
        discord_standin.release_held_posts()
        assert (await sending).content == "landed"


async def test_a_post_stored_then_failed_is_returned_to_a_retry_with_its_nonce(
    discord_standin: DiscordStandIn,
) -> None:
    world = build_world(discord_standin)
    async with running(discord_standin, make_bot(Seen())) as bot:
        channel = bot.get_channel(world.general)
        discord_standin.fail_next_post_after_storing(world.general, 503)
        with pytest.raises(discord.DiscordServerError):
            await channel.send("nudge", nonce="job-7")
        assert [m["content"] for m in discord_standin.messages_in(world.general)] == ["nudge"]
        retried = await channel.send("nudge", nonce="job-7")
        assert [int(m["id"]) for m in discord_standin.messages_in(world.general)] == [retried.id]
