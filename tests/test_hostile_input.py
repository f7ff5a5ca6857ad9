"""Hostile input: property-based tests on every parser and template, and hostile text through every command.

What is proved here:
- parsers (settings values, timezones, local-time recurrences, welcome templates, conflict-score lines)
  only ever answer with a value or a `UserError`, never another exception, and their output keeps
  its promises (bounds, lengths, one output line per input line);
- text a user typed never reaches SQL as SQL: every statement the bot runs is recorded while hostile
  strings go through every string option of every slash command, and none carries the text;
- nothing the bot posts may ping @everyone, @here or arbitrary roles.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import discord
import pytest
from discord import app_commands
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.core.errors import UserError
from bot.core.settings import parse_value
from bot.core.timeutil import next_local, zone
from bot.discord_glue.client import discover_extensions
from bot.discord_glue.interactions import SAFE_MENTIONS
from bot.services import setting_specs
from tests.helpers import NO_VALUE, World, plausible_value

# Cogs imported so every view and command module is loaded for the walks below.
for _name in discover_extensions():
    importlib.import_module(_name)
SPECS = setting_specs()

FAST = hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MARK = "ZQXJ7hostile"
HOSTILE = [
    f"'); DROP TABLE guild_settings; -- {MARK}",
    f'" OR 1=1; --{MARK}',
    f"@everyone @here <@&1> {MARK}",
    f"{{member!r}} {{0.__class__}} %s %(x)s {MARK}",
    f"\u202e\u200b{MARK}\U0001f525 ünïcödé",
    f"{MARK}" + "x" * 480,
]
ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
]
MASS_PING = re.compile(r"@(everyone|here)", re.IGNORECASE)
ROLE_PING = re.compile(r"<@&\d+>")

hostile_text = st.one_of(
    st.text(max_size=600),
    st.sampled_from(HOSTILE),
    st.from_regex(r"[\{\}@<>&#!:\w\s'\";-]{0,80}", fullmatch=True),
)


# ---------------------------------------------------------------------- settings and time


@FAST
@given(key=st.sampled_from(sorted(SPECS)), raw=hostile_text)
def test_setting_values_parse_or_refuse_politely(key: str, raw: str) -> None:
    """Any text for any setting gives a typed value within its bounds, or a UserError."""
    spec = SPECS[key]
    try:
        value = parse_value(spec, raw)
    except UserError:
        return
    if spec.kind in ("int", "float"):
        assert isinstance(value, int | float) and math.isfinite(value)
        assert spec.minimum is None or value >= spec.minimum
        assert spec.maximum is None or value <= spec.maximum
    elif spec.kind == "text":
        assert isinstance(value, str) and len(value) <= spec.max_length
    elif spec.kind == "bool":
        assert isinstance(value, bool)
    elif spec.kind in ("channel", "role"):
        assert isinstance(value, int) and 0 < value < 2**63
    elif spec.kind == "channels":
        assert all(part.isascii() and part.isdigit() for part in value.split(",") if value)
    elif spec.kind == "timezone":
        assert isinstance(ZoneInfo(value), ZoneInfo)


@FAST
@given(
    name=st.one_of(
        hostile_text, st.sampled_from(["../../etc/passwd", "/etc/localtime", "Europe/../../x", "a\x00b", "."])
    )
)
def test_timezone_names_resolve_or_refuse_without_touching_other_files(name: str) -> None:
    """Path tricks and garbage are refused with a UserError, never an OSError or ValueError."""
    try:
        tz = zone(name)
    except UserError:
        return
    assert tz.key.strip() == name.strip()


@FAST
@given(
    tz_name=st.sampled_from(ZONES),
    after=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
    ),
    at=st.times(),
    weekday=st.one_of(st.none(), st.integers(0, 6)),
)
def test_next_local_is_the_next_matching_wall_time(
    tz_name: str, after: datetime, at: time, weekday: int | None
) -> None:
    """The recurrence lands after `after`, within a week, on the wall time (or just past a DST gap)."""
    tz = ZoneInfo(tz_name)
    result = next_local(after, tz, at, weekday)
    assert result.tzinfo is not None and result > after
    assert result - after <= timedelta(days=8 if weekday is not None else 2)
    local = result.astimezone(tz)
    wanted = datetime.combine(local.date(), at)
    drift = local.replace(tzinfo=None) - wanted
    # Equal, or moved forward past a spring-forward gap (at most an hour, never backwards).
    assert timedelta(0) <= drift <= timedelta(hours=1), (local, at)
    if weekday is not None:
        assert wanted.weekday() == weekday


# ---------------------------------------------------------------------- conflict score input


def _score_lines(lines: list[str]) -> list[dict[str, Any]]:
    from bot.conflict.cli import score_stream

    out = io.StringIO()
    assert score_stream(lines, out) == len(lines)
    text = out.getvalue()
    assert text.endswith("\n")
    # JSON Lines ends a record at "\n" only (U+2028 inside a string is legal JSON).
    produced = text[:-1].split("\n")
    assert len(produced) == len(lines)
    return [json.loads(line, parse_constant=_reject_constant) for line in produced]


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"output is not strict JSON: {name}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
snippets = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=20), st.integers(), st.none()),
        "messages": st.lists(
            st.fixed_dictionaries(
                {"author": st.one_of(st.text(max_size=10), st.none(), st.integers()), "text": hostile_text},
                optional={"reply_to": st.one_of(st.integers(-3, 10), st.text(max_size=3), st.none())},
            ),
            max_size=5,
        ),
    },
    optional={"lang": st.one_of(st.sampled_from(["en", "fr", "de", ""]), st.none(), st.integers())},
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(
        st.one_of(
            snippets.map(lambda r: json.dumps(r, ensure_ascii=False)),
            json_values.map(json.dumps),
            st.text(max_size=200).filter(lambda s: "\n" not in s and "\r" not in s),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_conflict_score_gives_one_valid_line_per_input_line(records: list[str]) -> None:
    """Whatever the lines, `conflict score` answers each with one JSON object: score in [0, 1], a flag."""
    for result in _score_lines([r + "\n" for r in records]):
        assert set(result) >= {"id", "score", "flag"}
        assert 0.0 <= result["score"] <= 1.0
        assert isinstance(result["flag"], bool)


def test_conflict_score_survives_deeply_nested_json() -> None:
    """A line of 100,000 '[' must get an invalid_json line, not crash the whole stream."""
    assert _score_lines(["[" * 100_000 + "\n"])[0]["error"] == "invalid_json"


def test_conflict_score_output_stays_strict_json_for_nan_ids() -> None:
    """Python's json accepts NaN on input; the output line must still be strict JSON."""
    _score_lines(['{"id": NaN, "messages": [{"text": "hi"}]}\n'])


