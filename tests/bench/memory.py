"""The memory suite: peak RSS of the relay publishing N events and of a projection replaying
them, each a subprocess sampled from /proc every half second, so flatness is visible."""

import asyncio
import tempfile
import time
from pathlib import Path

import asyncpg

from shared.relay.outbox import OutboxRelay
from shared.relay.topics import dead_letter_topic, service_topic
from shared.store.db import create_pool
from shared.store.event_store import EventStore, StreamAppend
from tests.bench.environment import (
    Bench,
    count_rows,
    delete_topics,
    drop_schemas,
    log,
    nip,
    target_event,
    unique,
)
from tests.bench.processes import INTERVAL, Watched, follow, start
from tests.bench.results import Case, Check, Suite
from tests.support.events import context

LIMIT_MB = 300
FLAT_MB = 20  # growth allowed from 25% to 100% of the events before it counts as growing
STREAMS_PER_CALL = 2_500
SUBJECTS = 10_000


def run(bench: Bench) -> Suite:
    suite = Suite("memory")
    suite.notes.append(
        f"{bench.memory_events:,} events; RSS sampled every {INTERVAL}s from /proc/PID/status; "
        "peak is the largest of VmHWM (sampled, and as the child reports it at exit) and the "
        "samples; "
        f"RSS@q is the first sample at or past q of the events (100%: the last sample)"
    )
    asyncio.run(_run(bench, suite))
    for case in suite.cases:
        if case.unit != "MB peak":
            continue
        growth = case.extra["RSS@100% MB"] - case.extra["RSS@25% MB"]
        who = case.name.split(" (")[0]
        suite.checks += [
            Check(f"{who}: peak RSS", case.value, f"< {LIMIT_MB} MB", case.value < LIMIT_MB),
            Check(f"{who}: RSS growth 25%→100%", growth, f"<= {FLAT_MB} MB (flat)",
                  growth <= FLAT_MB, f"{case.extra['RSS@25% MB']:.0f} → "
                  f"{case.extra['RSS@100% MB']:.0f} MB"),
        ]  # fmt: skip
    return suite


async def _run(bench: Bench, suite: Suite) -> None:
    service = unique("benchmem")
    tally = unique("bench_mem")
    topic = service_topic(service)
    with tempfile.TemporaryDirectory(prefix="kinerja-bench-") as folder:
        try:
            suite.cases.append(await fill(bench, service))
            relay = await follow_relay(bench, service, Path(folder))
            suite.cases.append(
                relay.case("relay", "relay subprocess (shared.relay)", bench.memory_events)
            )
            projection = await follow_replay(bench, tally, topic, Path(folder))
            suite.cases.append(
                projection.case(
                    "replay", "replay subprocess (BulkTally, one process)", bench.memory_events
                )
            )
        finally:
            schemas = [f"proj_{tally}{suffix}" for suffix in ("", "__next", "__retired")]
            await drop_schemas(bench.database_url, service, *schemas)
            await delete_topics(bench.kafka, [topic, dead_letter_topic(tally)])


async def fill(bench: Bench, service: str) -> Case:
    """The events the relay will publish, appended with append_many."""
    pool = await create_pool(bench.database_url, max_size=2)
    started = time.perf_counter()
    try:
        store = EventStore(pool, service)
        await store.migrate()
        ctx, streams = context(correlation_id="bench"), bench.memory_events // 2
        for start in range(0, streams, STREAMS_PER_CALL):
            await store.append_many([
                StreamAppend(f"target-{i}", 0, nip(i % SUBJECTS),
                             [target_event(2 * i), target_event(2 * i + 1)])
                for i in range(start, min(start + STREAMS_PER_CALL, streams))
            ], context=ctx)  # fmt: skip
    finally:
        await pool.close()
    seconds, n = time.perf_counter() - started, bench.memory_events
    log(f"memory: appended {n:,} events in {seconds:.1f}s")
    return Case("fill", "setup: append_many (incl. building events)", n, seconds, n / seconds,
                "events/s")  # fmt: skip


async def follow_relay(bench: Bench, service: str, folder: Path) -> Watched:
    pool = await create_pool(bench.database_url, max_size=2)
    try:
        store = EventStore(pool, service)
        outbox = OutboxRelay(store, bench.kafka)
        async with pool.acquire() as db:
            last: int = await db.fetchval(f'SELECT max(position) FROM "{service}".events')

        async def progress() -> float:
            async with pool.acquire() as db:
                at = await db.fetchval(
                    f'SELECT position FROM "{service}".relay_checkpoints WHERE relay = $1',
                    outbox.name,
                )
                if at != last:
                    return (at or 0) / last
                return 1.0 if (await outbox.lag(db)).events == 0 else 0.999

        argv = ["shared.relay", "--service", service, "--batch-size", "1000"]
        watched = start(bench, argv, {}, folder / "relay.log")
        try:
            await follow(watched, progress, bench.memory_events / 500 + 300, until_done=True)
        finally:
            watched.stop()
    finally:
        await pool.close()
    log(f"memory: relay done in {watched.seconds:.1f}s, exit {watched.exit_code}")
    return watched


async def follow_replay(bench: Bench, tally: str, topic: str, folder: Path) -> Watched:
    connection = await asyncpg.connect(bench.database_url)
    try:

        async def progress() -> float:
            for schema in (f"proj_{tally}__next", f"proj_{tally}"):
                try:
                    done = await connection.fetchval(
                        f'SELECT coalesce(sum(next_offset), 0) FROM "{schema}"._offsets'
                    )
                except asyncpg.PostgresError:
                    continue
                return float(done) / bench.memory_events
            return 0.0

        # one process applies every event: what one replaying process holds at most (in a
        # replay in several, each worker runs this loop on a share of the partitions)
        argv = ["shared.projections", "replay", "--workers", "1", "--projection",
                "tests.support.projections:bulk_from_environment"]  # fmt: skip
        env = {"TALLY_NAME": tally, "TALLY_TOPIC": topic}
        watched = start(bench, argv, env, folder / "replay.log")
        try:
            await follow(watched, progress, bench.memory_events / 200 + 300, until_done=False)
        finally:
            watched.stop()
    finally:
        await connection.close()
    if watched.exit_code != 0:
        raise RuntimeError(f"replay exited {watched.exit_code}:\n{watched.tail()}")
    applied = await count_rows(bench.database_url, f'"proj_{tally}".applied')
    if applied != bench.memory_events:
        raise AssertionError(f"replay applied {applied} of {bench.memory_events} events")
    log(f"memory: replay done in {watched.seconds:.1f}s")
    return watched
