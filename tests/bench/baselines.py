"""What our store is measured against: the `eventsourcing` library's PostgreSQL recorder,
and bare asyncpg INSERT and COPY into a plain table with our events table's columns."""

import asyncio
import hashlib
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from shared.store.db import Connection, create_pool
from tests.bench.environment import (
    EVENT_TYPE,
    WRITERS,
    Bench,
    CpuMeter,
    count_rows,
    drop_schemas,
    nip,
    payload,
    shares,
    unique,
)
from tests.bench.results import Case

COPY_CHUNK = 5_000
WARM_UP = 200  # transactions per case before the clock starts
ES_TOPIC = "tests.support.events:TargetSet"
# our events table's columns and types, without its commit-order columns, unique event id,
# index, or streams table: what a store without our guarantees would write
PLAIN_TABLE = """
CREATE TABLE {schema}.events (
    event_id uuid NOT NULL, stream_id text NOT NULL, stream_version integer NOT NULL,
    event_type text NOT NULL, schema_version integer NOT NULL, subject text NOT NULL,
    occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL, actor text NOT NULL,
    correlation_id text NOT NULL, causation_id text, previous_hash char(64) NOT NULL,
    hash char(64) NOT NULL, payload json NOT NULL,
    PRIMARY KEY (stream_id, stream_version)
)"""
COLUMNS = [
    "event_id", "stream_id", "stream_version", "event_type", "schema_version", "subject",
    "occurred_at", "recorded_at", "actor", "correlation_id", "causation_id", "previous_hash",
    "hash", "payload",
]  # fmt: skip
Row = tuple[Any, ...]


def plain_rows(i: int, now: datetime) -> list[Row]:
    """Stream i's two rows, ready to write: ids, hashes and JSON text already made."""
    previous = "0" * 64
    rows = []
    for version in (1, 2):
        digest = hashlib.sha256(f"{i}:{version}".encode()).hexdigest()
        rows.append((
            uuid.uuid4(), f"target-{i}", version, EVENT_TYPE, 1, nip(i), now, now, nip(0),
            "bench", None, previous, digest, json.dumps(payload(2 * i + version - 1)),
        ))  # fmt: skip
        previous = digest
    return rows


async def _plain_table(connection: Connection, schema: str) -> None:
    await connection.execute(f'CREATE SCHEMA "{schema}"')
    await connection.execute(PLAIN_TABLE.format(schema=f'"{schema}"'))


async def bare_insert(bench: Bench, writers: int) -> Case:
    """Two rows per transaction (BEGIN, one executemany, COMMIT), rows prebuilt."""
    count = bench.append_events // 2
    schema = unique("bench_insert")
    pool = await create_pool(bench.database_url, min_size=writers, max_size=WRITERS)
    insert = (
        f'INSERT INTO "{schema}".events ({", ".join(COLUMNS)})'
        f" VALUES ({', '.join(f'${n}' for n in range(1, len(COLUMNS) + 1))})"
    )
    try:
        async with pool.acquire() as db:
            await _plain_table(db, schema)
        now = datetime.now(UTC)
        work = [plain_rows(i, now) for i in range(-WARM_UP, count)]

        async def writer(items: list[list[Row]]) -> None:
            for rows in items:
                async with pool.acquire() as db, db.transaction():
                    await db.executemany(insert, rows)

        async def concurrently(items: list[list[Row]]) -> float:
            started = time.perf_counter()
            await asyncio.gather(
                *(writer([items[i] for i in s]) for s in shares(len(items), writers))
            )
            return time.perf_counter() - started

        await concurrently(work[:WARM_UP])
        meter = CpuMeter(bench.database_url)
        meter.start()
        seconds = await concurrently(work[WARM_UP:])
        cpu = meter.stop(count * 2)
        async with pool.acquire() as db:
            stored = await db.fetchval(f'SELECT count(*) FROM "{schema}".events')
        if stored != (count + WARM_UP) * 2:
            raise AssertionError(f"{stored} rows stored, {(count + WARM_UP) * 2} inserted")
    finally:
        await pool.close()
        await drop_schemas(bench.database_url, schema)
    plural = "s" * (writers > 1)
    return Case(
        f"bare_insert_x{writers}",
        f"bare asyncpg INSERT, 2 rows/tx, {writers} connection{plural}",
        count * 2,
        seconds,
        count * 2 / seconds,
        "events/s",
        {"transactions/s": count / seconds, **cpu},
    )