# ---------------------------------------------------------------------- onboarding templates


def _templates() -> Any:
    return pytest.importorskip("bot.onboarding.templates", reason="onboarding templates have not landed")


@FAST
@given(raw=hostile_text)
def test_welcome_templates_validate_or_refuse_politely(raw: str) -> None:
    """Any text a manager types is a valid template or a UserError; valid ones render within 2000 characters."""
    templates = _templates()
    try:
        text = templates.validate(raw)
    except UserError:
        return
    values = {name: "9" * width for name, width in templates.MAX_EXPANSION.items()}
    assert len(templates.render(text, values)) <= templates.DISCORD_LIMIT


@FAST
@given(
    template=st.lists(
        st.one_of(
            st.sampled_from(
                ["{member}", "{server}", "{rules_channel}", "{{", "}}", "@", "every", "one", "<@&", "5>"]
            ),
            hostile_text,
        ),
        max_size=8,
    ).map("".join),
    server=hostile_text,
    member=hostile_text,
)
def test_rendered_welcome_never_pings_everyone_here_or_roles(template: str, server: str, member: str) -> None:
    """Neither the template nor the server or member names can turn a welcome into a mass ping."""
    templates = _templates()
    try:
        text = templates.validate(template)
    except UserError:
        return
    rendered = templates.render(text, {"member": member, "server": server, "member_count": "3"})
    assert not MASS_PING.search(rendered), rendered
    assert not ROLE_PING.search(rendered), rendered
    assert len(rendered) <= templates.DISCORD_LIMIT


# ---------------------------------------------------------------------- every command, hostile text


def test_bot_default_mentions_never_ping_everyone_or_roles() -> None:
    """The bot-wide default: user content can't ping @everyone/@here or roles."""
    assert SAFE_MENTIONS.everyone is False and SAFE_MENTIONS.roles is False


def _leaves(tree: app_commands.CommandTree) -> list[app_commands.Command[Any, Any, Any]]:
    return [c for c in tree.walk_commands() if isinstance(c, app_commands.Command)]


def _options(command: app_commands.Command[Any, Any, Any], world: World, text: str) -> dict[str, Any] | None:
    kinds = discord.AppCommandOptionType
    values: dict[str, Any] = {}
    for param in command.parameters:
        if param.type is kinds.string:
            if param.choices:
                values[param.name] = param.choices[0].value
            else:
                values[param.name] = text[: param.max_value or 100] if param.max_value else text[:100]
        elif (value := plausible_value(world, param)) is not NO_VALUE:
            values[param.name] = value
        elif param.required:
            return None
    return values


