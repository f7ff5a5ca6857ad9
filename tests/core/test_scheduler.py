"""The durable scheduler: jobs live in the database, survive restarts, run once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.core.clock import FrozenClock, to_ts
from bot.core.db import Database
from bot.core.scheduler import MAX_ATTEMPTS, Job, Scheduler, Transient, transient_delay
from bot.core.timeutil import next_local, zone


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.jobs: list[Job] = []
        self.fail_times = fail_times

    async def __call__(self, job: Job) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("Discord is down")
        self.jobs.append(job)


async def test_job_runs_when_due_and_only_once(db: Database, clock: FrozenClock) -> None:
    scheduler = Scheduler(db, clock)
    seen = Recorder()
    scheduler.register("remind", seen)
    await scheduler.schedule(7, "remind", clock.now() + timedelta(hours=1), {"user_id": 42})
    assert await scheduler.run_due() == 0
    clock.advance(hours=1)
    assert await scheduler.run_due() == 1
    assert await scheduler.run_due() == 0
    assert [(j.guild_id, j.payload) for j in seen.jobs] == [(7, {"user_id": 42})]


async def test_pending_job_survives_a_restart_and_runs_once(db: Database, clock: FrozenClock) -> None:
    first = Scheduler(db, clock)
    first.register("remind", Recorder())
    await first.start()
    await first.schedule(7, "remind", clock.now() + timedelta(minutes=30), {"user_id": 1})
    await first.shutdown()

    clock.advance(hours=2)
    second = Scheduler(db, clock)
    seen = Recorder()
    second.register("remind", seen)
    assert await second.start() == 1
    await second.run_due()
    await second.run_due()
    await second.shutdown()
    assert len(seen.jobs) == 1


async def test_job_left_running_by_a_crash_runs_again_at_start(db: Database, clock: FrozenClock) -> None:
    scheduler = Scheduler(db, clock)
    job_id = await scheduler.schedule(7, "remind", clock.now(), {})
    await db.execute("UPDATE scheduled_jobs SET status = 'running' WHERE id = ?", (job_id,))
    seen = Recorder()
    restarted = Scheduler(db, clock)
    restarted.register("remind", seen)
    await restarted.start()
    await restarted.run_due()
    await restarted.shutdown()
    assert [j.id for j in seen.jobs] == [job_id]


async def test_dedupe_key_keeps_one_live_job(db: Database, clock: FrozenClock) -> None:
    scheduler = Scheduler(db, clock)
    first = await scheduler.schedule(7, "remind", clock.now(), {}, dedupe_key="u1")
    second = await scheduler.schedule(7, "remind", clock.now(), {}, dedupe_key="u1")
    other_server = await scheduler.schedule(8, "remind", clock.now(), {}, dedupe_key="u1")
    assert first and second is None and other_server
    assert await scheduler.cancel(7, "remind", "u1")
    assert len(await scheduler.pending(guild_id=7)) == 0
    assert await scheduler.schedule(7, "remind", clock.now(), {}, dedupe_key="u1")


async def test_failing_job_is_retried_later_then_given_up(db: Database, clock: FrozenClock) -> None:
    scheduler = Scheduler(db, clock)
    flaky = Recorder(fail_times=1)
    scheduler.register("remind", flaky)
    await scheduler.schedule(7, "remind", clock.now(), {})
    assert await scheduler.run_due() == 1
    assert flaky.jobs == []
    assert await scheduler.run_due() == 0  # backed off, not hammered
    clock.advance(minutes=5)
    await scheduler.run_due()
    assert len(flaky.jobs) == 1

    broken = Recorder(fail_times=99)
    scheduler.register("broken", broken)
    job_id = await scheduler.schedule(7, "broken", clock.now(), {})
    for _ in range(MAX_ATTEMPTS + 2):
        clock.advance(hours=1)
        await scheduler.run_due()
    assert await db.fetchval("SELECT status FROM scheduled_jobs WHERE id = ?", (job_id,)) == "failed"


async def test_apscheduler_wakes_the_job_in_real_time(db: Database) -> None:
    import asyncio

    from bot.core.clock import SystemClock

    scheduler = Scheduler(db, SystemClock())
    done = asyncio.Event()

    async def handler(job: Job) -> None:
        done.set()

    scheduler.register("soon", handler)
    await scheduler.start()
    await scheduler.schedule(1, "soon", datetime.now(UTC) + timedelta(milliseconds=200), {})
    await asyncio.wait_for(done.wait(), timeout=5)
    await scheduler.shutdown()


def test_next_local_keeps_wall_time_across_daylight_saving() -> None:
    paris = zone("Europe/Paris")
    # Saturday 28 March 2026, the night before clocks go forward.
    before = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    first = next_local(before, paris, time(9, 0))
    second = next_local(first, paris, time(9, 0))
    assert first == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST = 07:00 UTC
    assert first.astimezone(paris).hour == 9 and second.astimezone(paris).hour == 9
    assert second - first == timedelta(days=1)
    winter = next_local(datetime(2026, 3, 27, 12, 0, tzinfo=UTC), paris, time(9, 0))
    assert winter == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET = 08:00 UTC


def test_next_local_skips_a_wall_time_that_does_not_exist() -> None:
    paris = zone("Europe/Paris")
    result = next_local(datetime(2026, 3, 29, 0, 0, tzinfo=UTC), paris, time(2, 30))
    assert result == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST, just past the gap


def test_next_local_on_a_weekday() -> None:
    result = next_local(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), zone("UTC"), time(9, 0), weekday=0)
    assert result == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


async def test_a_job_due_later_by_an_injected_clock_is_not_woken_early(db: Database) -> None:
    # The injected clock is ten months behind the real one (as in the simulator): the job is due in an
    # hour of *its* time, so the real-time wake-up must be an hour away too, not "overdue now".
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    scheduler = Scheduler(db, clock)
    seen = Recorder()
    scheduler.register("remind", seen)
    await scheduler.start()
    await scheduler.schedule(1, "remind", clock.now() + timedelta(hours=1), {})
    aps_job = scheduler._aps.get_jobs()[0]
    wait = aps_job.next_run_time - datetime.now(UTC)
    await scheduler.shutdown()
    assert timedelta(minutes=59) < wait <= timedelta(hours=1)
    assert seen.jobs == []


# ------------------------------------------------------------------ transient failures, posts


class Outage:
    """A handler that meets `failures` transient errors (Discord down), then succeeds once."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0
        self.done: list[Job] = []

    async def __call__(self, job: Job) -> None:
        self.runs += 1
        if self.failures:
            self.failures -= 1
            raise Transient("503 from Discord")
        self.done.append(job)


