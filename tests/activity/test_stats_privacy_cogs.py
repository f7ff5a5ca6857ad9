"""/stats and /privacy through the simulated Discord."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest

from bot.activity.pipeline import MessageEvent
from tests.helpers import World

PNG = b"\x89PNG"


def _pipeline(world: World) -> Any:
    return world.bot.get_cog("ActivityCog").pipeline  # type: ignore[union-attr]


async def _seed(world: World) -> list[int]:
    """Six members who joined 60 days ago; five talk daily, one (a regular) went quiet a month ago."""
    pipe = _pipeline(world)
    now = world.bot.clock.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    members = list(range(500, 506))
    ids = iter(range(9_000_000, 10_000_000))
    for user in members:
        await pipe.handle_join(world.guild.id, user, now - timedelta(days=60))
    for day in range(1, 15):  # the fourteen days before today, at midday
        for user in members[:5]:
            text = "thanks, this is great" if day % 2 else "is this broken again?"
            at = today - timedelta(days=day) + timedelta(hours=12, minutes=user % 5)
            await pipe.handle_message(
                MessageEvent(world.guild.id, world.general.id, user, next(ids), at, text)
            )
    for day in range(30, 50):
        await pipe.handle_message(
            MessageEvent(
                world.guild.id, world.general.id, members[5], next(ids), now - timedelta(days=day), "hi"
            )
        )
    await pipe.drain()
    return members


async def test_overview_shows_headline_figures(world: World) -> None:
    await _seed(world)
    result = await world.manager.slash(world.general, "stats overview", days=7)
    assert result.ephemeral
    embed = result.response.embeds[0]
    assert embed.title == "Overview — last 7 days"
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Messages"].startswith("30 (")
    assert fields["Active members"].startswith("5 (")


async def test_members_shows_growth_and_active_counts(world: World) -> None:
    await _seed(world)
    result = await world.manager.slash(world.general, "stats members", days=30)
    fields = {f.name: f.value for f in result.response.embeds[0].fields}
    assert fields["Monthly active"].startswith("5 (")
    assert fields["Joined"].startswith("2 (")  # the harness's two members; the seeded six joined 60 days ago
    assert fields["Weekly active"].startswith("5 (")


async def test_channels_lists_channels_and_attaches_a_sentiment_chart(world: World) -> None:
    await _seed(world)
    result = await world.manager.slash(world.general, "stats channels", days=14)
    embed = result.response.embeds[0]
    assert f"<#{world.general.id}>" in (embed.description or "")
    assert result.response.attachments and result.response.attachments[0].filename == "sentiment.png"


async def test_funnel_retention_contributors_at_risk(world: World) -> None:
    members = await _seed(world)
    funnel = await world.manager.slash(world.general, "stats funnel", weeks=12)
    assert "6 joined → 6 spoke" in (funnel.response.embeds[0].description or "")
    retention = await world.manager.slash(world.general, "stats retention", weeks=12, basis="join_week")
    assert "(6)" in (retention.response.embeds[0].description or "")
    assert retention.response.attachments[0].filename == "retention.png"
    contributors = await world.manager.slash(world.general, "stats contributors", days=14)
    top = contributors.response.embeds[0].fields[0].value
    assert f"<@{members[0]}>: 13 blocks (13 messages)" in top
    at_risk = await world.manager.slash(world.general, "stats at-risk")
    assert (at_risk.response.embeds[0].description or "").startswith(f"<@{members[5]}>: active 20 days")


async def test_heatmap_attaches_a_png_and_names_the_peak(world: World) -> None:
    await _seed(world)
    result = await world.manager.slash(world.general, "stats heatmap", days=28)
    message = result.followups[0] if result.followups else result.response
    assert "Busiest:" in (message.embeds[0].description or "")
    assert message.attachments[0].filename == "heatmap.png"


async def test_export_gives_a_csv_of_daily_aggregates(world: World) -> None:
    await _seed(world)
    result = await world.manager.slash(world.general, "stats export", days=30)
    attachment = result.response.attachments[0]
    assert attachment.filename == "hearth-metrics.csv"
    rows = list(csv.DictReader(io.StringIO((await attachment.read()).decode())))
    assert sum(int(r["messages"] or 0) for r in rows) == 70


@pytest.mark.parametrize("command", ["stats overview", "stats at-risk", "stats contributors", "stats export"])
async def test_plain_member_is_refused_stats(world: World, command: str) -> None:
    await world.grant_command("stats", world.member)
    result = await world.member.slash(world.general, command)
    assert result.ephemeral
    assert "Manage Server" in result.response.content
    assert not result.response.embeds
    assert world.error_keys() == ["NotManager"]


async def test_optout_stops_collection_and_optin_resumes_it(world: World) -> None:
    result = await world.member.slash(world.general, "privacy optout")
    assert result.ephemeral and "no longer records" in result.response.content
    await world.member.send(world.general, "am I counted?")
    await _pipeline(world).drain()
    assert await world.bot.db.fetchval("SELECT COUNT(*) FROM activity_messages") == 0
    assert (
        await world.bot.db.fetchval(
            "SELECT COUNT(*) FROM activity_optouts WHERE user_id = ?", (world.member.id,)
        )
        == 1
    )
    again = await world.member.slash(world.general, "privacy optin")
    assert "counts again" in again.response.content
    await world.member.send(world.general, "and now?")
    await _pipeline(world).drain()
    assert await world.bot.db.fetchval("SELECT COUNT(*) FROM activity_messages") == 1


async def test_forget_deletes_the_members_data(world: World) -> None:
    await world.member.send(world.general, "hello")
    await world.manager.send(world.general, "hi")
    await _pipeline(world).drain()
    result = await world.member.slash(world.general, "privacy forget")
    assert result.ephemeral and "deleted" in result.response.content
    authors = await world.bot.db.fetchall("SELECT author_id FROM activity_messages")
    assert [r[0] for r in authors] == [world.manager.id]
    assert (
        await world.bot.db.fetchval("SELECT COUNT(*) FROM members WHERE user_id = ?", (world.member.id,)) == 0
    )


async def test_export_sends_the_members_data_by_dm(world: World) -> None:
    sent = await world.member.send(world.general, "hello there")
    await _pipeline(world).drain()
    result = await world.member.slash(world.general, "privacy export")
    assert result.ephemeral
    dms = world.member.user.dm_channel.history()
    assert dms and dms[-1].attachments
    data = json.loads(await dms[-1].attachments[0].read())
    assert data["user_id"] == world.member.id
    assert [m["message_id"] for m in data["features"]["activity"]["messages"]] == [sent.id]
