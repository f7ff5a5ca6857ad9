"""Who a welcome pings: the joining member, and the welcome team when the template calls it; nobody else."""

from __future__ import annotations

from typing import Any

from tests.onboarding.conftest import Onboarding, bot_messages


def stored(ob: Onboarding, message: Any) -> Any:
    """The simulated Discord's copy of a message: what it resolved as pings."""
    return ob.world.env.backend.get_message(ob.welcome.id, message.id)


async def add_variant(ob: Onboarding, text: str) -> None:
    result = await ob.world.manager.slash(ob.world.general, "onboarding welcome add", text=text)
    assert result.ephemeral and "#" in result.response.content


async def test_a_template_mentioning_others_pings_only_the_joiner(ob: Onboarding) -> None:
    bystander = ob.world.member
    other_role = ob.world.guild.create_role("Everyone else")
    await ob.world.env.settle()
    await add_variant(ob, f"Hi {{member}}! <@{bystander.id}> <@&{other_role.id}> @everyone @here")
    alice = await ob.join("alice")
    [welcome] = bot_messages(ob.welcome, ob.world.bot.user.id)  # type: ignore[union-attr]
    message = stored(ob, welcome)
    assert set(message.ping_user_ids) == {alice.id}
    assert set(message.ping_role_ids) == set()
    assert not message.mention_everyone
    assert f"<@{alice.id}>" in welcome.content


async def test_a_template_calling_the_welcome_team_pings_that_role_and_no_other(ob: Onboarding) -> None:
    other_role = ob.world.guild.create_role("Moderators")
    await ob.world.env.settle()
    await add_variant(ob, f"{{member}} is here: <@&{ob.team_role.id}>, say hi! (not <@&{other_role.id}>)")
    alice = await ob.join("alice")
    [welcome] = bot_messages(ob.welcome, ob.world.bot.user.id)  # type: ignore[union-attr]
    message = stored(ob, welcome)
    assert set(message.ping_user_ids) == {alice.id}
    assert set(message.ping_role_ids) == {ob.team_role.id}
    assert f"<@&{ob.team_role.id}>" in welcome.content
    assert f"<@&{other_role.id}>" not in welcome.content  # defused in the text too
