"""Onboarding through the simulated Discord: joins, buttons, menus, first messages, jobs, commands."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.discord_glue.client import HearthBot
from cogs.onboarding_views import ACCEPT_ID, INTERESTS_ID, OPT_OUT_ID
from tests.conftest import make_bot
from tests.onboarding.conftest import Onboarding, bot_messages, quiet_timers, texts

HOUR = 3600
DAY = 86400


def component_ids(message: discord.Message) -> list[str]:
    return [c.custom_id for row in message.components for c in row.children if getattr(c, "custom_id", None)]  # type: ignore[attr-defined]


# ----------------------------------------------------------------- welcome


async def test_join_posts_a_welcome_in_the_welcome_channel(ob: Onboarding) -> None:
    alice = await ob.join("alice")
    [welcome] = bot_messages(ob.welcome, ob.world.bot.user.id)  # type: ignore[union-attr]
    assert alice.mention in welcome.content
    assert "Hearth Test" in welcome.content or ob.intro.mention in welcome.content
    assert texts(ob.world.general) == []
    row = await ob.world.bot.db.fetchone(
        "SELECT welcomed_at FROM onboarding_members WHERE guild_id = ? AND user_id = ?",
        (ob.world.guild.id, alice.id),
    )
    assert row is not None and row["welcomed_at"] is not None


async def test_welcomes_rotate_through_the_variants(ob: Onboarding) -> None:
    for name in ("a1", "a2", "a3", "a4"):
        await ob.join(name)
    contents = texts(ob.welcome)
    shapes = [c.split("<@")[0][:12] for c in contents]
    assert len(set(shapes[:3])) == 3  # three shipped variants, each used once before repeating


async def test_welcome_speaks_the_servers_language(ob: Onboarding) -> None:
    await ob.set("language", "fr")
    await ob.join("amelie")
    await ob.join("bruno")
    await ob.join("chloe")
    joined = "\n".join(texts(ob.welcome))
    assert "Bienvenue" in joined or "Salut" in joined or "vient d'arriver" in joined
    assert "Welcome" not in joined and "just arrived" not in joined


async def test_a_managers_variant_is_used_and_previewed(ob: Onboarding) -> None:
    result = await ob.world.manager.slash(
        ob.world.general, "onboarding welcome add", text="Hey {member}, {server} has {member_count} people!"
    )
    assert result.ephemeral
    assert "#" in result.response.content
    assert (
        "has" in result.response.embeds[0].description
        and ob.world.manager.mention in result.response.embeds[0].description
    )
    alice = await ob.join("alice")
    assert texts(ob.welcome)[-1].startswith(f"Hey {alice.mention}, Hearth Test has")


@pytest.mark.parametrize(
    ("text", "expected", "error"),
    [
        ("Hi {nickname}!", "isn't a placeholder I know", "onboarding.errors.unknown_placeholder"),
        ("Hi {member", "brace is not closed", "onboarding.errors.unbalanced_brace"),
        ("{member}" + "x" * 1990, "Discord allows 2000", "onboarding.errors.template_too_long"),
    ],
)
async def test_bad_templates_are_refused_at_configuration_time(
    ob: Onboarding, text: str, expected: str, error: str
) -> None:
    result = await ob.world.manager.slash(ob.world.general, "onboarding welcome add", text=text)
    assert result.ephemeral
    assert expected in result.response.content
    assert await ob.service.templates(ob.world.guild.id) == []
    assert ob.world.error_keys() == [error]


async def test_welcome_edit_list_remove_and_preview(ob: Onboarding) -> None:
    world = ob.world
    await world.manager.slash(world.general, "onboarding welcome add", text="One {member}")
    [variant] = await ob.service.templates(world.guild.id)
    edited = await world.manager.slash(
        world.general, "onboarding welcome edit", variant=variant.id, text="Two {member}"
    )
    assert "updated" in edited.response.content
    listing = await world.manager.slash(world.general, "onboarding welcome list")
    assert "Two {member}" in listing.response.embeds[0].description
    preview = await world.manager.slash(world.general, "onboarding welcome preview", variant=variant.id)
    assert preview.response.embeds[0].description == f"Two {world.manager.mention}"
    removed = await world.manager.slash(world.general, "onboarding welcome remove", variant=variant.id)
    assert "deleted" in removed.response.content
    empty = await world.manager.slash(world.general, "onboarding welcome list")
    assert "default welcomes" in empty.response.content
    default_preview = await world.manager.slash(world.general, "onboarding welcome preview")
    assert world.manager.mention in default_preview.response.embeds[0].description
    missing = await world.manager.slash(world.general, "onboarding welcome remove", variant=variant.id)
    assert "no welcome variant" in missing.response.content
    assert world.error_keys() == ["onboarding.errors.no_template"]


async def test_plain_member_is_refused_onboarding_commands(ob: Onboarding) -> None:
    await ob.world.grant_command("onboarding", ob.world.member)
    result = await ob.world.member.slash(ob.world.general, "onboarding welcome add", text="Hi {member}")
    assert "Manage Server" in result.response.content
    stats = await ob.world.member.slash(ob.world.general, "onboarding stats")
    assert "Manage Server" in stats.response.content
    assert await ob.service.templates(ob.world.guild.id) == []
    assert ob.world.error_keys() == ["NotManager", "NotManager"]


async def test_dm_welcome_when_enabled(ob: Onboarding) -> None:
    await ob.set("onboarding_dm", True)
    alice = await ob.join("alice")
    dms = alice.user.dm_channel.history()
    assert len(dms) == 1 and alice.mention in dms[0].content
    assert texts(ob.welcome) == []


async def test_closed_dms_fall_back_to_the_channel_silently(ob: Onboarding) -> None:
    await ob.set("onboarding_dm", True)
    user = ob.world.env.create_user("closed")
    dm = user.dm_channel
    ob.world.env.inject_error(
        "POST",
        f"/channels/{dm.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
    )
    ob.world.guild.add_member(user)
    await ob.world.env.settle()
    assert dm.history() == []
    assert user.mention in texts(ob.welcome)[0]
    assert texts(ob.world.general) == []  # no complaint to anyone


async def test_bots_are_not_welcomed(ob: Onboarding) -> None:
    ob.world.guild.add_member(ob.world.env.create_user("helper-bot", bot=True))
    await ob.world.env.settle()
    assert texts(ob.welcome) == []


# ---------------------------------------------------------------- raids


async def test_a_raid_gets_one_batched_welcome(ob: Onboarding) -> None:
    await ob.set("raid_joins_per_minute", 3)
    await ob.world.env.advance_time(120)
    joined = [await ob.join(f"raider{n}") for n in range(12)]
    assert len(texts(ob.welcome)) == 3  # the first three, before the rate was exceeded
    assert await ob.later(61) == 1
    contents = texts(ob.welcome)
    assert len(contents) == 4
    batch = contents[-1]
    assert "9 new members" in batch
    assert all(m.mention in batch for m in joined[3:])
    assert "@everyone" not in batch
    assert await ob.later(120) == 0


# ----------------------------------------------------------- rules gate


async def test_accept_button_grants_the_member_role(ob: Onboarding) -> None:
    await ob.set("rules_gate", True)
    alice = await ob.join("alice")
    [welcome] = bot_messages(ob.welcome, ob.world.bot.user.id)  # type: ignore[union-attr]
    assert ACCEPT_ID in component_ids(welcome)
    result = await alice.click(welcome, label="I accept")
    assert result.ephemeral and "welcome aboard" in result.response.content
    assert ob.member_role.id in [r.id for r in alice.member.roles]
    again = await alice.click(welcome, label="I accept")
    assert "already" in again.response.content
    assert await ob.later(25 * HOUR) == 0 or texts(ob.rules) == []
    assert texts(ob.rules) == []


async def test_rules_post_command_and_its_button(ob: Onboarding) -> None:
    result = await ob.world.manager.slash(ob.world.general, "onboarding rules post")
    assert ob.rules.mention in result.response.content
    [message] = bot_messages(ob.rules, ob.world.bot.user.id)  # type: ignore[union-attr]
    await ob.world.member.click(message, custom_id=ACCEPT_ID)
    assert ob.member_role.id in [r.id for r in ob.world.member.member.roles]


async def test_rules_post_refuses_a_channel_the_bot_cannot_post_in(ob: Onboarding) -> None:
    everyone = ob.world.guild.default_role
    locked = ob.world.guild.create_text_channel(
        "locked", overwrites={everyone: discord.PermissionOverwrite(send_messages=False)}
    )
    await ob.world.env.settle()
    result = await ob.world.manager.slash(ob.world.general, "onboarding rules post", channel=locked)
    assert "can't post in" in result.response.content
    assert texts(locked) == []
    assert ob.world.error_keys() == ["errors.channel_not_postable"]


async def test_a_member_who_does_not_accept_gets_one_reminder(ob: Onboarding) -> None:
    await ob.set("rules_gate", True)
    await ob.set("rules_reminder_hours", 6)
    alice = await ob.join("alice")
    await ob.later(5 * HOUR)
    assert texts(ob.rules) == []
    await ob.later(2 * HOUR)
    [reminder] = bot_messages(ob.rules, ob.world.bot.user.id)  # type: ignore[union-attr]
    assert alice.mention in reminder.content
    await alice.click(reminder, label="I accept")
    assert ob.member_role.id in [r.id for r in alice.member.roles]
    await ob.later(DAY)
    assert len(texts(ob.rules)) == 1


async def test_a_pending_reminder_survives_a_restart_and_is_sent_once(ob: Onboarding) -> None:
    world = ob.world
    await ob.set("rules_gate", True)
    await ob.set("rules_reminder_hours", 6)
    alice = await ob.join("alice")
    await ob.later(3 * HOUR)
    old = world.bot
    new: HearthBot = make_bot(old.config.db_path, old.clock)
    await world.env.restart_bot(new)
    await old.scheduler.shutdown()
    await quiet_timers(new)
    world.bot = new
    guild = new.get_guild(world.guild.id)
    assert guild is not None
    await guild.chunk()
    assert len(await new.scheduler.pending(world.guild.id, "onboarding.rules_reminder")) == 1
    await ob.later(4 * HOUR)
    await ob.later(4 * HOUR)
    reminders = [m for m in texts(ob.rules) if alice.mention in m]
    assert len(reminders) == 1
    # The button on a message sent before the restart still works.
    [welcome] = bot_messages(ob.welcome, new.user.id)  # type: ignore[union-attr]
    result = await alice.click(welcome, label="I accept")
    assert "welcome aboard" in result.response.content
    await new.close()


async def test_completed_discord_screening_grants_the_member_role(ob: Onboarding) -> None:
    cog = ob.world.bot.get_cog("OnboardingCog")
    member = ob.world.member.member
    before = discord.Member._copy(member)  # type: ignore[attr-defined]
    before.pending = True
    await cog.on_member_update(before, member)  # type: ignore[union-attr]
    await ob.world.env.settle()
    assert ob.member_role.id in [r.id for r in ob.world.member.member.roles]
    state = await ob.service.export(ob.world.guild.id, member.id)
    assert state["state"]["accepted_at"] is not None


async def test_member_role_above_the_bot_is_reported_not_crashed(ob: Onboarding) -> None:
    high = ob.world.guild.create_role("Too high", position=50)
    await ob.world.env.settle()
    await ob.set("member_role", high.id)  # set behind /config's back, as if the roles were reordered later
    await ob.set("manager_channel", ob.staff.id)
    await ob.set("rules_gate", True)
    alice = await ob.join("alice")
    result = await alice.click(bot_messages(ob.welcome, ob.world.bot.user.id)[0], label="I accept")  # type: ignore[union-attr]
    assert "couldn't give you the role" in result.response.content
    assert any("hand out roles" in t for t in texts(ob.staff))
    assert ob.world.errors() == []  # answered and reported to managers, not an error


# -------------------------------------------------------------- interests


async def test_interests_menu_gives_roles_and_stores_picks(ob: Onboarding) -> None:
    world = ob.world
    games = world.guild.create_role("Games")
    music = world.guild.create_role("Music")
    await world.env.settle()
    await world.manager.slash(world.general, "onboarding interests add", label="Games", role=games)
    added = await world.manager.slash(world.general, "onboarding interests add", label="Music", role=music)
    assert "Music" in added.response.content
    alice = await ob.join("alice")
    [welcome] = bot_messages(ob.welcome, world.bot.user.id)  # type: ignore[union-attr]
    assert INTERESTS_ID in component_ids(welcome)
    offered = await ob.service.interests(world.guild.id)
    result = await alice.select(welcome, [str(offered[0].id), str(offered[1].id)], custom_id=INTERESTS_ID)
    assert "Games, Music" in result.response.content
    assert {games.id, music.id} <= {r.id for r in alice.member.roles}
    await alice.select(welcome, [str(offered[1].id)], custom_id=INTERESTS_ID)
    assert games.id not in {r.id for r in alice.member.roles}
    assert [i.label for i in await ob.service.picks(world.guild.id, alice.id)] == ["Music"]
    listing = await world.manager.slash(world.general, "onboarding interests list")
    assert "Games" in listing.response.content and "Music" in listing.response.content


async def test_interest_role_above_the_bot_is_refused(ob: Onboarding) -> None:
    high = ob.world.guild.create_role("Admins", position=50)
    await ob.world.env.settle()
    result = await ob.world.manager.slash(
        ob.world.general, "onboarding interests add", label="Admin", role=high
    )
    assert "at or above my own role" in result.response.content
    assert await ob.service.interests(ob.world.guild.id) == []
    assert ob.world.error_keys() == ["errors.role_above_bot"]


async def test_interests_post_remove_and_autocomplete(ob: Onboarding) -> None:
    world = ob.world
    games = world.guild.create_role("Games")
    await world.env.settle()
    refused = await world.manager.slash(world.general, "onboarding interests post")
    assert "Add interests" in refused.response.content
    await world.manager.slash(world.general, "onboarding interests add", label="Games", role=games)
    posted = await world.manager.slash(world.general, "onboarding interests post", channel=ob.intro)
    assert ob.intro.mention in posted.response.content
    [menu] = bot_messages(ob.intro, world.bot.user.id)  # type: ignore[union-attr]
    [interest] = await ob.service.interests(world.guild.id)
    await world.member.select(menu, [str(interest.id)], custom_id=INTERESTS_ID)
    assert games.id in {r.id for r in world.member.member.roles}
    choices = await world.manager.autocomplete(world.general, "onboarding interests remove", "label", "gam")
    assert [c["value"] for c in choices] == ["Games"]
    removed = await world.manager.slash(world.general, "onboarding interests remove", label="Games")
    assert "removed" in removed.response.content
    assert await ob.service.interests(world.guild.id) == []
    assert world.error_keys() == ["onboarding.errors.no_interests"]


# ------------------------------------------------------- first messages


async def test_an_unanswered_first_message_pings_the_welcome_team(ob: Onboarding) -> None:
    world = ob.world
    alice = await ob.join("alice")
    first = await alice.send(world.general, "hello, I'm new here")
    assert await ob.later(14 * 60) == 0
    await ob.later(2 * 60)
    [ping] = bot_messages(ob.staff, world.bot.user.id)  # type: ignore[union-attr]
    assert ob.team_role.mention in ping.content
    assert alice.mention in ping.content
    assert f"/{world.general.id}/{first.id}" in ping.content
    [request] = [
        r
        for r in world.env.http_requests
        if r.method == "POST" and r.path == f"/channels/{ob.staff.id}/messages"
    ]
    mentions = request.json["allowed_mentions"]
    assert mentions["roles"] == [str(ob.team_role.id)] or mentions["roles"] == [ob.team_role.id]
    assert "everyone" not in mentions.get("parse", [])
    assert "users" not in mentions.get("parse", [])
    await ob.later(HOUR)
    assert len(texts(ob.staff)) == 1


async def test_an_answered_first_message_pings_nobody(ob: Onboarding) -> None:
    world = ob.world
    alice = await ob.join("alice")
    first = await alice.send(world.general, "hello!")
    await ob.later(5 * 60)
    await world.member.send(world.general, "welcome!", reply_to=first)
    await ob.later(HOUR)
    assert texts(ob.staff) == []
    await world.bot.services.activity.flush()
    funnel = await ob.service.funnel(world.guild.id, world.env.now().replace(year=2025), world.env.now())
    assert {s.key: s.count for s in funnel.steps}["replied"] == 1


async def test_talking_after_a_newcomer_is_not_answering_them(ob: Onboarding) -> None:
    # "Got a reply" is a reply or a mention by someone else (bot/core/members.py), for the ping too.
    world = ob.world
    alice = await ob.join("alice")
    await alice.send(world.general, "hello, I'm new here")
    await ob.later(60)
    await world.member.send(world.general, "did anyone see the match last night?")
    await ob.later(20 * 60)
    [ping] = bot_messages(ob.staff, world.bot.user.id)  # type: ignore[union-attr]
    assert alice.mention in ping.content


async def test_messages_from_bots_and_old_members_are_ignored(ob: Onboarding) -> None:
    world = ob.world
    await world.member.send(world.general, "I have been here forever")
    hook = world.guild.create_webhook(world.general)
    await hook.send("automated")
    await ob.later(HOUR)
    assert texts(ob.staff) == []


# ------------------------------------------------------------------ nudge


async def test_a_silent_newcomer_gets_one_gentle_nudge_they_can_opt_out_of(ob: Onboarding) -> None:
    alice = await ob.join("alice")
    bob = await ob.join("bob")
    await bob.send(ob.world.general, "hi all")
    await ob.later(3 * DAY + 60)
    nudges = bot_messages(ob.intro, ob.world.bot.user.id)  # type: ignore[union-attr]
    assert len(nudges) == 1 and alice.mention in nudges[0].content
    assert bob.mention not in nudges[0].content
    assert OPT_OUT_ID in component_ids(nudges[0])
    result = await alice.click(nudges[0], custom_id=OPT_OUT_ID)
    assert "no more nudges" in result.response.content
    await ob.later(10 * DAY)
    assert len(bot_messages(ob.intro, ob.world.bot.user.id)) == 1  # type: ignore[union-attr]


async def test_nudge_by_dm_when_the_server_wants_it(ob: Onboarding) -> None:
    await ob.set("nudge_dm", True)
    await ob.set("nudge_days", 2)
    alice = await ob.join("alice")
    await ob.later(2 * DAY + 60)
    assert len(alice.user.dm_channel.history()) == 1
    assert bot_messages(ob.intro, ob.world.bot.user.id) == []  # type: ignore[union-attr]


async def test_leaving_cancels_pending_follow_ups(ob: Onboarding) -> None:
    await ob.set("rules_gate", True)
    alice = await ob.join("alice")
    ob.world.guild.remove_member(alice)
    await ob.world.env.settle()
    pending = await ob.world.bot.scheduler.pending(ob.world.guild.id)
    assert [j for j in pending if j.payload.get("user_id") == alice.id] == []
    await ob.later(5 * DAY)
    assert texts(ob.rules) == [] and texts(ob.intro) == []


# ------------------------------------------------------------------ buddy


async def test_volunteers_are_assigned_round_robin(ob: Onboarding) -> None:
    world = ob.world
    buddies = world.guild.create_role("Welcomers")
    await world.env.settle()
    v1 = world.guild.add_member(world.env.create_user("vera"), roles=[buddies])
    v2 = world.guild.add_member(world.env.create_user("victor"), roles=[buddies])
    await world.env.settle()
    await ob.set("buddy_role", buddies.id)
    a = await ob.join("newbie1")
    b = await ob.join("newbie2")
    c = await ob.join("newbie3")
    welcomes = {m.content.split("\n\n")[0]: m.content for m in bot_messages(ob.welcome, world.bot.user.id)}  # type: ignore[union-attr]
    lines = [next(t for t in welcomes.values() if n.mention in t.split("\n\n")[0]) for n in (a, b, c)]
    assigned = [v1 if v1.mention in line.split("\n\n")[-1] else v2 for line in lines]
    assert [x.id for x in assigned] == [min(v1.id, v2.id), max(v1.id, v2.id), min(v1.id, v2.id)]


# ------------------------------------------------------------------ stats


async def test_stats_shows_the_funnel_with_conversions(ob: Onboarding) -> None:
    world = ob.world
    await ob.set("rules_gate", True)
    alice = await ob.join("alice")
    await ob.join("bob")
    await alice.click(bot_messages(ob.welcome, world.bot.user.id)[0], label="I accept")  # type: ignore[union-attr]
    result = await world.manager.slash(world.general, "onboarding stats", days=7)
    assert result.ephemeral
    embed = result.response.embeds[0]
    assert "7 days" in embed.title
    assert "**Joined**: 2" in embed.description
    assert "**Accepted the rules**: 1 (50 % of previous step, 50 % of joiners)" in embed.description


async def test_privacy_export_and_forget_cover_onboarding(ob: Onboarding) -> None:
    alice = await ob.join("alice")
    exported = await ob.world.bot.privacy.export(ob.world.guild.id, alice.id)
    assert exported["onboarding"]["state"]["user_id"] == alice.id
    forgotten = await ob.world.bot.privacy.forget(ob.world.guild.id, alice.id)
    assert forgotten["onboarding"] == 1
    assert (await ob.service.export(ob.world.guild.id, alice.id))["state"] is None


async def test_nudge_reaches_a_member_missing_from_the_bots_cache(ob: Onboarding) -> None:
    alice = await ob.join("alice")
    guild = ob.world.bot.get_guild(ob.world.guild.id)
    assert guild is not None
    # Not chunked yet after a restart, say: the job must ask Discord rather than give up silently.
    guild._remove_member(guild.get_member(alice.id))  # type: ignore[arg-type]
    assert guild.get_member(alice.id) is None
    await ob.later(3 * DAY + 60)
    nudges = bot_messages(ob.intro, ob.world.bot.user.id)  # type: ignore[union-attr]
    assert len(nudges) == 1 and alice.mention in nudges[0].content


# ------------------------------------------------- per-message cost, restarts


async def test_member_messages_read_no_onboarding_table(
    ob: Onboarding, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = ob.world
    alice = await ob.join("alice")
    await alice.send(ob.intro, "hello, I'm new here")
    reads: list[str] = []
    db = world.bot.db
    for name in ("fetchone", "fetchall", "fetchval"):
        real = getattr(db, name)

        async def counting(sql: str, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            reads.append(sql)
            return await _real(sql, *args, **kwargs)

        monkeypatch.setattr(db, name, counting)
    for text in ("how was everyone's weekend?", "anyone up for a game tonight?", "see you later"):
        await world.member.send(world.general, text)
        await alice.send(world.general, text)
    assert [sql for sql in reads if "onboarding" in sql] == []


async def test_newcomers_are_still_followed_after_a_restart(ob: Onboarding) -> None:
    world = ob.world
    alice = await ob.join("alice")
    first = await alice.send(world.general, "hello, I'm new here")
    bob = await ob.join("bob")
    old = world.bot
    new: HearthBot = make_bot(old.config.db_path, old.clock)
    await world.env.restart_bot(new)
    await old.scheduler.shutdown()
    await old.services.activity.drain()  # what a clean stop writes (the bot's flusher)
    await quiet_timers(new)
    world.bot = new
    try:
        await bob.send(ob.intro, "hi, bob here")
        await world.member.send(world.general, "welcome alice!", reply_to=first)
        await new.services.activity.flush()  # the member facts are the activity side's, written in batches
        rows = {
            r["user_id"]: r
            for r in await new.db.fetchall(
                "SELECT user_id, first_message_at, first_reply_at FROM members WHERE guild_id = ?",
                (world.guild.id,),
            )
        }
        assert rows[alice.id]["first_reply_at"] is not None
        assert rows[bob.id]["first_message_at"] is not None and rows[bob.id]["first_reply_at"] is None
        pending = await new.scheduler.pending(world.guild.id, "onboarding.unanswered")
        assert [j.payload["user_id"] for j in pending] == [bob.id]
        # Bob's first message, seen only by the new process, still pings the team when nobody answers.
        await ob.later(20 * 60)
        [ping] = bot_messages(ob.staff, new.user.id)  # type: ignore[union-attr]
        assert bob.mention in ping.content and alice.mention not in ping.content
    finally:
        await new.close()
