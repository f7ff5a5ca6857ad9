"""Welcome templates: placeholders, braces, Discord's limit, and no mass pings from names."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.errors import InvalidValue
from bot.onboarding import templates
from bot.onboarding.templates import DISCORD_LIMIT, PLACEHOLDERS

VALUES = {
    "member": "<@123456789012345678>",
    "server": "Cosy Corner",
    "member_count": "42",
    "rules_channel": "<#1>",
    "intro_channel": "<#2>",
}

# Literal text without braces; placeholders are added by the strategies that need them.
plain = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=200)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_ .!:\[\]]{0,20}", fullmatch=True).filter(
    lambda n: n not in PLACEHOLDERS
)


def test_every_placeholder_is_filled() -> None:
    text = templates.validate(
        "Hi {member}, welcome to {server} ({member_count})! {rules_channel} {intro_channel}"
    )
    assert (
        templates.render(text, VALUES) == "Hi <@123456789012345678>, welcome to Cosy Corner (42)! <#1> <#2>"
    )


def test_doubled_braces_are_literal_braces() -> None:
    assert (
        templates.render(templates.validate("{{member}} is {member}"), VALUES)
        == "{member} is <@123456789012345678>"
    )


def test_typed_backslash_n_becomes_a_line_break() -> None:
    assert templates.validate("Hello\\nthere") == "Hello\nthere"


@given(prefix=plain, name=names, suffix=plain)
def test_unknown_placeholders_are_refused_and_named(prefix: str, name: str, suffix: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        templates.validate(prefix + "{" + name + "}" + suffix + "x")
    assert caught.value.key == "onboarding.errors.unknown_placeholder"
    assert caught.value.params["name"] == name[:40] or caught.value.params["name"] == " "


@pytest.mark.parametrize("text", ["{member!r}", "{member:>30}", "{member.id}", "{0}", "{}"])
def test_conversions_specs_and_attributes_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        templates.validate(text)


@given(prefix=plain, brace=st.sampled_from(["{", "}"]), suffix=plain)
def test_a_lone_brace_is_refused(prefix: str, brace: str, suffix: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        templates.validate(prefix + brace + suffix + "x")
    assert caught.value.key in ("onboarding.errors.unbalanced_brace", "onboarding.errors.unknown_placeholder")


@given(body=st.lists(st.one_of(plain, st.sampled_from(["{" + p + "}" for p in PLACEHOLDERS])), max_size=30))
def test_a_template_that_validates_always_renders_within_discords_limit(body: list[str]) -> None:
    text = "x" + "".join(body)
    try:
        checked = templates.validate(text)
    except InvalidValue as error:
        assert error.key == "onboarding.errors.template_too_long"
        assert templates.max_length(templates.normalize(text)) > DISCORD_LIMIT
        return
    longest = {
        "member": "<@" + "9" * 20 + ">",
        "server": "S" * 100,
        "member_count": "9" * 7,
        "rules_channel": "<#" + "9" * 20 + ">",
        "intro_channel": "<#" + "9" * 20 + ">",
    }
    assert len(templates.render(checked, longest)) <= DISCORD_LIMIT


def test_exactly_at_the_limit_passes_and_one_more_is_refused() -> None:
    room = DISCORD_LIMIT - templates.MAX_EXPANSION["member"]
    assert templates.validate("{member}" + "a" * room)
    with pytest.raises(InvalidValue) as caught:
        templates.validate("{member}" + "a" * (room + 1))
    assert caught.value.params == {"length": DISCORD_LIMIT + 1, "limit": DISCORD_LIMIT}


@given(
    server=st.text(max_size=100).map(lambda s: s + "@everyone"),
    tail=st.sampled_from(["@here", "@EVERYONE", "<@&123>", "@everyone"]),
)
def test_rendering_never_yields_a_mass_mention_from_names(server: str, tail: str) -> None:
    rendered = templates.render(
        templates.validate("{server} says hi to {member}"), {**VALUES, "server": server + tail}
    )
    lowered = rendered.lower()
    assert "@everyone" not in lowered
    assert "@here" not in lowered
    assert "<@&" not in rendered


@given(count=st.integers(min_value=1, max_value=400))
def test_batched_welcome_fits_one_message_and_counts_the_rest(count: int) -> None:
    mentions = [f"<@{10**17 + i}>" for i in range(count)]
    text = templates.batch_text("Welcome to our new members: ", mentions, "and {count} more!")
    assert len(text) <= DISCORD_LIMIT
    shown = sum(1 for m in mentions if m in text)
    if shown < count:
        assert f"and {count - shown} more!" in text
    assert shown >= 1


def test_placeholders_are_identifiers_without_braces() -> None:
    assert all(set(p) <= set(string.ascii_lowercase + "_") for p in PLACEHOLDERS)