def _record_sql(world: World) -> list[str]:
    """Record the SQL text (not the bound values) of every statement the bot runs from now on."""
    seen: list[str] = []
    conn = world.bot.db.conn
    for method in ("execute", "executemany", "executescript"):
        original = getattr(conn, method)

        def recorder(sql: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            seen.append(sql)
            return _original(sql, *args, **kwargs)

        setattr(conn, method, recorder)
    return seen


async def test_hostile_text_in_every_string_option_never_reaches_sql_or_pings(world: World) -> None:
    """Every string option of every command, as a manager: text is bound as a parameter, stored verbatim, never pings."""
    sql = _record_sql(world)
    tables_before = await world.bot.db.fetchall("SELECT name, sql FROM sqlite_master ORDER BY name")
    invoked = 0
    failures: list[str] = []
    for command in _leaves(world.bot.tree):
        if not any(
            p.type is discord.AppCommandOptionType.string and not p.choices for p in command.parameters
        ):
            continue
        for text in HOSTILE:
            options = _options(command, world, text)
            if options is None:
                continue
            cursor = world.env.error_cursor
            await world.manager.slash(world.general, command.qualified_name, **options)
            invoked += 1
            for error in world.env.errors_since(cursor):
                original = getattr(error, "original", error)
                if not isinstance(original, UserError | app_commands.CheckFailure):
                    failures.append(f"/{command.qualified_name} {text[:30]!r}: {original!r}")
    assert invoked >= len(HOSTILE), "no command with a free-text option was exercised"
    assert not failures, "\n".join(failures)
    leaked = [s for s in sql if MARK in s]
    assert not leaked, f"user text was pasted into SQL: {leaked[:3]}"
    assert await world.bot.db.fetchall("SELECT name, sql FROM sqlite_master ORDER BY name") == tables_before
    for channel in world.env.backend.messages.values():
        for message in channel.values():
            if message.author_id != world.bot.user.id:
                continue
            policy = message.allowed_mentions
            assert not policy.everyone, f"bot message may ping everyone: {message.content[:80]!r}"
            assert policy.roles is not None, f"bot message may ping any role: {message.content[:80]!r}"
    # Checked one by one above: every error recorded was a refusal answered to the member.
    assert all(
        isinstance(getattr(e, "original", e), UserError | app_commands.CheckFailure) for e in world.errors()
    )


async def test_hostile_values_are_stored_verbatim_or_refused_for_every_scalar_setting(world: World) -> None:
    """/config value with hostile text: stored exactly as typed (text settings) or refused; the table survives."""
    scalar = [k for k, s in sorted(SPECS.items()) if s.kind in ("int", "float", "bool", "text", "channels")]
    assert scalar
    for key in scalar:
        for text in HOSTILE:
            result = await world.manager.slash(world.general, "config value", setting=key, value=text[:500])
            assert result.ephemeral
            stored = await world.bot.db.fetchval(
                "SELECT value FROM guild_settings WHERE guild_id = ? AND key = ?", (world.guild.id, key)
            )
            if SPECS[key].kind == "text":
                assert stored == text[:500].strip()
            else:
                assert stored is None, f"{key} accepted {text[:30]!r}"
    assert (
        await world.bot.db.fetchval("SELECT COUNT(*) FROM sqlite_master WHERE name = 'guild_settings'") == 1
    )
    refusals = world.error_keys()
    assert refusals, "no hostile value was refused"
    assert set(refusals) <= {
        "errors.not_a_number",
        "errors.not_a_bool",
        "errors.not_an_id",
        "errors.out_of_range",
    }


async def test_hostile_text_setting_round_trips_exactly_through_parameters(settings: Any, db: Any) -> None:
    """A free-text setting stores any hostile string verbatim, and the SQL never contains it."""
    from bot.core.settings import SettingSpec

    spec = SettingSpec("test_hostile_text", "text", "")
    settings.declare(spec)
    seen: list[str] = []
    original = db.conn.execute

    def recorder(sql: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(sql)
        return original(sql, *args, **kwargs)

    db.conn.execute = recorder
    try:
        for guild_id, text in enumerate(HOSTILE, start=1):
            await settings.set(guild_id, spec.key, text)
            settings._cache.clear()
            assert await settings.get(guild_id, spec.key) == text.strip()
    finally:
        db.conn.execute = original
    assert seen and not [s for s in seen if MARK in s]
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == len(HOSTILE)
