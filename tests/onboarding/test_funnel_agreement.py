"""/stats funnel and /onboarding stats count the same newcomers the same way (bot/core/members.py)."""

from __future__ import annotations

import re
from typing import Any

from tests.onboarding.conftest import Onboarding

DAY = 86400


async def stats_funnel(ob: Onboarding, weeks: int) -> dict[str, int]:
    """The total line of /stats funnel as numbers."""
    await ob.world.bot.services.activity.flush()  # the cog flushes too; this keeps old code comparable
    result = await ob.world.manager.slash(ob.world.general, "stats funnel", weeks=weeks)
    total = (result.response.embeds[0].description or "").splitlines()[0]
    found = re.search(
        r"(\d+) joined → (\d+) spoke → (\d+) got a reply \(median [^)]*\) → (\d+)/(\d+) back in week 2", total
    )
    assert found, total
    joined, spoke, replied, returned, _eligible = map(int, found.groups())
    return {"joined": joined, "spoke": spoke, "got_reply": replied, "week2": returned}


async def onboarding_funnel(ob: Onboarding, days: int) -> dict[str, int]:
    """The steps of /onboarding stats that /stats funnel also shows, as numbers."""
    await ob.world.bot.services.activity.flush()
    result = await ob.world.manager.slash(ob.world.general, "onboarding stats", days=days)
    text = result.response.embeds[0].description or ""

    def step(label: str) -> int:
        found = re.search(rf"\*\*{label}\*\*: (\d+)", text)
        assert found, text
        return int(found.group(1))

    return {
        "joined": step("Joined"),
        "spoke": step("Posted a first message"),
        "got_reply": step("Got a reply"),
        "week2": step("Active in week 2"),
    }


async def newcomers_history(ob: Onboarding) -> dict[str, Any]:
    """Four newcomers three weeks ago; one leaves and comes back yesterday.

    - alice speaks and a member replies to her, then leaves and re-joins 19 days later;
    - bob speaks, a bot replies to him and he replies to himself, and he is back on day 8;
    - carol speaks, mentions herself, and an old member talks after her in the same channel;
    - dave never speaks.
    """
    world = ob.world
    robot = world.guild.add_member(world.env.create_user("helperbot", bot=True))
    await world.env.settle()
    alice, bob, carol, dave = [await ob.join(name) for name in ("alice", "bob", "carol", "dave")]
    hello = await alice.send(world.general, "hello, I'm new here")
    await ob.later(60)
    await world.member.send(world.general, "welcome alice!", reply_to=hello)
    question = await bob.send(world.general, "how do I get the game role")
    await ob.later(60)
    await robot.send(world.general, "Beep: see #roles", reply_to=question)
    await bob.send(world.general, "found it myself", reply_to=question)
    await carol.send(world.general, f"hi all, {carol.mention} here")
    await world.member.send(world.general, "anyway, about the release")
    await ob.later(DAY)
    world.guild.remove_member(alice)
    await world.env.settle()
    await ob.later(7 * DAY)
    await bob.send(world.general, "back again")
    await ob.later(11 * DAY)
    alice = world.guild.add_member(alice.user)
    await world.env.settle()
    await ob.later(DAY)
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave}


async def test_a_rejoining_member_is_anchored_on_their_first_join_in_both_funnels(ob: Onboarding) -> None:
    await newcomers_history(ob)
    # Alice came back yesterday, but she first joined three weeks ago: not a newcomer of the last days.
    assert (await stats_funnel(ob, weeks=2))["joined"] == 0
    assert (await onboarding_funnel(ob, days=7))["joined"] == 0
    # Over four weeks she counts once, as having spoken and been answered before she left.
    assert (await stats_funnel(ob, weeks=4))["joined"] == 4
    assert (await onboarding_funnel(ob, days=30))["joined"] == 4


async def test_the_same_history_gives_the_same_counts_in_both_commands(ob: Onboarding) -> None:
    await newcomers_history(ob)
    expected = {"joined": 4, "spoke": 3, "got_reply": 1, "week2": 1}
    assert await stats_funnel(ob, weeks=4) == expected
    assert await onboarding_funnel(ob, days=30) == expected


async def test_replies_from_a_bot_or_from_oneself_are_not_a_reply_in_either_command(ob: Onboarding) -> None:
    world = ob.world
    robot = world.guild.add_member(world.env.create_user("helperbot", bot=True))
    await world.env.settle()
    bob = await ob.join("bob")
    question = await bob.send(world.general, "how do I get the game role")
    await ob.later(60)
    await robot.send(world.general, f"Beep {bob.mention}: see #roles", reply_to=question)
    await bob.send(world.general, f"found it myself {bob.mention}", reply_to=question)
    assert (await stats_funnel(ob, weeks=2))["got_reply"] == 0
    assert (await onboarding_funnel(ob, days=7))["got_reply"] == 0
    await world.member.send(world.general, f"nice one {bob.mention}")  # a mention by a member counts
    assert (await stats_funnel(ob, weeks=2))["got_reply"] == 1
    assert (await onboarding_funnel(ob, days=7))["got_reply"] == 1
