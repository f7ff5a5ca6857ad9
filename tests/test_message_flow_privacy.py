"""One message flow and one privacy rule, across features, through the simulated Discord."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from discord.ext import commands

from bot.core.i18n import Catalog
from tests.conflict.test_conflict_cog import HEATED, Scene
from tests.helpers import World
from tests.onboarding.conftest import bot_messages, configure, quiet_timers

HOUR = 3600


async def _rows(world: World, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await world.bot.db.fetchall(sql, params)]


async def _drain(world: World) -> None:
    await world.bot.services.activity.drain()


# ------------------------------------------------------------------ opt-out: analytics


async def test_after_optout_others_replies_and_reactions_write_nothing_about_the_member(world: World) -> None:
    guild, general, member, manager = world.guild, world.general, world.member, world.manager
    before = await member.send(general, "a message from before I opted out")
    await _drain(world)
    await member.slash(general, "privacy optout")
    after = await member.send(general, "and one from after")
    for target in (before, after):
        await manager.send(general, "great point!", reply_to=target)
        await manager.react(target, "🎉")
    await _drain(world)
    about = (guild.id, member.id)
    assert (
        await _rows(
            world,
            "SELECT * FROM activity_daily_reach WHERE guild_id = ? AND ? IN (target_id, source_id)",
            *about,
        )
        == []
    )
    assert (
        await _rows(world, "SELECT * FROM activity_reach_pairs WHERE guild_id = ? AND target_id = ?", *about)
        == []
    )
    assert (
        await _rows(world, "SELECT * FROM activity_weekly_reach WHERE guild_id = ? AND target_id = ?", *about)
        == []
    )
    assert (
        await _rows(
            world, "SELECT * FROM activity_messages WHERE guild_id = ? AND reply_to_author_id = ?", *about
        )
        == []
    )
    assert (
        await _rows(
            world, "SELECT * FROM activity_reactions WHERE guild_id = ? AND message_author_id = ?", *about
        )
        == []
    )
    # The replies and reactions themselves are the manager's activity, and still count.
    assert (
        await world.bot.db.fetchval(
            "SELECT COUNT(*) FROM activity_messages WHERE author_id = ?", (manager.id,)
        )
        == 2
    )
    assert (
        await world.bot.db.fetchval(
            "SELECT COUNT(*) FROM activity_reactions WHERE user_id = ?", (manager.id,)
        )
        == 2
    )
    # Only the message from before the opt-out is stored (kept until /privacy forget).
    assert await _rows(world, "SELECT message_id FROM activity_messages WHERE author_id = ?", member.id) == [
        (before.id,)
    ]

    result = await manager.slash(general, "stats contributors", days=7)
    shown = " ".join(f.value or "" for f in result.response.embeds[0].fields)
    assert member.mention not in shown and f"<@{member.id}>" not in shown
    assert f"<@{manager.id}>" in shown


async def test_opted_out_newcomer_first_message_is_not_tracked_and_pings_nobody(world: World) -> None:
    await quiet_timers(world.bot)
    ob = await configure(world)
    alice = await ob.join("alice")
    result = await alice.slash(world.general, "privacy optout")
    assert "no longer records" in result.response.content
    await alice.send(world.general, "hello, I'm new here")
    row = await world.bot.db.fetchone(
        "SELECT first_message_id, first_message_channel_id FROM onboarding_members"
        " WHERE guild_id = ? AND user_id = ?",
        (world.guild.id, alice.id),
    )
    assert row is None or tuple(row) == (None, None)
    await world.bot.services.activity.drain()
    fact = await world.bot.db.fetchone(
        "SELECT first_message_at FROM members WHERE guild_id = ? AND user_id = ?", (world.guild.id, alice.id)
    )
    assert fact is None or fact[0] is None  # the member facts (bot/core/members.py) don't record her either
    assert await world.bot.scheduler.pending(world.guild.id, "onboarding.unanswered") == []
    assert [
        j for j in await world.bot.scheduler.pending(world.guild.id) if j.payload.get("user_id") == alice.id
    ] == []
    await ob.later(HOUR)
    await ob.later(4 * 24 * HOUR)  # past the nudge too: someone who spoke is not told to say hello
    assert bot_messages(ob.staff, world.bot.user.id) == []  # type: ignore[union-attr]
    assert bot_messages(ob.intro, world.bot.user.id) == []  # type: ignore[union-attr]


# ------------------------------------------------------------------ opt-out: moderation


async def test_opted_out_members_hostile_exchange_is_still_flagged(world: World) -> None:
    scene = Scene(world)
    await scene.setup()
    for actor in (scene.alice, scene.bob):
        await actor.slash(world.general, "privacy optout")
    await scene.play(HEATED)
    flags = scene.flags()
    assert len(flags) == 1
    assert "stupid idiot" in (flags[0].embeds[0].description or "")
    await _drain(world)
    assert await world.bot.db.fetchval("SELECT COUNT(*) FROM activity_messages") == 0  # and not recorded


async def test_the_optout_reply_says_moderation_still_sees_messages_in_both_languages(
    world: World, catalog: Catalog
) -> None:
    result = await world.member.slash(world.general, "privacy optout")
    assert result.ephemeral and "Moderation still sees your messages" in result.response.content
    again = await world.member.slash(world.general, "privacy optout")
    assert "Moderation still sees your messages" in again.response.content
    for key in ("privacy.optout.done", "privacy.optout.already"):
        assert "Moderation still sees your messages" in catalog.t("en", key)
        assert "La modération voit toujours vos messages" in catalog.t("fr", key)


# ------------------------------------------------------------------ one flow


async def test_only_the_activity_cog_listens_to_raw_messages(world: World) -> None:
    listening = [
        type(cog).__name__
        for cog in world.bot.cogs.values()
        for name, _ in cog.get_listeners()
        if name == "on_message"
    ]
    assert listening == ["ActivityCog"]
    owners = [getattr(f, "__self__", None) for f in world.bot.extra_events.get("on_message", [])]
    assert [type(o).__name__ for o in owners] == ["ActivityCog"]
    assert all(isinstance(cog, commands.Cog) for cog in world.bot.cogs.values())


async def test_a_message_after_the_database_closed_touches_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await quiet_timers(world.bot)
    ob = await configure(world)
    alice = await ob.join("alice")  # a newcomer: her first message would be written by onboarding
    # Shutdown as HearthBot.close does it, listeners still loaded: flush, then close the database.
    for flush in world.bot._flushers:
        await flush()
    await world.bot.db.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        await alice.send(world.general, "hello, is anyone here?")
        await world.member.send(world.general, "welcome alice!")
        await world.env.advance_time(10)
    assert world.errors() == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


# ------------------------------------------------------------------ forget


async def test_forget_edits_open_flag_posts_and_strips_job_payloads(world: World) -> None:
    scene = Scene(world)
    await scene.setup()
    guild_id, alice, bob = world.guild.id, scene.alice, scene.bob
    bot = world.bot
    await world.env.settle()
    nudges = await bot.scheduler.pending(guild_id, "onboarding.nudge")
    assert alice.id in [j.payload["user_id"] for j in nudges]  # joining scheduled one for her
    await scene.play(HEATED)
    [post] = scene.flags()
    assert "stupid idiot" in (post.embeds[0].description or "")  # alice's words
    await bot.scheduler.schedule(
        guild_id, "test.several", bot.clock.now() + timedelta(days=1), {"user_ids": [alice.id, bob.id]}
    )

    result = await alice.slash(world.general, "privacy forget")
    assert "deleted" in result.response.content

    [post] = scene.flags()
    description = post.embeds[0].description or ""
    assert "stupid idiot" not in description and "nobody asked you" not in description
    assert "pathetic moron" in description  # bob's words stay for the moderators
    assert alice.mention not in " ".join(f.value or "" for f in post.embeds[0].fields)
    jobs = await _rows(
        world, "SELECT kind, status, payload, dedupe_key FROM scheduled_jobs WHERE guild_id = ?", guild_id
    )
    assert [j for j in jobs if str(alice.id) in (j[2] or "") or j[3] == str(alice.id)] == []
    [several] = [j for j in jobs if j[0] == "test.several"]
    assert several[1] == "pending" and str(bob.id) in several[2]
    assert alice.id not in [j.payload.get("user_id") for j in await bot.scheduler.pending(guild_id)]


async def test_opted_out_member_who_leaves_and_rejoins_is_welcomed_but_not_followed(world: World) -> None:
    await quiet_timers(world.bot)
    ob = await configure(world)
    alice = await ob.join("alice")
    await alice.slash(world.general, "privacy optout")
    await ob.set("buddy_role", ob.team_role.id)  # buddies from now on: none for her
    world.add_member("volunteer", roles=(ob.team_role,))
    world.guild.remove_member(alice)
    await world.env.settle()
    await ob.later(60)
    welcomes_before = len(bot_messages(ob.welcome, world.bot.user.id))  # type: ignore[union-attr]
    alice = world.guild.add_member(alice.user)
    await world.env.settle()
    # Welcomed, like anyone: a welcome names no one else and stores nothing about her.
    assert len(bot_messages(ob.welcome, world.bot.user.id)) == welcomes_before + 1  # type: ignore[union-attr]
    row = await world.bot.db.fetchone(
        "SELECT joined_at, buddy_id FROM onboarding_members WHERE guild_id = ? AND user_id = ?",
        (world.guild.id, alice.id),
    )
    # Not tracked again (the row from before she opted out, if any, is not refreshed) and no buddy.
    assert row is None or (row[0] < int(world.bot.clock.now().timestamp()) - 30 and row[1] is None)
    about_her = [
        j for j in await world.bot.scheduler.pending(world.guild.id) if j.payload.get("user_id") == alice.id
    ]
    assert about_her == []  # no nudge, no reminder