async def job_row(db: Database, job_id: int) -> tuple[str, int]:
    row = await db.fetchone("SELECT status, run_at FROM scheduled_jobs WHERE id = ?", (job_id,))
    assert row is not None
    return row["status"], row["run_at"]


async def test_transient_failure_releases_the_claim_and_backs_off(db: Database, clock: FrozenClock) -> None:
    scheduler = Scheduler(db, clock)
    outage = Outage(failures=6)
    scheduler.register("remind", outage)
    job_id = await scheduler.schedule(7, "remind", clock.now(), {})
    assert job_id
    waits = []
    for _ in range(6):
        started = to_ts(clock.now())
        assert await scheduler.run_due() == 1
        status, run_at = await job_row(db, job_id)
        assert status == "pending"  # released, not left running nor given up
        waits.append(run_at - started)
        clock.advance(seconds=run_at - started - 1)
        assert await scheduler.run_due() == 0  # not before its time
        clock.advance(seconds=1)
    assert waits == [5, 10, 20, 40, 80, 160]  # doubling, the same on every run: no jitter
    assert await scheduler.run_due() == 1
    assert (await job_row(db, job_id))[0] == "done"
    assert outage.runs == 7 and len(outage.done) == 1


async def test_an_outage_is_waited_out_for_about_a_day_then_given_up(
    db: Database, clock: FrozenClock
) -> None:
    scheduler = Scheduler(db, clock)
    scheduler.register("remind", Outage(failures=10_000))
    job_id = await scheduler.schedule(7, "remind", clock.now(), {})
    started = clock.now()
    runs = 0
    while (await job_row(db, job_id))[0] == "pending":
        clock.advance(minutes=1)
        runs += await scheduler.run_due()
    assert runs > MAX_ATTEMPTS  # far more patient than with a bug
    assert timedelta(days=1) <= clock.now() - started <= timedelta(days=1, hours=2)
    assert (await job_row(db, job_id))[0] == "failed"
    assert transient_delay(100) == timedelta(hours=1)