async def bare_copy(bench: Bench) -> Case:
    """`copy_records_to_table` of prebuilt rows, 5,000 per call (each its own transaction)."""
    schema = unique("bench_copy")
    connection = await asyncpg.connect(bench.database_url)
    try:
        await _plain_table(connection, schema)
        now, streams, per_call = datetime.now(UTC), bench.bulk_events // 2, COPY_CHUNK // 2
        chunks = [
            [
                row
                for i in range(start, min(start + per_call, streams))
                for row in plain_rows(i, now)
            ]
            for start in range(0, streams, per_call)
        ]
        meter = CpuMeter(bench.database_url)
        meter.start()
        started = time.perf_counter()
        for rows in chunks:
            await connection.copy_records_to_table(
                "events", schema_name=schema, columns=COLUMNS, records=rows
            )
        seconds = time.perf_counter() - started
        total = streams * 2
        cpu = meter.stop(total)
        stored = await connection.fetchval(f'SELECT count(*) FROM "{schema}".events')
        if stored != total:
            raise AssertionError(f"{stored} rows stored, {total} copied")
    finally:
        await connection.close()
        await drop_schemas(bench.database_url, schema)
    return Case(
        "bare_copy",
        "bare asyncpg COPY, 5,000 rows/call",
        total,
        seconds,
        total / seconds,
        "events/s",
        {"transactions/s": len(chunks) / seconds, **cpu},
    )


def eventsourcing(bench: Bench, threads: int) -> Case:
    """PostgresApplicationRecorder.insert_events: a new aggregate's two events per call,
    from `threads` threads sharing a psycopg pool of that many connections."""
    count = bench.append_events // 2
    schema = unique("bench_es")
    asyncio.run(_create_schema(bench.database_url, schema))
    url = urlsplit(bench.database_url)
    datastore = PostgresDatastore(
        dbname=url.path.lstrip("/"),
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=unquote(url.username or ""),
        password=unquote(url.password or ""),
        pool_size=threads,
        max_overflow=0,
        schema=schema,
    )
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        datastore.pool.open(wait=True, timeout=30)
        work = [_aggregate(i) for i in range(WARM_UP + count)]

        def writer(items: list[list[StoredEvent]]) -> None:
            for events in items:
                recorder.insert_events(events)

        def concurrently(items: list[list[StoredEvent]]) -> float:
            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as executor:
                done = [
                    executor.submit(writer, [items[i] for i in s])
                    for s in shares(len(items), threads)
                ]
                for future in done:
                    future.result()
            return time.perf_counter() - started

        concurrently(work[:WARM_UP])
        meter = CpuMeter(bench.database_url)
        meter.start()
        seconds = concurrently(work[WARM_UP:])
        cpu = meter.stop(count * 2)
        stored = asyncio.run(count_rows(bench.database_url, f'"{schema}".stored_events'))
        if stored != (count + WARM_UP) * 2:
            raise AssertionError(f"{stored} events stored, {(count + WARM_UP) * 2} inserted")
    finally:
        datastore.close()
        asyncio.run(drop_schemas(bench.database_url, schema))
    plural = "s" * (threads > 1)
    return Case(
        f"eventsourcing_x{threads}",
        f"eventsourcing {_es_version()} "
        f"PostgresApplicationRecorder, 2 events/call, {threads} thread{plural}",
        count * 2,
        seconds,
        count * 2 / seconds,
        "events/s",
        {"transactions/s": count / seconds, **cpu},
    )


def _aggregate(i: int) -> list[StoredEvent]:
    originator = uuid.uuid4()
    return [
        StoredEvent(originator, version, ES_TOPIC, json.dumps(payload(2 * i + version)).encode())
        for version in (1, 2)
    ]


async def _create_schema(database_url: str, schema: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await connection.close()


def _es_version() -> str:
    from importlib import metadata

    return metadata.version("eventsourcing")
