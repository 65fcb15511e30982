"""The append suite: our event store, per transaction and in bulk, beside the baselines of
tests/bench/baselines.py, all on the same server in one run."""

import asyncio
import time
from datetime import UTC, datetime

from shared.store.db import create_pool
from shared.store.event_store import SEAL_SLICE, EventStore, StreamAppend
from tests.bench import baselines
from tests.bench.environment import (
    WRITERS,
    Bench,
    CpuMeter,
    drop_schemas,
    nip,
    shares,
    target_event,
    unique,
)
from tests.bench.results import Case, Suite
from tests.bench.rounds import Measure, run_rounds
from tests.support.events import TargetSet, context

BULK_STREAMS = 2_500  # streams per append_many call, two events each: 5,000 events a call
WARM_UP = 200  # transactions per case before the clock starts (connections, plans)


def run(bench: Bench) -> Suite:
    suite = Suite("append")
    suite.notes += [
        f"per-transaction cases: {bench.append_events:,} events each, a new stream per "
        "transaction; bulk cases (append_many, COPY): "
        f"{bench.bulk_events:,} events in calls of 5,000",
        f"{WRITERS} writers: asyncio tasks sharing one pool of {WRITERS} connections (ours, "
        f"bare INSERT); {WRITERS} threads with a pool of {WRITERS} (eventsourcing)",
    ]
    # compared cases side by side in time, so drifting load falls on both alike
    cases: list[tuple[str, Measure]] = [
        ("ours 2/tx x1", lambda: ours(bench, writers=1, per_transaction=2)),
        ("bare INSERT x1", lambda: baselines.bare_insert(bench, 1)),
        ("eventsourcing x1", lambda: asyncio.to_thread(baselines.eventsourcing, bench, 1)),
        ("ours 2/tx x8", lambda: ours(bench, writers=WRITERS, per_transaction=2)),
        ("bare INSERT x8", lambda: baselines.bare_insert(bench, WRITERS)),
        ("eventsourcing x8", lambda: asyncio.to_thread(baselines.eventsourcing, bench, WRITERS)),
        ("ours 1/tx x1", lambda: ours(bench, writers=1, per_transaction=1)),
        ("ours 1/tx x8", lambda: ours(bench, writers=WRITERS, per_transaction=1)),
        ("ours batches", lambda: ours_bulk(bench, pipelined=True)),
        ("bare COPY", lambda: baselines.bare_copy(bench)),
        ("ours bulk", lambda: ours_bulk(bench, pipelined=False)),
        ("seal only", lambda: seal_only(bench)),
    ]
    run_rounds(suite, bench, cases)
    x8 = f"{WRITERS} writers"
    suite.ratio(
        f"ours append ({x8}) / bare INSERT ({x8})", "ours_2_x8", "bare_insert_x8", 0.6, ">= 0.6"
    )
    suite.ratio(
        f"ours append ({x8}) / eventsourcing ({WRITERS} threads)",
        "ours_2_x8",
        "eventsourcing_x8",
        5.0,
        ">= 5 (the issue's 'about 5x')",
    )
    suite.ratio("ours append_batches / bare COPY", "ours_batches", "bare_copy", 0.5, ">= 0.5")
    suite.ratio("ours append_many, call by call / bare COPY", "ours_bulk", "bare_copy", None, "—")
    suite.ratio(
        "ours append (1 writer) / bare INSERT (1)", "ours_2_x1", "bare_insert_x1", None, "—"
    )
    suite.ratio(
        "ours append (1 writer) / eventsourcing (1 thread)",
        "ours_2_x1",
        "eventsourcing_x1",
        None,
        "—",
    )
    suite.ratio(
        "ours append_batches / seal only (CPU ceiling)", "ours_batches", "seal_only", None, "—"
    )
    return suite


