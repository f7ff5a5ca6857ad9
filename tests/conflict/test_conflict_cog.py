"""Conflict flags through the simulated Discord: messages in, one flag embed out, buttons, learning."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
import pytest

import bot.conflict.flags as flags_module
from bot.core.settings import Settings
from bot.discord_glue.client import HearthBot
from cogs.activity import event_from_message
from tests.conftest import make_bot
from tests.helpers import World

HEATED = [
    ("bob", "I think the new rules are fine"),
    ("alice", "you are a stupid idiot, shut up"),
    ("bob", "shut up yourself, you pathetic moron"),
    ("alice", "get lost loser, nobody asked you"),
    ("bob", "you're the loser here, idiot"),
]
BANTER = [
    ("alice", "you're a crazy genius lol"),
    ("bob", "haha you idiot I love you"),
    ("alice", "lol thanks mate, see you tonight"),
    ("bob", "haha you idiot I love you"),
]
NOOB_BANTER = [
    ("alice", "you absolute noob, stop lying you noob"),
    ("bob", "noob noob noob, you noob clown"),
    ("alice", "lol whatever noob, you noob"),
]


class Scene:
    """Two regulars in #general, a moderators' channel and a moderator."""

    def __init__(self, world: World) -> None:
        self.world = world
        mod_role = world.guild.create_role("Mods", permissions=discord.Permissions(manage_messages=True))
        self.mod = world.add_member("moira", roles=(mod_role,))
        self.alice = world.add_member("alice")
        self.bob = world.add_member("bob")
        self.carol = world.add_member("carol")
        self.mods = world.guild.create_text_channel("mods")

    async def setup(self) -> None:
        await self.world.bot.settings.set(self.world.guild.id, "moderator_channel", self.mods.id)

    async def play(
        self, lines: list[tuple[str, str]], channel: Any = None, *, reply: bool = True, gap: float = 20
    ) -> list[discord.Message]:
        """Post each line `gap` seconds apart, each replying to the one before unless reply is False."""
        channel = channel or self.world.general
        sent: list[discord.Message] = []
        for name, text in lines:
            await self.world.env.advance_time(gap)
            author = getattr(self, name)
            sent.append(await author.send(channel, text, reply_to=sent[-1] if sent and reply else None))
        return sent

    def flags(self) -> list[discord.Message]:
        return [m for m in self.mods.history() if m.embeds]

    def texts(self, channel: Any) -> list[str]:
        return [m.content for m in channel.history()]


@pytest.fixture
async def scene(world: World) -> Scene:
    s = Scene(world)
    await s.setup()
    return s


def field(embed: discord.Embed, name: str) -> str:
    return next(f.value for f in embed.fields if f.name == name) or ""


async def test_heated_exchange_posts_exactly_one_flag_with_reasons_excerpt_and_links(scene: Scene) -> None:
    sent = await scene.play(HEATED)
    flags = scene.flags()
    assert len(flags) == 1
    embed = flags[0].embeds[0]
    why = field(embed, "Why")
    assert f"insult aimed at <@{scene.bob.id}>" in why or f"insult aimed at <@{scene.alice.id}>" in why
    assert f"<@{scene.alice.id}> and <@{scene.bob.id}> trading hostile replies" in why
    assert scene.alice.mention in field(embed, "Who") and scene.bob.mention in field(embed, "Who")
    assert f"<#{scene.world.general.id}>" in field(embed, "Where")
    assert embed.description and "stupid idiot" in embed.description
    assert f"/{scene.world.general.id}/{sent[1].id})" in embed.description
    labels = [c["label"] for row in flags[0].components for c in row.to_dict()["components"]]
    assert labels == ["Acknowledge", "Handled", "False positive", "Post a calm-down note"]
    rows = await scene.world.bot.db.fetchall("SELECT * FROM conflict_flags")
    assert len(rows) == 1 and rows[0]["post_message_id"] == flags[0].id


async def test_heated_exchange_without_replies_is_flagged_once(scene: Scene) -> None:
    # Nobody uses Discord's reply: "you…" is read as aimed at whoever spoke last.
    await scene.play(HEATED, reply=False)
    flags = scene.flags()
    assert len(flags) == 1
    why = field(flags[0].embeds[0], "Why")
    assert f"<@{scene.alice.id}> and <@{scene.bob.id}> trading hostile replies" in why


async def test_friendly_banter_without_replies_is_not_flagged(scene: Scene) -> None:
    # Read as aimed at each other ("you…"), and still friendly.
    await scene.play(BANTER, reply=False)
    assert scene.flags() == []


