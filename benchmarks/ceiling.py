"""What this machine allows the ingest ratio to reach: the bounds behind benchmarks/ingest.py's figure.

The measurements, each the median of interleaved rounds on the same texts as ingest.py:

- `interference`: bare VADER's throughput while a pure-Python busy loop runs in *another process*
  (no shared GIL, no SQLite), over VADER alone. Below 1.0 means work on the second core slows the
  first: overlapping the SQLite writer with the event loop is then not free, whatever the code does.
- `no_write_ratio`: the ingest handler path (event → language guess → VADER → buffer) with the batch
  writer replaced by a no-op, over bare VADER: the ratio if storing cost nothing.
- `rows_only_ratio`: the same with a writer that stores the message rows (their indexes and
  triggers) and no roll-up at all; `ratio`: with the real writer. Each run times bare VADER right
  before each of the three.
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
from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.settings import Settings
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


def _rows_only(db: sqlite3.Connection, rows: Any) -> int:
    """The experiment's writer: the message rows (with their indexes and triggers), no roll-up."""
    db.execute("DELETE FROM activity_staging")
    rollups._stage(db, rows)
    db.execute(
        f"INSERT OR IGNORE INTO activity_messages ({rollups._COLS}) SELECT {rollups._COLS} FROM activity_staging"
    )
    return len(rows)


async def handler_run(messages: list[Any], *, writes: str) -> tuple[float, float]:
    """The ingest handler path with the real writer ("all"), rows only ("rows") or a no-op ("none").

    Returns messages/s and the event loop thread's own CPU time per message (the writer's thread
    excluded): with writes on, the difference says what the writer costs the event loop.
    """
    real_writer = rollups._write_messages
    with tempfile.TemporaryDirectory() as folder:
        pipeline, db = await _pipeline(Path(folder) / "ceiling.db")
        if writes == "none":

            async def nothing(*_: Any) -> None:
                return None

            pipeline._write = nothing  # type: ignore[method-assign]  # the experiment: storing costs nothing
        elif writes == "rows":
            rollups._write_messages = _rows_only  # the experiment: no roll-ups at all
        started, cpu = time.perf_counter(), time.thread_time()
        for i, message in enumerate(messages):
            event = event_from_message(message)
            assert event is not None
            await pipeline.handle_message(event)
            if i % 50 == 0:
                await asyncio.sleep(0)
        await pipeline.drain()
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
        rollups._write_messages = real_writer
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
    ratios: dict[str, list[float]] = {"none": [], "rows": [], "all": []}
    loop_cpu: dict[str, list[float]] = {"none": [], "rows": [], "all": []}
    write_cpu: list[float] = []
    for run in range(args.runs):
        beside.append(vader_beside_a_busy_core(texts))
        vader_rates = []
        for writes in ratios:
            vader_rates.append(vader_only(texts)[0])  # right before each, against the machine's drift
            rate, cpu = asyncio.run(handler_run(messages, writes=writes))
            ratios[writes].append(rate / vader_rates[-1])
            loop_cpu[writes].append(cpu)
        alone.append(statistics.median(vader_rates))
        write_cpu.append(writer_cpu(rows, ActivityPipeline.__init__.__kwdefaults__["batch_size"]))
        sys.stderr.write(
            f"run {run + 1}: vader {alone[-1]:.0f}/s, beside a busy core {beside[-1]:.0f}/s, ratio"
            + "".join(f" {w} {ratios[w][-1]:.3f}" for w in ratios)
            + ", event loop µs/msg"
            + "".join(f" {w} {loop_cpu[w][-1] * 1e6:.1f}" for w in loop_cpu)
            + f", writer {write_cpu[-1] * 1e6:.1f} µs/msg\n"
        )
    result = {
        "messages": args.messages,
        "runs": args.runs,
        "vader_us_per_message": round(1e6 / statistics.median(alone), 1),
        "interference": round(statistics.median(b / a for a, b in zip(alone, beside, strict=True)), 3),
        "no_write_ratio": round(statistics.median(ratios["none"]), 3),
        "rows_only_ratio": round(statistics.median(ratios["rows"]), 3),
        "ratio": round(statistics.median(ratios["all"]), 3),
        "loop_cpu_us_per_message_no_writes": round(statistics.median(loop_cpu["none"]) * 1e6, 1),
        "loop_cpu_us_per_message_rows_only": round(statistics.median(loop_cpu["rows"]) * 1e6, 1),
        "loop_cpu_us_per_message_writing": round(statistics.median(loop_cpu["all"]) * 1e6, 1),
        "write_cpu_us_per_message": round(statistics.median(write_cpu) * 1e6, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
