"""What this machine allows the ingest ratio to reach: the bounds behind benchmarks/ingest.py's figure.

Three measurements, each the median of interleaved rounds on the same texts as ingest.py:

- `interference`: bare VADER's throughput while a pure-Python busy loop runs in *another process*
  (no shared GIL, no SQLite), over VADER alone. Below 1.0 means work on the second core slows the
  first: overlapping the SQLite writer with the event loop is then not free, whatever the code does.
- `no_write_ratio`: the ingest handler path (event → language guess → VADER → buffer) with the batch
  writer replaced by a no-op, over bare VADER: the ratio if storing cost nothing.
- `loop_cpu_us_per_message_no_writes` / `_writing`: the event loop thread's own CPU time per message
  in the handler path, with the writer a no-op and with the real writer in its thread. The same
  Python work taking more CPU time while SQLite runs beside it is contention for the shared core.
- `write_cpu_us_per_message`: CPU time of the real batch writer (the SQLite statements of
  `rollups.write_messages`, in 2,000-message batches as in the bot) per message, on one thread,
  and `vader_us_per_message` beside it.

    python benchmarks/ceiling.py [--messages 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_messages, make_texts, vader_only

from bot.activity import rollups
from bot.activity.pipeline import ActivityPipeline
from bot.clock import FrozenClock
from bot.db import Database
from bot.settings import Settings
from cogs.activity import event_from_message


def _spin(stop: Any) -> None:
    total = 0
    while not stop.is_set():
        for i in range(10_000):
            total += i


def vader_beside_a_busy_core(texts: list[tuple[str, str]]) -> float:
    """Bare VADER's messages/s while another process keeps the second core busy."""
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,))
    spinner.start()
    time.sleep(0.2)
    try:
        rate, _ = vader_only(texts)
    finally:
        stop.set()
        spinner.join()
    return rate


async def _pipeline(db_path: Path) -> tuple[ActivityPipeline, Database]:
    db = await Database.open(db_path)
    await db.migrate()
    clock = FrozenClock(datetime(2026, 6, 1, tzinfo=UTC))
    pipeline = ActivityPipeline(db, clock, Settings(db, clock))
    await pipeline.warm()
    return pipeline, db


async def handler_run(messages: list[Any], *, writes: bool) -> tuple[float, float]:
    """The ingest handler path, storing or with the batch writer replaced by a no-op.

    Returns messages/s and the event loop thread's own CPU time per message (the writer's thread
    excluded): with writes on, the difference says what the writer costs the event loop.
    """
    with tempfile.TemporaryDirectory() as folder:
        pipeline, db = await _pipeline(Path(folder) / "ceiling.db")
        if not writes:

            async def nothing(*_: Any) -> None:
                return None

            pipeline._write = nothing  # type: ignore[method-assign]  # the experiment: storing costs nothing
        started, cpu = time.perf_counter(), time.thread_time()
        for i, message in enumerate(messages):
            event = event_from_message(message)
            assert event is not None
            await pipeline.handle_message(event)
            if i % 50 == 0:
                await asyncio.sleep(0)
        await pipeline.drain()
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
        await db.close()
    return len(messages) / elapsed, cpu / len(messages)


async def writer_rows(messages: list[Any]) -> list[tuple[Any, ...]]:
    """The rows the pipeline buffers for these messages (batch bound lifted so nothing is written)."""
    with tempfile.TemporaryDirectory() as folder:
        pipeline, db = await _pipeline(Path(folder) / "rows.db")
        pipeline.batch_size = len(messages) + 1
        for message in messages:
            event = event_from_message(message)
            assert event is not None
            await pipeline.handle_message(event)
        rows = list(pipeline._messages)
        await db.close()
    return rows


def writer_cpu(rows: list[tuple[Any, ...]], batch: int) -> float:
    """CPU seconds per message of the batch writer's SQLite statements, on one thread."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "writer.db"

        async def create() -> None:
            db = await Database.open(path)
            await db.migrate()
            await db.close()

        asyncio.run(create())
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        rollups.probe_writer(conn)  # creates the staging table
        conn.execute("DELETE FROM activity_staging")
        started = time.thread_time()
        for start in range(0, len(rows), batch):
            conn.execute("BEGIN")
            rollups._write_messages(conn, rows[start : start + batch])
            conn.execute("COMMIT")
        cpu = time.thread_time() - started
        stored = conn.execute("SELECT COUNT(*) FROM activity_messages").fetchone()[0]
        conn.close()
    assert stored == len(rows), (stored, len(rows))
    return cpu / len(rows)


def main() -> None:
    """Run the measurements and print the medians as a final JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    texts = make_texts(args.messages)
    messages = make_messages(texts)
    rows = asyncio.run(writer_rows(messages))
    vader_only(texts[:200])
    alone: list[float] = []
    beside: list[float] = []
    no_write: list[float] = []
    loop_cpu_no_write: list[float] = []
    loop_cpu_writing: list[float] = []
    write_cpu: list[float] = []
    for run in range(args.runs):
        alone.append(vader_only(texts)[0])
        beside.append(vader_beside_a_busy_core(texts))
        rate, cpu = asyncio.run(handler_run(messages, writes=False))
        no_write.append(rate / alone[-1])
        loop_cpu_no_write.append(cpu)
        loop_cpu_writing.append(asyncio.run(handler_run(messages, writes=True))[1])
        write_cpu.append(writer_cpu(rows, ActivityPipeline.__init__.__kwdefaults__["batch_size"]))
        sys.stderr.write(
            f"run {run + 1}: vader {alone[-1]:.0f}/s, beside a busy core {beside[-1]:.0f}/s,"
            f" no-write ratio {no_write[-1]:.3f}, event loop {cpu * 1e6:.1f} µs/msg without writes,"
            f" {loop_cpu_writing[-1] * 1e6:.1f} with, writer {write_cpu[-1] * 1e6:.1f} µs/msg\n"
        )
    result = {
        "messages": args.messages,
        "runs": args.runs,
        "vader_us_per_message": round(1e6 / statistics.median(alone), 1),
        "interference": round(statistics.median(b / a for a, b in zip(alone, beside, strict=True)), 3),
        "no_write_ratio": round(statistics.median(no_write), 3),
        "loop_cpu_us_per_message_no_writes": round(statistics.median(loop_cpu_no_write) * 1e6, 1),
        "loop_cpu_us_per_message_writing": round(statistics.median(loop_cpu_writing) * 1e6, 1),
        "write_cpu_us_per_message": round(statistics.median(write_cpu) * 1e6, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