async def test_second_person_long_after_the_last_message_is_aimed_at_no_one(scene: Scene) -> None:
    # Ten minutes between lines: "you…" can no longer be taken as an answer to the previous author.
    await scene.play(HEATED, reply=False, gap=600)
    assert scene.flags() == []


def record_scoring(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Record every call to the scorer the flag service makes: (text, keyword arguments)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    real = flags_module.score_message

    def recording(text: str, **kwargs: Any) -> Any:
        calls.append((text, kwargs))
        return real(text, **kwargs)

    monkeypatch.setattr(flags_module, "score_message", recording)
    return calls


async def test_second_person_line_is_aimed_at_the_only_other_speaker(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_scoring(monkeypatch)
    lines = [("bob", "the new rules are fine"), ("alice", "the weather is nice"), ("alice", "you are wrong")]
    await scene.play(lines, reply=False)
    # Only the last line speaks to someone (bob, the only other speaker); the others are not scored.
    assert [kwargs["addressed"] for _, kwargs in calls] == [True]


async def test_friendly_banter_among_regulars_is_not_flagged(scene: Scene) -> None:
    await scene.play(BANTER)
    assert scene.flags() == []
    assert await scene.world.bot.db.fetchval("SELECT COUNT(*) FROM conflict_flags") == 0


async def test_each_aimed_message_is_scored_exactly_once(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_scoring(monkeypatch)
    sent = await scene.play(BANTER[:2])
    # The first message answers no one (heat counts only aimed messages): not scored. The reply is.
    assert [text for text, _ in calls] == [BANTER[1][1]]
    # A second delivery of the same message (a gateway replay, say) is ignored.
    event = event_from_message(sent[1])
    assert event is not None
    again = await scene.world.bot.services.activity.handle_message(event)
    assert again is not None
    assert again.reply_to_author_id == scene.alice.id  # aimed: only the seen-check keeps it unscored
    scene.world.bot.dispatch("hearth_message", sent[1], again)
    await scene.world.env.settle()
    assert len(calls) == 1


async def test_excerpt_cannot_ping_anyone(scene: Scene) -> None:
    ping = f"@everyone {scene.carol.mention} look at this stupid idiot, shut up"
    await scene.play([("bob", "hello"), ("alice", ping), ("bob", "shut up you pathetic moron")])
    flags = scene.flags()
    assert len(flags) == 1
    description = flags[0].embeds[0].description or ""
    assert "stupid idiot" in description
    assert "@everyone" not in description and scene.carol.mention not in description
    assert flags[0].content == ""


async def test_acknowledge_then_handled_updates_post_and_deletes_excerpt(scene: Scene) -> None:
    await scene.play(HEATED)
    post = scene.flags()[0]
    result = await scene.mod.click(post, label="Acknowledge")
    assert result.followups and "on it" in result.followups[0].content
    post = scene.flags()[0]
    assert "Acknowledged" in field(post.embeds[0], "Status")
    assert scene.mod.mention in field(post.embeds[0], "Status")
    await scene.mod.click(post, label="Handled")
    post = scene.flags()[0]
    assert "stupid idiot" not in (post.embeds[0].description or "")
    assert post.components == []
    assert await scene.world.bot.db.fetchval("SELECT COUNT(*) FROM conflict_excerpts") == 0
    row = await scene.world.bot.db.fetchone("SELECT status, closed_by FROM conflict_flags")
    assert row is not None and (row["status"], row["closed_by"]) == ("handled", scene.mod.id)


async def test_false_positive_changes_the_next_decision(scene: Scene) -> None:
    await scene.play(NOOB_BANTER)
    assert len(scene.flags()) == 1
    result = await scene.mod.click(scene.flags()[0], label="False positive")
    assert "false positive" in result.followups[0].content
    policy = await scene.world.bot.get_cog("ConflictCog").service.policy(scene.world.guild.id)  # type: ignore[union-attr]
    assert policy.offset > 0 and "noob" in policy.allow_terms
    await scene.world.env.advance_time(2 * 3600)
    await scene.play(NOOB_BANTER)
    assert len(scene.flags()) == 1


async def test_calm_down_note_posts_in_channel_sets_and_resets_slow_mode(scene: Scene) -> None:
    bot = scene.world.bot
    await bot.settings.set(scene.world.guild.id, "calm_note", "Breathe, friends 🌿")
    await bot.settings.set(scene.world.guild.id, "calm_slowmode_minutes", 5)
    await scene.play(HEATED)
    result = await scene.mod.click(scene.flags()[0], label="Post a calm-down note")
    assert "posted" in result.followups[0].content
    assert scene.texts(scene.world.general)[-1] == "Breathe, friends 🌿"
    channel = bot.get_channel(scene.world.general.id)
    assert isinstance(channel, discord.TextChannel) and channel.slowmode_delay == 300
    assert "calm-down note posted" in field(scene.flags()[0].embeds[0], "Status")
    await scene.world.env.advance_time(301)
    await bot.scheduler.run_due()
    await scene.world.env.settle()
    channel = bot.get_channel(scene.world.general.id)
    assert isinstance(channel, discord.TextChannel) and channel.slowmode_delay == 0


async def test_calm_down_note_without_slow_mode_by_default(scene: Scene) -> None:
    await scene.play(HEATED)
    await scene.mod.click(scene.flags()[0], label="Post a calm-down note")
    assert "things are getting a bit heated" in scene.texts(scene.world.general)[-1]
    channel = scene.world.bot.get_channel(scene.world.general.id)
    assert isinstance(channel, discord.TextChannel) and channel.slowmode_delay == 0


async def test_non_moderator_is_refused_on_buttons(scene: Scene) -> None:
    await scene.play(HEATED)
    result = await scene.carol.click(scene.flags()[0], label="Handled")
    assert result.ephemeral and "Only moderators" in result.response.content
    row = await scene.world.bot.db.fetchone("SELECT status FROM conflict_flags")
    assert row is not None and row["status"] == "open"


async def test_moderator_role_may_press_buttons(scene: Scene) -> None:
    role = scene.world.guild.create_role("Helpers")
    helper = scene.world.add_member("helen", roles=(role,))
    await scene.world.bot.settings.set(scene.world.guild.id, "moderator_role", role.id)
    await scene.play(HEATED)
    await helper.click(scene.flags()[0], label="Acknowledge")
    row = await scene.world.bot.db.fetchone("SELECT status, acked_by FROM conflict_flags")
    assert row is not None and (row["status"], row["acked_by"]) == ("acknowledged", helper.id)


async def test_buttons_survive_a_restart_of_the_view(scene: Scene) -> None:
    await scene.play(HEATED)
    post = scene.flags()[0]
    custom_ids = [c["custom_id"] for row in post.components for c in row.to_dict()["components"]]
    flag_id = await scene.world.bot.db.fetchval("SELECT id FROM conflict_flags")
    assert custom_ids == [f"conflict:{a}:{flag_id}" for a in ("ack", "handled", "fp", "calm")]
    # Dynamic items are matched by custom id alone: no view instance kept in memory is needed.
    scene.world.bot._connection._view_store._views.clear()  # type: ignore[attr-defined]
    await scene.mod.click(post, label="Acknowledge")
    assert await scene.world.bot.db.fetchval("SELECT status FROM conflict_flags") == "acknowledged"


async def test_purge_job_deletes_excerpt_of_flag_left_open(scene: Scene) -> None:
    await scene.play(HEATED)
    bot = scene.world.bot
    jobs = await bot.scheduler.pending(scene.world.guild.id, "conflict.purge")
    assert len(jobs) == 1 and jobs[0].run_at - bot.clock.now() > timedelta(days=6, hours=23)
    # Seven simulated days of gateway heartbeats are slow to replay: bring the job's time forward instead.
    await bot.db.execute("UPDATE scheduled_jobs SET run_at = 0 WHERE id = ?", (jobs[0].id,))
    assert await bot.scheduler.run_due() == 1
    await scene.world.env.settle()
    assert await scene.world.bot.db.fetchval("SELECT COUNT(*) FROM conflict_excerpts") == 0
    post = scene.flags()[0]
    assert "stupid idiot" not in (post.embeds[0].description or "")
    assert "deleted after 7 days" in (post.embeds[0].description or "")


async def test_excluded_channel_via_command_is_not_flagged(scene: Scene) -> None:
    result = await scene.world.manager.slash(
        scene.world.general, "conflict settings exclude", channel=scene.world.general
    )
    assert result.ephemeral and "won't be flagged" in result.response.content
    await scene.play(HEATED)
    assert scene.flags() == []


async def test_manager_sets_threshold_sensitivity_and_sees_settings(scene: Scene) -> None:
    w = scene.world
    result = await w.manager.slash(w.general, "conflict settings threshold", value=2.5)
    assert "2.5" in result.response.content
    await w.manager.slash(w.general, "conflict settings sensitivity", level=2)
    assert await w.bot.settings.get(w.guild.id, "conflict_threshold") == 2.5
    assert await w.bot.settings.get(w.guild.id, "conflict_sensitivity") == 2
    await w.manager.slash(w.general, "config channel", setting="moderator_channel", channel=scene.mods)
    await w.manager.slash(w.general, "conflict settings calm", note="Easy now", slowmode=3)
    assert await w.bot.settings.get(w.guild.id, "calm_slowmode_minutes") == 3
    shown = await w.manager.slash(w.general, "conflict settings show")
    text = shown.response.embeds[0].description or ""
    assert "2.50" in text and f"<#{scene.mods.id}>" in text and "Easy now" in text


async def test_the_moderators_channel_is_set_in_one_place_config_channel(world: World) -> None:
    # /conflict settings channel used to write the same setting as /config channel; only /config is left.
    available = world.manager.available_commands(world.general)
    assert "config channel" in available and "conflict settings show" in available
    assert [c for c in available if c.endswith(" channel") and c != "config channel"] == []
    scene = Scene(world)  # no moderators' channel set yet: managers are told where to set it
    await world.env.settle()
    await scene.play(HEATED)
    assert scene.flags() == []
    for lang, command in (("en", "/config channel"), ("fr", "/config salon")):
        assert command in world.bot.catalog.t(lang, "conflict.notice.no_channel")
    result = await world.manager.slash(
        world.general, "config channel", setting="moderator_channel", channel=scene.mods
    )
    assert scene.mods.mention in result.response.content
    await scene.world.env.advance_time(3600)
    await scene.play(HEATED)
    assert len(scene.flags()) == 1


async def test_stats_report_precision_and_time_to_acknowledge(scene: Scene) -> None:
    await scene.play(HEATED)
    await scene.world.env.advance_time(120)
    await scene.mod.click(scene.flags()[0], label="Handled")
    result = await scene.world.manager.slash(scene.world.general, "conflict stats", days=7)
    text = result.response.embeds[0].description or ""
    assert "1 flags" in text and "1 handled" in text
    assert "Precision as judged by moderators: 100%" in text
    assert "Average time to acknowledge: " in text and "not known" not in text


async def test_plain_member_is_refused_on_conflict_commands(scene: Scene) -> None:
    w = scene.world
    await w.grant_command("conflict", w.member)
    result = await w.member.slash(w.general, "conflict settings threshold", value=3.0)
    assert result.ephemeral and "Manage Server" in result.response.content
    assert not await w.bot.settings.is_set(w.guild.id, "conflict_threshold")
    result = await w.member.slash(w.general, "conflict stats")
    assert "Manage Server" in result.response.content
    assert w.error_keys() == ["NotManager", "NotManager"]


async def test_privacy_export_and_forget(scene: Scene) -> None:
    await scene.play(HEATED)
    bot = scene.world.bot
    exported = await bot.privacy.export(scene.world.guild.id, scene.alice.id)
    assert exported["conflict"]["flags"]
    assert all(
        e["text"] in {t for n, t in HEATED if n == "alice"} for e in exported["conflict"]["own_excerpts"]
    )
    await bot.privacy.forget(scene.world.guild.id, scene.alice.id)
    exported = await bot.privacy.export(scene.world.guild.id, scene.alice.id)
    assert exported["conflict"]["flags"] == [] and exported["conflict"]["own_excerpts"] == []


async def test_escalation_posts_once_more_and_retires_the_first_post(scene: Scene) -> None:
    sent = await scene.play(HEATED[:3])
    assert len(scene.flags()) == 1
    await scene.world.env.advance_time(300)
    worse = [
        ("carol", "shut up alice you stupid pathetic idiot, I will kill you"),
        ("bob", "yeah shut up you disgusting moron"),
        ("carol", "get lost you worthless idiot"),
    ]
    for name, text in worse:
        await scene.world.env.advance_time(20)
        await getattr(scene, name).send(scene.world.general, text, reply_to=sent[2])
    posts = scene.flags()
    assert len(posts) == 2
    first, latest = posts
    assert first.components == [] and "stupid idiot" not in (first.embeds[0].description or "")
    assert latest.embeds[0].title is not None and latest.embeds[0].title.startswith("Getting worse")
    assert "pile-on" in field(latest.embeds[0], "Why")
    rows = await scene.world.bot.db.fetchall("SELECT escalations, post_message_id FROM conflict_flags")
    assert [(r["escalations"], r["post_message_id"]) for r in rows] == [(1, latest.id)]


async def test_a_thread_has_its_own_window_and_the_flag_points_at_it(scene: Scene) -> None:
    parent = scene.world.bot.get_channel(scene.world.general.id)
    assert isinstance(parent, discord.TextChannel)
    await parent.create_thread(name="rules debate", type=discord.ChannelType.public_thread)
    await scene.world.env.settle()
    thread = scene.world.general.threads[0]
    # Half of the quarrel in the channel and half in the thread is two calm windows, not one flag.
    await scene.play(HEATED[:2])
    await scene.play([("bob", "hello"), ("alice", "get lost loser, nobody asked you")], channel=thread)
    assert scene.flags() == []
    await scene.play(HEATED, channel=thread)
    posts = scene.flags()
    assert len(posts) == 1
    assert f"<#{thread.id}>" in field(posts[0].embeds[0], "Where")
    row = await scene.world.bot.db.fetchone("SELECT channel_id, thread_id FROM conflict_flags")
    assert row is not None and (row["channel_id"], row["thread_id"]) == (scene.world.general.id, thread.id)


WORSE = [
    ("carol", "shut up alice you stupid pathetic idiot, I will kill you"),
    ("bob", "yeah shut up you disgusting moron"),
    ("carol", "get lost you worthless idiot"),
]


async def restart(world: World) -> HearthBot:
    """Stop the bot and start a new one on the same database file, as a deploy would."""
    old = world.bot
    new = make_bot(old.config.db_path, old.clock)
    await world.env.restart_bot(new)
    await old.scheduler.shutdown()
    world.bot = new
    guild = new.get_guild(world.guild.id)
    assert guild is not None
    await guild.chunk()
    return new


async def test_a_restart_keeps_the_cooldown_and_an_escalation_updates_the_same_flag(scene: Scene) -> None:
    sent = await scene.play(HEATED)
    assert len(scene.flags()) == 1
    new = await restart(scene.world)
    try:
        # The same quarrel goes on right after the restart: hot enough to flag, but it was just flagged.
        for name, text in HEATED[3:]:
            await scene.world.env.advance_time(20)
            await getattr(scene, name).send(scene.world.general, text, reply_to=sent[-1])
        assert len(scene.flags()) == 1
        assert await new.db.fetchval("SELECT COUNT(*) FROM conflict_flags") == 1
        # Clearly worse a while later, still within the cooldown: one escalation of the same flag.
        await scene.world.env.advance_time(600)
        for name, text in WORSE:
            await scene.world.env.advance_time(20)
            await getattr(scene, name).send(scene.world.general, text, reply_to=sent[-2])  # at alice
        posts = scene.flags()
        assert len(posts) == 2
        first, latest = posts
        assert first.components == []
        assert latest.embeds[0].title is not None and latest.embeds[0].title.startswith("Getting worse")
        rows = await new.db.fetchall("SELECT escalations, post_message_id FROM conflict_flags")
        assert [(r["escalations"], r["post_message_id"]) for r in rows] == [(1, latest.id)]
    finally:
        await new.close()


async def test_after_a_restart_and_the_cooldown_a_new_quarrel_is_flagged_again(scene: Scene) -> None:
    await scene.play(HEATED)
    new = await restart(scene.world)
    try:
        await scene.world.env.advance_time(1800)
        await scene.play(HEATED)
        assert len(scene.flags()) == 2
        assert await new.db.fetchval("SELECT COUNT(*) FROM conflict_flags") == 2
    finally:
        await new.close()


async def test_turning_flagging_off_applies_to_the_very_next_message(scene: Scene) -> None:
    w = scene.world
    sent = await scene.play(HEATED[:2])
    await w.manager.slash(w.general, "conflict settings enabled", enabled=False)
    for name, text in HEATED[2:]:
        await w.env.advance_time(20)
        await getattr(scene, name).send(w.general, text, reply_to=sent[-1])
    assert scene.flags() == []
    await w.manager.slash(w.general, "conflict settings enabled", enabled=True)
    await scene.play(HEATED)
    assert len(scene.flags()) == 1


async def test_a_threshold_set_and_reset_with_config_applies_to_the_very_next_message(scene: Scene) -> None:
    w = scene.world
    await scene.play(BANTER[:1])  # the server's policy is now in use (and cached)
    await w.manager.slash(w.general, "config value", setting="conflict_threshold", value="6")
    sent = await scene.play(HEATED)
    assert scene.flags() == []
    await w.manager.slash(w.general, "config reset", setting="conflict_threshold")
    await w.env.advance_time(20)
    await scene.alice.send(w.general, "you are a stupid idiot, shut up", reply_to=sent[-1])
    assert len(scene.flags()) == 1


async def test_member_messages_do_not_reread_the_settings(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real = Settings.all

    async def counting(self: Settings, guild_id: int) -> dict[str, Any]:
        reads.append(guild_id)
        return await real(self, guild_id)

    monkeypatch.setattr(Settings, "all", counting)
    await scene.play(BANTER + BANTER)
    assert len(reads) <= 1
