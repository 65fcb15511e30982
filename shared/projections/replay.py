"""Replay: rebuild a projection from the start of its topics into a new schema while the live
one keeps serving, then switch over in one transaction.

The switch holds the projection's lock alone (live batches hold it shared), applies what
arrived during the rebuild, then renames the schemas; readers see the old read model or the
new one, never a mix. Live runners check the stored offset on every batch, so after the
switch they skip what the rebuild already applied.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.projections.applier import Applier, exclusive_lock
from shared.projections.batch import ApplyFailed, Fetched, apply_batch, fetched
from shared.projections.dead_letters import dead_letter_spec
from shared.projections.projection import Projection
from shared.projections.schema import create_schema
from shared.relay.topics import ensure_topics, topic_partitions
from shared.store.db import Connection
from shared.store.migrations import quote_identifier

log = structlog.get_logger(__name__)
Progress = Callable[[int, int], None]  # (messages read, messages to read)


@dataclass(frozen=True)
class ReplayReport:
    messages: int
    seconds: float
    schema: str


async def replay(
    projection: Projection,
    pool: asyncpg.Pool,
    bootstrap_servers: str,
    *,
    progress: Progress | None = None,
    batch_size: int = 5000,
) -> ReplayReport:
    started = time.monotonic()
    building = projection.schema() + "__next"
    async with pool.acquire() as db, db.transaction():
        await db.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(building)} CASCADE")
        await create_schema(db, projection, building)
    await ensure_topics(bootstrap_servers, [dead_letter_spec(projection)])
    partitions = await topic_partitions(bootstrap_servers, projection.topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        max_poll_records=batch_size,
        # a replay reads history as fast as it can: big fetches, so big transactions
        max_partition_fetch_bytes=2 * 1024 * 1024,
        auto_offset_reset="earliest",  # an offset reset racing seek_to_beginning stays at the start
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        applier = Applier(projection, pool, producer, building)
        read = await _catch_up(consumer, partitions, applier.process_fetched, progress)
        while True:
            try:
                read += await _switch_over(pool, consumer, partitions, projection, building)
                break
            except ApplyFailed:
                # a failing message: leave the lock and let the applier retry or dead-letter it
                read += await _catch_up(
                    consumer, partitions, applier.process_fetched, progress, read
                )
    finally:
        await consumer.stop()
        await producer.stop()
    report = ReplayReport(read, time.monotonic() - started, projection.schema())
    log.info(
        "projection.replayed", projection=projection.name, messages=read, seconds=report.seconds
    )
    return report


async def _catch_up(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    process: Callable[[list[list[Fetched]]], Awaitable[None]],
    progress: Progress | None,
    already: int = 0,
) -> int:
    """Read and apply every partition up to the end offsets of now."""
    ends = await consumer.end_offsets(partitions)
    total = already + sum(
        ends[p] - at for p, at in (await _positions(consumer, partitions)).items()
    )
    read = 0
    while any(
        position < ends[p] for p, position in (await _positions(consumer, partitions)).items()
    ):
        batches = await consumer.getmany(*partitions, timeout_ms=500)
        # everything fetched is applied, also past `ends`: the consumer has moved beyond it,
        # so a record left out here would be missing from the rebuilt read model for good
        groups = [fetched(records) for records in batches.values() if records]
        if groups:
            await process(groups)
            read += sum(len(group) for group in groups)
        if progress:
            progress(already + read, max(total, already + read))
    return read


async def _positions(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    return {p: await consumer.position(p) for p in partitions}


async def _switch_over(
    pool: asyncpg.Pool,
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    projection: Projection,
    building: str,
) -> int:
    async with pool.acquire() as db, db.transaction():
        await exclusive_lock(db, projection)

        async def apply_here(groups: list[list[Fetched]]) -> None:
            outcome = await apply_batch(db, projection, building, groups)
            if outcome.parked:
                raise ApplyFailed(outcome.parked[0], RuntimeError("a parked stream; retry outside"))

        position = await _positions(consumer, partitions)
        try:
            read = await _catch_up(consumer, partitions, apply_here, None)
        except ApplyFailed:
            for partition, offset in position.items():
                consumer.seek(partition, offset)  # the rolled-back part is read again
            raise
        await _rename(db, projection.schema(), building)
    return read


async def _rename(db: Connection, live: str, building: str) -> None:
    retired = quote_identifier(live + "__retired")
    await db.execute(f"DROP SCHEMA IF EXISTS {retired} CASCADE")
    if await db.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", live):
        await db.execute(f"ALTER SCHEMA {quote_identifier(live)} RENAME TO {retired}")
    await db.execute(
        f"ALTER SCHEMA {quote_identifier(building)} RENAME TO {quote_identifier(live)}"
    )
    await db.execute(f"DROP SCHEMA IF EXISTS {retired} CASCADE")
