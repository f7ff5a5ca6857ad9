"""FlagService on a real migrated SQLite file: flags, verdicts, learning, purge, stats, data rights."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from bot.conflict.flags import (
    FlagService,
    IncomingMessage,
    learnable_terms,
    parse_channel_ids,
    second_person_pattern,
    strip_terms,
)
from bot.conflict.heat import Observation
from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.errors import UserError
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings

G, CH, OTHER_CH = 10, 20, 21
ALICE, BOB, CAROL = 1, 2, 3
_ids = itertools.count(1000)


@pytest.fixture
def service(db: Database, clock: FrozenClock, settings: Settings) -> FlagService:
    return FlagService(db, clock, settings, scheduler=Scheduler(db, clock))


def message(
    clock: FrozenClock, author: int, text: str, *, reply_to: int | None = None, channel: int = CH
) -> IncomingMessage:
    return IncomingMessage(
        guild_id=G,
        channel_id=channel,
        thread_id=None,
        message_id=next(_ids),
        author_id=author,
        created_at=clock.now(),
        text=text,
        lang="en",
        reply_to_author_id=reply_to,
    )


HEATED = [
    (ALICE, "you are a stupid idiot, shut up", BOB),
    (BOB, "shut up yourself, you pathetic moron", ALICE),
    (ALICE, "get lost loser, nobody asked you", BOB),
    (BOB, "you're the loser here, idiot", ALICE),
]

NOOB_BANTER = [
    (ALICE, "you absolute noob, stop lying you noob", BOB),
    (BOB, "noob noob noob, you noob clown", ALICE),
    (ALICE, "lol whatever noob, you noob", BOB),
]


async def play(
    service: FlagService, clock: FrozenClock, lines: list[tuple[int, str, int]], channel: int = CH
) -> list:
    outcomes = []
    for author, text, target in lines:
        clock.advance(seconds=20)
        outcome = await service.observe(message(clock, author, text, reply_to=target, channel=channel))
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


async def test_heated_exchange_creates_one_flag_with_excerpts_and_reasons(
    service: FlagService, clock: FrozenClock, db: Database
) -> None:
    outcomes = await play(service, clock, HEATED)
    assert len(outcomes) == 1
    flag = outcomes[0].flag
    assert flag.status == "open" and flag.channel_id == CH
    assert set(flag.members) == {ALICE, BOB}
    codes = {r.code for r in flag.reasons}
    assert "insult_at" in codes and "mutual" in codes
    assert 1 <= len(outcomes[0].excerpts) <= 5
    assert all(len(e.text) <= 200 for e in outcomes[0].excerpts)
    assert await db.fetchval("SELECT COUNT(*) FROM conflict_flags") == 1
    jobs = await service._scheduler.pending(G, "conflict.purge")  # type: ignore[union-attr]
    assert jobs and jobs[0].payload == {"flag_id": flag.id}
    assert jobs[0].run_at == flag.created_at + timedelta(days=7)


async def test_friendly_banter_is_not_flagged(service: FlagService, clock: FrozenClock) -> None:
    banter = [
        (ALICE, "you're a crazy genius lol", BOB),
        (BOB, "haha you idiot I love you", ALICE),
        (ALICE, "lol thanks mate, see you tonight", BOB),
        (BOB, "haha you idiot I love you", ALICE),
    ]
    assert await play(service, clock, banter) == []


async def test_excluded_channel_is_never_flagged(service: FlagService, clock: FrozenClock) -> None:
    await service.set_excluded(G, CH, True)
    assert await play(service, clock, HEATED) == []
    assert (await service.policy(G)).excluded == {CH}
    await service.set_excluded(G, CH, False)
    assert (await service.policy(G)).excluded == frozenset()


async def test_disabled_server_is_never_flagged(
    service: FlagService, clock: FrozenClock, settings: Settings
) -> None:
    await settings.set(G, "conflict_enabled", False)
    assert await play(service, clock, HEATED) == []


async def test_acknowledge_then_handled_deletes_excerpts_and_records_time_to_ack(
    service: FlagService, clock: FrozenClock, db: Database
) -> None:
    flag = (await play(service, clock, HEATED))[0].flag
    clock.set(flag.created_at + timedelta(minutes=4))
    acked = await service.acknowledge(G, flag.id, CAROL)
    assert acked.status == "acknowledged" and acked.acked_by == CAROL
    clock.advance(minutes=10)
    closed = await service.close(G, flag.id, CAROL, "handled")
    assert closed.status == "handled" and closed.closed_by == CAROL
    assert await service.excerpts(flag.id) == []
    assert await service._scheduler.pending(G, "conflict.purge") == []  # type: ignore[union-attr]
    stats = await service.stats(G, clock.now() - timedelta(days=30))
    assert stats.total == 1 and stats.handled == 1 and stats.precision == 1.0
    assert stats.mean_ack_seconds == 4 * 60
    assert stats.offset == pytest.approx(-0.1)


async def test_closed_flag_refuses_another_verdict(service: FlagService, clock: FrozenClock) -> None:
    flag = (await play(service, clock, HEATED))[0].flag
    await service.close(G, flag.id, CAROL, "false_positive")
    with pytest.raises(UserError) as caught:
        await service.close(G, flag.id, CAROL, "handled")
    assert caught.value.key == "conflict.errors.closed"


async def test_false_positive_teaches_banter_words_and_raises_threshold(
    service: FlagService, clock: FrozenClock, db: Database
) -> None:
    before = await service.policy(G)
    outcomes = await play(service, clock, NOOB_BANTER)
    assert len(outcomes) == 1
    await service.close(G, outcomes[0].flag.id, CAROL, "false_positive")
    after = await service.policy(G)
    assert after.heat_threshold == pytest.approx(before.heat_threshold + 0.25)
    assert "noob" in after.allow_terms
    assert "you" not in after.allow_terms
    # The same banter, after the cooldown, no longer makes a flag.
    clock.advance(hours=2)
    assert await play(service, clock, NOOB_BANTER) == []
    # Real hostility still does.
    clock.advance(hours=2)
    assert len(await play(service, clock, HEATED)) == 1
    stats = await service.stats(G, clock.now() - timedelta(days=1))
    assert stats.false_positive == 1 and stats.precision == 0.0 and "noob" in stats.allow_terms


async def test_a_word_once_confirmed_as_hostile_is_never_allow_listed(
    service: FlagService, clock: FrozenClock
) -> None:
    flag = (await play(service, clock, NOOB_BANTER))[0].flag
    await service.close(G, flag.id, CAROL, "handled")
    clock.advance(hours=2)
    flag = (await play(service, clock, NOOB_BANTER))[0].flag
    await service.close(G, flag.id, CAROL, "false_positive")
    assert "noob" not in (await service.policy(G)).allow_terms


async def test_escalation_updates_the_open_flag(
    service: FlagService, clock: FrozenClock, db: Database
) -> None:
    first = (await play(service, clock, HEATED[:2]))[0].flag
    clock.advance(minutes=5)
    outcomes = await play(
        service,
        clock,
        [
            (CAROL, "shut up alice you stupid pathetic idiot, I will kill you", ALICE),
            (BOB, "yeah shut up you disgusting moron", ALICE),
            (CAROL, "get lost you worthless idiot", ALICE),
        ],
    )
    assert len(outcomes) == 1 and outcomes[0].escalated
    flag = outcomes[0].flag
    assert flag.id == first.id and flag.escalations == 1 and flag.score > first.score
    assert CAROL in flag.members
    assert await db.fetchval("SELECT COUNT(*) FROM conflict_flags") == 1


async def test_purge_deletes_excerpts_of_a_flag_left_open(service: FlagService, clock: FrozenClock) -> None:
    flag = (await play(service, clock, HEATED))[0].flag
    clock.advance(days=7, seconds=1)
    scheduler = service._scheduler
    assert scheduler is not None
    scheduler.register("conflict.purge", lambda job: service.purge_excerpts(job.payload["flag_id"]))  # type: ignore[arg-type,return-value]
    assert await scheduler.run_due() == 1
    assert await service.excerpts(flag.id) == []
    assert (await service.get(G, flag.id)).status == "open"


async def test_export_shows_member_flags_and_only_their_own_excerpts(
    service: FlagService, clock: FrozenClock
) -> None:
    flag = (await play(service, clock, HEATED))[0].flag
    exported = await service.export_member(G, ALICE)
    assert [f["id"] for f in exported["flags"]] == [flag.id]
    assert exported["own_excerpts"]
    own_texts = {t for a, t, _ in HEATED if a == ALICE}
    assert all(e["text"] in own_texts for e in exported["own_excerpts"])
    assert (await service.export_member(G, CAROL))["flags"] == []


async def test_forget_removes_excerpts_and_anonymises_flags(
    service: FlagService, clock: FrozenClock, db: Database
) -> None:
    flag = (await play(service, clock, HEATED))[0].flag
    await service.acknowledge(G, flag.id, ALICE)
    assert await service.forget_member(G, ALICE) > 0
    assert all(e.author_id != ALICE for e in await service.excerpts(flag.id))
    after = await service.get(G, flag.id)
    assert ALICE not in after.members and after.acked_by is None
    assert all(ALICE not in r.params.values() for r in after.reasons)
    assert (await service.export_member(G, ALICE))["flags"] == []
    assert all(o.author_id != ALICE for window in _windows(service) for o in window)  # memory too


def _windows(service: FlagService) -> list[list[Observation]]:
    return [list(state.window) for state in service.tracker._channels.values()]


def test_strip_terms_and_learnable_terms() -> None:
    assert (
        strip_terms("you NOOB, noobs!", {"noob"}).split() == ["you", ",", "!"]
        or "noob" not in strip_terms("you NOOB, noobs!", {"noob"}).lower()
    )
    assert learnable_terms("you noob, shut up you idiot, kill") == {"noob", "idiot"}
    assert parse_channel_ids("12, 34,x, 56") == {12, 34, 56}


WORSE = [
    (CAROL, "shut up alice you stupid pathetic idiot, I will kill you", ALICE),
    (BOB, "yeah shut up you disgusting moron", ALICE),
    (CAROL, "get lost you worthless idiot", ALICE),
]


async def test_a_new_service_on_the_same_database_keeps_the_cooldown_then_escalates(
    service: FlagService, clock: FrozenClock, db: Database, settings: Settings
) -> None:
    first = (await play(service, clock, HEATED))[0].flag
    restarted = FlagService(db, clock, Settings(db, clock), scheduler=Scheduler(db, clock))
    assert await restarted.load() == 1
    assert await play(restarted, clock, HEATED) == []
    clock.advance(minutes=10)
    outcomes = await play(restarted, clock, WORSE)
    assert len(outcomes) == 1 and outcomes[0].escalated and outcomes[0].flag.id == first.id
    assert await db.fetchval("SELECT COUNT(*) FROM conflict_flags") == 1


async def test_the_stored_heat_state_is_ids_times_and_heat_only(
    service: FlagService, clock: FrozenClock, db: Database
) -> None:
    flag = (await play(service, clock, HEATED))[0].flag
    rows = await db.fetchall("SELECT * FROM conflict_heat")
    assert [dict(r) for r in rows] == [
        {
            "guild_id": G,
            "conversation_id": CH,
            "flagged_at": int(flag.created_at.timestamp()),
            "flagged_heat": flag.score,
            "flag_id": flag.id,
        }
    ]


async def test_load_forgets_conversations_whose_cooldown_is_over(
    service: FlagService, clock: FrozenClock, db: Database
) -> None:
    await play(service, clock, HEATED)
    clock.advance(minutes=31)
    restarted = FlagService(db, clock, Settings(db, clock))
    assert await restarted.load() == 0
    assert await db.fetchval("SELECT COUNT(*) FROM conflict_heat") == 0
    assert len(await play(restarted, clock, HEATED)) == 1


async def test_the_policy_is_read_once_until_a_setting_changes(
    service: FlagService, clock: FrozenClock, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real = settings.all

    async def counting(guild_id: int) -> dict[str, object]:
        reads.append(guild_id)
        return await real(guild_id)

    monkeypatch.setattr(settings, "all", counting)
    await play(service, clock, NOOB_BANTER[:2])
    assert reads == [G]
    await settings.set(G, "conflict_enabled", False)
    assert await play(service, clock, HEATED) == []
    assert reads == [G, G]


@pytest.mark.parametrize(
    ("text", "aimed"),
    [
        ("you are wrong", True),
        ("U r so dumb", True),
        ("t'es nul", True),
        ("t’as tort", True),
        ("je te déteste", True),
        ("ta gueule", True),
        ("vous êtes pénibles", True),
        ("young people on youtube", False),
        ("tout le monde est là", False),
        ("cette tasse est tombée", False),
        ("the rules are fine", False),
    ],
)
def test_second_person_test_finds_you_and_tu_not_lookalikes(text: str, aimed: bool) -> None:
    assert (second_person_pattern().search(text) is not None) is aimed