async def test_the_glue_can_name_other_errors_transient(db: Database, clock: FrozenClock) -> None:
    scheduler = Scheduler(db, clock)

    class ServerError(Exception):
        status = 503

    calls: list[int] = []

    async def flaky(job: Job) -> None:
        calls.append(job.attempts)
        if len(calls) <= MAX_ATTEMPTS:
            raise ServerError

    scheduler.register("remind", flaky)
    scheduler.treat_as_transient(lambda error: getattr(error, "status", 0) >= 500)
    job_id = await scheduler.schedule(7, "remind", clock.now(), {})
    for _ in range(MAX_ATTEMPTS + 1):
        await scheduler.run_due()
        clock.advance(hours=1)
    assert calls == [1, 2, 3, 4, 5, 6]
    assert (await job_row(db, job_id))[0] == "done"


async def test_a_bug_after_an_outage_still_gets_its_few_retries(db: Database, clock: FrozenClock) -> None:
    # A timeout is transient with no help from the glue; the eight of them don't count as bugs.
    scheduler = Scheduler(db, clock)
    runs: list[int] = []

    async def outage_then_bug(job: Job) -> None:
        runs.append(job.attempts)
        if len(runs) <= 8:
            raise TimeoutError
        if len(runs) == 9:
            raise RuntimeError("a bug")

    scheduler.register("remind", outage_then_bug)
    job_id = await scheduler.schedule(7, "remind", clock.now(), {})
    for _ in range(12):
        await scheduler.run_due()
        clock.advance(hours=1)
    assert len(runs) == 10
    assert (await job_row(db, job_id))[0] == "done"


async def test_a_job_cut_short_after_its_post_runs_again_and_knows_it_posted(
    db: Database, clock: FrozenClock
) -> None:
    first = Scheduler(db, clock)
    posted: list[int] = []

    async def post_then_crash(job: Job) -> None:
        if await first.posted(job.id) is None:
            posted.append(job.id)
            await first.record_post(job, "post", channel_id=50, message_id=900)
        raise SystemExit("kill -9")  # not an Exception: the scheduler can't mark the job failed or done

    first.register("remind", post_then_crash)
    job_id = await first.schedule(7, "remind", clock.now(), {})
    assert job_id
    with pytest.raises(SystemExit):
        await first.run_due()
    assert (await job_row(db, job_id))[0] == "running"

    restarted = Scheduler(db, clock)
    reruns: list[int | None] = []

    async def post_once(job: Job) -> None:
        already = await restarted.posted(job.id)
        reruns.append(already)
        if already is None:
            posted.append(job.id)

    restarted.register("remind", post_once)
    await restarted.start()  # wakes the recovered job at once
    for _ in range(100):
        if (await job_row(db, job_id))[0] == "done":
            break
        await asyncio.sleep(0.05)
    await restarted.shutdown()
    assert reruns == [900]  # it ran again, and knew its message had gone out
    assert posted == [job_id]
    assert (await job_row(db, job_id))[0] == "done"
    assert await restarted.posted(job_id, "dm") is None