async def ours(bench: Bench, *, writers: int, per_transaction: int) -> Case:
    """`EventStore.append`: a new stream of `per_transaction` events per call."""
    count = bench.append_events // per_transaction
    service = unique("bench_ours")
    pool = await create_pool(bench.database_url, min_size=writers, max_size=WRITERS)
    try:
        store = EventStore(pool, service)
        await store.migrate()
        work = [
            (
                f"target-{i}",
                nip(i),
                [target_event(i * per_transaction + k) for k in range(per_transaction)],
            )
            for i in range(-WARM_UP, count)
        ]
        ctx = context(correlation_id="bench")

        async def writer(items: list[tuple[str, str, list[TargetSet]]]) -> None:
            for stream_id, subject, events in items:
                await store.append(stream_id, 0, events, subject=subject, context=ctx)

        async def concurrently(items: list[tuple[str, str, list[TargetSet]]]) -> float:
            started = time.perf_counter()
            await asyncio.gather(
                *(writer([items[i] for i in s]) for s in shares(len(items), writers))
            )
            return time.perf_counter() - started

        await concurrently(work[:WARM_UP])
        meter = CpuMeter(bench.database_url)
        meter.start()
        seconds = await concurrently(work[WARM_UP:])
        cpu = meter.stop(count * per_transaction)
        async with pool.acquire() as db:
            stored = await db.fetchval(f'SELECT count(*) FROM "{service}".events')
        expected = (WARM_UP + count) * per_transaction
        if stored != expected:
            raise AssertionError(f"{stored} events stored, {expected} appended")
    finally:
        await pool.close()
        await drop_schemas(bench.database_url, service)
    events = count * per_transaction
    return Case(
        key=f"ours_{per_transaction}_x{writers}",
        name=f"ours append, {per_transaction} event{'s' * (per_transaction > 1)}/tx, "
        f"{writers} writer{'s' * (writers > 1)}",
        events=events,
        seconds=seconds,
        value=events / seconds,
        unit="events/s",
        extra={"transactions/s": count / seconds, **cpu},
    )


async def ours_bulk(bench: Bench, *, pipelined: bool) -> Case:
    """The bulk path, 2,500 new streams x 2 events per transaction (COPY), its DomainEvent
    input built before the clock starts: `append_batches` of all the batches (two in flight
    on two connections), or `append_many` called for one batch after another."""
    service = unique("bench_batches" if pipelined else "bench_bulk")
    pool = await create_pool(bench.database_url, min_size=2, max_size=2)
    try:
        store = EventStore(pool, service)
        await store.migrate()
        ctx, streams = context(correlation_id="bench"), bench.bulk_events // 2
        calls = [
            [
                StreamAppend(
                    f"target-{i}", 0, nip(i), [target_event(2 * i), target_event(2 * i + 1)]
                )
                for i in range(start, min(start + BULK_STREAMS, streams))
            ]
            for start in range(0, streams, BULK_STREAMS)
        ]
        meter = CpuMeter(bench.database_url)
        meter.start()
        started = time.perf_counter()
        if pipelined:
            await store.append_batches(calls, context=ctx)
        else:
            for appends in calls:
                await store.append_many(appends, context=ctx)
        seconds = time.perf_counter() - started
        cpu = meter.stop(streams * 2)
        async with pool.acquire() as db:
            stored = await db.fetchval(f'SELECT count(*) FROM "{service}".events')
        if stored != streams * 2:
            raise AssertionError(f"{stored} events stored, {streams * 2} appended")
    finally:
        await pool.close()
        await drop_schemas(bench.database_url, service)
    if pipelined:
        key, name = "ours_batches", "ours append_batches, 2,500 streams x 2 events/transaction"
    else:
        key, name = "ours_bulk", "ours append_many, 2,500 streams x 2 events/call, call by call"
    extra = {"transactions/s": len(calls) / seconds, **cpu}
    return Case(key, name, stored, seconds, stored / seconds, "events/s", extra)


async def seal_only(bench: Bench) -> Case:
    """Diagnostic: what the bulk path's sealing alone costs (`EventStore.seal_copy`: uuid7,
    event.payload(), canonical JSON, sha256, the binary COPY row), the CPU work before the
    database."""
    store = EventStore(None, "bench")  # type: ignore[arg-type]  # sealing needs no pool
    ctx, streams = context(correlation_id="bench"), bench.bulk_events // 2
    parts = [
        StreamAppend(f"target-{i}", 0, nip(i), [target_event(2 * i), target_event(2 * i + 1)])
        for i in range(streams)
    ]
    batch, rows, heads = store.copy_batch(ctx, datetime.now(UTC)), bytearray(), bytearray()
    started = time.perf_counter()
    for start in range(0, len(parts), SEAL_SLICE):  # as the bulk path does
        store.seal_copy(parts[start : start + SEAL_SLICE], {}, batch, rows, heads)
    seconds = time.perf_counter() - started
    count = streams * 2
    return Case(
        "seal_only",
        "diagnostic: seal only (no database)",
        count,
        seconds,
        count / seconds,
        "events/s",
        {"client CPU µs/event": seconds / count * 1e6},
    )
