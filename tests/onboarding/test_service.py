"""OnboardingService on a real database: joins, raids, screening, replies, buddies, picks, funnel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.errors import InvalidValue, NotFound
from bot.core.i18n import Catalog
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings
from bot.onboarding import templates
from bot.onboarding.service import (
    BATCH_WELCOME,
    NUDGE,
    RULES_REMINDER,
    UNANSWERED,
    OnboardingService,
)

G = 1000


@pytest.fixture
def scheduler(db: Database, clock: FrozenClock) -> Scheduler:
    """A scheduler that is not started: jobs are rows, run with run_due()."""
    return Scheduler(db, clock)


@pytest.fixture
def service(db: Database, clock: FrozenClock, settings: Settings, scheduler: Scheduler) -> OnboardingService:
    """The service under test."""
    return OnboardingService(db, clock, settings, scheduler)


async def pending_kinds(scheduler: Scheduler, user_id: int | None = None) -> list[str]:
    return sorted(
        j.kind for j in await scheduler.pending(G) if user_id is None or j.payload.get("user_id") == user_id
    )


async def test_join_schedules_nudge_and_with_the_gate_a_rules_reminder(
    service: OnboardingService, settings: Settings, scheduler: Scheduler, clock: FrozenClock
) -> None:
    await settings.set(G, "rules_gate", True)
    plan = await service.member_joined(G, 1)
    assert plan.rules_gate and not plan.batched and not plan.use_dm
    jobs = {j.kind: j for j in await scheduler.pending(G)}
    assert set(jobs) == {RULES_REMINDER, NUDGE}
    assert jobs[RULES_REMINDER].run_at == clock.now() + timedelta(hours=24)
    assert jobs[NUDGE].run_at == clock.now() + timedelta(days=3)


async def test_discord_screening_replaces_our_rules_gate(
    service: OnboardingService, settings: Settings, scheduler: Scheduler, db: Database
) -> None:
    await settings.set(G, "rules_gate", True)
    plan = await service.member_joined(G, 1, pending=True)
    assert not plan.rules_gate
    assert await pending_kinds(scheduler) == [NUDGE]
    assert await service.accept_rules(G, 1)
    assert await db.fetchval("SELECT screening FROM onboarding_members WHERE user_id = 1") == 1
    assert await db.fetchval("SELECT accepted_at FROM onboarding_members WHERE user_id = 1") is not None


async def test_accepting_cancels_the_reminder_and_counts_once(
    service: OnboardingService, settings: Settings, scheduler: Scheduler
) -> None:
    await settings.set(G, "rules_gate", True)
    await service.member_joined(G, 1)
    assert await service.accept_rules(G, 1)
    assert not await service.accept_rules(G, 1)
    assert await pending_kinds(scheduler) == [NUDGE]
    assert not await service.rules_reminder_due(G, 1)


async def test_reminder_and_nudge_stay_due_until_marked_sent(service: OnboardingService) -> None:
    await service.member_joined(G, 1)
    # Asking is not claiming: a post that fails (or a crash before it lands) leaves the step due.
    assert await service.rules_reminder_due(G, 1)
    assert await service.rules_reminder_due(G, 1)
    await service.mark_reminded(G, 1)
    assert not await service.rules_reminder_due(G, 1)
    assert await service.nudge_due(G, 1)
    await service.mark_nudged(G, 1)
    assert not await service.nudge_due(G, 1)


async def test_opted_out_members_are_not_nudged(service: OnboardingService, scheduler: Scheduler) -> None:
    await service.member_joined(G, 1)
    await service.opt_out(G, 1)
    assert await pending_kinds(scheduler) == []
    assert not await service.nudge_due(G, 1)


async def test_joins_above_the_rate_are_held_for_one_batch(
    service: OnboardingService, settings: Settings, scheduler: Scheduler, clock: FrozenClock
) -> None:
    await settings.set(G, "raid_joins_per_minute", 3)
    plans = []
    for user_id in range(1, 7):
        plans.append(await service.member_joined(G, user_id))
        clock.advance(seconds=2)
    assert [p.batched for p in plans] == [False, False, False, True, True, True]
    assert [j.kind for j in await scheduler.pending(G, BATCH_WELCOME)] == [BATCH_WELCOME]
    assert await service.batch_pending(G) == [4, 5, 6]
    assert await service.batch_pending(G) == [4, 5, 6]  # until the batch welcome is marked sent
    await service.mark_batch_welcomed(G, [4, 5, 6])
    assert await service.batch_pending(G) == []
    clock.advance(minutes=5)
    assert not (await service.member_joined(G, 7)).batched


async def test_a_dm_welcome_is_never_used_for_a_batch(service: OnboardingService, settings: Settings) -> None:
    await settings.set(G, "onboarding_dm", True)
    await settings.set(G, "raid_joins_per_minute", 2)
    plans = [await service.member_joined(G, user_id) for user_id in (1, 2, 3)]
    assert [p.use_dm for p in plans] == [True, True, False]


async def test_first_message_waits_for_an_answer_then_a_reply_cancels_the_ping(
    service: OnboardingService, scheduler: Scheduler, clock: FrozenClock
) -> None:
    await service.member_joined(G, 1)
    outcome = await service.message_seen(G, 1, channel_id=50, message_id=500)
    assert outcome.first_message
    assert await pending_kinds(scheduler, 1) == [UNANSWERED]  # the nudge is cancelled
    assert not (await service.message_seen(G, 1, channel_id=50, message_id=501)).first_message
    # Someone else talking elsewhere without replying doesn't count.
    assert (await service.message_seen(G, 2, channel_id=60, message_id=600)).answered == ()
    clock.advance(minutes=3)
    assert (
        await service.message_seen(G, 2, channel_id=60, message_id=601, reply_to_author_id=1)
    ).answered == (1,)
    assert await pending_kinds(scheduler, 1) == []


async def test_no_staff_ping_once_the_member_facts_hold_a_reply(
    service: OnboardingService, db: Database, clock: FrozenClock
) -> None:
    await service.member_joined(G, 1)
    await service.message_seen(G, 1, channel_id=50, message_id=500)
    # The activity pipeline owns "first reply received" (bot/core/members.py) and writes it in batches.
    now = int(clock.now().timestamp())
    await db.execute(
        "INSERT INTO members (guild_id, user_id, first_joined_at, joined_at, first_message_at, first_reply_at)"
        " VALUES (?, 1, ?, ?, ?, ?)",
        (G, now, now, now, now + 60),
    )
    assert not await service.staff_ping_due(G, 1)


# Talking after a newcomer in their channel is no longer an answer: "got a reply" is a reply or a
# mention by someone else (bot/core/members.py), the same rule as /stats funnel.
@pytest.mark.parametrize(
    ("channel_id", "reply_to", "mentions", "answered"),
    [(50, None, (), False), (60, None, (1,), True), (60, 1, (), True), (60, 3, (4,), False)],
)
async def test_what_counts_as_an_answer(
    service: OnboardingService,
    channel_id: int,
    reply_to: int | None,
    mentions: tuple[int, ...],
    answered: bool,
) -> None:
    await service.member_joined(G, 1)
    await service.message_seen(G, 1, channel_id=50, message_id=500)
    outcome = await service.message_seen(
        G, 2, channel_id=channel_id, message_id=501, reply_to_author_id=reply_to, mention_ids=mentions
    )
    assert (outcome.answered == (1,)) is answered


async def test_an_unanswered_first_message_is_due_one_staff_ping(service: OnboardingService) -> None:
    await service.member_joined(G, 1)
    await service.message_seen(G, 1, channel_id=50, message_id=500)
    assert await service.staff_ping_due(G, 1)
    await service.mark_staff_pinged(G, 1)
    assert not await service.staff_ping_due(G, 1)


async def test_members_who_were_already_here_are_not_tracked(
    service: OnboardingService, db: Database
) -> None:
    outcome = await service.message_seen(G, 99, channel_id=50, message_id=1)
    assert not outcome.first_message
    await service.accept_rules(G, 99)
    funnel = await service.funnel(
        G, service._clock.now() - timedelta(days=1), service._clock.now() + timedelta(days=1)
    )
    assert funnel.steps[0].count == 0


async def test_buddies_rotate_and_skip_volunteers_away_for_days(
    service: OnboardingService, settings: Settings, clock: FrozenClock, db: Database
) -> None:
    await settings.set(G, "buddy_idle_days", 3)
    volunteers = [10, 20, 30]
    for volunteer in volunteers:
        await service.volunteer_seen(G, volunteer)
    clock.advance(days=2)
    await service.volunteer_seen(G, 10)
    await service.volunteer_seen(G, 30)
    clock.advance(days=2)  # 20 was last seen 4 days ago
    picks = []
    for user_id in range(1, 6):
        await service.member_joined(G, user_id)
        picks.append(await service.assign_buddy(G, user_id, volunteers))
    assert picks == [10, 30, 10, 30, 10]
    assert await db.fetchval("SELECT buddy_id FROM onboarding_members WHERE user_id = 2") == 30
    assert await service.assign_buddy(G, 10, [10]) is None


async def test_never_seen_volunteers_get_the_benefit_of_the_doubt(service: OnboardingService) -> None:
    await service.member_joined(G, 1)
    await service.member_joined(G, 2)
    assert [await service.assign_buddy(G, 1, [7, 8]), await service.assign_buddy(G, 2, [7, 8])] == [7, 8]


async def test_picks_replace_the_previous_ones_and_report_role_changes(
    service: OnboardingService, db: Database
) -> None:
    games = await service.add_interest(G, "Games", 501)
    music = await service.add_interest(G, "Music", 502)
    await service.member_joined(G, 1)
    first = await service.set_picks(G, 1, [games.id, music.id, 9999])
    assert first.add_role_ids == (501, 502) and first.remove_role_ids == () and first.first_time
    second = await service.set_picks(G, 1, [music.id])
    assert second.add_role_ids == () and second.remove_role_ids == (501,) and not second.first_time
    assert [i.label for i in await service.picks(G, 1)] == ["Music"]


async def test_interest_list_is_validated(service: OnboardingService) -> None:
    await service.add_interest(G, "Games", 501)
    with pytest.raises(InvalidValue):
        await service.add_interest(G, "games", 502)
    with pytest.raises(NotFound):
        await service.remove_interest(G, "Knitting")
    assert (await service.remove_interest(G, "GAMES")).role_id == 501
    for n in range(25):
        await service.add_interest(G, f"i{n}", 600 + n)
    with pytest.raises(InvalidValue):
        await service.add_interest(G, "one too many", 700)


async def test_templates_are_validated_and_rotated_per_language(service: OnboardingService) -> None:
    with pytest.raises(InvalidValue):
        await service.add_template(G, "en", "Hi {nickname}")
    with pytest.raises(InvalidValue):
        await service.add_template(G, "en", "x" * 2001)
    a = await service.add_template(G, "en", "A {member}")
    b = await service.add_template(G, "en", "B {member}")
    await service.add_template(G, "fr", "Salut {member}")
    rotation = [await service.next_variant(G, "en", ["default"]) for _ in range(3)]
    assert rotation == [a.body, b.body, a.body]
    assert await service.next_variant(G, "fr", ["défaut"]) == "Salut {member}"
    await service.edit_template(G, b.id, "B2 {server}")
    assert (await service.template(G, b.id)).body == "B2 {server}"
    await service.remove_template(G, a.id)
    with pytest.raises(NotFound):
        await service.remove_template(G, a.id)
    with pytest.raises(NotFound):
        await service.edit_template(G + 1, b.id, "other server")


async def test_without_own_variants_the_defaults_rotate(service: OnboardingService) -> None:
    assert [await service.next_variant(G, "en", ["1", "2"]) for _ in range(3)] == ["1", "2", "1"]


def test_default_welcomes_exist_in_both_languages_and_are_valid(catalog: Catalog) -> None:
    for n in (1, 2, 3):
        en = catalog.raw("en", f"onboarding.welcome.default.{n}")
        fr = catalog.raw("fr", f"onboarding.welcome.default.{n}")
        assert en and fr and en != fr
        templates.validate(en)
        templates.validate(fr)
        assert {p.text for p in templates.parse(en) if p.placeholder} == {
            p.text for p in templates.parse(fr) if p.placeholder
        }


async def test_funnel_on_hand_built_data(
    service: OnboardingService, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    day = 86400
    base = int(now.timestamp()) - 20 * day
    rows = [
        # user, first join, accepted, interests, first message, first reply, active in week 2
        (1, base, base + 60, base + 120, base + 300, base + 400, True),
        (2, base, base + 60, base + 120, base + 300, base + 400, False),
        (3, base, base + 60, None, base + 300, None, False),
        (4, base, base + 60, None, None, None, False),
        (5, base, None, None, None, None, False),
        (6, base - 40 * day, base, base, base, base, True),  # joined before the period
    ]
    for user, joined, accepted, interests, first, reply, week2 in rows:
        await db.execute(
            "INSERT INTO onboarding_members(guild_id, user_id, joined_at, accepted_at, interests_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (G, user, joined, accepted, interests),
        )
        await db.execute(
            "INSERT INTO members(guild_id, user_id, joined_at, first_joined_at, first_message_at, first_reply_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (G, user, joined, joined, first, reply),
        )
        if week2:
            await db.execute(
                "INSERT INTO activity_daily_member(guild_id, day, user_id, messages, blocks) VALUES (?, ?, ?, 1, 1)",
                (G, joined // day + 8, user),
            )
    funnel = await service.funnel(G, now - timedelta(days=30), now)
    assert [(s.key, s.count) for s in funnel.steps] == [
        ("joined", 5),
        ("accepted", 4),
        ("interests", 2),
        ("first_message", 3),
        ("replied", 2),
        ("week2", 1),
    ]
    by_key = {s.key: s for s in funnel.steps}
    assert by_key["accepted"].of_joined == pytest.approx(0.8)
    assert by_key["replied"].of_previous == pytest.approx(2 / 3)
    assert by_key["week2"].of_previous == pytest.approx(0.5)
    assert by_key["week2"].of_joined == pytest.approx(0.2)
    empty = await service.funnel(G + 1, now - timedelta(days=30), now)
    assert all(s.count == 0 and s.of_joined is None for s in empty.steps)


async def test_export_and_forget(service: OnboardingService, scheduler: Scheduler) -> None:
    games = await service.add_interest(G, "Games", 501)
    await service.member_joined(G, 1)
    await service.set_picks(G, 1, [games.id])
    exported = await service.export(G, 1)
    assert exported["interests"] == ["Games"]
    assert exported["state"]["user_id"] == 1 and isinstance(exported["state"]["joined_at"], str)
    assert await service.forget(G, 1) == 2
    assert await service.export(G, 1) == {"state": None, "interests": []}
    assert await pending_kinds(scheduler, 1) == []


async def test_a_new_service_on_the_same_database_follows_the_same_newcomers(
    service: OnboardingService, db: Database, clock: FrozenClock, settings: Settings, scheduler: Scheduler
) -> None:
    await service.member_joined(G, 1)
    await service.member_joined(G, 2)
    await service.message_seen(G, 1, channel_id=50, message_id=500)
    restarted = OnboardingService(db, clock, settings, scheduler)
    assert (await restarted.message_seen(G, 2, channel_id=60, message_id=600)).first_message
    assert (
        await restarted.message_seen(G, 3, channel_id=50, message_id=700, reply_to_author_id=1)
    ).answered == (1,)
    assert not (await restarted.message_seen(G, 1, channel_id=50, message_id=501)).first_message


async def test_a_member_who_rejoins_does_not_get_a_second_first_message(service: OnboardingService) -> None:
    await service.member_joined(G, 1)
    assert (await service.message_seen(G, 1, channel_id=50, message_id=500)).first_message
    await service.member_left(G, 1)
    await service.member_joined(G, 1)
    assert not (await service.message_seen(G, 1, channel_id=50, message_id=501)).first_message


async def test_a_forgotten_newcomer_is_no_longer_followed(service: OnboardingService, db: Database) -> None:
    await service.member_joined(G, 1)
    await service.message_seen(G, 1, channel_id=50, message_id=500)
    await service.forget(G, 1)
    outcome = await service.message_seen(G, 2, channel_id=50, message_id=501, reply_to_author_id=1)
    assert outcome.answered == () and not outcome.first_message
    assert await db.fetchval("SELECT COUNT(*) FROM onboarding_members WHERE user_id = 1") == 0


async def test_tracking_ends_after_two_weeks(service: OnboardingService, clock: FrozenClock) -> None:
    await service.member_joined(G, 1)
    await service.member_joined(G, 2)
    await service.message_seen(G, 2, channel_id=50, message_id=500)
    clock.advance(days=15)
    assert not (await service.message_seen(G, 1, channel_id=50, message_id=501)).first_message
    assert (
        await service.message_seen(G, 3, channel_id=50, message_id=502, reply_to_author_id=2)
    ).answered == ()


async def test_newcomers_past_two_weeks_leave_the_in_memory_mirror(
    service: OnboardingService, clock: FrozenClock
) -> None:
    await service.member_joined(G, 1)
    await service.member_joined(G, 2)
    await service.message_seen(G, 2, channel_id=50, message_id=500)
    clock.advance(days=15)
    await service.member_joined(G, 3)
    watched = service._watched[G]
    assert set(watched.newcomers) == {3} and watched.waiting == {}
