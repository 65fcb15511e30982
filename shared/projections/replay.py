"""Replay: rebuild a projection from the start of its topics into a new schema while the live
one keeps serving, then switch over in one transaction.

The switch holds the projection's lock alone (live batches hold it shared), applies what
arrived during the rebuild, then renames the schemas; readers see the old read model or the
new one, never a mix. Live runners check the stored offset on every batch, so after the
switch they skip what the rebuild already applied.

Dead letters stay as they were: the rebuilt read model parks the streams of the dead letters
still waiting (the rebuild meets their messages again) without sending a second copy of them,
and continues re-driving where the live one had got to.
"""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.projections.applier import Applier, exclusive_lock
from shared.projections.batch import ApplyFailed, Fetched, apply_batch
from shared.projections.dead_letters import WaitingDeadLetters, dead_letter_spec
from shared.projections.projection import Projection
from shared.projections.replay_worker import (
    CatchUpJob,
    catch_up,
    history_consumer,
    in_processes,
    positions,
)
from shared.projections.schema import create_schema, seek_to_stored
from shared.relay.topics import ensure_topics, topic_partitions
from shared.store.db import Connection
from shared.store.migrations import quote_identifier

log = structlog.get_logger(__name__)
Progress = Callable[[int, int], None]  # (messages read, messages to read)
PARALLEL_FROM = 100_000  # messages from which `workers=None` shares a replay out


@dataclass(frozen=True)
class ReplayReport:
    messages: int
    seconds: float
    schema: str
    workers: int = 1  # processes that rebuilt it side by side


async def replay(
    projection: Projection,
    pool: asyncpg.Pool,
    bootstrap_servers: str,
    *,
    progress: Progress | None = None,
    batch_size: int = 5000,
    workers: int | None = 1,
    database_url: str | None = None,
) -> ReplayReport:
    """Rebuild `projection` into a new schema from the start of its topics, then switch over.

    With `workers` above one (and a `database_url` for them), the partitions are shared out
    among that many processes, which rebuild side by side on as many cores; this process
    then applies what arrived meanwhile and switches over as a replay in one process does.
    `workers=None` chooses: a process per core once the topics hold PARALLEL_FROM messages,
    else one (the first replay in several processes of a process starts the forkserver its
    workers are forked from, about a second: see replay_worker).
    """
    if workers != 1 and database_url is None:
        raise ValueError("a replay in several processes needs the database URL for them")
    started = time.monotonic()
    building = projection.schema() + "__next"
    async with pool.acquire() as db, db.transaction():
        await db.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(building)} CASCADE")
        await create_schema(db, projection, building)
        redriven_below = await carry_redrive_offset(db, projection, building)
    await ensure_topics(bootstrap_servers, [dead_letter_spec(projection)])
    waiting = WaitingDeadLetters(bootstrap_servers, projection, redriven_below)
    partitions = await topic_partitions(bootstrap_servers, projection.topics)
    consumer = history_consumer(bootstrap_servers, batch_size)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        if workers is None:
            workers = await _workers_for(consumer, partitions)
        read, shares = 0, list[list[TopicPartition]]()
        if workers > 1 and len(partitions) > 1 and database_url is not None:
            shares = [partitions[k::workers] for k in range(min(workers, len(partitions)))]
            job = CatchUpJob(
                projection, database_url, bootstrap_servers, building, batch_size, redriven_below
            )
            read = await in_processes(job, shares, progress)
            # assigned only now: an assigned consumer fetches in the background, and would
            # read from the beginning what the workers are reading
            consumer.assign(partitions)
            await seek_to_stored(pool, consumer, building, partitions)
        else:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
        applier = Applier(projection, pool, producer, building, waiting=waiting)
        read += await catch_up(consumer, partitions, applier.process_fetched, progress, read)
        while True:
            try:
                read += await _switch_over(pool, consumer, partitions, projection, building)
                break
            except ApplyFailed:
                # a failing message: leave the lock and let the applier retry or dead-letter it
                read += await catch_up(
                    consumer, partitions, applier.process_fetched, progress, read
                )
    finally:
        await consumer.stop()
        await producer.stop()
        await waiting.close()
    report = ReplayReport(
        read, time.monotonic() - started, projection.schema(), max(len(shares), 1)
    )
    log.info(
        "projection.replayed", projection=projection.name, messages=read, seconds=report.seconds
    )
    return report


async def carry_redrive_offset(db: Connection, projection: Projection, building: str) -> int:
    """Copy into `building` how far re-drives got in the dead-letter topic of the live read
    model (0 when none did, or there is none yet), and return it: the dead letters from there
    on are the ones still waiting, whose streams the rebuilt read model parks again, and its
    own re-drives continue from there. Read when the replay starts: a re-drive of the live
    read model during the replay moves the live offset only, and the rebuilt one re-drives
    those letters itself (applying them, or skipping them where the rebuild applied them)."""
    topic = dead_letter_spec(projection).name
    live = quote_identifier(projection.schema())
    if not await db.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{live}._offsets"):
        return 0
    redriven_below: int = (
        await db.fetchval(
            f"SELECT next_offset FROM {live}._offsets WHERE topic = $1 AND partition = 0", topic
        )
        or 0
    )
    if redriven_below:
        await db.execute(
            f"INSERT INTO {quote_identifier(building)}._offsets (topic, partition, next_offset)"
            " VALUES ($1, 0, $2)",
            topic,
            redriven_below,
        )
    return redriven_below


async def _workers_for(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> int:
    firsts = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    messages = sum(ends[p] - firsts[p] for p in partitions)
    return (os.cpu_count() or 1) if messages >= PARALLEL_FROM else 1


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

        position = await positions(consumer, partitions)
        try:
            read = await catch_up(consumer, partitions, apply_here, None)
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
